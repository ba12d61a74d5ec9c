/**
 * The client with the local server embedded in-process, for local development and scripts with no server to run.
 *
 * A base URL `memory:` gives a fresh in-memory store (gone when the layer is released); `file:<folder>` (or
 * `file:///absolute/folder`) keeps objects under a folder across runs, with the same on-disk format as the
 * `objectstore-server` filesystem store. Auth is off, expiration is enforced as in production. No socket is
 * opened.
 *
 * {@link layerFromUrl} picks the embedded server for those URLs and `NodeClient.layer` for `http(s)://` ones, so a
 * script or CLI can take `OBJECTSTORE_URL=memory:` and run against nothing, or against a real server.
 *
 * @example
 * ```ts
 * import { ObjectstoreClient, Scope, Usecase } from "@objectstore/client"
 * import * as Embedded from "@objectstore/testing/Embedded"
 * import * as Config from "effect/Config"
 * import * as Effect from "effect/Effect"
 *
 * const program = Effect.gen(function*() {
 *   const client = yield* ObjectstoreClient.ObjectstoreClient
 *   const session = yield* client.session(Usecase.make("files"), Scope.make({ org: 1 }))
 *   return yield* session.put("hello")
 * }).pipe(
 *   Effect.provide(Embedded.layerFromUrlConfig({ baseUrl: Config.withDefault(Config.string("OBJECTSTORE_URL"), "memory:") }))
 * )
 * ```
 *
 * @since 0.1.0
 */
import * as NodeFileSystem from "@effect/platform-node/NodeFileSystem"
import * as Auth from "@objectstore/client/Auth"
import * as Compression from "@objectstore/client/Compression"
import * as Metrics from "@objectstore/client/Metrics"
import * as NodeClient from "@objectstore/client/NodeClient"
import * as ObjectstoreClient from "@objectstore/client/ObjectstoreClient"
import type { AuthError } from "@objectstore/client/ObjectstoreError"
import { InvalidInputError } from "@objectstore/client/ObjectstoreError"
import type * as ServerAuth from "@objectstore/server/Auth"
import type * as Config from "@objectstore/server/Config"
import * as ServerEmbedded from "@objectstore/server/Embedded"
import type * as Storage from "@objectstore/server/Storage"
import * as EffectConfig from "effect/Config"
import type * as ConfigError from "effect/ConfigError"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Layer from "effect/Layer"

/**
 * The base URL the embedded client uses internally (only its path reaches the app); `ServerEmbedded`'s.
 *
 * @since 0.1.0
 * @category constants
 */
export const INTERNAL_BASE_URL: string = ServerEmbedded.INTERNAL_BASE_URL

/**
 * Whether `url` names an embedded store (`memory:` or `file:…`).
 *
 * @since 0.1.0
 * @category guards
 */
export const isEmbeddedUrl: (url: string) => boolean = ServerEmbedded.isEmbeddedUrl

const invalidUrl = (error: ServerEmbedded.EmbeddedUrlError) =>
  new InvalidInputError({ field: "baseUrl", reason: error.reason })

/**
 * The storage an embedded URL names: `memory:` → memory; `file:<folder>` / `file:///abs` → filesystem
 * (`@objectstore/server/Embedded`'s `parseUrl`, failing with the client's `InvalidInputError` on `baseUrl`).
 *
 * @since 0.1.0
 * @category constructors
 */
export const parseUrl = (url: string): Either.Either<Config.StorageConfig, InvalidInputError> =>
  Either.mapLeft(ServerEmbedded.parseUrl(url), invalidUrl)

/**
 * Options of the embedded client: the client options other than `baseUrl`, and server settings.
 *
 * @since 0.1.0
 * @category models
 */
export interface Options extends Omit<Partial<ObjectstoreClient.Options>, "baseUrl"> {
  /** Server configuration beyond storage (e.g. usecase rules); auth stays off unless set here. */
  readonly server?: Partial<Config.ServerConfig> | undefined
  /** Record the client metrics (default `true`, as `NodeClient.layer`). */
  readonly metrics?: boolean | undefined
}

/**
 * The client over an in-process server whose storage `baseUrl` names (`memory:` or `file:<folder>`).
 *
 * @since 0.1.0
 * @category layers
 */
export const layer = (
  baseUrl: string,
  options: Options = {}
): Layer.Layer<
  ObjectstoreClient.ObjectstoreClient,
  InvalidInputError | ServerAuth.AuthConfigError | Storage.StorageError
> => {
  const { metrics, server, ...client } = options
  return ObjectstoreClient.layer({ ...client, baseUrl: INTERNAL_BASE_URL }).pipe(
    Layer.provide(
      Layer.mergeAll(
        Compression.layer,
        Auth.layerNone,
        metrics === false ? Metrics.layerNoop : Metrics.layer,
        // file sources read through Node's file system, as with NodeClient
        NodeFileSystem.layer
      )
    ),
    Layer.provide(
      ServerEmbedded.layerHttpClient(baseUrl, server).pipe(
        Layer.mapError((error) => error._tag === "EmbeddedUrlError" ? invalidUrl(error) : error)
      )
    )
  )
}

/**
 * The embedded client for `memory:` / `file:` base URLs, else `NodeClient.layer(options)` (undici to a real
 * server). `server` settings only apply to the embedded case.
 *
 * @since 0.1.0
 * @category layers
 */
export const layerFromUrl = (
  options: NodeClient.Options & { readonly server?: Partial<Config.ServerConfig> | undefined }
): Layer.Layer<
  ObjectstoreClient.ObjectstoreClient,
  InvalidInputError | AuthError | ServerAuth.AuthConfigError | Storage.StorageError
> => {
  if (!isEmbeddedUrl(options.baseUrl)) {
    const { server: _server, ...node } = options
    return NodeClient.layer(node)
  }
  const { baseUrl, connectTimeout: _c, keepAliveTimeout: _k, secretKey: _s, token: _t, ...embedded } = options
  return layer(baseUrl, embedded)
}

/**
 * {@link layerFromUrl} with options read from `Config`, e.g.
 * `{ baseUrl: Config.string("OBJECTSTORE_URL"), token: Config.option(…) }`.
 *
 * @since 0.1.0
 * @category layers
 */
export const layerFromUrlConfig = (
  options: EffectConfig.Config.Wrap<NodeClient.Options>
): Layer.Layer<
  ObjectstoreClient.ObjectstoreClient,
  InvalidInputError | AuthError | ServerAuth.AuthConfigError | Storage.StorageError | ConfigError.ConfigError
> => Layer.unwrapEffect(Effect.map(EffectConfig.unwrap(options), layerFromUrl))
