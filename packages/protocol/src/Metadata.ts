/**
 * Object metadata and its HTTP headers (PROTOCOL §6).
 *
 * One model, four directions: the client renders insert headers with {@link toInsertHeaders}; the server parses
 * them with {@link parseInsertHeaders} and renders response headers with {@link toResponseHeaders}; the client
 * reads responses back with {@link fromResponseHeaders}. Header names are lowercase; custom metadata travels as
 * `x-snme-<name>` with lowercase names; every value must be visible ASCII. The client percent-encodes origin,
 * filename and custom values as the newer Python client does ({@link encodeValue}, PROTOCOL §6.8) and decodes them
 * on read ({@link decodeValue}); the server stores and echoes the values as sent.
 *
 * @since 0.1.0
 */
import * as Duration from "effect/Duration"
import * as Either from "effect/Either"
import * as ExpirationPolicy from "./ExpirationPolicy.js"
import { compareUtf8 } from "./internal/bytes.js"
import * as MediaType from "./MediaType.js"
import * as Timestamp from "./Timestamp.js"

/**
 * @since 0.1.0
 * @category constants
 */
export const CONTENT_TYPE = "content-type"

/**
 * @since 0.1.0
 * @category constants
 */
export const CONTENT_ENCODING = "content-encoding"

/**
 * @since 0.1.0
 * @category constants
 */
export const CONTENT_DISPOSITION = "content-disposition"

/**
 * @since 0.1.0
 * @category constants
 */
export const EXPIRATION = "x-sn-expiration"

/**
 * @since 0.1.0
 * @category constants
 */
export const TIME_CREATED = "x-sn-time-created"

/**
 * @since 0.1.0
 * @category constants
 */
export const TIME_EXPIRES = "x-sn-time-expires"

/**
 * @since 0.1.0
 * @category constants
 */
export const ORIGIN = "x-sn-origin"

/**
 * @since 0.1.0
 * @category constants
 */
export const FILENAME = "x-sn-filename"

/**
 * The prefix of custom metadata headers; the rest of the (lowercase) header name is the metadata name.
 *
 * @since 0.1.0
 * @category constants
 */
export const CUSTOM_PREFIX = "x-snme-"

/**
 * The content type of objects stored without one.
 *
 * @since 0.1.0
 * @category constants
 */
export const DEFAULT_CONTENT_TYPE = "application/octet-stream"

/**
 * The metadata of a stored object.
 *
 * @since 0.1.0
 * @category models
 */
export interface Metadata {
  readonly contentType: string
  readonly compression: "zstd" | undefined
  readonly expirationPolicy: ExpirationPolicy.ExpirationPolicy
  /** Epoch microseconds. */
  readonly timeCreated: bigint | undefined
  /** Epoch microseconds; set for ttl/tti objects. */
  readonly timeExpires: bigint | undefined
  readonly origin: string | undefined
  readonly filename: string | undefined
  /** Custom metadata; names are lowercase. */
  readonly custom: Readonly<Record<string, string>>
}

/**
 * Whether every character is visible ASCII (0x20–0x7E) or a tab: the only header values the server accepts.
 *
 * @since 0.1.0
 * @category guards
 */
export const isVisibleAscii = (value: string): boolean => {
  for (let i = 0; i < value.length; i++) {
    const code = value.charCodeAt(i)
    if ((code < 0x20 && code !== 0x09) || code > 0x7e) return false
  }
  return true
}

const hexDigits = "0123456789ABCDEF"

/**
 * Percent-encodes a metadata value as the newer Python client does (PROTOCOL §6.8): every visible ASCII character
 * (0x20–0x7E) except `%` as it is, everything else (`%`, tab and other controls, non-ASCII) as the `%XX` of its
 * UTF-8 bytes, uppercase hex. `Left` for a string that is not well-formed UTF-16 (a lone surrogate), which has no
 * UTF-8 form.
 *
 * @since 0.1.0
 * @category encoding
 */
export const encodeValue = (value: string): Either.Either<string, string> => {
  let plain = true
  for (let i = 0; i < value.length; i++) {
    const code = value.charCodeAt(i)
    if (code < 0x20 || code > 0x7e || code === 0x25) {
      plain = false
      break
    }
  }
  if (plain) return Either.right(value)
  let out = ""
  for (const c of value) {
    const code = c.codePointAt(0)!
    if (code >= 0xd800 && code <= 0xdfff) return Either.left("the value is not well-formed Unicode (a lone surrogate)")
    if (code >= 0x20 && code <= 0x7e && code !== 0x25) {
      out += c
      continue
    }
    for (const byte of new TextEncoder().encode(c)) out += `%${hexDigits[byte >> 4]}${hexDigits[byte & 15]}`
  }
  return Either.right(out)
}

const utf8 = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true })

const hexValue = (code: number): number =>
  code >= 0x30 && code <= 0x39 ? code - 0x30 : code >= 0x41 && code <= 0x46 ?
    code - 0x37 :
    code >= 0x61 && code <= 0x66
    ? code - 0x57
    : -1

/**
 * Decodes a metadata value read from a response (PROTOCOL §6.8): every `%XX` (either case of hex) becomes its byte
 * and the bytes are read as UTF-8. Leniently: a `%` not followed by two hex digits stays as it is, and a value
 * whose escapes do not decode to UTF-8 is returned unchanged.
 *
 * @since 0.1.0
 * @category decoding
 */
export const decodeValue = (value: string): string => {
  if (!value.includes("%")) return value
  const bytes: Array<number> = []
  for (let i = 0; i < value.length; i++) {
    const code = value.charCodeAt(i)
    if (code === 0x25 && i + 2 < value.length) {
      const high = hexValue(value.charCodeAt(i + 1))
      const low = hexValue(value.charCodeAt(i + 2))
      if (high >= 0 && low >= 0) {
        bytes.push(high * 16 + low)
        i += 2
        continue
      }
    }
    if (code > 0x7f) return value // a raw non-ASCII character: not an encoded value
    bytes.push(code)
  }
  try {
    return utf8.decode(new Uint8Array(bytes))
  } catch {
    return value
  }
}

const tokenPattern = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/

/**
 * Whether `name` is an RFC 7230 token (letters, digits and ``! # $ % & ' * + - . ^ _ ` | ~``), i.e. a valid
 * header name.
 *
 * @since 0.1.0
 * @category guards
 */
export const isToken = (name: string): boolean => tokenPattern.test(name)

/**
 * The `content-disposition` the server derives from a filename (§6.5): `attachment; filename="…"` with `/` and `\`
 * replaced by `-`, a name made only of dots turned into dashes, and `"` escaped. `undefined` when the result would
 * not be a valid header value.
 *
 * @since 0.1.0
 * @category formatting
 */
export const contentDisposition = (filename: string): string | undefined => {
  const allDots = Array.from(filename).every((c) => c === ".")
  let out = ""
  for (const c of filename) {
    if (c === "/" || c === "\\" || (c === "." && allDots)) out += "-"
    else if (c === "\"") out += "\\\""
    else out += c
  }
  const value = `attachment; filename="${out}"`
  return isVisibleAscii(value) ? value : undefined
}

/**
 * What a client may set on insert; everything is optional.
 *
 * @since 0.1.0
 * @category models
 */
export interface InsertInput {
  readonly contentType?: string | undefined
  readonly compression?: "zstd" | "none" | undefined
  readonly expirationPolicy?: ExpirationPolicy.ExpirationPolicy | undefined
  readonly origin?: string | undefined
  readonly filename?: string | undefined
  readonly custom?: Readonly<Record<string, string>> | undefined
}

/**
 * Why {@link toInsertHeaders} refused an input: the offending field (`contentType`, `expirationPolicy`, `origin`,
 * `filename` or `custom.<name>`) and a reason.
 *
 * @since 0.1.0
 * @category models
 */
export interface InsertHeadersError {
  readonly field: string
  readonly reason: string
}

/**
 * Renders insert headers for the client. Always sends `content-type` (default `application/octet-stream`),
 * `content-encoding: zstd` only for zstd, `x-sn-expiration` only for non-manual policies (canonical form), origin
 * when given and not empty, and filename and custom entries when given (as the Python client does). Origin,
 * filename and custom values are percent-encoded with {@link encodeValue} (PROTOCOL §6.8), so any Unicode text is
 * accepted. Validates the media type and token names; custom names are lowercased, and two names equal after
 * lowercasing are rejected.
 *
 * @since 0.1.0
 * @category encoding
 */
export const toInsertHeaders = (
  input: InsertInput
): Either.Either<Record<string, string>, InsertHeadersError> => {
  const headers: Record<string, string> = {}
  const contentType = input.contentType ?? DEFAULT_CONTENT_TYPE
  if (!MediaType.isValid(contentType)) {
    return Either.left({ field: "contentType", reason: `invalid content type ${JSON.stringify(contentType)}` })
  }
  headers[CONTENT_TYPE] = contentType
  if (input.compression === "zstd") headers[CONTENT_ENCODING] = "zstd"
  const policy = input.expirationPolicy
  if (policy !== undefined && policy._tag !== "Manual") {
    if (!Duration.isFinite(policy.duration)) {
      return Either.left({ field: "expirationPolicy", reason: "expiration duration must be finite" })
    }
    headers[EXPIRATION] = ExpirationPolicy.format(policy)
  }
  // An empty origin is no origin, as the Python client treats it (§6.4); an empty filename is sent (§6.5).
  if (input.origin !== undefined && input.origin !== "") {
    const origin = encodeValue(input.origin)
    if (Either.isLeft(origin)) return Either.left({ field: "origin", reason: origin.left })
    headers[ORIGIN] = origin.right
  }
  if (input.filename !== undefined) {
    const filename = encodeValue(input.filename)
    if (Either.isLeft(filename)) return Either.left({ field: "filename", reason: filename.left })
    headers[FILENAME] = filename.right
  }
  if (input.custom !== undefined) {
    const seen = new Map<string, string>()
    for (const [name, value] of Object.entries(input.custom)) {
      const field = `custom.${name}`
      if (!isToken(name)) return Either.left({ field, reason: "custom metadata name must be a header token" })
      const lower = name.toLowerCase()
      const previous = seen.get(lower)
      if (previous !== undefined) {
        return Either.left({
          field,
          reason: `custom metadata names ${JSON.stringify(previous)} and ${JSON.stringify(name)} differ only in case`
        })
      }
      seen.set(lower, name)
      const encoded = encodeValue(value)
      if (Either.isLeft(encoded)) return Either.left({ field, reason: encoded.left })
      headers[CUSTOM_PREFIX + lower] = encoded.right
    }
  }
  return Either.right(headers)
}

/**
 * Parses insert request headers on the server (§6.1). `headers` maps lowercase names to values. Unknown headers and
 * `x-sn-time-*` are ignored.
 *
 * @since 0.1.0
 * @category parsing
 */
export const parseInsertHeaders = (
  headers: Readonly<Record<string, string | undefined>>
): Either.Either<Omit<Metadata, "timeCreated" | "timeExpires">, string> => {
  const contentType = headers[CONTENT_TYPE] ?? DEFAULT_CONTENT_TYPE
  if (!MediaType.isValid(contentType)) return Either.left("invalid content type")
  const encoding = headers[CONTENT_ENCODING]
  if (encoding !== undefined && encoding !== "zstd") return Either.left("invalid compression")
  let expirationPolicy: ExpirationPolicy.ExpirationPolicy = ExpirationPolicy.manual
  const expiration = headers[EXPIRATION]
  if (expiration !== undefined) {
    if (!isVisibleAscii(expiration)) return Either.left("non-ASCII header value")
    const parsed = ExpirationPolicy.parse(expiration)
    if (Either.isLeft(parsed)) return Either.left("invalid expiration policy value")
    expirationPolicy = parsed.right
  }
  const origin = headers[ORIGIN]
  if (origin !== undefined && !isVisibleAscii(origin)) return Either.left("non-ASCII header value")
  const filename = headers[FILENAME]
  if (filename !== undefined && !isVisibleAscii(filename)) return Either.left("non-ASCII header value")
  const entries: Array<[string, string]> = []
  for (const [name, value] of Object.entries(headers)) {
    if (value === undefined) continue
    const lower = name.toLowerCase()
    if (!lower.startsWith(CUSTOM_PREFIX)) continue
    if (!isVisibleAscii(value)) return Either.left("non-ASCII header value")
    entries.push([lower.slice(CUSTOM_PREFIX.length), value])
  }
  return Either.right({
    contentType,
    compression: encoding === "zstd" ? "zstd" : undefined,
    expirationPolicy,
    origin,
    filename,
    custom: Object.fromEntries(entries)
  })
}

/**
 * Options of {@link toResponseHeaders}.
 *
 * @since 0.1.0
 * @category models
 */
export interface ResponseHeadersOptions {
  /** Emit `content-disposition` when a filename is set (GET 200/206, HEAD 204). Default `true`. */
  readonly contentDisposition?: boolean | undefined
}

/**
 * Renders the metadata response headers on the server: `content-type` always, `content-encoding` when zstd,
 * `x-sn-expiration` unless manual, the timestamps when set, origin, filename, custom entries in ascending name
 * order, and `content-disposition` when a filename is set (unless disabled, as for batch parts).
 *
 * @since 0.1.0
 * @category encoding
 */
export const toResponseHeaders = (
  metadata: Metadata,
  options?: ResponseHeadersOptions
): Array<readonly [string, string]> => {
  const headers: Array<readonly [string, string]> = [[CONTENT_TYPE, metadata.contentType]]
  if (metadata.compression === "zstd") headers.push([CONTENT_ENCODING, "zstd"])
  if (metadata.expirationPolicy._tag !== "Manual") {
    headers.push([EXPIRATION, ExpirationPolicy.format(metadata.expirationPolicy)])
  }
  if (metadata.timeCreated !== undefined) headers.push([TIME_CREATED, Timestamp.format(metadata.timeCreated)])
  if (metadata.timeExpires !== undefined) headers.push([TIME_EXPIRES, Timestamp.format(metadata.timeExpires)])
  if (metadata.origin !== undefined) headers.push([ORIGIN, metadata.origin])
  if (metadata.filename !== undefined) headers.push([FILENAME, metadata.filename])
  const names = Object.keys(metadata.custom).sort(compareUtf8)
  for (const name of names) headers.push([CUSTOM_PREFIX + name, metadata.custom[name]!])
  if (metadata.filename !== undefined && (options?.contentDisposition ?? true)) {
    const disposition = contentDisposition(metadata.filename)
    if (disposition !== undefined) headers.push([CONTENT_DISPOSITION, disposition])
  }
  return headers
}

/**
 * Response headers as the client sees them: a lookup function (case-insensitive names), or a record of header
 * names to values (as in `@effect/platform`'s `Headers`).
 *
 * @since 0.1.0
 * @category models
 */
export type HeaderSource =
  | ((name: string) => string | undefined)
  | Readonly<Record<string, string | ReadonlyArray<string> | undefined>>

/**
 * Whether a `Content-Encoding` value names zstd, the one compression the protocol stores (§7): what
 * {@link fromResponseHeaders} reads as `compression`, for a reader that needs nothing else.
 *
 * @since 0.1.0
 * @category parsing
 */
export const isZstd = (contentEncoding: string | undefined): boolean => contentEncoding?.trim().toLowerCase() === "zstd"

/**
 * Reads metadata from response headers on the client, leniently: a missing content type is
 * `application/octet-stream`, an unparsable expiration is manual, unparsable timestamps are `undefined`; origin,
 * filename and custom values are percent-decoded with {@link decodeValue} (PROTOCOL §6.8). With a
 * lookup function, pass the header `names` to discover custom metadata; with a record, its keys are used.
 *
 * @since 0.1.0
 * @category decoding
 */
export const fromResponseHeaders = (headers: HeaderSource, names?: Iterable<string>): Metadata => {
  let get: (name: string) => string | undefined
  let allNames: Iterable<string>
  if (typeof headers === "function") {
    get = headers
    allNames = names ?? []
  } else if (plainLowerCase(headers)) {
    // Headers as HTTP clients hand them over (undici, Effect's `Headers`): read as they are, without a copy.
    const record = headers as Readonly<Record<string, string>>
    get = (name) => Object.hasOwn(record, name) ? record[name] : undefined
    allNames = Object.keys(record)
  } else {
    const lower = new Map<string, string>()
    for (const name in headers) {
      if (!Object.hasOwn(headers, name)) continue
      const value = headers[name]
      if (value === undefined) continue
      const text = typeof value === "string" ? value : value[value.length - 1]
      if (text !== undefined) lower.set(name.toLowerCase(), text)
    }
    get = (name) => lower.get(name)
    allNames = lower.keys()
  }
  const expiration = get(EXPIRATION)
  const policy = expiration === undefined
    ? ExpirationPolicy.manual
    : Either.getOrElse(ExpirationPolicy.parse(expiration), () => ExpirationPolicy.manual)
  const timestamp = (name: string): bigint | undefined => {
    const value = get(name)
    if (value === undefined) return undefined
    const parsed = Timestamp.parse(value)
    return parsed._tag === "Some" ? parsed.value : undefined
  }
  const custom: Array<[string, string]> = []
  for (const name of allNames) {
    const lower = name.toLowerCase()
    if (!lower.startsWith(CUSTOM_PREFIX)) continue
    const value = get(name)
    if (value !== undefined) custom.push([lower.slice(CUSTOM_PREFIX.length), decodeValue(value)])
  }
  return {
    contentType: get(CONTENT_TYPE) ?? DEFAULT_CONTENT_TYPE,
    compression: isZstd(get(CONTENT_ENCODING)) ? "zstd" : undefined,
    expirationPolicy: policy,
    timeCreated: timestamp(TIME_CREATED),
    timeExpires: timestamp(TIME_EXPIRES),
    origin: optionalDecoded(get(ORIGIN)),
    filename: optionalDecoded(get(FILENAME)),
    custom: Object.fromEntries(custom)
  }
}

/** Whether every own header name is lower case and every value a single string. */
const plainLowerCase = (headers: Readonly<Record<string, string | ReadonlyArray<string> | undefined>>): boolean => {
  for (const name in headers) {
    if (!Object.hasOwn(headers, name)) continue
    if (typeof headers[name] !== "string" || name.toLowerCase() !== name) return false
  }
  return true
}

const optionalDecoded = (value: string | undefined): string | undefined =>
  value === undefined ? undefined : decodeValue(value)
