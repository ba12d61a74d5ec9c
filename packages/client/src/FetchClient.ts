/**
 * One-line setup over the runtime's `fetch`, for runtimes without undici's dispatcher API (Bun) and for any runtime
 * where `fetch` is the transport of choice (Deno; browsers): the `ObjectstoreClient` over
 * `@effect/platform`'s `FetchHttpClient`, with zstd compression, metrics and the auth mode chosen by the options,
 * as {@link NodeClient.layer} does over undici.
 *
 * Responses must reach the client as the server sent them (PROTOCOL §7): zstd objects come with
 * `content-encoding: zstd`, and the client decodes them itself. Bun's `fetch` decodes zstd on its own unless asked
 * not to, so every request is made with `decompress: false` (an option other runtimes ignore).
 *
 * Uploads use the usecase's compression (zstd by default) in every runtime: `Compression.layer` compresses with
 * `node:zlib` where the runtime has zstd there (Bun, Deno, Node.js >= 22.15) and with WebAssembly in browsers and
 * workers (see `Compression.layerWasm`: a page's Content Security Policy must allow `'wasm-unsafe-eval'`).
 *
 * What differs from `NodeClient`'s transport: the request deadlines (`timeout`, `idleTimeout`) interrupt the attempt
 * instead of aborting the socket, a byte body is handed to `fetch` whole (so its response deadline counts from the
 * start of the attempt), and a streamed body is sent chunked, which the server refuses for multipart parts and
 * resumable appends (PROTOCOL §20 item 16): so the client collects a part or chunk given as a stream and sends it as
 * bytes, one at a time, whenever its `HttpClient` is not NodeClient's. There is no connect timeout of its own. No
 * `FileSystem` is provided (this is the browser setup too): on Bun and Deno, provide `NodeFileSystem.layer` from
 * `@effect/platform-node` to upload files (`{ path }`, `Batch.putFile`); in a browser a file path fails with
 * `FileError` `NoFileSystem`.
 *
 * @example
 * ```ts
 * import { ObjectstoreClient, Scope, Usecase } from "@objectstore/client"
 * import * as FetchClient from "@objectstore/client/FetchClient"
 * import * as Effect from "effect/Effect"
 *
 * const program = Effect.gen(function*() {
 *   const client = yield* ObjectstoreClient.ObjectstoreClient
 *   const session = yield* client.session(Usecase.make("attachments"), Scope.make({ org: 42 }))
 *   return yield* session.put("Hello from fetch")
 * }).pipe(Effect.provide(FetchClient.layer({ baseUrl: "http://localhost:8888" })))
 * ```
 *
 * @since 0.1.0
 */
import * as FetchHttpClient from "@effect/platform/FetchHttpClient"
import * as HttpClient from "@effect/platform/HttpClient"
import * as HttpClientError from "@effect/platform/HttpClientError"
import * as HttpClientRequest from "@effect/platform/HttpClientRequest"
import * as Bytes from "@objectstore/protocol/Bytes"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import type * as Redacted from "effect/Redacted"
import * as Auth from "./Auth.js"
import * as Compression from "./Compression.js"
import * as FetchDecoding from "./internal/fetchDecoding.js"
import * as Metrics from "./Metrics.js"
import * as ObjectstoreClient from "./ObjectstoreClient.js"
import type { AuthError, InvalidInputError } from "./ObjectstoreError.js"

/**
 * @since 0.1.0
 * @category models
 */
export interface Options extends ObjectstoreClient.Options {
  /** A static token sent with every request. */
  readonly token?: Redacted.Redacted<string> | undefined
  /** Sign a fresh token per request with this key (takes precedence over `token` if both are given). */
  readonly secretKey?: Auth.SecretKeyOptions | undefined
  /** Whether to record the client metrics (default `true`; `false` uses `Metrics.layerNoop`). */
  readonly metrics?: boolean | undefined
  /** Extra `fetch` options for every request (`credentials`, `mode`, …); `decompress: false` is always added. */
  readonly requestInit?: globalThis.RequestInit | undefined
}

/**
 * The `fetch` options every request gets: `decompress: false` (Bun), so zstd bodies arrive as the server sent them.
 *
 * @since 0.1.0
 * @category constants
 */
export const REQUEST_INIT: globalThis.RequestInit = { decompress: false } as globalThis.RequestInit

/**
 * `FetchHttpClient.layer` with {@link REQUEST_INIT} (and `requestInit` on top): the transport part of
 * {@link layer}, for composing `ObjectstoreClient.layer` by hand. With `bufferStreams` (default: in a browser), a
 * streamed request body is collected and sent whole, since browsers stream request bodies only over HTTP/2. It also
 * tells the client that `fetch` may have decoded a zstd body already (browsers and Node 24 do), which the client
 * then recognises by the missing frame magic; with `FetchHttpClient.layer` alone it would report such a body as a
 * length mismatch or corrupt.
 *
 * @since 0.1.0
 * @category layers
 */
export const layerHttpClient = (
  requestInit: globalThis.RequestInit = {},
  options: { readonly bufferStreams?: boolean | undefined } = {}
): Layer.Layer<HttpClient.HttpClient | FetchDecoding.FetchDecoding> => {
  const fetchLayer = FetchHttpClient.layer.pipe(
    Layer.provide(Layer.succeed(FetchHttpClient.RequestInit, { ...requestInit, ...REQUEST_INIT }))
  )
  const client = !(options.bufferStreams ?? isBrowser()) ? fetchLayer : Layer.effect(
    HttpClient.HttpClient,
    Effect.map(HttpClient.HttpClient, (client) => HttpClient.mapRequestEffect(client, bufferStream))
  ).pipe(Layer.provide(fetchLayer))
  return Layer.merge(client, Layer.succeed(FetchDecoding.FetchDecoding, true))
}

/** Whether this is a browser page or worker (where `fetch` streams a request body only over HTTP/2). */
const isBrowser = (): boolean =>
  typeof (globalThis as { readonly document?: unknown }).document !== "undefined" ||
  typeof (globalThis as { readonly importScripts?: unknown }).importScripts === "function"

/**
 * A stream request body collected into bytes: browsers send a `ReadableStream` body only over HTTP/2 (Chromium
 * fails it with `ERR_ALPN_NEGOTIATION_FAILED` over HTTP/1.1), so in a browser every body is sent whole. A failure of
 * the caller's stream is the request's failure, as it would be while streaming.
 */
const bufferStream = (
  request: HttpClientRequest.HttpClientRequest
): Effect.Effect<HttpClientRequest.HttpClientRequest, HttpClientError.RequestError> =>
  request.body._tag !== "Stream"
    ? Effect.succeed(request)
    : Bytes.collect(request.body.stream).pipe(
      Effect.map((bytes) => HttpClientRequest.bodyUint8Array(request, bytes, request.body.contentType)),
      Effect.mapError((cause) => new HttpClientError.RequestError({ request, reason: "Encode", cause }))
    )

/**
 * The client over `fetch`: best available zstd, metrics, and auth from the options. Fails as
 * `ObjectstoreClient.layer` does (`InvalidInputError` for bad options) and with `AuthError` for a secret key that is
 * not an Ed25519 private key.
 *
 * @since 0.1.0
 * @category layers
 */
export const layer = (
  options: Options
): Layer.Layer<ObjectstoreClient.ObjectstoreClient, InvalidInputError | AuthError> =>
  ObjectstoreClient.layer(options).pipe(
    Layer.provide(Layer.mergeAll(
      layerHttpClient(options.requestInit),
      Compression.layer,
      options.secretKey !== undefined
        ? Auth.layerSecretKey(options.secretKey)
        : options.token !== undefined
        ? Auth.layerToken(options.token)
        : Auth.layerNone,
      options.metrics === false ? Metrics.layerNoop : Metrics.layer
    ))
  )
