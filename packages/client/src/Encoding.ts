/**
 * Content encodings a caller can take as stored (PROTOCOL §7): `GetOptions.acceptEncoding` and a parser for HTTP
 * `Accept-Encoding` headers.
 *
 * The server never decompresses; the client decompresses zstd objects unless told otherwise. A service that passes
 * objects on to its own clients (a proxy that forwards `content-encoding: zstd` to a browser) can hand the
 * encodings its caller accepts to `get`: when the stored compression is among them (or the list has `*`), the
 * stored bytes are returned unchanged and the metadata keeps `compression: "zstd"`.
 *
 * @example
 * ```ts
 * import * as Encoding from "@objectstore/client/Encoding"
 *
 * Encoding.parseAcceptEncoding("gzip, deflate, br;q=0.9, zstd") // ["gzip", "deflate", "br", "zstd"]
 * Encoding.accepts(["gzip", "ZSTD"], "zstd") // true
 * ```
 *
 * @since 0.1.0
 */
import type * as Usecase from "./Usecase.js"

/**
 * The wildcard: every encoding is acceptable.
 *
 * @since 0.1.0
 * @category constants
 */
export const WILDCARD = "*"

/**
 * Parses an `Accept-Encoding` header as the Python client's `parse_accept_encoding` does: split on commas, drop
 * parameters such as `;q=0.5`, trim, lowercase, skip empty entries. Quality values are NOT interpreted (like
 * Python, `zstd;q=0` still lists `zstd`); duplicates are dropped, the order is kept.
 *
 * @since 0.1.0
 * @category parsing
 */
export const parseAcceptEncoding = (header: string): ReadonlyArray<string> => {
  const found: Array<string> = []
  for (const entry of header.split(",")) {
    const semicolon = entry.indexOf(";")
    const name = (semicolon < 0 ? entry : entry.slice(0, semicolon)).trim().toLowerCase()
    if (name !== "" && !found.includes(name)) found.push(name)
  }
  return found
}

/**
 * Whether a list of acceptable encodings (compared case-insensitively; `*` matches everything) includes
 * `compression`. `"none"` is always acceptable.
 *
 * @since 0.1.0
 * @category guards
 */
export const accepts = (acceptable: ReadonlyArray<string>, compression: Usecase.Compression): boolean => {
  if (compression === "none") return true
  return acceptable.some((entry) => {
    const name = entry.trim().toLowerCase()
    return name === WILDCARD || name === compression
  })
}
