/**
 * Server configuration: the upstream `OS__*` variables (PROTOCOL §16) and their defaults.
 *
 * CONTRACT STUB (owned by the server auth/config work): the `ServerConfig` shape and `defaults` are fixed (fields
 * may be added); reading the environment, the map syntax and validation are to be implemented.
 *
 * @since 0.1.0
 */
import * as Duration from "effect/Duration"
import type * as Auth from "./Auth.js"

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
  /** Listen address; `0.0.0.0:8888` upstream. */
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
}

/**
 * The defaults of the library layers (loopback, memory storage, auth disabled). The bin uses upstream's
 * defaults instead (`0.0.0.0:8888`, filesystem storage at `data`, auth enforced).
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
  batchOrder: "completion"
}
