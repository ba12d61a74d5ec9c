/**
 * Server configuration: the upstream `OS__*` environment variables (PROTOCOL §16) and their defaults.
 *
 * `fromEnvironment` reads a plain environment record (the bin passes `process.env`; the library never reads the
 * process environment itself). Variable names are matched case-insensitively after the `OS__` prefix and nested by
 * `__`, so `OS__STORAGE__TYPE` sets `storage.type`. Structured values use the literal syntax of §16.2
 * (`{kid={key_files=["a.pem"],max_permissions=["object.read"]}}`); nested variables such as
 * `OS__AUTH__KEYS__MYKID__KEY_FILES=["a.pem"]` are merged into them (their names are lowercased, as upstream).
 *
 * Honoured upstream variables:
 *
 * | variable | value |
 * |---|---|
 * | `OS__HTTP_ADDR` | `ip:port` or `[v6]:port` |
 * | `OS__STORAGE__TYPE` | `filesystem`, or `memory` (not upstream) |
 * | `OS__STORAGE__PATH` | filesystem root |
 * | `OS__AUTH__ENFORCE` | `true` / `false` |
 * | `OS__AUTH__KEYS` | key directory (§12.6), key files are read now (relative to the working directory) |
 * | `OS__HTTP__MAX_REQUESTS` | non-negative integer |
 * | `OS__SERVICE__MAX_CONCURRENCY`, `OS__SERVICE__CONCURRENCY_QUEUE` | non-negative integers |
 * | `OS__SERVICE__CONCURRENCY_TIMEOUT` | humantime duration (§6.2) |
 * | `OS__USECASES` | `{usecase={expiration={manual={allowed=false},ttl={max="90d"},tti={allowed=true,max="7d"}}}}` |
 * | `OS__KILLSWITCHES` | `[{usecase="u",scopes={org="42"},service="relay*"}]` |
 *
 * Additions of this server (not upstream):
 *
 * | variable | value |
 * |---|---|
 * | `OS__DEV__MAX_BODY_SIZE` | largest accepted single-object body in bytes (413 past it) |
 * | `OS__DEV__ENFORCE_EXPIRATION` | `true` (production semantics, default) / `false` (upstream filesystem) |
 * | `OS__DEV__REAP_INTERVAL` | humantime duration between sweeps of expired objects |
 * | `OS__DEV__BATCH_ORDER` | `completion` / `reverse` / `shuffle` (§17.3) |
 * | `OS__DEV__MULTIPART_MAX_AGE` | idle time after which an unfinished multipart upload is removed (humantime, `24h`) |
 * | `OS__DEV__BATCH_MEMORY_BUDGET` | bytes one batch request may hold in memory (parts read, answers not yet written) |
 * | `OS__DEV__RESUMABLE` | `true` (default) / `false`: resumable uploads answer 501 (§22.6) |
 * | `OS__DEV__RESUMABLE_MAX_AGE` | idle time after which a resumable session expires (humantime, `24h`, §22.7) |
 * | `OS__DEV__RESUMABLE_CHUNK_LIMIT` | debug: the most bytes one resumable chunk persists (§22.2) |
 *
 * Other variables (`OS__RATE_LIMITS__*`, `OS__LOGGING__*`, `OS__RUNTIME__*`, `OS__SENTRY__*`, `OS__METRICS__*`,
 * backend-specific storage keys, unknown keys) are ignored, as upstream ignores unknown keys.
 *
 * The variables are decoded with one `Schema` (one property per variable); a value that does not decode fails with
 * a `ServerConfigError` that names the variable, the value found and what was expected.
 *
 * @since 0.1.0
 */
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Schema from "effect/Schema"
import type * as Auth from "./Auth.js"
import * as Environment from "./internal/environment.js"
import * as EnvironmentSchema from "./internal/environmentSchema.js"
import * as KeyFiles from "./internal/keyFiles.js"

/**
 * @since 0.1.0
 * @category models
 */
export type StorageConfig =
  | { readonly type: "memory" }
  | { readonly type: "filesystem"; readonly path: string }

/**
 * Per-usecase expiration rules (§6.7). A missing kind is allowed with no maximum.
 *
 * @since 0.1.0
 * @category models
 */
export interface UsecaseRules {
  readonly manual?: { readonly allowed: boolean } | undefined
  readonly ttl?: { readonly allowed: boolean; readonly max?: Duration.Duration | undefined } | undefined
  readonly tti?: { readonly allowed: boolean; readonly max?: Duration.Duration | undefined } | undefined
}

/**
 * A killswitch (§14.5): every given field must match.
 *
 * @since 0.1.0
 * @category models
 */
export interface Killswitch {
  readonly usecase?: string | undefined
  readonly scopes?: Readonly<Record<string, string>> | undefined
  readonly service?: string | undefined
}

/**
 * @since 0.1.0
 * @category models
 */
export interface ServerConfig {
  /** Listen address; `0.0.0.0:8888` upstream. IPv6 addresses are stored without brackets. */
  readonly host: string
  readonly port: number
  readonly storage: StorageConfig
  readonly auth: Auth.Options
  /** Web concurrency limit (§14.6): in-flight `/v1` requests past it get 503. */
  readonly maxRequests: number
  /** Backend operation concurrency (§14.6): past it (and the queue) operations get 429. */
  readonly maxConcurrency: number
  readonly concurrencyQueue: number
  readonly concurrencyTimeout: Duration.Duration
  readonly usecases: Readonly<Record<string, UsecaseRules>>
  readonly killswitches: ReadonlyArray<Killswitch>
  /** Largest accepted single-object body in bytes (413 past it); not upstream, `undefined` = unlimited. */
  readonly maxBodySize: number | undefined
  /** Production expiration semantics (§8): expired objects are 404 and TTI reads bump. `false` = upstream fs. */
  readonly enforceExpiration: boolean
  /** How often expired objects are reaped from storage. */
  readonly reapInterval: Duration.Duration
  /** Debug: order of batch answer parts (§17.3). */
  readonly batchOrder: "completion" | "reverse" | "shuffle"
  /** Unfinished multipart uploads idle for longer than this are removed (checked every `reapInterval`). */
  readonly multipartMaxAge: Duration.Duration
  /**
   * Bytes one batch request may hold in memory (not upstream): request parts read but not yet executed, and answer
   * bodies ready but not yet written. Larger bodies stream one part at a time. Default 32 MiB.
   */
  readonly batchMemoryBudget: number
  /**
   * Whether resumable uploads (PROTOCOL §22) are available; `false` answers them with 501, as a backend without
   * them would (to test clients' fallback). Default `true`.
   */
  readonly resumable: boolean
  /** Resumable sessions idle for longer than this expire (410); ended sessions are forgotten after it (404). */
  readonly resumableMaxAge: Duration.Duration
  /** Debug: the most bytes one resumable chunk persists (the answer's `Upload-Offset` says how far it got). */
  readonly resumableChunkLimit: number | undefined
}

/**
 * The defaults of the library layers (loopback, memory storage, auth disabled). The bin uses upstream's
 * defaults instead (`upstreamDefaults`).
 *
 * @since 0.1.0
 * @category constructors
 */
export const defaults: ServerConfig = {
  host: "127.0.0.1",
  port: 8888,
  storage: { type: "memory" },
  auth: { enforce: false, keys: {} },
  maxRequests: 10_000,
  maxConcurrency: 500,
  concurrencyQueue: 0,
  concurrencyTimeout: Duration.seconds(1),
  usecases: {},
  killswitches: [],
  maxBodySize: undefined,
  enforceExpiration: true,
  reapInterval: Duration.minutes(1),
  batchOrder: "completion",
  multipartMaxAge: Duration.hours(24),
  batchMemoryBudget: 32 * 1024 * 1024,
  resumable: true,
  resumableMaxAge: Duration.hours(24),
  resumableChunkLimit: undefined
}

/**
 * Upstream's defaults (§16.1), used by the `objectstore-server` bin: listen on `0.0.0.0:8888`, filesystem storage
 * at `data` (relative to the working directory), auth enforced (so keys must be configured, or
 * `OS__AUTH__ENFORCE=false`).
 *
 * @since 0.1.0
 * @category constructors
 */
export const upstreamDefaults: ServerConfig = {
  ...defaults,
  host: "0.0.0.0",
  port: 8888,
  storage: { type: "filesystem", path: "data" },
  auth: { enforce: true, keys: {} }
}

/**
 * A configuration value is invalid, or the configuration as a whole is (auth enforced with no keys). `variable`
 * names the environment variable (e.g. `OS__AUTH__KEYS`); `message` starts with it (`OS__HTTP_ADDR: expected
 * ip:port or [ipv6]:port, got "localhost:80"`), except for the whole-configuration check, whose message is
 * upstream's ("Auth enforcement is enabled but no keys are configured…").
 *
 * Named for what it is: Effect's own `ConfigError` (from `effect/ConfigError`) is the failure of `Config`, which
 * this server does not use to read its environment.
 *
 * @since 0.1.0
 * @category errors
 */
export class ServerConfigError extends Schema.TaggedError<ServerConfigError>("@objectstore/server/ServerConfigError")(
  "ServerConfigError",
  { variable: Schema.String, message: Schema.String }
) {}

const fail = (failure: Environment.Failure) =>
  new ServerConfigError({ variable: failure.variable, message: `${failure.variable}: ${failure.reason}` })

type Variable = keyof typeof EnvironmentSchema.Environment.fields

/**
 * The input of a schema of `variables`, read from the tree in their order: each variable's text, or its structured
 * value. Reading stops at the first structured value whose literal does not parse, with that failure.
 */
const read = (
  root: Environment.Node,
  variables: ReadonlyArray<Variable>
): { readonly input: Record<string, unknown>; readonly failure: Environment.Failure | undefined } => {
  const input: Record<string, unknown> = {}
  for (const variable of variables) {
    const node = Environment.lookup(root, variable)
    if (node === undefined) continue
    if (EnvironmentSchema.structuredVariables.has(variable)) {
      const value = Environment.structured(node)
      if (Either.isLeft(value)) return { input, failure: value.left }
      input[variable] = value.right
    } else if (node.value !== undefined) {
      input[variable] = node.value
    }
  }
  return { input, failure: undefined }
}

/**
 * Decodes the variables of `schema` (a pick of `EnvironmentSchema.Environment`) from `env`, failing with the first
 * bad variable in the schema's order.
 */
const decode = <A, I>(
  env: Readonly<Record<string, string | undefined>>,
  schema: Schema.Schema<A, I> & { readonly fields: Partial<typeof EnvironmentSchema.Environment.fields> }
): Either.Either<A, ServerConfigError> => {
  const { failure, input } = read(Environment.tree(env), Object.keys(schema.fields) as Array<Variable>)
  // With a literal that does not parse, the variables before it are still decoded: a bad one among them comes first.
  const decoded = Schema.decodeUnknownEither(schema)(input)
  if (Either.isLeft(decoded)) return Either.left(fail(EnvironmentSchema.describeFailure(decoded.left)))
  return failure === undefined ? Either.right(decoded.right) : Either.left(fail(failure))
}

/**
 * The listen address from `OS__HTTP_ADDR` alone (what `objectstore-server healthcheck` needs), or `base`'s.
 *
 * @since 0.1.0
 * @category constructors
 */
export const httpAddrFromEnvironment = (
  env: Readonly<Record<string, string | undefined>>,
  base: ServerConfig = defaults
): Either.Either<{ readonly host: string; readonly port: number }, ServerConfigError> =>
  Either.map(
    decode(env, EnvironmentSchema.Environment.pick("OS__HTTP_ADDR")),
    (decoded) => decoded.OS__HTTP_ADDR ?? { host: base.host, port: base.port }
  )

/**
 * Reads the `OS__*` variables of `env` over `base` (the library `defaults` unless given; the bin passes
 * `upstreamDefaults`), reads and checks the key files, and validates the result: auth enforced with no keys fails
 * ("Auth enforcement is enabled but no keys are configured…"), as upstream refuses to start.
 *
 * @since 0.1.0
 * @category constructors
 */
export const fromEnvironment = (
  env: Readonly<Record<string, string | undefined>>,
  base: ServerConfig = defaults
): Effect.Effect<ServerConfig, ServerConfigError> =>
  Effect.gen(function*() {
    const vars = yield* decode(env, EnvironmentSchema.Environment)

    const type = vars.OS__STORAGE__TYPE ?? base.storage.type
    const storage: StorageConfig = type === "memory" ? { type: "memory" } : {
      type: "filesystem",
      path: vars.OS__STORAGE__PATH ?? (base.storage.type === "filesystem" ? base.storage.path : "data")
    }

    const enforce = vars.OS__AUTH__ENFORCE ?? base.auth.enforce
    const keys = vars.OS__AUTH__KEYS === undefined
      ? base.auth.keys
      : yield* KeyFiles.load("OS__AUTH__KEYS", vars.OS__AUTH__KEYS).pipe(Effect.mapError(fail))
    if (enforce && Object.keys(keys).length === 0) {
      return yield* new ServerConfigError({
        variable: "OS__AUTH__KEYS",
        message:
          "Auth enforcement is enabled but no keys are configured: set OS__AUTH__KEYS, or OS__AUTH__ENFORCE=false"
      })
    }

    return {
      host: vars.OS__HTTP_ADDR?.host ?? base.host,
      port: vars.OS__HTTP_ADDR?.port ?? base.port,
      storage,
      auth: { enforce, keys },
      maxRequests: vars.OS__HTTP__MAX_REQUESTS ?? base.maxRequests,
      maxConcurrency: vars.OS__SERVICE__MAX_CONCURRENCY ?? base.maxConcurrency,
      concurrencyQueue: vars.OS__SERVICE__CONCURRENCY_QUEUE ?? base.concurrencyQueue,
      concurrencyTimeout: vars.OS__SERVICE__CONCURRENCY_TIMEOUT ?? base.concurrencyTimeout,
      usecases: vars.OS__USECASES ?? base.usecases,
      killswitches: vars.OS__KILLSWITCHES ?? base.killswitches,
      maxBodySize: vars.OS__DEV__MAX_BODY_SIZE ?? base.maxBodySize,
      enforceExpiration: vars.OS__DEV__ENFORCE_EXPIRATION ?? base.enforceExpiration,
      reapInterval: vars.OS__DEV__REAP_INTERVAL ?? base.reapInterval,
      batchOrder: vars.OS__DEV__BATCH_ORDER ?? base.batchOrder,
      multipartMaxAge: vars.OS__DEV__MULTIPART_MAX_AGE ?? base.multipartMaxAge,
      batchMemoryBudget: vars.OS__DEV__BATCH_MEMORY_BUDGET ?? base.batchMemoryBudget,
      resumable: vars.OS__DEV__RESUMABLE ?? base.resumable,
      resumableMaxAge: vars.OS__DEV__RESUMABLE_MAX_AGE ?? base.resumableMaxAge,
      resumableChunkLimit: vars.OS__DEV__RESUMABLE_CHUNK_LIMIT ?? base.resumableChunkLimit
    } satisfies ServerConfig
  })
