/**
 * Humantime durations (PROTOCOL §6.2): the grammar of `x-sn-expiration` values and their canonical form.
 *
 * A duration is one or more `<number><unit>` terms that are summed (`1h 30m`, `1h30m`, `1 days 3600 seconds`).
 * Numbers may have a fractional part (`1.5h`); the bare string `0` means zero. Months are 30.44 days
 * (2,630,016 s) and years 365.25 days (31,557,600 s). Parsing keeps nanosecond precision.
 *
 * The canonical form splits a duration into years, months, days, hours, minutes, seconds, milliseconds,
 * microseconds and nanoseconds and prints the non-zero parts (`1month 13h 26m 24s`, `1s 500ms`, `0s`).
 * `parse(format(d))` is exact.
 *
 * @since 0.1.0
 */
import * as Duration from "effect/Duration"
import * as Either from "effect/Either"

const NANOS_PER_SECOND = 1_000_000_000n
const SECONDS_PER_MONTH = 2_630_016n
const SECONDS_PER_YEAR = 31_557_600n
/** Rust's `Duration` holds at most u64::MAX seconds. */
const MAX_SECONDS = 18_446_744_073_709_551_615n

const units: ReadonlyMap<string, bigint> = (() => {
  const map = new Map<string, bigint>()
  const add = (nanos: bigint, names: ReadonlyArray<string>) => names.forEach((name) => map.set(name, nanos))
  add(1n, ["ns", "nsec", "nanos"])
  add(1_000n, ["us", "\u00b5s", "usec"])
  add(1_000_000n, ["ms", "msec", "millis"])
  add(NANOS_PER_SECOND, ["s", "sec", "secs", "second", "seconds"])
  add(60n * NANOS_PER_SECOND, ["m", "min", "mins", "minute", "minutes"])
  add(3_600n * NANOS_PER_SECOND, ["h", "hr", "hrs", "hour", "hours"])
  add(86_400n * NANOS_PER_SECOND, ["d", "day", "days"])
  add(604_800n * NANOS_PER_SECOND, ["w", "wk", "wks", "week", "weeks"])
  add(SECONDS_PER_MONTH * NANOS_PER_SECOND, ["M", "month", "months"])
  add(SECONDS_PER_YEAR * NANOS_PER_SECOND, ["y", "yr", "yrs", "year", "years"])
  return map
})()

const isDigit = (c: string): boolean => c >= "0" && c <= "9"
const isUnitChar = (c: string): boolean => (c >= "a" && c <= "z") || (c >= "A" && c <= "Z") || c === "\u00b5"
const isSpace = (c: string): boolean => /^\s$/u.test(c)

/**
 * Parses a humantime duration with the full §6.2 grammar. Rejects the empty string, unknown units, a number
 * without a unit (except the bare `0`), negative numbers and any other character.
 *
 * @example
 * ```ts
 * import * as Humantime from "@objectstore/protocol/Humantime"
 *
 * Humantime.parse("1h 30m") // Either.right(Duration of 5400 seconds)
 * ```
 *
 * @since 0.1.0
 * @category parsing
 */
export const parse = (text: string): Either.Either<Duration.Duration, string> => {
  if (text === "0") return Either.right(Duration.zero)
  const chars = Array.from(text)
  let i = 0
  const skipSpace = () => {
    while (i < chars.length && isSpace(chars[i]!)) i++
  }
  skipSpace()
  if (i >= chars.length) return Either.left("empty duration")
  let total = 0n
  while (i < chars.length) {
    // number: digits (humantime skips whitespace between them), optionally followed by a fraction; whitespace may
    // separate it from the unit
    if (!isDigit(chars[i]!)) return Either.left(`invalid character ${JSON.stringify(chars[i])} in duration`)
    let integer = ""
    while (i < chars.length && (isDigit(chars[i]!) || isSpace(chars[i]!))) {
      if (isDigit(chars[i]!)) integer += chars[i]
      i++
    }
    let fraction = ""
    if (i < chars.length && chars[i] === ".") {
      i++
      while (i < chars.length && isDigit(chars[i]!)) fraction += chars[i++]
      if (fraction.length === 0) return Either.left("expected digits after '.' in duration")
    }
    skipSpace()
    let unit = ""
    while (i < chars.length && isUnitChar(chars[i]!)) unit += chars[i++]
    if (unit.length === 0) {
      if (i >= chars.length) return Either.left(`missing unit after ${JSON.stringify(integer)} in duration`)
      return Either.left(`invalid character ${JSON.stringify(chars[i])} in duration`)
    }
    const nanos = units.get(unit)
    if (nanos === undefined) return Either.left(`unknown duration unit ${JSON.stringify(unit)}`)
    total += BigInt(integer) * nanos
    if (fraction.length > 0) total += (BigInt(fraction) * nanos) / 10n ** BigInt(fraction.length)
    if (total / NANOS_PER_SECOND > MAX_SECONDS) return Either.left("duration is too large")
    if (i < chars.length && !isSpace(chars[i]!) && !isDigit(chars[i]!)) {
      return Either.left(`invalid character ${JSON.stringify(chars[i])} in duration`)
    }
    skipSpace()
  }
  return Either.right(Duration.nanos(total))
}

/**
 * Formats a duration in canonical humantime form (`30s`, `1m 30s`, `2days`, `1month 13h 26m 24s`, `1s 500ms`,
 * `0s`). An infinite duration has no humantime form and is printed as `infinity`.
 *
 * @since 0.1.0
 * @category formatting
 */
export const format = (duration: Duration.Duration): string => {
  const total = Duration.toNanos(duration)
  if (total._tag === "None") return "infinity"
  const nanos = total.value < 0n ? 0n : total.value
  const secs = nanos / NANOS_PER_SECOND
  const subsec = nanos % NANOS_PER_SECOND
  const years = secs / SECONDS_PER_YEAR
  const yearRest = secs % SECONDS_PER_YEAR
  const months = yearRest / SECONDS_PER_MONTH
  const monthRest = yearRest % SECONDS_PER_MONTH
  const days = monthRest / 86_400n
  const daySecs = monthRest % 86_400n
  const parts: Array<string> = []
  const plural = (n: bigint, unit: string) => {
    if (n > 0n) parts.push(`${n}${unit}${n > 1n ? "s" : ""}`)
  }
  const plain = (n: bigint, unit: string) => {
    if (n > 0n) parts.push(`${n}${unit}`)
  }
  plural(years, "year")
  plural(months, "month")
  plural(days, "day")
  plain(daySecs / 3_600n, "h")
  plain((daySecs % 3_600n) / 60n, "m")
  plain(daySecs % 60n, "s")
  plain(subsec / 1_000_000n, "ms")
  plain((subsec / 1_000n) % 1_000n, "us")
  plain(subsec % 1_000n, "ns")
  return parts.length === 0 ? "0s" : parts.join(" ")
}
