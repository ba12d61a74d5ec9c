/**
 * Resumable uploads (PROTOCOL §22): the header grammars and the session token's query form.
 *
 * - `Upload-Length: <total>` and `Upload-Offset: <n>` are plain decimal digits (no sign, no spaces, no `0x`);
 *   `Upload-Offset: *` asks for the current offset. Values beyond `Number.MAX_SAFE_INTEGER` are refused.
 * - The session token is opaque; in the query (`?session=…`) it travels as its UTF-8 bytes in unpadded base64url,
 *   decoded strictly (PROTOCOL §13.1). Clients send back exactly the text they received.
 *
 * @since 0.1.0
 */
import * as Either from "effect/Either"
import * as Option from "effect/Option"
import * as Base64Url from "./Base64Url.js"

/**
 * @since 0.1.0
 * @category constants
 */
export const UPLOAD_LENGTH = "upload-length"

/**
 * @since 0.1.0
 * @category constants
 */
export const UPLOAD_OFFSET = "upload-offset"

/**
 * The query parameter that asks for a resumable session on create (`upload_type=resumable`).
 *
 * @since 0.1.0
 * @category constants
 */
export const UPLOAD_TYPE = "upload_type"

/**
 * The query parameter that carries the session on chunk, offset query and cancel.
 *
 * @since 0.1.0
 * @category constants
 */
export const SESSION = "session"

/**
 * Bodies of at least this many bytes are sent as resumable uploads by the upstream clients' automatic mode
 * (32 MiB).
 *
 * @since 0.1.0
 * @category constants
 */
export const AUTOMATIC_THRESHOLD = 32 * 1024 * 1024

const digits = /^[0-9]+$/

/**
 * Parses an `Upload-Length` value: decimal digits only, at most `Number.MAX_SAFE_INTEGER`.
 *
 * @since 0.1.0
 * @category parsing
 */
export const parseLength = (value: string): Either.Either<number, string> => {
  if (!digits.test(value)) return Either.left(`invalid Upload-Length ${JSON.stringify(value)}: expected decimal digits`)
  const n = Number(value)
  return Number.isSafeInteger(n) ? Either.right(n) : Either.left(`Upload-Length ${value} is too large`)
}

/**
 * An `Upload-Offset` request value: a byte offset, or `*` (the offset query).
 *
 * @since 0.1.0
 * @category models
 */
export type Offset = { readonly _tag: "At"; readonly offset: number } | { readonly _tag: "Query" }

/**
 * Parses an `Upload-Offset` value: decimal digits (at most `Number.MAX_SAFE_INTEGER`) or exactly `*`.
 *
 * @since 0.1.0
 * @category parsing
 */
export const parseOffset = (value: string): Either.Either<Offset, string> => {
  if (value === "*") return Either.right({ _tag: "Query" })
  if (!digits.test(value)) {
    return Either.left(`invalid Upload-Offset ${JSON.stringify(value)}: expected decimal digits or *`)
  }
  const n = Number(value)
  return Number.isSafeInteger(n)
    ? Either.right({ _tag: "At", offset: n })
    : Either.left(`Upload-Offset ${value} is too large`)
}

/**
 * Renders a length or offset header value (a non-negative safe integer).
 *
 * @since 0.1.0
 * @category formatting
 */
export const formatCount = (n: number): string => {
  if (!Number.isSafeInteger(n) || n < 0) throw new RangeError(`not a byte count: ${n}`)
  return String(n)
}

/**
 * The query form of a session token: its UTF-8 bytes as unpadded base64url.
 *
 * @since 0.1.0
 * @category encoding
 */
export const encodeSession = (token: string): string => Base64Url.encode(new TextEncoder().encode(token))

const utf8 = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true })

/**
 * The token of a session query value: strict unpadded base64url of non-empty UTF-8; `None` otherwise.
 *
 * @since 0.1.0
 * @category decoding
 */
export const decodeSession = (value: string): Option.Option<string> =>
  Option.flatMap(Base64Url.decodeStrict(value), (bytes) => {
    if (bytes.length === 0) return Option.none()
    try {
      return Option.some(utf8.decode(bytes))
    } catch {
      return Option.none()
    }
  })
