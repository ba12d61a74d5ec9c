/**
 * Expiration policies (PROTOCOL §6.2, §8): `manual`, time-to-live and time-to-idle, as carried in the
 * `x-sn-expiration` header (`manual`, `ttl:<humantime>`, `tti:<humantime>`).
 *
 * @since 0.1.0
 */
import * as Duration from "effect/Duration"
import * as Either from "effect/Either"
import { NodeInspectSymbol } from "effect/Inspectable"
import * as Humantime from "./Humantime.js"

/**
 * What every policy shares: it prints as its header value (`String(policy)` is `ttl:30s`), and serialises and
 * inspects with its duration in humantime (`{ _tag: "TimeToLive", duration: "30s" }`) rather than as a `Duration`'s
 * internals.
 */
const Proto = {
  toString(this: ExpirationPolicy): string {
    return format(this)
  },
  toJSON(this: ExpirationPolicy): unknown {
    return this._tag === "Manual" ? { _tag: "Manual" } : { _tag: this._tag, duration: Humantime.format(this.duration) }
  },
  [NodeInspectSymbol](this: ExpirationPolicy & { toJSON(): unknown }): unknown {
    return this.toJSON()
  }
}

const make = <P extends ExpirationPolicy>(fields: P): P => Object.assign(Object.create(Proto), fields)

/**
 * The object never expires; only an explicit delete removes it. The default.
 *
 * @since 0.1.0
 * @category models
 */
export interface Manual {
  readonly _tag: "Manual"
}

/**
 * The object expires a fixed `duration` after it was created.
 *
 * @since 0.1.0
 * @category models
 */
export interface TimeToLive {
  readonly _tag: "TimeToLive"
  readonly duration: Duration.Duration
}

/**
 * The object expires `duration` after it was last read (or created).
 *
 * @since 0.1.0
 * @category models
 */
export interface TimeToIdle {
  readonly _tag: "TimeToIdle"
  readonly duration: Duration.Duration
}

/**
 * @since 0.1.0
 * @category models
 */
export type ExpirationPolicy = Manual | TimeToLive | TimeToIdle

/**
 * The manual policy.
 *
 * @since 0.1.0
 * @category constructors
 */
export const manual: Manual = make<Manual>({ _tag: "Manual" })

/**
 * A time-to-live policy.
 *
 * @since 0.1.0
 * @category constructors
 */
export const timeToLive = (input: Duration.DurationInput): TimeToLive =>
  make<TimeToLive>({ _tag: "TimeToLive", duration: Duration.decode(input) })

/**
 * A time-to-idle policy.
 *
 * @since 0.1.0
 * @category constructors
 */
export const timeToIdle = (input: Duration.DurationInput): TimeToIdle =>
  make<TimeToIdle>({ _tag: "TimeToIdle", duration: Duration.decode(input) })

/**
 * Whether the policy is manual.
 *
 * @since 0.1.0
 * @category guards
 */
export const isManual = (policy: ExpirationPolicy): policy is Manual => policy._tag === "Manual"

/**
 * Whether two policies are of the same kind with equal durations.
 *
 * @since 0.1.0
 * @category equivalence
 */
export const equals = (a: ExpirationPolicy, b: ExpirationPolicy): boolean => {
  if (a._tag === "Manual" || b._tag === "Manual") return a._tag === b._tag
  return a._tag === b._tag && Duration.equals(a.duration, b.duration)
}

/**
 * Parses an `x-sn-expiration` header value: exactly `manual`, or `ttl:`/`tti:` (lowercase, case-sensitive)
 * followed by a humantime duration (leading whitespace allowed, `ttl: 30s`).
 *
 * @since 0.1.0
 * @category parsing
 */
export const parse = (header: string): Either.Either<ExpirationPolicy, string> => {
  if (header === "manual") return Either.right(manual)
  const prefix = header.slice(0, 4)
  if (prefix !== "ttl:" && prefix !== "tti:") {
    return Either.left(`invalid expiration policy ${JSON.stringify(header)}: expected manual, ttl:… or tti:…`)
  }
  return Humantime.parse(header.slice(4)).pipe(
    Either.mapBoth({
      onLeft: (reason) => `invalid expiration policy ${JSON.stringify(header)}: ${reason}`,
      onRight: (duration): ExpirationPolicy => prefix === "ttl:" ? timeToLive(duration) : timeToIdle(duration)
    })
  )
}

/**
 * Formats a policy as a header value with the canonical humantime form: `manual`, `ttl:30s`, `tti:1h 30m`. (The
 * manual policy is normally sent as the absence of the header.)
 *
 * @since 0.1.0
 * @category formatting
 */
export const format = (policy: ExpirationPolicy): string => {
  switch (policy._tag) {
    case "Manual":
      return "manual"
    case "TimeToLive":
      return `ttl:${Humantime.format(policy.duration)}`
    case "TimeToIdle":
      return `tti:${Humantime.format(policy.duration)}`
  }
}
