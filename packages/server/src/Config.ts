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
 * @since 0.1.0
 */
import * as Humantime from "@objectstore/protocol/Humantime"
import * as Permission from "@objectstore/protocol/Permission"
import * as Data from "effect/Data"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as crypto from "node:crypto"
import * as fs from "node:fs/promises"
import * as net from "node:net"
import * as path from "node:path"
import type * as Auth from "./Auth.js"
import * as Literal from "./internal/literal.js"

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
 * A configuration value is invalid. `variable` names the environment variable (e.g. `OS__AUTH__KEYS`) and
 * `message` starts with it.
 *
 * @since 0.1.0
 * @category errors
 */
export class ConfigError extends Data.TaggedError("ConfigError")<{
  readonly variable: string
  readonly message: string
}> {}

const fail = (variable: string, reason: string) => new ConfigError({ variable, message: `${variable}: ${reason}` })

// ---------------------------------------------------------------------------------------------------------------
// The environment as a tree of `__`-separated, lowercased names

interface EnvNode {
  readonly variable: string
  value: string | undefined
  readonly children: Map<string, EnvNode>
}

const PREFIX = "OS__"

const envTree = (env: Readonly<Record<string, string | undefined>>): EnvNode => {
  const root: EnvNode = { variable: "OS", value: undefined, children: new Map() }
  for (const [name, value] of Object.entries(env)) {
    if (value === undefined || name.length <= PREFIX.length || name.slice(0, PREFIX.length).toUpperCase() !== PREFIX) {
      continue
    }
    const segments = name.slice(PREFIX.length).toLowerCase().split("__")
    if (segments.some((segment) => segment === "")) continue
    let node = root
    for (const segment of segments) {
      let child = node.children.get(segment)
      if (child === undefined) {
        child = { variable: `${node.variable}__${segment.toUpperCase()}`, value: undefined, children: new Map() }
        node.children.set(segment, child)
      }
      node = child
    }
    node.value = value
  }
  return root
}

const lookup = (root: EnvNode, ...keys: ReadonlyArray<string>): EnvNode | undefined => {
  let node: EnvNode | undefined = root
  for (const key of keys) node = node?.children.get(key)
  return node
}

const variableOf = (...keys: ReadonlyArray<string>) =>
  [PREFIX.slice(0, 2), ...keys.map((k) => k.toUpperCase())].join("__")

const mergeLiteral = (base: Literal.LiteralValue | undefined, over: Literal.LiteralValue): Literal.LiteralValue => {
  if (!Literal.isDict(base) || !Literal.isDict(over)) return over
  const entries = new Map(Object.entries(base))
  for (const [key, value] of Object.entries(over)) entries.set(key, mergeLiteral(entries.get(key), value))
  return Object.fromEntries(entries)
}

/** A structured value: the node's own literal, with nested variables merged over it. */
const structured = (node: EnvNode): Either.Either<Literal.LiteralValue, ConfigError> => {
  let value: Literal.LiteralValue | undefined
  if (node.value !== undefined) {
    const parsed = Literal.parse(node.value)
    if (Either.isLeft(parsed)) {
      return Either.left(fail(node.variable, `invalid value: ${Literal.formatError(parsed.left)}`))
    }
    value = parsed.right
  }
  if (node.children.size === 0) return Either.right(value ?? {})
  if (value !== undefined && !Literal.isDict(value)) {
    return Either.left(fail(node.variable, "expected a dictionary `{…}`, since nested variables extend it"))
  }
  const entries = new Map<string, Literal.LiteralValue>()
  for (const [key, child] of node.children) {
    const childValue = structured(child)
    if (Either.isLeft(childValue)) return childValue
    entries.set(key, childValue.right)
  }
  return Either.right(mergeLiteral(value, Object.fromEntries(entries)))
}

// ---------------------------------------------------------------------------------------------------------------
// Scalar values

const describe = (value: Literal.LiteralValue | undefined): string =>
  value === undefined ? "nothing" : Literal.render(value)

/**
 * Parses a boolean setting: `true`/`false` (any case), `1`/`0`.
 *
 * @since 0.1.0
 * @category parsing
 */
export const parseBoolean = (text: string): Either.Either<boolean, string> => {
  const lower = text.trim().toLowerCase()
  if (lower === "true" || lower === "1") return Either.right(true)
  if (lower === "false" || lower === "0") return Either.right(false)
  return Either.left(`expected true or false, got ${JSON.stringify(text)}`)
}

/**
 * Parses a non-negative integer setting (plain decimal digits, at most 2^53 − 1).
 *
 * @since 0.1.0
 * @category parsing
 */
export const parseCount = (text: string): Either.Either<number, string> => {
  const trimmed = text.trim()
  const n = Number(trimmed)
  return /^[0-9]+$/.test(trimmed) && Number.isSafeInteger(n)
    ? Either.right(n)
    : Either.left(`expected a non-negative integer, got ${JSON.stringify(text)}`)
}

/**
 * Parses a listen address: `ip:port` (IPv4) or `[v6]:port`; the host is returned without brackets. Port 0 means
 * "any free port".
 *
 * @since 0.1.0
 * @category parsing
 */
export const parseHttpAddr = (
  text: string
): Either.Either<{ readonly host: string; readonly port: number }, string> => {
  const trimmed = text.trim()
  const match = /^(?:\[([^\]]*)\]|([^:[\]]*)):([0-9]{1,5})$/.exec(trimmed)
  const expected = `expected ip:port or [ipv6]:port, got ${JSON.stringify(text)}`
  if (match === null) return Either.left(expected)
  const host = match[1] ?? match[2]!
  const port = Number(match[3])
  if (match[1] !== undefined ? net.isIPv6(host) === false : net.isIPv4(host) === false) return Either.left(expected)
  if (port > 65535) return Either.left(`port ${port} is out of range`)
  return Either.right({ host, port })
}

const parseDuration = (text: string): Either.Either<Duration.Duration, string> =>
  Either.mapLeft(Humantime.parse(text.trim()), (reason) => `invalid duration ${JSON.stringify(text)}: ${reason}`)

const scalarText = (value: Literal.LiteralValue | undefined): string | undefined =>
  typeof value === "string"
    ? value
    : typeof value === "number" || typeof value === "boolean"
    ? String(value)
    : undefined

// ---------------------------------------------------------------------------------------------------------------
// Structured values

const UPSTREAM_STORAGE_TYPES = ["gcs", "bigtable", "s3compatible", "tiered"]

type Check<A> = Either.Either<A, ConfigError>

const keyDirectory = (
  variable: string,
  value: Literal.LiteralValue
): Check<
  ReadonlyArray<{ kid: string; files: ReadonlyArray<string>; maxPermissions: Array<Permission.Permission> }>
> => {
  if (!Literal.isDict(value)) {
    return Either.left(fail(variable, `expected a dictionary {kid={key_files=[…],max_permissions=[…]}}`))
  }
  const out = []
  for (const [kid, entry] of Object.entries(value)) {
    if (!Literal.isDict(entry)) {
      return Either.left(fail(variable, `key ${JSON.stringify(kid)}: expected {key_files=[…],max_permissions=[…]}`))
    }
    const rawFiles = entry.key_files
    const files = typeof rawFiles === "string" ? [rawFiles] : rawFiles
    if (!Literal.isArray(files) || files.length === 0 || !files.every((f) => typeof f === "string" && f !== "")) {
      return Either.left(
        fail(
          variable,
          `key ${JSON.stringify(kid)}: key_files must be a non-empty array of paths, got ${describe(rawFiles)}`
        )
      )
    }
    const rawPermissions = entry.max_permissions ?? []
    if (!Literal.isArray(rawPermissions)) {
      return Either.left(
        fail(variable, `key ${JSON.stringify(kid)}: max_permissions must be an array, got ${describe(rawPermissions)}`)
      )
    }
    const maxPermissions: Array<Permission.Permission> = []
    for (const permission of rawPermissions) {
      if (!Permission.isPermission(permission)) {
        return Either.left(
          fail(
            variable,
            `key ${JSON.stringify(kid)}: unknown permission ${describe(permission)} (expected ${
              Permission.all.join(", ")
            })`
          )
        )
      }
      if (!maxPermissions.includes(permission)) maxPermissions.push(permission)
    }
    out.push({ kid, files: files as ReadonlyArray<string>, maxPermissions })
  }
  return Either.right(out)
}

const readKeyFile = (variable: string, kid: string, file: string) =>
  Effect.tryPromise({
    try: () => fs.readFile(path.resolve(file), "utf8"),
    catch: (error) =>
      fail(
        variable,
        `key ${JSON.stringify(kid)}: cannot read key file ${JSON.stringify(file)} (${
          (error as NodeJS.ErrnoException).code ?? String(error)
        })`
      )
  }).pipe(
    Effect.filterOrFail(
      (pem) => {
        try {
          return crypto.createPublicKey(pem).asymmetricKeyType === "ed25519"
        } catch {
          return false
        }
      },
      () =>
        fail(
          variable,
          `key ${JSON.stringify(kid)}: key file ${JSON.stringify(file)} is not an Ed25519 public key in PEM form`
        )
    )
  )

const expirationKind = (
  variable: string,
  usecase: string,
  kind: string,
  value: Literal.LiteralValue | undefined,
  hasMax: boolean
): Check<{ allowed: boolean; max?: Duration.Duration | undefined } | undefined> => {
  if (value === undefined) return Either.right(undefined)
  const where = `usecase ${JSON.stringify(usecase)}: expiration.${kind}`
  if (!Literal.isDict(value)) {
    return Either.left(fail(variable, `${where}: expected a dictionary, got ${describe(value)}`))
  }
  let allowed = true
  if (value.allowed !== undefined) {
    const parsed = typeof value.allowed === "boolean"
      ? Either.right(value.allowed)
      : parseBoolean(scalarText(value.allowed) ?? "")
    if (Either.isLeft(parsed)) return Either.left(fail(variable, `${where}.allowed: ${parsed.left}`))
    allowed = parsed.right
  }
  if (!hasMax || value.max === undefined) return Either.right({ allowed })
  const text = scalarText(value.max)
  const max = text === undefined ? Either.left(`expected a duration, got ${describe(value.max)}`) : parseDuration(text)
  if (Either.isLeft(max)) return Either.left(fail(variable, `${where}.max: ${max.left}`))
  return Either.right({ allowed, max: max.right })
}

const usecaseRules = (variable: string, value: Literal.LiteralValue): Check<Record<string, UsecaseRules>> => {
  if (!Literal.isDict(value)) return Either.left(fail(variable, `expected a dictionary {usecase={expiration={…}}}`))
  const out: Record<string, UsecaseRules> = {}
  for (const [usecase, rules] of Object.entries(value)) {
    if (!Literal.isDict(rules)) {
      return Either.left(fail(variable, `usecase ${JSON.stringify(usecase)}: expected a dictionary`))
    }
    const expiration = rules.expiration ?? {}
    if (!Literal.isDict(expiration)) {
      return Either.left(fail(variable, `usecase ${JSON.stringify(usecase)}: expiration must be a dictionary`))
    }
    const manual = expirationKind(variable, usecase, "manual", expiration.manual, false)
    if (Either.isLeft(manual)) return Either.left(manual.left)
    const ttl = expirationKind(variable, usecase, "ttl", expiration.ttl, true)
    if (Either.isLeft(ttl)) return Either.left(ttl.left)
    const tti = expirationKind(variable, usecase, "tti", expiration.tti, true)
    if (Either.isLeft(tti)) return Either.left(tti.left)
    Object.defineProperty(out, usecase, {
      value: { manual: manual.right, ttl: ttl.right, tti: tti.right } satisfies UsecaseRules,
      enumerable: true,
      writable: true,
      configurable: true
    })
  }
  return Either.right(out)
}

const killswitchList = (variable: string, value: Literal.LiteralValue): Check<Array<Killswitch>> => {
  if (!Literal.isArray(value)) {
    return Either.left(fail(variable, `expected an array [{usecase=…,scopes={…},service=…}]`))
  }
  const out: Array<Killswitch> = []
  for (const [index, entry] of value.entries()) {
    const where = `killswitch ${index}`
    if (!Literal.isDict(entry)) return Either.left(fail(variable, `${where}: expected a dictionary`))
    const usecase = entry.usecase === undefined ? undefined : scalarText(entry.usecase)
    if (entry.usecase !== undefined && usecase === undefined) {
      return Either.left(fail(variable, `${where}: usecase must be a string`))
    }
    const service = entry.service === undefined ? undefined : scalarText(entry.service)
    if (entry.service !== undefined && service === undefined) {
      return Either.left(fail(variable, `${where}: service must be a string`))
    }
    let scopes: Record<string, string> | undefined
    if (entry.scopes !== undefined) {
      if (!Literal.isDict(entry.scopes)) return Either.left(fail(variable, `${where}: scopes must be a dictionary`))
      const pairs: Array<[string, string]> = []
      for (const [name, scopeValue] of Object.entries(entry.scopes)) {
        const text = scalarText(scopeValue)
        if (text === undefined) {
          return Either.left(fail(variable, `${where}: scope ${JSON.stringify(name)} must be a string`))
        }
        pairs.push([name, text])
      }
      scopes = Object.fromEntries(pairs)
    }
    out.push({ usecase, scopes, service })
  }
  return Either.right(out)
}

// ---------------------------------------------------------------------------------------------------------------

/**
 * The listen address from `OS__HTTP_ADDR` alone (what `objectstore-server healthcheck` needs), or `base`'s.
 *
 * @since 0.1.0
 * @category constructors
 */
export const httpAddrFromEnvironment = (
  env: Readonly<Record<string, string | undefined>>,
  base: ServerConfig = defaults
): Either.Either<{ readonly host: string; readonly port: number }, ConfigError> => {
  const node = lookup(envTree(env), "http_addr")
  if (node?.value === undefined) return Either.right({ host: base.host, port: base.port })
  return Either.mapLeft(parseHttpAddr(node.value), (reason) => fail(node.variable, reason))
}

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
): Effect.Effect<ServerConfig, ConfigError> =>
  Effect.gen(function*() {
    const root = envTree(env)
    const scalar = <A>(keys: ReadonlyArray<string>, parse: (text: string) => Either.Either<A, string>) => {
      const node = lookup(root, ...keys)
      if (node?.value === undefined) return Either.right(undefined)
      return Either.mapLeft(parse(node.value), (reason) => fail(node.variable, reason))
    }
    const object = (keys: ReadonlyArray<string>) => {
      const node = lookup(root, ...keys)
      return node === undefined ? Either.right(undefined) : structured(node)
    }

    let { host, port } = base
    const addr = yield* scalar(["http_addr"], parseHttpAddr)
    if (addr !== undefined) ({ host, port } = addr)

    const storageType = yield* scalar(["storage", "type"], (text): Either.Either<"memory" | "filesystem", string> => {
      const lower = text.trim().toLowerCase()
      if (lower === "memory" || lower === "filesystem") return Either.right(lower)
      if (UPSTREAM_STORAGE_TYPES.includes(lower)) {
        return Either.left(`storage type "${lower}" is not supported by this server (use filesystem or memory)`)
      }
      return Either.left(`unknown storage type ${JSON.stringify(text)} (use filesystem or memory)`)
    })
    const storagePath = yield* scalar(
      ["storage", "path"],
      (text) => text === "" ? Either.left("expected a directory path, got an empty value") : Either.right(text)
    )
    const type = storageType ?? base.storage.type
    const storage: StorageConfig = type === "memory"
      ? { type: "memory" }
      : { type: "filesystem", path: storagePath ?? (base.storage.type === "filesystem" ? base.storage.path : "data") }

    const enforce = (yield* scalar(["auth", "enforce"], parseBoolean)) ?? base.auth.enforce
    let keys: Record<string, Auth.KeyEntry> = { ...base.auth.keys }
    const keysValue = yield* object(["auth", "keys"])
    if (keysValue !== undefined) {
      const variable = variableOf("auth", "keys")
      const entries = yield* keyDirectory(variable, keysValue)
      keys = {}
      for (const entry of entries) {
        const publicKeys = yield* Effect.forEach(entry.files, (file) => readKeyFile(variable, entry.kid, file))
        Object.defineProperty(keys, entry.kid, {
          value: { publicKeys, maxPermissions: entry.maxPermissions } satisfies Auth.KeyEntry,
          enumerable: true,
          writable: true,
          configurable: true
        })
      }
    }
    if (enforce && Object.keys(keys).length === 0) {
      return yield* new ConfigError({
        variable: variableOf("auth", "keys"),
        message:
          "Auth enforcement is enabled but no keys are configured: set OS__AUTH__KEYS, or OS__AUTH__ENFORCE=false"
      })
    }

    const maxRequests = (yield* scalar(["http", "max_requests"], parseCount)) ?? base.maxRequests
    const maxConcurrency = (yield* scalar(["service", "max_concurrency"], parseCount)) ?? base.maxConcurrency
    const concurrencyQueue = (yield* scalar(["service", "concurrency_queue"], parseCount)) ?? base.concurrencyQueue
    const concurrencyTimeout = (yield* scalar(["service", "concurrency_timeout"], parseDuration)) ??
      base.concurrencyTimeout

    const usecasesValue = yield* object(["usecases"])
    const usecases = usecasesValue === undefined
      ? base.usecases
      : yield* usecaseRules(variableOf("usecases"), usecasesValue)
    const killswitchesValue = yield* object(["killswitches"])
    const killswitches = killswitchesValue === undefined
      ? base.killswitches
      : yield* killswitchList(variableOf("killswitches"), killswitchesValue)

    const maxBodySize = (yield* scalar(["dev", "max_body_size"], parseCount)) ?? base.maxBodySize
    const enforceExpiration = (yield* scalar(["dev", "enforce_expiration"], parseBoolean)) ?? base.enforceExpiration
    const reapInterval = (yield* scalar(
      ["dev", "reap_interval"],
      (text) =>
        Either.flatMap(
          parseDuration(text),
          (d) => Duration.toMillis(d) > 0 ? Either.right(d) : Either.left("the interval must be greater than zero")
        )
    )) ?? base.reapInterval
    const batchOrder = (yield* scalar(
      ["dev", "batch_order"],
      (text): Either.Either<ServerConfig["batchOrder"], string> => {
        const lower = text.trim().toLowerCase()
        return lower === "completion" || lower === "reverse" || lower === "shuffle"
          ? Either.right(lower)
          : Either.left(`expected completion, reverse or shuffle, got ${JSON.stringify(text)}`)
      }
    )) ?? base.batchOrder
    const positiveAge = (text: string) =>
      Either.flatMap(
        parseDuration(text),
        (d) => Duration.toMillis(d) > 0 ? Either.right(d) : Either.left("the age must be greater than zero")
      )
    const multipartMaxAge = (yield* scalar(["dev", "multipart_max_age"], positiveAge)) ?? base.multipartMaxAge

    const batchMemoryBudget = (yield* scalar(
      ["dev", "batch_memory_budget"],
      (text) =>
        Either.flatMap(parseCount(text), (n) => n > 0 ? Either.right(n) : Either.left("the budget must be at least 1"))
    )) ?? base.batchMemoryBudget

    const resumable = (yield* scalar(["dev", "resumable"], parseBoolean)) ?? base.resumable
    const resumableMaxAge = (yield* scalar(["dev", "resumable_max_age"], positiveAge)) ?? base.resumableMaxAge
    const resumableChunkLimit = (yield* scalar(
      ["dev", "resumable_chunk_limit"],
      (text) =>
        Either.flatMap(parseCount(text), (n) => n > 0 ? Either.right(n) : Either.left("the limit must be at least 1"))
    )) ?? base.resumableChunkLimit

    return {
      host,
      port,
      storage,
      auth: { enforce, keys },
      maxRequests,
      maxConcurrency,
      concurrencyQueue,
      concurrencyTimeout,
      usecases,
      killswitches,
      maxBodySize,
      enforceExpiration,
      reapInterval,
      batchOrder,
      multipartMaxAge,
      batchMemoryBudget,
      resumable,
      resumableMaxAge,
      resumableChunkLimit
    } satisfies ServerConfig
  })
