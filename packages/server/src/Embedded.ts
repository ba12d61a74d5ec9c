/**
 * The local server embedded in the process, named by a URL, for tools and scripts that take a server URL and should
 * also run with no server at all (the `objectstore` command's `--url memory:`).
 *
 * A URL `memory:` names a fresh in-memory store (gone when the layer is released); `file:<folder>` (or
 * `file:///absolute/folder`) keeps objects under a folder across runs, with the same on-disk format as the
 * `objectstore-server` filesystem store. Auth is off unless the server options turn it on; expiration is enforced
 * as in production. No socket is opened: `layerHttpClient` is an `HttpClient` that runs the server's app in-process.
 *
 * This module is for production code and does not depend on the client: point an `ObjectstoreClient` at
 * `INTERNAL_BASE_URL` over `layerHttpClient(url)` (`@objectstore/testing/Embedded` does exactly that, and picks
 * `NodeClient` for `http(s)://` URLs).
 *
 * @example
 * ```ts
 * import * as HttpClient from "@effect/platform/HttpClient"
 * import * as Embedded from "@objectstore/server/Embedded"
 * import * as Effect from "effect/Effect"
 *
 * const health = Effect.gen(function*() {
 *   const client = yield* HttpClient.HttpClient
 *   const response = yield* client.get(`${Embedded.INTERNAL_BASE_URL}/health`)
 *   return response.status // 200
 * }).pipe(Effect.scoped, Effect.provide(Embedded.layerHttpClient("memory:")))
 * ```
 *
 * @since 0.1.0
 */
import * as HttpClient from "@effect/platform/HttpClient"
import * as Either from "effect/Either"
import * as Layer from "effect/Layer"
import * as Schema from "effect/Schema"
import { fileURLToPath } from "node:url"
import type * as Auth from "./Auth.js"
import type * as Config from "./Config.js"
import * as Server from "./Server.js"
import type * as StorageModel from "./StorageModel.js"

/**
 * The base URL to give a client of `layerHttpClient` (only the path and query of a request reach the app).
 *
 * @since 0.1.0
 * @category constants
 */
export const INTERNAL_BASE_URL = "http://objectstore.embedded"

/**
 * A URL that does not name an embedded store: `reason` says why (`file: needs a folder, e.g. file:./data`).
 *
 * @since 0.1.0
 * @category errors
 */
export class EmbeddedUrlError extends Schema.TaggedError<EmbeddedUrlError>("@objectstore/server/EmbeddedUrlError")(
  "EmbeddedUrlError",
  { url: Schema.String, reason: Schema.String }
) {
  override get message(): string {
    return this.reason
  }
}

/**
 * Whether `url` names an embedded store (`memory:` or `file:…`, in any letter case).
 *
 * @since 0.1.0
 * @category guards
 */
export const isEmbeddedUrl = (url: string): boolean => /^(memory|file):/i.test(url.trim())

/**
 * The storage an embedded URL names: `memory:` → memory; `file:<folder>` / `file:///abs` → filesystem.
 *
 * @since 0.1.0
 * @category parsing
 */
export const parseUrl = (url: string): Either.Either<Config.StorageConfig, EmbeddedUrlError> => {
  const text = url.trim()
  const invalid = (reason: string) => Either.left(new EmbeddedUrlError({ url, reason }))
  if (/^memory:$/i.test(text)) return Either.right({ type: "memory" })
  if (/^file:/i.test(text)) {
    const rest = text.slice("file:".length)
    if (rest.startsWith("//")) {
      try {
        return Either.right({ type: "filesystem", path: fileURLToPath(text) })
      } catch {
        return invalid(`not a usable file URL: ${JSON.stringify(url)}`)
      }
    }
    if (rest === "") return invalid("file: needs a folder, e.g. file:./data")
    return Either.right({ type: "filesystem", path: rest })
  }
  return invalid(`not an embedded store URL (memory: or file:<folder>): ${JSON.stringify(url)}`)
}

/**
 * The server for the store `url` names, in-process as an `HttpClient` (give clients `INTERNAL_BASE_URL`).
 * `server` sets the rest of the configuration (e.g. usecase rules, auth); its `storage` is the URL's. Fails with
 * `EmbeddedUrlError` for a URL that names no store, and as `Server.layerHttpClient` does.
 *
 * @since 0.1.0
 * @category layers
 */
export const layerHttpClient = (
  url: string,
  server?: Partial<Config.ServerConfig>
): Layer.Layer<HttpClient.HttpClient, EmbeddedUrlError | Auth.AuthConfigError | StorageModel.StorageError> =>
  Either.match(parseUrl(url), {
    onLeft: (error) => Layer.fail(error),
    onRight: (storage) =>
      Layer.effect(HttpClient.HttpClient, HttpClient.HttpClient).pipe(
        Layer.provide(Server.layerHttpClient({ ...server, storage }))
      )
  })
