/**
 * Request paths (PROTOCOL §4.4, §13.3) and batch key headers (§10.2, §10.4).
 *
 * {@link encodePath} is the Python 0.2.0 algorithm that pre-signing depends on: it works byte-wise over UTF-8 and
 * leaves RFC 3986 unreserved characters plus `/ : @ ! $ & ' ( ) * + , ; =` raw; every other byte becomes `%XX`
 * with uppercase hex. It is applied once to the whole path, so `/` in a key stays a separator and a literal `%`
 * becomes `%25`. Do not use `encodeURIComponent`, and do not let a URL class re-encode the result.
 *
 * Batch key headers use a different rule: every byte except ASCII letters and digits is percent-encoded.
 *
 * @since 0.1.0
 */
import * as Either from "effect/Either"
import { decodeUtf8, percentByte, percentDecodeAscii, percentDecodeBytes, utf8 } from "./internal/bytes.js"

const makeTable = (raw: string): ReadonlyArray<boolean> => {
  const table: Array<boolean> = []
  for (let b = 0; b < 256; b++) table.push(false)
  for (let c = 0; c < raw.length; c++) table[raw.charCodeAt(c)] = true
  return table
}

const alphanumerics = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"
const pathRaw = makeTable(alphanumerics + "-._~" + "/:@!$&'()*+,;=")
const queryRaw = makeTable(alphanumerics + "-._~" + "/:@!$&'()*+,;=" + "?")
const batchRaw = makeTable(alphanumerics)

const encodeWith = (table: ReadonlyArray<boolean>, text: string): string => {
  // Most paths need no escape at all and are returned as they are; ASCII text (nearly every key) is escaped without
  // encoding it to bytes first.
  let i = 0
  while (i < text.length) {
    const code = text.charCodeAt(i)
    if (code > 127 || !table[code]) break
    i++
  }
  if (i === text.length) return text
  let out = text.slice(0, i)
  for (; i < text.length; i++) {
    const code = text.charCodeAt(i)
    if (code > 127) return encodeBytesWith(table, text)
    out += table[code] ? text[i] : percentByte(code)
  }
  return out
}

const encodeBytesWith = (table: ReadonlyArray<boolean>, text: string): string => {
  let out = ""
  for (const byte of utf8(text)) {
    out += table[byte] ? String.fromCharCode(byte) : percentByte(byte)
  }
  return out
}

/**
 * Percent-encodes a request path exactly as §4.4 specifies (uppercase hex, UTF-8, `/` and the pchar extras raw).
 *
 * @example
 * ```ts
 * import * as Path from "@objectstore/protocol/Path"
 *
 * Path.encodePath("/v1/objects/u/_/caf\u00e9 100%") // "/v1/objects/u/_/caf%C3%A9%20100%25"
 * ```
 *
 * @since 0.1.0
 * @category encoding
 */
export const encodePath = (text: string): string => encodeWith(pathRaw, text)

/**
 * {@link encodePath} that also leaves `?` raw: the encoding of pre-signed query strings (§13.3).
 *
 * @since 0.1.0
 * @category encoding
 */
export const encodeQuery = (text: string): string => encodeWith(queryRaw, text)

const ordinarySegment = (segment: string): boolean => segment !== "" && segment !== "." && segment !== ".."

/** A `/` next to an empty, `.` or `..` segment (or at either end). */
const awkwardSlash = /(?:^|\/)\.{0,2}(?:\/|$)/

/**
 * Percent-encodes a key for the `{key}` part of a path (§4.4): {@link encodePath}, except that a `/` next to an
 * empty, `.` or `..` segment is sent as `%2F`. The server decodes `%2F` to `/` (§4.3), so the key arrives as given,
 * and the path has no empty or dot segment that a URL parser (WHATWG `URL`, `fetch`, browsers) or a proxy would
 * remove or merge. For every key without such a segment (all portable keys) the result is `encodePath(key)`, byte
 * for byte what the Python client sends.
 *
 * A key that is exactly `.` or `..` has no such form; `Identifiers.validateKey` refuses it.
 *
 * @example
 * ```ts
 * import * as Path from "@objectstore/protocol/Path"
 *
 * Path.encodeKey("nested/path") // "nested/path"
 * Path.encodeKey("/leading") // "%2Fleading"
 * Path.encodeKey("a/../b") // "a%2F..%2Fb"
 * ```
 *
 * @since 0.1.0
 * @category encoding
 */
export const encodeKey = (key: string): string => {
  if (!awkwardSlash.test(key)) return encodePath(key)
  const segments = key.split("/")
  let out = encodePath(segments[0]!)
  for (let i = 1; i < segments.length; i++) {
    out += ordinarySegment(segments[i - 1]!) && ordinarySegment(segments[i]!) ? "/" : "%2F"
    out += encodePath(segments[i]!)
  }
  return out
}

/**
 * The resource part of a `/v1/<resource>/...` path (§3).
 *
 * @since 0.1.0
 * @category models
 */
export type Resource =
  | "objects"
  | "objects:batch"
  | "objects:multipart"
  | "objects:multipart:parts"
  | "objects:multipart:complete"

/**
 * Options of {@link objectPath}.
 *
 * @since 0.1.0
 * @category models
 */
export interface ObjectPathOptions {
  /** A base path such as `""`, `"/"` or `"/api/prefix"`; trailing slashes are dropped. */
  readonly basePath: string
  readonly resource: Resource
  readonly usecase: string
  /** The rendered scopes segment (see `Scope.render`), e.g. `org=42;project=1337` or `_`. */
  readonly scope: string
  /** The raw key; omitted for collection endpoints, in which case the path ends with `/`. */
  readonly key?: string | undefined
}

const stripTrailingSlashes = (text: string): string => {
  let end = text.length
  while (end > 0 && text.charCodeAt(end - 1) === 47) end--
  return text.slice(0, end)
}

/**
 * Builds the encoded request path
 * `encodePath(<basePath without trailing "/">/v1/<resource>/<usecase>/<scope>/) + encodeKey(<key>)`. Without a key
 * the path ends in `/` (the POST and batch form). The usecase must be one segment (no `/`, see
 * `Identifiers.validateUsecase`).
 *
 * @example
 * ```ts
 * import * as Path from "@objectstore/protocol/Path"
 *
 * Path.objectPath({ basePath: "", resource: "objects", usecase: "attachments", scope: "org=42", key: "a b" })
 * // "/v1/objects/attachments/org=42/a%20b"
 * ```
 *
 * @since 0.1.0
 * @category constructors
 */
export const objectPath = (options: ObjectPathOptions): string =>
  encodePath(`${stripTrailingSlashes(options.basePath)}/v1/${options.resource}/${options.usecase}/${options.scope}/`) +
  (options.key === undefined ? "" : encodeKey(options.key))

/**
 * Builds an absolute URL for an object from a base URL such as `http://[::1]:8888/api/prefix/`: the base URL's
 * origin, followed by {@link objectPath} with the base URL's path as `basePath`. Returns `Left` when the base URL
 * cannot be parsed or is not `http`/`https`.
 *
 * @since 0.1.0
 * @category constructors
 */
export const objectUrl = (
  options: Omit<ObjectPathOptions, "basePath"> & { readonly baseUrl: string }
): Either.Either<string, string> => {
  let url: URL
  try {
    url = new URL(options.baseUrl)
  } catch {
    return Either.left(`invalid base URL ${JSON.stringify(options.baseUrl)}`)
  }
  if (url.protocol !== "http:" && url.protocol !== "https:") {
    return Either.left(`base URL must use http or https, got ${JSON.stringify(url.protocol)}`)
  }
  const basePath = decodeURIComponentSafe(url.pathname)
  return Either.right(url.origin + objectPath({ ...options, basePath }))
}

const decodeURIComponentSafe = (text: string): string => {
  const decoded = decodeUtf8(percentDecodeBytes(text))
  return decoded ?? text
}

/**
 * Encodes a key for the `x-sn-batch-operation-key` header: every UTF-8 byte except ASCII letters and digits
 * becomes `%XX` (uppercase hex), so `key-1` becomes `key%2D1`.
 *
 * @since 0.1.0
 * @category encoding
 */
export const encodeBatchKey = (key: string): string => encodeWith(batchRaw, key)

/**
 * Decodes an `x-sn-batch-operation-key` header value the way the server does: any valid `%XX` is decoded, anything
 * else (including a `%` not followed by two hex digits) is kept literally, and the result must be valid UTF-8. The
 * header value itself must be visible ASCII.
 *
 * @since 0.1.0
 * @category decoding
 */
export const decodeBatchKey = (text: string): Either.Either<string, string> => {
  let escaped = false
  for (let i = 0; i < text.length; i++) {
    const code = text.charCodeAt(i)
    if ((code < 0x20 && code !== 0x09) || code > 0x7e) return Either.left("batch key header is not visible ASCII")
    if (code === 37) escaped = true
  }
  if (!escaped) return Either.right(text)
  const ascii = percentDecodeAscii(text)
  if (ascii !== undefined) return Either.right(ascii)
  const decoded = decodeUtf8(percentDecodeBytes(text))
  return decoded === undefined
    ? Either.left("batch key is not valid UTF-8 after percent-decoding")
    : Either.right(decoded)
}
