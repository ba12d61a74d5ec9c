/**
 * Timestamps on the wire (PROTOCOL §6.3): `x-sn-time-created`/`x-sn-time-expires` are RFC 3339 UTC with exactly six
 * fractional digits (`2023-11-14T22:13:20.000000Z`); multipart part listings use a "smart" precision (no fraction,
 * or nine digits). Values are kept as `bigint` epoch microseconds (or nanoseconds), because `Date` only has
 * milliseconds.
 *
 * @since 0.1.0
 */
import * as Option from "effect/Option"

const pad = (n: number | bigint, width: number): string => n.toString().padStart(width, "0")

const floorDiv = (a: bigint, b: bigint): bigint => {
  const q = a / b
  return a % b !== 0n && (a < 0n) !== (b < 0n) ? q - 1n : q
}

// The last second formatted: the timestamps of a batch's answers mostly fall in the same second.
let lastSeconds: bigint | undefined
let lastText = ""

const formatSeconds = (epochSeconds: bigint): string => {
  if (epochSeconds === lastSeconds) return lastText
  const date = new Date(Number(epochSeconds) * 1000)
  const text = `${pad(date.getUTCFullYear(), 4)}-${pad(date.getUTCMonth() + 1, 2)}-${pad(date.getUTCDate(), 2)}T${
    pad(date.getUTCHours(), 2)
  }:${pad(date.getUTCMinutes(), 2)}:${pad(date.getUTCSeconds(), 2)}`
  lastSeconds = epochSeconds
  lastText = text
  return text
}

/**
 * Formats epoch microseconds as `YYYY-MM-DDTHH:MM:SS.ffffffZ` (six fractional digits, UTC).
 *
 * @example
 * ```ts
 * import * as Timestamp from "@objectstore/protocol/Timestamp"
 *
 * Timestamp.format(1_700_000_000_000_000n) // "2023-11-14T22:13:20.000000Z"
 * ```
 *
 * @since 0.1.0
 * @category formatting
 */
export const format = (epochMicros: bigint): string => {
  const seconds = floorDiv(epochMicros, 1_000_000n)
  return `${formatSeconds(seconds)}.${pad(epochMicros - seconds * 1_000_000n, 6)}Z`
}

/**
 * Formats epoch nanoseconds with the list-parts "smart" precision: no fraction when the sub-second part is zero
 * (`2026-04-20T13:37:00Z`), otherwise nine digits (`2026-04-20T13:37:00.123000000Z`).
 *
 * @since 0.1.0
 * @category formatting
 */
export const formatSmart = (epochNanos: bigint): string => {
  const seconds = floorDiv(epochNanos, 1_000_000_000n)
  const fraction = epochNanos - seconds * 1_000_000_000n
  return fraction === 0n ? `${formatSeconds(seconds)}Z` : `${formatSeconds(seconds)}.${pad(fraction, 9)}Z`
}

/** Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's `days_from_civil`). */
const daysFromCivil = (year: number, month: number, day: number): number => {
  const y = month <= 2 ? year - 1 : year
  const era = Math.floor(y / 400)
  const yoe = y - era * 400
  const doy = Math.floor((153 * (month + (month > 2 ? -3 : 9)) + 2) / 5) + day - 1
  const doe = yoe * 365 + Math.floor(yoe / 4) - Math.floor(yoe / 100) + doy
  return era * 146097 + doe - 719468
}

const daysInMonth = (year: number, month: number): number => {
  if (month === 2) return (year % 4 === 0 && year % 100 !== 0) || year % 400 === 0 ? 29 : 28
  return [4, 6, 9, 11].includes(month) ? 30 : 31
}

const rfc3339 = /^(\d{4})-(\d{2})-(\d{2})[Tt ](\d{2}):(\d{2}):(\d{2})(?:\.(\d+))?([Zz]|[+-]\d{2}:\d{2})$/

/**
 * Parses an RFC 3339 timestamp (`Z` or a numeric offset, any number of fractional digits, `T`/`t`/space as the
 * separator) into epoch microseconds; digits beyond microseconds are truncated. `None` when malformed.
 *
 * @since 0.1.0
 * @category parsing
 */
export const parse = (text: string): Option.Option<bigint> => {
  // The canonical form (`YYYY-MM-DDTHH:MM:SS.ffffffZ`, as servers write it) of the second parsed last: the
  // timestamps of a batch's answers mostly share it.
  if (isCanonical(text) && text.startsWith(lastPrefix)) {
    const micros = sixDigits(text)
    if (micros >= 0) return Option.some(lastPrefixMicros + BigInt(micros))
  }
  const parsed = parseFull(text)
  if (Option.isSome(parsed) && isCanonical(text)) {
    const micros = sixDigits(text)
    if (micros >= 0) {
      lastPrefix = text.slice(0, 19)
      lastPrefixMicros = parsed.value - BigInt(micros)
    }
  }
  return parsed
}

/** `YYYY-MM-DDTHH:MM:SS.ffffffZ` by its length, its `.` and its `Z` (the digits are checked where they are read). */
const isCanonical = (text: string): boolean =>
  text.length === 27 && text.charCodeAt(19) === 46 && text.charCodeAt(26) === 90

let lastPrefix = "\u0000" // matches no timestamp
let lastPrefixMicros = 0n

/** The six digits at 20..25 of a canonical timestamp as a number; -1 when they are not all digits. */
const sixDigits = (text: string): number => {
  let value = 0
  for (let i = 20; i < 26; i++) {
    const digit = text.charCodeAt(i) - 48
    if (digit < 0 || digit > 9) return -1
    value = value * 10 + digit
  }
  return value
}

const parseFull = (text: string): Option.Option<bigint> => {
  const match = rfc3339.exec(text)
  if (match === null) return Option.none()
  const [year, month, day, hour, minute, second] = match.slice(1, 7).map(Number) as [
    number,
    number,
    number,
    number,
    number,
    number
  ]
  if (month < 1 || month > 12 || day < 1 || day > daysInMonth(year, month)) return Option.none()
  if (hour > 23 || minute > 59 || second > 59) return Option.none()
  let offsetSeconds = 0
  const zone = match[8]!
  if (zone !== "Z" && zone !== "z") {
    const offsetHours = Number(zone.slice(1, 3))
    const offsetMinutes = Number(zone.slice(4, 6))
    if (offsetHours > 23 || offsetMinutes > 59) return Option.none()
    offsetSeconds = (zone[0] === "-" ? -1 : 1) * (offsetHours * 3600 + offsetMinutes * 60)
  }
  const seconds = daysFromCivil(year, month, day) * 86400 + hour * 3600 + minute * 60 + second - offsetSeconds
  const micros = BigInt((match[7] ?? "").slice(0, 6).padEnd(6, "0"))
  return Option.some(BigInt(seconds) * 1_000_000n + micros)
}

/**
 * Epoch microseconds of a `Date`.
 *
 * @since 0.1.0
 * @category conversions
 */
export const fromDate = (date: Date): bigint => BigInt(date.getTime()) * 1000n

/**
 * A `Date` for epoch microseconds (truncated to milliseconds).
 *
 * @since 0.1.0
 * @category conversions
 */
export const toDate = (epochMicros: bigint): Date => new Date(Number(floorDiv(epochMicros, 1000n)))
