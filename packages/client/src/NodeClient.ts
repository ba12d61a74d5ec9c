/**
 * One-line setup for Node.js: the `ObjectstoreClient` over undici, with zstd compression, metrics and the auth
 * mode chosen by the options.
 *
 * - `token`: a pre-made JWT sent unchanged with every request;
 * - `secretKey`: a key id and Ed25519 private key; a fresh token is signed for each request, scoped to its
 *   usecase and scope;
 * - neither: no auth (a server that enforces auth answers `AuthError` `MissingToken`).
 *
 * The undici dispatcher is created with the layer and closed when it is released. Its connect timeout defaults to
 * 100 ms, like the upstream clients, which suits a server in the same network; raise `connectTimeout` for remote
 * servers. It fires within a few milliseconds of its value (undici's own timer is up to a second late). Responses
 * are never decoded by the transport (PROTOCOL §7).
 *
 * @example
 * ```ts
 * import { ObjectstoreClient, Scope, Usecase } from "@objectstore/client"
 * import * as NodeClient from "@objectstore/client/NodeClient"
 * import * as Effect from "effect/Effect"
 * import * as Redacted from "effect/Redacted"
 *
 * const ClientLive = NodeClient.layer({
 *   baseUrl: "http://localhost:8888",
 *   secretKey: { kid: "my-service", privateKey: Redacted.make("-----BEGIN PRIVATE KEY-----\n…") }
 * })
 *
 * const program = Effect.gen(function*() {
 *   const client = yield* ObjectstoreClient.ObjectstoreClient
 *   const session = yield* client.session(Usecase.make("attachments"), Scope.make({ org: 42, project: 1337 }))
 *   return yield* session.put("Hello, world!")
 * }).pipe(Effect.provide(ClientLive))
 * ```
 *
 * @since 0.1.0
 */
import * as Undici from "@effect/platform-node/Undici"
import * as HttpClient from "@effect/platform/HttpClient"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Layer from "effect/Layer"
import type * as Redacted from "effect/Redacted"
import * as Auth from "./Auth.js"
import * as Compression from "./Compression.js"
import * as Connector from "./internal/connector.js"
import * as UndiciClient from "./internal/undiciClient.js"
import * as Validation from "./internal/validation.js"
import * as Metrics from "./Metrics.js"
import * as ObjectstoreClient from "./ObjectstoreClient.js"
import type { AuthError } from "./ObjectstoreError.js"
import type { InvalidInputError } from "./ObjectstoreError.js"

/**
 * @since 0.1.0
 * @category models
 */
export interface Options extends ObjectstoreClient.Options {
  /**
   * How long establishing a connection may take (default 100 ms, as upstream); past it the attempt fails with
   * `NetworkError` `Timeout`, retried even for inserts (the server never saw the request).
   */
  readonly connectTimeout?: Duration.DurationInput | undefined
  /**
   * How long an idle connection is kept for reuse (default 4 s). After an attempt is abandoned (a timeout or an
   * interruption), undici reconnects once for it: that one spare connection stays idle, ready for the next
   * request, until this timeout closes it.
   */
  readonly keepAliveTimeout?: Duration.DurationInput | undefined
  /** A static token sent with every request. */
  readonly token?: Redacted.Redacted<string> | undefined
  /** Sign a fresh token per request with this key (takes precedence over `token` if both are given). */
  readonly secretKey?: Auth.SecretKeyOptions | undefined
  /** Whether to record the client metrics (default `true`; `false` uses `Metrics.layerNoop`). */
  readonly metrics?: boolean | undefined
}

/**
 * The default connect timeout.
 *
 * @since 0.1.0
 * @category constants
 */
export const DEFAULT_CONNECT_TIMEOUT: Duration.Duration = Duration.millis(100)

/**
 * The default keep-alive timeout of idle connections.
 *
 * @since 0.1.0
 * @category constants
 */
export const DEFAULT_KEEP_ALIVE_TIMEOUT: Duration.Duration = Duration.seconds(4)

const millis = (field: string, input: Duration.DurationInput | undefined, fallback: Duration.Duration) => {
  if (input === undefined) return Effect.succeed(Duration.toMillis(fallback))
  return Either.map(Validation.positiveDuration(input, field), (duration) => Math.ceil(Duration.toMillis(duration)))
}

/**
 * The undici dispatcher of {@link layerHttpClient}: one connection `Pool` per origin, kept until the dispatcher is
 * closed.
 *
 * Why not `Undici.Agent`: in undici 7 the Agent tracks the connections of an origin by key, not by pool, so the
 * `disconnect` events of a pool it has just closed are counted against its replacement, which it then closes too.
 * After one dropped connection (every HEAD response drops one by default, see below), a client making one request at a
 * time opens a new TCP connection for every later request. Fixed in undici 8.
 *
 * HEAD requests keep their connection (`reset: false`): undici closes it after every HEAD by default, to survive
 * servers that wrongly send a body; Objectstore servers answer HEAD without one.
 */
class OriginPools extends Undici.Dispatcher {
  readonly #pools = new Map<string, Undici.Pool>()
  readonly #options: Undici.Pool.Options

  constructor(options: Undici.Pool.Options) {
    super()
    this.#options = options
  }

  override dispatch(options: Undici.Dispatcher.DispatchOptions, handler: Undici.Dispatcher.DispatchHandler): boolean {
    const origin = String(options.origin)
    let pool = this.#pools.get(origin)
    if (pool === undefined) {
      pool = new Undici.Pool(origin, this.#options)
      this.#pools.set(origin, pool)
    }
    return pool.dispatch(
      options.method === "HEAD" && options.reset === undefined ? { ...options, reset: false } : options,
      handler
    )
  }

  override close(): Promise<void>
  override close(callback: () => void): void
  override close(callback?: () => void): Promise<void> | void {
    const closed = Promise.all(Array.from(this.#pools.values(), (pool) => pool.close())).then(() => undefined)
    this.#pools.clear()
    if (callback === undefined) return closed
    void closed.then(callback, callback)
  }

  override destroy(): Promise<void>
  override destroy(error: Error | null): Promise<void>
  override destroy(callback: () => void): void
  override destroy(error: Error | null, callback: () => void): void
  override destroy(
    first?: Error | null | (() => void),
    second?: () => void
  ): Promise<void> | void {
    const error = typeof first === "function" ? null : first ?? null
    const callback = typeof first === "function" ? first : second
    const destroyed = Promise.all(Array.from(this.#pools.values(), (pool) => pool.destroy(error))).then(() => undefined)
    this.#pools.clear()
    if (callback === undefined) return destroyed
    void destroyed.then(callback, callback)
  }
}

/**
 * An undici `HttpClient` whose dispatcher (connect timeout, keep-alive) lives as long as the layer. Connections are
 * pooled per origin and reused, HEAD requests included. The connect timeout is precise and runs on Effect's `Clock`
 * (the one in context when the layer is built), and a server's answer to a request whose body it did not read is
 * the response even when writing the rest of the body failed (see `ObjectstoreClient` for the request deadlines).
 *
 * It is not `@effect/platform-node`'s undici client but a leaner one with the same behaviour: an `http.client` span
 * per request with the same attributes (honouring `HttpClient.withTracerDisabledWhen`, `withTracerPropagation` and
 * `withSpanNameGenerator`), interruption aborting the request, `HttpClient.withScope` cancelling unread bodies, and
 * unread responses releasing their connection when garbage-collected. It costs about a third of the platform
 * client's CPU per small request (BENCHMARKS.md). Every `HttpClient` combinator works on it.
 *
 * @since 0.1.0
 * @category layers
 */
export const layerHttpClient = (
  options: Pick<Options, "connectTimeout" | "keepAliveTimeout"> = {}
): Layer.Layer<HttpClient.HttpClient, InvalidInputError> =>
  Layer.scoped(
    HttpClient.HttpClient,
    Effect.gen(function*() {
      const connectTimeout = yield* millis("connectTimeout", options.connectTimeout, DEFAULT_CONNECT_TIMEOUT)
      const keepAlive = yield* millis("keepAliveTimeout", options.keepAliveTimeout, DEFAULT_KEEP_ALIVE_TIMEOUT)
      const clock = yield* Effect.clock
      const dispatcher = yield* Effect.acquireRelease(
        Effect.sync(() =>
          new OriginPools({ connect: Connector.make({ timeout: connectTimeout, clock }), keepAliveTimeout: keepAlive })
        ),
        (dispatcher) => Effect.promise(() => dispatcher.destroy())
      )
      return UndiciClient.make(dispatcher)
    })
  )

const authLayer = (options: Options): Layer.Layer<Auth.Auth, AuthError> =>
  options.secretKey !== undefined
    ? Auth.layerSecretKey(options.secretKey)
    : options.token !== undefined
    ? Auth.layerToken(options.token)
    : Auth.layerNone

/**
 * The client for Node.js: undici transport, best available zstd, metrics, and auth from the options.
 *
 * @since 0.1.0
 * @category layers
 */
export const layer = (
  options: Options
): Layer.Layer<ObjectstoreClient.ObjectstoreClient, InvalidInputError | AuthError> =>
  ObjectstoreClient.layer(options).pipe(
    Layer.provide(Layer.mergeAll(
      layerHttpClient(options),
      Compression.layer,
      authLayer(options),
      options.metrics === false ? Metrics.layerNoop : Metrics.layer
    ))
  )
