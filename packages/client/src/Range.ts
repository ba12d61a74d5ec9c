/**
 * Byte ranges for `Session.get` (PROTOCOL §9). Neither upstream client exposes them; the server supports them.
 *
 * A range addresses the object's **stored** bytes. For an object stored uncompressed that is the payload; for a
 * zstd object it is the compressed stream, so a ranged `get` of a zstd object returns raw compressed bytes (the
 * response metadata keeps `compression: "zstd"`) and never decompresses them: a slice of a zstd frame cannot be
 * decoded on its own. Asking for a range together with `decompress: true` on a zstd object fails with
 * `InvalidInputError` (field `decompress`). Upload data uncompressed (`compression: "none"`) when readers need
 * ranges of the payload itself.
 *
 * A satisfiable range answers with its inclusive offsets and the stored size in `ObjectResponse.range`; a range
 * that starts at or past the end (or any range of an empty object) fails with `RangeNotSatisfiableError`, which
 * carries the stored size. An end past the object is clamped, and a suffix longer than the object selects all of it.
 *
 * @example
 * ```ts
 * import { Range, Session } from "@objectstore/client"
 * import * as Effect from "effect/Effect"
 *
 * const firstKilobyte = (session: Session.Service, key: string) =>
 *   Effect.scoped(Effect.gen(function*() {
 *     const response = yield* session.get(key, { range: Range.bytes(0, 1023), decompress: false })
 *     const bytes = yield* Session.collectBytes(response)
 *     return { bytes, size: response.range?.size }
 *   }))
 * ```
 *
 * @since 0.1.0
 */
import * as ProtocolRange from "@objectstore/protocol/Range"

/**
 * One byte range: `FromTo` (`bytes=start-end`, inclusive), `From` (`bytes=start-`) or `Suffix` (`bytes=-length`).
 *
 * @since 0.1.0
 * @category models
 */
export type ByteRange = ProtocolRange.ByteRange

/**
 * What a ranged read returned: the inclusive offsets of the bytes in the body and the stored size of the whole
 * object (the compressed size for a zstd object).
 *
 * @since 0.1.0
 * @category models
 */
export interface RangeInfo {
  readonly start: number
  /** Inclusive. */
  readonly end: number
  /** The object's stored size in bytes. */
  readonly size: number
}

/**
 * Bytes `start` to `end`, both inclusive (`bytes=start-end`); `end` past the object is clamped.
 *
 * @since 0.1.0
 * @category constructors
 */
export const bytes = (start: number, end: number): ByteRange => ProtocolRange.fromTo(start, end)

/**
 * Everything from `start` to the end (`bytes=start-`).
 *
 * @since 0.1.0
 * @category constructors
 */
export const from = (start: number): ByteRange => ProtocolRange.from(start)

/**
 * The last `length` bytes (`bytes=-length`); the whole object when it is shorter.
 *
 * @since 0.1.0
 * @category constructors
 */
export const suffix = (length: number): ByteRange => ProtocolRange.suffix(length)

/**
 * The `Range` header value of a range (`bytes=0-4`, `bytes=7-`, `bytes=-9`).
 *
 * @since 0.1.0
 * @category formatting
 */
export const format = (range: ByteRange): string => ProtocolRange.format(range)
