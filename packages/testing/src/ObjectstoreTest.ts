/**
 * The Objectstore client wired to the real local server running in-process (memory storage, no socket), in one
 * line of test setup: `Effect.provide(ObjectstoreTest.layer())`.
 *
 * The layer provides:
 *
 * - `ObjectstoreClient` (so `Session.layer(…)` and your own services work unchanged);
 * - {@link Store}: what the server holds (`objects`, `read`), the requests the client made (`requests`), and the
 *   server's controls;
 * - `Faults.Faults`: fault injection between the client and the server, changeable at runtime;
 * - `RequestLog.RequestLog`: the raw request log.
 *
 * Options turn auth on (an Ed25519 key is generated, the server trusts it and the client signs with it; or bring
 * your own key or a static token), set usecase expiration rules or any other `ServerConfig` field, and pass client
 * options (timeout, retry).
 *
 * **Time.** The server reads time only through Effect's `Clock`, and the layer captures the clock of the fiber that
 * builds it. Provide the layer inside an `it.effect` test (or through `@effect/vitest`'s `layer(…)`, which builds
 * it with the test services) and `TestClock` drives everything: `TestClock.adjust("31 seconds")` expires a `ttl:30s`
 * object, a `get` of a `tti` object bumps its deadline, injected latencies and the client's retry delays wait for
 * the clock. Because retry delays then only pass when the test adjusts the clock, fork a call that will be retried
 * and use {@link advance}, or build the kit with `client: { retry: false }`. `TestClock` starts at 0 (1970), and
 * tokens are signed and verified on the same clock, so auth works at any test time.
 *
 * **Plain vitest.** {@link start} returns a handle with a `ManagedRuntime` for `describe`/`it` with async functions.
 *
 * @example
 * ```ts
 * import { ObjectstoreClient, Scope, Usecase } from "@objectstore/client"
 * import * as ObjectstoreTest from "@objectstore/testing/ObjectstoreTest"
 * import * as Effect from "effect/Effect"
 *
 * // In a test file: it.effect("stores the upload", () => storesTheUpload), with `it` from @effect/vitest
 * export const storesTheUpload = Effect.gen(function*() {
 *   const client = yield* ObjectstoreClient.ObjectstoreClient
 *   const session = yield* client.session(Usecase.make("files"), Scope.make({ org: 1 }))
 *   const key = yield* session.put("hello")
 *   const store = yield* ObjectstoreTest.Store
 *   const objects = yield* store.objects
 *   return objects.some((object) => object.key === key)
 * }).pipe(Effect.provide(ObjectstoreTest.layer()))
 * ```
 *
 * @since 0.1.0
 */
import * as NodeFileSystem from "@effect/platform-node/NodeFileSystem"
import * as HttpClient from "@effect/platform/HttpClient"
import * as Auth from "@objectstore/client/Auth"
import * as Compression from "@objectstore/client/Compression"
import * as Metrics from "@objectstore/client/Metrics"
import * as ObjectstoreClient from "@objectstore/client/ObjectstoreClient"
import type { AuthError, InvalidInputError } from "@objectstore/client/ObjectstoreError"
import * as ClientScope from "@objectstore/client/Scope"
import * as Session from "@objectstore/client/Session"
import type * as Usecase from "@objectstore/client/Usecase"
import type * as Metadata from "@objectstore/protocol/Metadata"
import * as Permission from "@objectstore/protocol/Permission"
import * as ProtocolScope from "@objectstore/protocol/Scope"
import type * as ServerAuth from "@objectstore/server/Auth"
import type * as Config from "@objectstore/server/Config"
import * as Server from "@objectstore/server/Server"
import * as Storage from "@objectstore/server/Storage"
import * as Cause from "effect/Cause"
import * as Chunk from "effect/Chunk"
import * as Clock from "effect/Clock"
import * as Context from "effect/Context"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Exit from "effect/Exit"
import * as Layer from "effect/Layer"
import * as ManagedRuntime from "effect/ManagedRuntime"
import * as Option from "effect/Option"
import * as Redacted from "effect/Redacted"
import type * as EffectScope from "effect/Scope"
import * as Stream from "effect/Stream"
import * as TestClock from "effect/TestClock"
import * as TestContext from "effect/TestContext"
import * as crypto from "node:crypto"
import * as Faults from "./Faults.js"
import * as RequestLog from "./RequestLog.js"

/**
 * Auth for the kit. The server enforces auth and trusts one Ed25519 key (`kid`, default `test-key`); the client
 * signs a token per request with it, unless `token` (a static token) or `anonymous` (no token) is given.
 *
 * @since 0.1.0
 * @category models
 */
export interface AuthOptions {
  readonly kid?: string | undefined
  /** PKCS#8 PEM; give it with `publicKey`. Default: a key pair generated for the layer. */
  readonly privateKey?: Redacted.Redacted<string> | undefined
  /** SPKI PEM of `privateKey`. */
  readonly publicKey?: string | undefined
  /** The permissions the server lets the key grant (default all three). */
  readonly permissions?: ReadonlyArray<Permission.Permission> | undefined
  /** Send this token with every request instead of signing. */
  readonly token?: Redacted.Redacted<string> | undefined
  /** Send no token at all (requests fail with `AuthError` `MissingToken`). */
  readonly anonymous?: boolean | undefined
}

/**
 * @since 0.1.0
 * @category models
 */
export interface Options {
  /** `true` (or options) enforces auth on the server and signs requests; default off. */
  readonly auth?: boolean | AuthOptions | undefined
  /** Per-usecase expiration rules of the server (§6.7). */
  readonly usecases?: Readonly<Record<string, Config.UsecaseRules>> | undefined
  /** Any other server configuration (storage, limits, killswitches, `enforceExpiration`, …). */
  readonly server?: Partial<Config.ServerConfig> | undefined
  /** Client options (timeout, retry, …); `baseUrl` defaults to `http://objectstore.test`. */
  readonly client?: Partial<ObjectstoreClient.Options> | undefined
  /** Fault rules active from the start (change them later through `Faults.Faults`). */
  readonly faults?: ReadonlyArray<Faults.Rule> | undefined
  /** Record the client metrics (`Metrics.layer`); default `false` (`Metrics.layerNoop`). */
  readonly metrics?: boolean | undefined
}

/**
 * The key the server trusts when auth is on.
 *
 * @since 0.1.0
 * @category models
 */
export interface TestKey {
  readonly kid: string
  readonly privateKey: Redacted.Redacted<string>
  readonly publicKey: string
}

/**
 * One object held by the server.
 *
 * @since 0.1.0
 * @category models
 */
export interface StoredObject {
  readonly usecase: string
  /** The scope as in URLs (`org=42;project=1337`, `_` for none). */
  readonly scope: string
  readonly scopes: ProtocolScope.Components
  readonly key: string
  readonly metadata: Metadata.Metadata
  /** Stored size in bytes (compressed, when the object is zstd). */
  readonly size: number
  /** Past its ttl/tti deadline at the current `Clock` time: clients get 404, the reaper has not removed it yet. */
  readonly expired: boolean
}

/**
 * Inspection of the in-process server and of the client's requests.
 *
 * @since 0.1.0
 * @category models
 */
export interface Service {
  /** The client's base URL. */
  readonly baseUrl: string
  /** Every stored object (expired ones included, flagged), sorted by usecase, scope and key. */
  readonly objects: Effect.Effect<ReadonlyArray<StoredObject>>
  /**
   * The payload of an object as the server holds it, decompressed when it is zstd (`raw: true` keeps the stored
   * bytes); `None` when missing. Reading here does not bump TTI and ignores expiry.
   */
  readonly read: (
    usecase: string | Usecase.Usecase,
    scope: string | ClientScope.Scope,
    key: string,
    options?: { readonly raw?: boolean | undefined }
  ) => Effect.Effect<Option.Option<Uint8Array>>
  /** {@link Service.read} decoded as UTF-8. */
  readonly readText: (
    usecase: string | Usecase.Usecase,
    scope: string | ClientScope.Scope,
    key: string
  ) => Effect.Effect<Option.Option<string>>
  /** Every request the client made (retries included), oldest first. */
  readonly requests: Effect.Effect<ReadonlyArray<RequestLog.Entry>>
  /** Forgets the recorded requests. */
  readonly clearRequests: Effect.Effect<void>
  /** Runs the server's reaper now; returns how many expired objects it deleted. */
  readonly reapNow: Effect.Effect<number>
  /** The server's app, storage, configuration and switches. */
  readonly control: Server.Control
  /** The trusted key when auth is on. */
  readonly key: Option.Option<TestKey>
}

/**
 * @since 0.1.0
 * @category services
 */
export class Store extends Context.Tag("@objectstore/testing/ObjectstoreTest/Store")<Store, Service>() {}

/**
 * What the kit layer provides.
 *
 * @since 0.1.0
 * @category models
 */
export type Provided =
  | ObjectstoreClient.ObjectstoreClient
  | Store
  | Faults.Faults
  | RequestLog.RequestLog
  | Server.ServerControl

/**
 * Why the kit could not start: invalid server configuration or keys, invalid client options.
 *
 * @since 0.1.0
 * @category errors
 */
export type SetupError = ServerAuth.AuthConfigError | Storage.StorageError | InvalidInputError | AuthError

/**
 * The default base URL of the kit's client.
 *
 * @since 0.1.0
 * @category constants
 */
export const DEFAULT_BASE_URL = "http://objectstore.test"

/**
 * Generates an Ed25519 key pair (PKCS#8 and SPKI PEM).
 *
 * @since 0.1.0
 * @category constructors
 */
export const generateKey = (kid: string = "test-key"): TestKey => {
  const pair = crypto.generateKeyPairSync("ed25519")
  return {
    kid,
    privateKey: Redacted.make(pair.privateKey.export({ type: "pkcs8", format: "pem" }).toString()),
    publicKey: pair.publicKey.export({ type: "spki", format: "pem" }).toString()
  }
}

const resolveKey = (auth: Options["auth"]): TestKey | undefined => {
  if (auth === undefined || auth === false) return undefined
  const options: AuthOptions = auth === true ? {} : auth
  const kid = options.kid ?? "test-key"
  if (options.privateKey !== undefined && options.publicKey !== undefined) {
    return { kid, privateKey: options.privateKey, publicKey: options.publicKey }
  }
  if (options.publicKey !== undefined) {
    return { kid, privateKey: Redacted.make(""), publicKey: options.publicKey }
  }
  return generateKey(kid)
}

const clientAuthLayer = (auth: Options["auth"], key: TestKey | undefined): Layer.Layer<Auth.Auth, AuthError> => {
  if (key === undefined || auth === undefined || auth === false) return Auth.layerNone
  const options: AuthOptions = auth === true ? {} : auth
  if (options.anonymous === true) return Auth.layerNone
  if (options.token !== undefined) return Auth.layerToken(options.token)
  return Auth.layerSecretKey({ kid: key.kid, privateKey: key.privateKey })
}

const scopeText = (scope: string | ClientScope.Scope): string => {
  if (typeof scope === "string") return scope
  return Either.getOrElse(ClientScope.render(scope), () => "<invalid scope>")
}

const nowMicros = Effect.map(Clock.currentTimeNanos, (nanos) => nanos / 1000n)

const collect = (stream: Stream.Stream<Uint8Array, unknown>) =>
  Effect.map(Stream.runCollect(stream), (chunks) => {
    const parts = Chunk.toReadonlyArray(chunks)
    const bytes = new Uint8Array(parts.reduce((sum, part) => sum + part.length, 0))
    let offset = 0
    for (const part of parts) {
      bytes.set(part, offset)
      offset += part.length
    }
    return bytes
  })

const makeStore = (options: {
  readonly baseUrl: string
  readonly control: Server.Control
  readonly compression: Compression.Service
  readonly log: RequestLog.Service
  readonly key: TestKey | undefined
}): Service => {
  const { compression, control, log } = options
  const storage = control.storage
  const read: Service["read"] = (usecase, scope, key, readOptions) =>
    Effect.gen(function*() {
      const rendered = scopeText(scope)
      const scopes = ProtocolScope.parse(rendered)
      if (Either.isLeft(scopes)) return Option.none()
      const id: Storage.ObjectId = {
        usecase: typeof usecase === "string" ? usecase : usecase.name,
        scopes: scopes.right,
        key
      }
      const found = yield* Storage.readAll(storage, id)
      if (found === undefined) return Option.none()
      if (readOptions?.raw === true || found.info.metadata.compression !== "zstd") return Option.some(found.bytes)
      return Option.some(yield* collect(compression.decompress(Stream.make(found.bytes))))
    }).pipe(Effect.orDie)
  return Store.of({
    baseUrl: options.baseUrl,
    objects: Effect.gen(function*() {
      const entries = yield* storage.list
      const now = yield* nowMicros
      return entries.map((entry): StoredObject => ({
        usecase: entry.id.usecase,
        scope: ProtocolScope.render(entry.id.scopes),
        scopes: entry.id.scopes,
        key: entry.id.key,
        metadata: entry.metadata,
        size: entry.size,
        expired: entry.metadata.expirationPolicy._tag !== "Manual" && entry.metadata.timeExpires !== undefined &&
          entry.metadata.timeExpires < now
      })).sort((a, b) =>
        a.usecase.localeCompare(b.usecase) || a.scope.localeCompare(b.scope) || a.key.localeCompare(b.key)
      )
    }).pipe(Effect.orDie),
    read,
    readText: (usecase, scope, key) =>
      Effect.map(read(usecase, scope, key), Option.map((bytes) => new TextDecoder().decode(bytes))),
    requests: log.entries,
    clearRequests: log.clear,
    reapNow: Effect.orDie(control.reapNow),
    control,
    key: Option.fromNullable(options.key)
  })
}

/**
 * The kit as a scoped effect returning its services (what {@link layer} provides).
 *
 * @since 0.1.0
 * @category constructors
 */
export const make = (
  options: Options = {}
): Effect.Effect<Context.Context<Provided>, SetupError, EffectScope.Scope> =>
  Effect.gen(function*() {
    const key = resolveKey(options.auth)
    const permissions = typeof options.auth === "object" ? options.auth.permissions : undefined
    const serverConfig: Partial<Config.ServerConfig> = {
      ...options.server,
      ...(options.usecases === undefined ? {} : { usecases: options.usecases }),
      ...(key === undefined ? {} : {
        auth: {
          enforce: true,
          keys: { [key.kid]: { publicKeys: [key.publicKey], maxPermissions: permissions ?? Permission.all } }
        }
      })
    }
    const server = yield* Layer.build(Server.layerHttpClient(serverConfig))
    const control = Context.get(server, Server.ServerControl)
    const transport = Context.get(server, HttpClient.HttpClient)
    const faults = yield* Faults.make(options.faults ?? [])
    const log = yield* RequestLog.make
    const http = RequestLog.record(log)(Faults.inject(faults)(transport))
    const baseUrl = options.client?.baseUrl ?? DEFAULT_BASE_URL
    const compression = yield* Compression.make
    const services = yield* Layer.build(Layer.mergeAll(
      clientAuthLayer(options.auth, key),
      options.metrics === true ? Metrics.layer : Metrics.layerNoop
    ))
    const client = yield* ObjectstoreClient.make({ ...options.client, baseUrl }).pipe(
      Effect.provide(services),
      Effect.provideService(Compression.Compression, compression),
      Effect.provideService(HttpClient.HttpClient, http),
      // file sources (`session.upload({ path })`, `Batch.putFile`) read through Node's file system, as with NodeClient
      Effect.provide(NodeFileSystem.layer)
    )
    const store = makeStore({ baseUrl, control, compression, log, key })
    return Context.make(ObjectstoreClient.ObjectstoreClient, client).pipe(
      Context.add(Store, store),
      Context.add(Faults.Faults, faults),
      Context.add(RequestLog.RequestLog, log),
      Context.add(Server.ServerControl, control)
    )
  })

/**
 * The in-process server and the client, in one layer (see the module documentation). Each build is a fresh,
 * empty store.
 *
 * @since 0.1.0
 * @category layers
 */
export const layer = (options: Options = {}): Layer.Layer<Provided, SetupError> => Layer.scopedContext(make(options))

/**
 * The kit for a single usecase and scope: {@link layer} plus `Session.Session`.
 *
 * @since 0.1.0
 * @category layers
 */
export const layerSession = (
  usecase: Usecase.Usecase,
  scope: ClientScope.Scope,
  options: Options = {}
): Layer.Layer<Provided | Session.Session, SetupError> =>
  Session.layer(usecase, scope).pipe(Layer.provideMerge(layer(options)))

// ---------------------------------------------------------------------------------------------------------------
// TestClock helpers

const realPause = Effect.promise(() => new Promise<void>((resolve) => setTimeout(resolve, 1)))

/**
 * Polls (in real time, at most `within`) the fibers sleeping on the `TestClock` until `wanted` accepts one of their
 * remaining durations; otherwise dies with a message that lists what was sleeping, so a test that waits for the
 * wrong duration says so instead of timing out.
 */
const awaitSleepWhere = (
  what: string,
  within: Duration.DurationInput,
  wanted: (remainingMillis: number) => boolean
): Effect.Effect<void> =>
  Effect.gen(function*() {
    const deadline = globalThis.performance.now() + Duration.toMillis(within)
    while (true) {
      const now = yield* Clock.currentTimeMillis
      const remaining = Chunk.toReadonlyArray(yield* TestClock.sleeps()).map((at) => at - now)
      if (remaining.some(wanted)) return
      if (globalThis.performance.now() > deadline) {
        const seen = remaining.length === 0
          ? "no fiber is sleeping on the TestClock"
          : `fibers are sleeping for ${remaining.map((ms) => Duration.format(Duration.millis(ms))).join(", ")}`
        return yield* Effect.dieMessage(
          `no fiber started sleeping for ${what} within ${Duration.format(within)} of real time; ${seen}`
        )
      }
      yield* realPause
    }
  })

/**
 * Waits (in real time, at most `within`, default 5 s) until some fiber sleeps on the `TestClock` until exactly
 * `duration` from now, e.g. a retry waiting for `Retry-After`, or an injected latency. When none does in time it
 * fails with a defect that lists the sleeps it saw.
 *
 * @since 0.1.0
 * @category combinators
 */
export const awaitSleep = (
  duration: Duration.DurationInput,
  within: Duration.DurationInput = "5 seconds"
): Effect.Effect<void> => {
  const wanted = Duration.toMillis(duration)
  return awaitSleepWhere(`exactly ${Duration.format(duration)}`, within, (remaining) => remaining === wanted)
}

/**
 * Lets a forked call that is about to wait (a retry delay, an injected latency) move on: waits (in real time, at most
 * `within`, default 5 s) until some fiber sleeps on the `TestClock` for `duration` **or less**, then
 * `TestClock.adjust(duration)`. A jittered retry delay below `duration` is fine; when nothing sleeps that briefly in
 * time it fails with a defect that lists the sleeps it saw (for instance a delay longer than expected).
 *
 * @since 0.1.0
 * @category combinators
 */
export const advance = (
  duration: Duration.DurationInput,
  within: Duration.DurationInput = "5 seconds"
): Effect.Effect<void> => {
  const most = Duration.toMillis(duration)
  return Effect.zipRight(
    awaitSleepWhere(`${Duration.format(duration)} or less`, within, (remaining) => remaining >= 0 && remaining <= most),
    TestClock.adjust(duration)
  )
}

// ---------------------------------------------------------------------------------------------------------------
// Plain vitest (Promise API)

/**
 * A started kit for tests written with async functions.
 *
 * @since 0.1.0
 * @category models
 */
export interface Running {
  /** The runtime holding the kit's services. */
  readonly runtime: ManagedRuntime.ManagedRuntime<Provided, SetupError>
  /**
   * Runs an effect that needs the kit (in a scope closed when it ends). A failure rejects with the typed error
   * itself (e.g. a `NotFoundError`: `rejects.toMatchObject({ _tag: "NotFoundError" })`).
   */
  readonly run: <A, E>(effect: Effect.Effect<A, E, Provided | EffectScope.Scope>) => Promise<A>
  /** A session of the kit's client. */
  readonly session: (usecase: Usecase.Usecase, scope: ClientScope.Scope) => Promise<Session.Service>
  readonly objects: () => Promise<ReadonlyArray<StoredObject>>
  readonly requests: () => Promise<ReadonlyArray<RequestLog.Entry>>
  /** Replaces the fault rules (`[]` heals). */
  readonly setFaults: (rules: ReadonlyArray<Faults.Rule>) => Promise<void>
  /** Stops the server and releases everything. */
  readonly dispose: () => Promise<void>
}

/**
 * Starts the kit for plain `vitest` (or any Promise-based runner). With `testClock: true` the runtime uses a
 * `TestClock` (drive it with `run(TestClock.adjust(…))`); by default time is real.
 *
 * @example
 * ```ts
 * import { Scope, Usecase } from "@objectstore/client"
 * import * as ObjectstoreTest from "@objectstore/testing/ObjectstoreTest"
 *
 * // In a test file: start in beforeAll, dispose in afterAll, and run effects in each it(…)
 * const kit = await ObjectstoreTest.start()
 * const session = await kit.session(Usecase.make("files"), Scope.make({ org: 1 }))
 * const key = await kit.run(session.put("hello"))
 * console.log(await kit.run(session.getText(key))) // "hello"
 * await kit.dispose()
 * ```
 *
 * @since 0.1.0
 * @category constructors
 */
export const start = async (options: Options & { readonly testClock?: boolean | undefined } = {}): Promise<Running> => {
  const base = layer(options)
  const runtime = ManagedRuntime.make(
    options.testClock === true ? base.pipe(Layer.provideMerge(TestContext.TestContext)) : base
  )
  const store = await runtime.runPromise(Store)
  const faults = await runtime.runPromise(Faults.Faults)
  const run = <A, E>(effect: Effect.Effect<A, E, Provided | EffectScope.Scope>): Promise<A> =>
    runtime.runPromiseExit(Effect.scoped(effect)).then((exit) => {
      if (Exit.isSuccess(exit)) return exit.value
      throw Cause.squash(exit.cause)
    })
  return {
    runtime,
    run,
    session: (usecase, scope) =>
      run(Effect.flatMap(ObjectstoreClient.ObjectstoreClient, (c) => c.session(usecase, scope))),
    objects: () => runtime.runPromise(store.objects),
    requests: () => runtime.runPromise(store.requests),
    setFaults: (rules) => runtime.runPromise(faults.set(rules)),
    dispose: () => runtime.dispose()
  }
}
