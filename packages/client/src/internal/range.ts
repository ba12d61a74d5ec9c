/**
 * Client side of ranged reads: validating a requested range before any request and reading the range the server
 * answered with.
 *
 * @since 0.1.0
 * @internal
 */
import * as ProtocolRange from "@objectstore/protocol/Range"
import * as Either from "effect/Either"
import * as Option from "effect/Option"
import { InvalidInputError } from "../ObjectstoreError.js"
import type * as Range from "../Range.js"

const isOffset = (value: unknown): value is number =>
  typeof value === "number" && Number.isSafeInteger(value) && value >= 0

const invalid = (reason: string) => Either.left(new InvalidInputError({ field: "range", reason }))

/**
 * Checks a caller's range and renders its `Range` header: offsets are non-negative safe integers, `start <= end`,
 * a suffix is at least one byte.
 *
 * @internal
 */
export const toHeader = (range: Range.ByteRange): Either.Either<string, InvalidInputError> => {
  switch (range?._tag) {
    case "FromTo":
      if (!isOffset(range.start) || !isOffset(range.end)) return invalid("offsets must be non-negative integers")
      if (range.start > range.end) return invalid(`start ${range.start} is after end ${range.end}`)
      break
    case "From":
      if (!isOffset(range.start)) return invalid("the start must be a non-negative integer")
      break
    case "Suffix":
      if (!isOffset(range.length) || range.length < 1) return invalid("a suffix length must be a positive integer")
      break
    default:
      return invalid("expected Range.bytes, Range.from or Range.suffix")
  }
  return Either.right(ProtocolRange.format(range))
}

/**
 * The range of a 206 response from its `content-range` header, when it names a total size.
 *
 * @internal
 */
export const fromContentRange = (value: string | undefined): Option.Option<Range.RangeInfo> =>
  value === undefined ? Option.none() : Option.flatMap(
    ProtocolRange.parseContentRange(value),
    ({ end, size, start }) => size === undefined || end >= size ? Option.none() : Option.some({ start, end, size })
  )

/**
 * The stored size from a 416 response's `content-range: bytes *\/T`.
 *
 * @internal
 */
export const unsatisfiedSize = (value: string | undefined): number | undefined => {
  const match = value === undefined ? null : /^bytes \*\/(\d+)$/i.exec(value.trim())
  return match === null ? undefined : Number(match[1])
}
