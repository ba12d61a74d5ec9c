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
import * as NodeFileSystem from "@effect/platform-node/NodeFileSystem"
import * as Undici from "@effect/platform-node/Undici"
import * as FileSystem from "@effect/platform/FileSystem"
import * as HttpClient from "@effect/platform/HttpClient"
import * as Humantime from "@objectstore/protocol/Humantime"
import * as Config from "effect/Config"
import * as ConfigError from "effect/ConfigError"
import * as Context from "effect/Context"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as Redacted from "effect/Redacted"
import * as Auth from "./Auth.js"
import * as Compression from "./Compression.js"
import * as Connector from "./internal/connector.js"
import * as UndiciClient from "./internal/undiciClient.js"
import * as Validation from "./internal/validation.js"
import * as Metrics from "./Metrics.js"
import * as ObjectstoreClient from "./ObjectstoreClient.js"
import type { AuthError } from "./ObjectstoreError.js"
import { InvalidInputError } from "./ObjectstoreError.js"
import * as Transport from "./Transport.js"

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
 * The layer also provides the `Transport` of this client (see that module): with it, `ObjectstoreClient`'s deadlines
 * abort one request and destroy unread bodies directly. The `HttpClient` may be wrapped by `HttpClient` combinators
 * before `ObjectstoreClient` uses it; the `Transport` still applies.
 *
 * With `direct: true` the `Transport` also sends requests itself (`Transport.Service.send`), and `ObjectstoreClient`
 * sends its requests through it instead of the `HttpClient` (the same requests, responses and errors, at about half
 * the client CPU of a small request): combinators wrapped around the `HttpClient` then do not apply to them, so use
 * it where nothing wraps the `HttpClient`. {@link layer} does.
 *
 * @since 0.1.0
 * @category layers
 */
export const layerHttpClient = (
  options: Pick<Options, "connectTimeout" | "keepAliveTimeout"> & {
    /** Offer `Transport.Service.send`, so that `ObjectstoreClient` bypasses the `HttpClient` (default `false`). */
    readonly direct?: boolean | undefined
  } = {}
): Layer.Layer<HttpClient.HttpClient | Transport.Transport, InvalidInputError> =>
  Layer.scopedContext(
    Effect.gen(function*() {
      if (typeof Undici.Dispatcher.prototype.request !== "function") {
        // Bun's `undici` is a shim over its fetch, without the dispatcher API this transport is built on.
        return yield* new InvalidInputError({
          field: "runtime",
          reason: "this runtime's undici has no dispatcher API (Bun): use FetchClient.layer instead of NodeClient.layer"
        })
      }
      const connectTimeout = yield* millis("connectTimeout", options.connectTimeout, DEFAULT_CONNECT_TIMEOUT)
      const keepAlive = yield* millis("keepAliveTimeout", options.keepAliveTimeout, DEFAULT_KEEP_ALIVE_TIMEOUT)
      const clock = yield* Effect.clock
      const dispatcher = yield* Effect.acquireRelease(
        Effect.sync(() =>
          new OriginPools({ connect: Connector.make({ timeout: connectTimeout, clock }), keepAliveTimeout: keepAlive })
        ),
        (dispatcher) => Effect.promise(() => dispatcher.destroy())
      )
      const { httpClient, transport } = UndiciClient.make(dispatcher, options.direct === true)
      return Context.make(HttpClient.HttpClient, httpClient).pipe(Context.add(Transport.Transport, transport))
    })
  )

const authLayer = (options: Options): Layer.Layer<Auth.Auth, AuthError> =>
  options.secretKey !== undefined
    ? Auth.layerSecretKey(options.secretKey)
    : options.token !== undefined
    ? Auth.layerToken(options.token)
    : Auth.layerNone

/**
 * The client for Node.js: undici transport, best available zstd, metrics, auth from the options, and Node's
 * `FileSystem` for file sources (`session.upload({ path })`, `Batch.putFile`, state files). Requests go straight
 * to the transport (`layerHttpClient({ direct: true })`); compose `ObjectstoreClient.layer` with
 * {@link layerHttpClient} yourself to send them through an `HttpClient` you wrap.
 *
 * @since 0.1.0
 * @category layers
 */
export const layer = (
  options: Options
): Layer.Layer<ObjectstoreClient.ObjectstoreClient, InvalidInputError | AuthError> =>
  ObjectstoreClient.layer(options).pipe(
    Layer.provide(Layer.mergeAll(
      layerHttpClient({ ...options, direct: true }),
      Compression.layer,
      authLayer(options),
      options.metrics === false ? Metrics.layerNoop : Metrics.layer,
      NodeFileSystem.layer
    ))
  )

const variable = (name: string) =>
  Config.option(Config.string(name)).pipe(Config.map(Option.filter((text) => text.trim() !== "")))

const deadline = (name: string) =>
  variable(name).pipe(Config.mapOrFail((text) =>
    Option.match(text, {
      onNone: () => Either.right(Option.none<Duration.Duration>()),
      onSome: (value) =>
        Either.match(Humantime.parse(value.trim()), {
          onLeft: (reason) =>
            Either.left(
              ConfigError.InvalidData([name], `${reason}; give a positive duration such as 30s, 500ms or 2m`)
            ),
          onRight: (duration) =>
            Duration.toMillis(duration) > 0
              ? Either.right(Option.some(duration))
              : Either.left(ConfigError.InvalidData([name], `must be a positive duration, got "${value}"`))
        })
    })
  ))

const environment = Config.all({
  url: Config.string("OBJECTSTORE_URL"),
  token: Config.option(Config.redacted("OBJECTSTORE_TOKEN")),
  tokenFile: variable("OBJECTSTORE_TOKEN_FILE"),
  keyFile: variable("OBJECTSTORE_KEY_FILE"),
  keyId: variable("OBJECTSTORE_KEY_ID"),
  timeout: deadline("OBJECTSTORE_TIMEOUT"),
  idleTimeout: deadline("OBJECTSTORE_IDLE_TIMEOUT"),
  connectTimeout: deadline("OBJECTSTORE_CONNECT_TIMEOUT")
})

/** A secret read from a file (trimmed), or an error naming the variable and the file, never the content. */
const readSecretFile = (name: string, file: string) =>
  Effect.flatMap(FileSystem.FileSystem, (fs) => fs.readFileString(file)).pipe(
    Effect.map((text) => Redacted.make(text.trim())),
    Effect.mapError((error) =>
      new InvalidInputError({
        field: name,
        reason: `cannot read ${file}: ${error._tag === "SystemError" ? error.reason : error.message}`
      })
    ),
    Effect.provide(NodeFileSystem.layer)
  )

/**
 * The options {@link layerConfig} reads, resolved from the environment through Effect's `Config` (so a
 * `ConfigProvider` can supply them in tests), with `overrides` on top. The variables are the `objectstore` command's:
 *
 * | variable | option |
 * |---|---|
 * | `OBJECTSTORE_URL` (required) | `baseUrl` |
 * | `OBJECTSTORE_KEY_FILE` and `OBJECTSTORE_KEY_ID` | `secretKey`: an Ed25519 private key (PKCS#8 PEM file) and its key id |
 * | `OBJECTSTORE_TOKEN`, or `OBJECTSTORE_TOKEN_FILE` | `token`: a static token, or a file holding one |
 * | `OBJECTSTORE_TIMEOUT`, `OBJECTSTORE_IDLE_TIMEOUT`, `OBJECTSTORE_CONNECT_TIMEOUT` | `timeout`, `idleTimeout`, `connectTimeout`, as humantime (`30s`, `500ms`, `2m 30s`) |
 *
 * A secret key wins over a token, as in the command. Secrets are `Redacted` from the moment they are read; an error
 * names the variable and the file, never the content. Fails with `ConfigError` for a missing `OBJECTSTORE_URL` or
 * an unreadable duration, with `InvalidInputError` for a key file without `OBJECTSTORE_KEY_ID` or a file that cannot
 * be read.
 *
 * @since 0.1.0
 * @category constructors
 */
export const optionsFromEnvironment = (
  overrides: Partial<Options> = {}
): Effect.Effect<Options, ConfigError.ConfigError | InvalidInputError> =>
  Effect.gen(function*() {
    const vars = yield* environment
    let credentials: Pick<Options, "token" | "secretKey"> = {}
    if (Option.isSome(vars.keyFile)) {
      if (Option.isNone(vars.keyId)) {
        return yield* new InvalidInputError({
          field: "OBJECTSTORE_KEY_ID",
          reason: "OBJECTSTORE_KEY_FILE is set: give the key id the server knows its public key by"
        })
      }
      credentials = {
        secretKey: {
          kid: vars.keyId.value,
          privateKey: yield* readSecretFile("OBJECTSTORE_KEY_FILE", vars.keyFile.value)
        }
      }
    } else if (Option.isSome(vars.token)) {
      credentials = { token: vars.token.value }
    } else if (Option.isSome(vars.tokenFile)) {
      credentials = { token: yield* readSecretFile("OBJECTSTORE_TOKEN_FILE", vars.tokenFile.value) }
    }
    return {
      baseUrl: vars.url,
      ...credentials,
      ...Option.match(vars.timeout, { onNone: () => ({}), onSome: (timeout) => ({ timeout }) }),
      ...Option.match(vars.idleTimeout, { onNone: () => ({}), onSome: (idleTimeout) => ({ idleTimeout }) }),
      ...Option.match(vars.connectTimeout, { onNone: () => ({}), onSome: (connectTimeout) => ({ connectTimeout }) }),
      ...overrides
    }
  })

/**
 * {@link layer} with its options from the environment (see {@link optionsFromEnvironment} for the variables), with
 * `overrides` on top: the one-line setup of a service configured like the `objectstore` command.
 *
 * ```ts
 * // OBJECTSTORE_URL=http://objectstore:8888 OBJECTSTORE_KEY_FILE=/run/secrets/key.pem OBJECTSTORE_KEY_ID=my-service
 * const ClientLive = NodeClient.layerConfig({ propagateTraces: true })
 * ```
 *
 * Fails with `ConfigError` (missing `OBJECTSTORE_URL`, a bad duration), `InvalidInputError` (a key file without its
 * id, an unreadable file, invalid options) or `AuthError` (a key that is not an Ed25519 private key).
 *
 * @since 0.1.0
 * @category layers
 */
export const layerConfig = (
  overrides: Partial<Options> = {}
): Layer.Layer<ObjectstoreClient.ObjectstoreClient, ConfigError.ConfigError | InvalidInputError | AuthError> =>
  Layer.unwrapEffect(Effect.map(optionsFromEnvironment(overrides), layer))
