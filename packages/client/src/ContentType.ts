/**
 * Guessing an object's media type from its first bytes, like the Python client's `guess_mime_type`.
 *
 * Guessing is opt-in: `session.put(body, { contentType: "guess" })` sniffs the first bytes of the body and sends the
 * guessed type, or `application/octet-stream` when nothing matches. Only the first {@link SNIFF_LENGTH} bytes are
 * looked at: a byte array is sniffed directly, a stream is read just far enough (its first chunk or chunks) and then
 * sent whole, so no more than about one chunk is ever buffered.
 *
 * Recognised, by magic number: PNG, JPEG, GIF, WebP, BMP, TIFF, ICO, AVIF, HEIC, PDF, zip, gzip, zstd, bzip2, xz,
 * 7z, tar, WebAssembly, SQLite, Parquet, WOFF/WOFF2, MP3 (ID3), Ogg, FLAC, WAV, MP4. Then, for text (valid UTF-8
 * without control characters other than tab, CR, LF and form feed): JSON when it starts with `{` or `[` (after
 * whitespace and a byte order mark), XML, SVG and HTML by their opening tags, else `text/plain; charset=utf-8`.
 * The text rules only look at the sniffed prefix, so a document that is not valid JSON further on is still
 * labelled JSON: guessing is a convenience, not validation. Anything else is `undefined` (no guess).
 *
 * @example
 * ```ts
 * import * as ContentType from "@objectstore/client/ContentType"
 *
 * ContentType.guess(new Uint8Array([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a])) // "image/png"
 * ContentType.guess(new TextEncoder().encode('{"a": 1}')) // "application/json"
 * ```
 *
 * @since 0.1.0
 */

/**
 * How many leading bytes {@link guess} looks at (enough for the `ustar` marker of tar at offset 257).
 *
 * @since 0.1.0
 * @category constants
 */
export const SNIFF_LENGTH = 512

/**
 * The value of `PutOptions.contentType` that asks for a guess.
 *
 * @since 0.1.0
 * @category constants
 */
export const GUESS = "guess"

const ascii = (text: string): ReadonlyArray<number> => Array.from(text, (c) => c.charCodeAt(0))

const startsWith = (bytes: Uint8Array, signature: ReadonlyArray<number | undefined>, offset = 0): boolean => {
  if (bytes.length < offset + signature.length) return false
  for (let i = 0; i < signature.length; i++) {
    const expected = signature[i]
    if (expected !== undefined && bytes[offset + i] !== expected) return false
  }
  return true
}

interface Magic {
  readonly type: string
  readonly test: (bytes: Uint8Array) => boolean
}

const magic = (type: string, signature: ReadonlyArray<number | undefined>, offset = 0): Magic => ({
  type,
  test: (bytes) => startsWith(bytes, signature, offset)
})

const ftyp = (type: string, brands: ReadonlyArray<string>): Magic => ({
  type,
  test: (bytes) => startsWith(bytes, ascii("ftyp"), 4) && brands.some((brand) => startsWith(bytes, ascii(brand), 8))
})

const riff = (type: string, form: string): Magic => ({
  type,
  test: (bytes) => startsWith(bytes, ascii("RIFF")) && startsWith(bytes, ascii(form), 8)
})

const magics: ReadonlyArray<Magic> = [
  magic("image/png", [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
  magic("image/jpeg", [0xff, 0xd8, 0xff]),
  magic("image/gif", ascii("GIF87a")),
  magic("image/gif", ascii("GIF89a")),
  riff("image/webp", "WEBP"),
  riff("audio/wav", "WAVE"),
  magic("image/tiff", [0x49, 0x49, 0x2a, 0x00]),
  magic("image/tiff", [0x4d, 0x4d, 0x00, 0x2a]),
  magic("image/x-icon", [0x00, 0x00, 0x01, 0x00]),
  ftyp("image/avif", ["avif", "avis"]),
  ftyp("image/heic", ["heic", "heix", "mif1"]),
  ftyp("video/mp4", ["isom", "iso2", "mp41", "mp42", "avc1", "dash", "M4V "]),
  magic("application/pdf", ascii("%PDF-")),
  magic("application/zip", [0x50, 0x4b, 0x03, 0x04]),
  magic("application/zip", [0x50, 0x4b, 0x05, 0x06]),
  magic("application/gzip", [0x1f, 0x8b]),
  magic("application/zstd", [0x28, 0xb5, 0x2f, 0xfd]),
  {
    type: "application/x-bzip2",
    test: (bytes) => startsWith(bytes, ascii("BZh")) && bytes.length > 3 && bytes[3]! >= 0x31 && bytes[3]! <= 0x39
  },
  magic("application/x-xz", [0xfd, 0x37, 0x7a, 0x58, 0x5a, 0x00]),
  magic("application/x-7z-compressed", [0x37, 0x7a, 0xbc, 0xaf, 0x27, 0x1c]),
  magic("application/x-tar", ascii("ustar"), 257),
  magic("application/wasm", [0x00, 0x61, 0x73, 0x6d]),
  magic("application/vnd.sqlite3", [...ascii("SQLite format 3"), 0x00]),
  magic("application/vnd.apache.parquet", ascii("PAR1")),
  magic("font/woff", ascii("wOFF")),
  magic("font/woff2", ascii("wOF2")),
  magic("audio/mpeg", ascii("ID3")),
  magic("audio/ogg", ascii("OggS")),
  magic("audio/flac", ascii("fLaC")),
  // "BM", the file size, then four reserved zero bytes.
  magic("image/bmp", [0x42, 0x4d, undefined, undefined, undefined, undefined, 0x00, 0x00, 0x00, 0x00])
]

const utf8 = new TextDecoder("utf-8", { fatal: true, ignoreBOM: false })

/** Decodes a UTF-8 prefix that may end inside a multi-byte sequence; `undefined` when it is not UTF-8. */
const decodePrefix = (bytes: Uint8Array, truncated: boolean): string | undefined => {
  // Drop an incomplete trailing sequence (at most 3 bytes) when the input was cut off.
  for (let drop = 0; drop <= (truncated ? 3 : 0) && drop < bytes.length + 1; drop++) {
    try {
      return utf8.decode(bytes.subarray(0, bytes.length - drop))
    } catch {
      continue
    }
  }
  return undefined
}

const isTextual = (text: string): boolean => {
  for (let i = 0; i < text.length; i++) {
    const code = text.charCodeAt(i)
    if (code < 0x20 && code !== 0x09 && code !== 0x0a && code !== 0x0d && code !== 0x0c) return false
    if (code === 0x7f) return false
  }
  return true
}

const guessText = (bytes: Uint8Array, truncated: boolean): string | undefined => {
  if (bytes.length === 0) return undefined
  const decoded = decodePrefix(bytes, truncated)
  if (decoded === undefined || !isTextual(decoded)) return undefined
  const text = decoded.trimStart()
  const lower = text.slice(0, 64).toLowerCase()
  if (text.startsWith("{") || text.startsWith("[")) return "application/json"
  if (lower.startsWith("<svg")) return "image/svg+xml"
  if (lower.startsWith("<!doctype html") || lower.startsWith("<html")) return "text/html; charset=utf-8"
  if (lower.startsWith("<?xml")) return /<svg[\s>]/i.test(text) ? "image/svg+xml" : "application/xml"
  return "text/plain; charset=utf-8"
}

/**
 * Guesses a media type from the first bytes of an object, or `undefined` when nothing matches (binary data of an
 * unknown kind, or no bytes at all). Pass at least {@link SNIFF_LENGTH} bytes when the object is that long; set
 * `truncated` when `bytes` is only a prefix of the object (a multi-byte UTF-8 character cut at the end then does
 * not make text look binary).
 *
 * @since 0.1.0
 * @category parsing
 */
export const guess = (
  bytes: Uint8Array,
  options?: { readonly truncated?: boolean | undefined }
): string | undefined => {
  const head = bytes.length > SNIFF_LENGTH ? bytes.subarray(0, SNIFF_LENGTH) : bytes
  for (const candidate of magics) {
    if (candidate.test(head)) return candidate.type
  }
  return guessText(head, options?.truncated === true || bytes.length > SNIFF_LENGTH)
}

/**
 * {@link guess}, falling back to `application/octet-stream` (the protocol's default type).
 *
 * @since 0.1.0
 * @category parsing
 */
export const guessOrDefault = (
  bytes: Uint8Array,
  options?: { readonly truncated?: boolean | undefined }
): string => guess(bytes, options) ?? "application/octet-stream"
