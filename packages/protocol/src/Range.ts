/**
 * Byte ranges for GET (PROTOCOL §9): one range per request, `bytes=A-B`, `bytes=A-` or `bytes=-N`, unit matched
 * case-insensitively, no whitespace. A header with several ranges (any `,`) is ignored; anything else malformed is
 * a 400.
 *
 * @since 0.1.0
 */
import * as Either from "effect/Either"
import * as Option from "effect/Option"

/**
 * `bytes=start-end`, inclusive; `start <= end`.
 *
 * @since 0.1.0
 * @category models
 */
export interface FromTo {
  readonly _tag: "FromTo"
  readonly start: number
  readonly end: number
}

/**
 * `bytes=start-`: from `start` to the end.
 *
 * @since 0.1.0
 * @category models
 */
export interface From {
  readonly _tag: "From"
  readonly start: number
}

/**
 * `bytes=-length`: the last `length` bytes; `length >= 1`.
 *
 * @since 0.1.0
 * @category models
 */
export interface Suffix {
  readonly _tag: "Suffix"
  readonly length: number
}

/**
 * @since 0.1.0
 * @category models
 */
export type ByteRange = FromTo | From | Suffix

/**
 * @since 0.1.0
 * @category constructors
 */
export const fromTo = (start: number, end: number): ByteRange => ({ _tag: "FromTo", start, end })

/**
 * @since 0.1.0
 * @category constructors
 */
export const from = (start: number): ByteRange => ({ _tag: "From", start })

/**
 * @since 0.1.0
 * @category constructors
 */
export const suffix = (length: number): ByteRange => ({ _tag: "Suffix", length })

const MAX_U64 = 18_446_744_073_709_551_615n
const digits = /^[0-9]+$/

const number = (text: string, header: string): Either.Either<number, string> => {
  if (!digits.test(text)) return Either.left(`invalid Range header: invalid range value: ${header}`)
  if (BigInt(text) > MAX_U64) return Either.left(`invalid Range header: range value too large: ${header}`)
  return Either.right(Number(text))
}

/**
 * Parses a `Range` header. `Right(Some(range))` for one valid range, `Right(None)` when the header must be ignored
 * (several ranges), `Left(reason)` when it is malformed (other unit, non-numeric, `A > B`, `-0`, `-`, whitespace).
 *
 * @since 0.1.0
 * @category parsing
 */
export const parse = (header: string): Either.Either<Option.Option<ByteRange>, string> => {
  if (header.includes(",")) return Either.right(Option.none())
  const eq = header.indexOf("=")
  if (eq < 0) return Either.left(`invalid Range header: missing '=' in ${JSON.stringify(header)}`)
  const unit = header.slice(0, eq)
  if (unit.toLowerCase() !== "bytes") {
    return Either.left(`invalid Range header: invalid range unit: ${unit}, expected: bytes`)
  }
  const spec = header.slice(eq + 1)
  const dash = spec.indexOf("-")
  if (dash < 0) return Either.left(`invalid Range header: missing '-' in ${JSON.stringify(header)}`)
  const first = spec.slice(0, dash)
  const second = spec.slice(dash + 1)
  if (first.length === 0) {
    if (second.length === 0) return Either.left(`invalid Range header: empty range: ${header}`)
    return Either.flatMap(number(second, header), (length) =>
      length === 0
        ? Either.left(`invalid Range header: suffix length must be positive: ${header}`)
        : Either.right(Option.some(suffix(length))))
  }
  return Either.flatMap(number(first, header), (start) => {
    if (second.length === 0) return Either.right(Option.some(from(start)))
    return Either.flatMap(number(second, header), (end) =>
      start > end
        ? Either.left(`invalid Range header: range start is after range end: ${header}`)
        : Either.right(Option.some(fromTo(start, end))))
  })
}

/**
 * Resolves a range against an object of `size` bytes into inclusive `{ start, end }` offsets, or `None` when it is
 * unsatisfiable (empty object, or a start at or past the end). An end past the object is clamped; a suffix longer
 * than the object selects all of it.
 *
 * @since 0.1.0
 * @category combinators
 */
export const resolve = (
  range: ByteRange,
  size: number
): Option.Option<{ readonly start: number; readonly end: number }> => {
  if (size <= 0) return Option.none()
  switch (range._tag) {
    case "FromTo":
      return range.start >= size || range.start > range.end
        ? Option.none()
        : Option.some({ start: range.start, end: Math.min(range.end, size - 1) })
    case "From":
      return range.start >= size ? Option.none() : Option.some({ start: range.start, end: size - 1 })
    case "Suffix":
      return range.length <= 0
        ? Option.none()
        : Option.some({ start: Math.max(0, size - range.length), end: size - 1 })
  }
}

/**
 * Formats a range as a `Range` header value (`bytes=0-4`, `bytes=7-`, `bytes=-9`).
 *
 * @since 0.1.0
 * @category formatting
 */
export const format = (range: ByteRange): string => {
  switch (range._tag) {
    case "FromTo":
      return `bytes=${range.start}-${range.end}`
    case "From":
      return `bytes=${range.start}-`
    case "Suffix":
      return `bytes=-${range.length}`
  }
}

/**
 * The `content-range` value of a 206 response: `bytes S-E/T`.
 *
 * @since 0.1.0
 * @category formatting
 */
export const contentRange = (start: number, end: number, size: number): string => `bytes ${start}-${end}/${size}`

/**
 * The `content-range` value of a 416 response: `bytes * /T` (without the space).
 *
 * @since 0.1.0
 * @category formatting
 */
export const unsatisfiedContentRange = (size: number): string => `bytes */${size}`

/**
 * Parses a `content-range` value of a 206 response (`bytes S-E/T`, `T` may be `*`). `None` when malformed.
 *
 * @since 0.1.0
 * @category parsing
 */
export const parseContentRange = (
  value: string
): Option.Option<{ readonly start: number; readonly end: number; readonly size: number | undefined }> => {
  const match = /^bytes (\d+)-(\d+)\/(\d+|\*)$/i.exec(value.trim())
  if (match === null) return Option.none()
  const start = Number(match[1])
  const end = Number(match[2])
  if (start > end) return Option.none()
  return Option.some({ start, end, size: match[3] === "*" ? undefined : Number(match[3]) })
}
