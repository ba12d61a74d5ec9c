/**
 * Usecases and object keys (PROTOCOL §4.1, §4.3): what a client can address, and what is portable.
 *
 * The server accepts any non-empty usecase and key (after percent-decoding). Two rules follow from that:
 *
 * - {@link validateKey} and {@link validateUsecase} accept every value the server accepts **and** a URL can carry:
 *   all keys except the two that are a whole `.` or `..` path segment, which every URL parser (WHATWG `URL`,
 *   `fetch`, browsers; `%2E` included) removes before the request is sent; and all usecases that fit one path
 *   segment. `Path.encodeKey` encodes the other awkward keys (`/leading`, `trailing/`, `a//b`, `./dot`,
 *   `a/../b`) so that they reach the server unchanged (§4.4).
 * - {@link validatePortableKey} is §4.3's recommendation for new keys: the subset every component (both upstream
 *   clients, URL parsers, pre-signing) handles the same way. The client warns about (or, when asked, refuses)
 *   writes of other keys; reading, checking and deleting them always works.
 *
 * @since 0.1.0
 */
import * as Either from "effect/Either"
import * as Schema from "effect/Schema"
import { utf8 } from "./internal/bytes.js"

/**
 * The recommended maximum length of a new key, in UTF-8 bytes (§4.3). Longer keys are accepted; they are not
 * portable.
 *
 * @since 0.1.0
 * @category constants
 */
export const MAX_KEY_BYTES = 512

/** A value in an error message: JSON-quoted, shortened past 80 characters. */
const quote = (text: string): string => JSON.stringify(text.length > 80 ? `${text.slice(0, 80)}…` : text)

const loneSurrogate = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/
const controlPattern = /[\u0000-\u001f\u007f]/

/**
 * Validates a usecase name (§4.1): non-empty, no `/` (a usecase is one path segment), not `.` or `..` (which URL
 * parsers remove), no ASCII control characters (0x00–0x1F, 0x7F) and valid Unicode (no lone surrogate). Anything
 * else is allowed and percent-encoded in the path (`my.usecase`, `with%20space`, `%C3%BC`), as the Python client
 * does.
 *
 * @example
 * ```ts
 * import * as Identifiers from "@objectstore/protocol/Identifiers"
 *
 * Identifiers.validateUsecase("my.usecase") // Either.right("my.usecase")
 * Identifiers.validateUsecase("a/b") // Either.left("usecase \"a/b\" must not contain '/' (it is one path segment)")
 * ```
 *
 * @since 0.1.0
 * @category validation
 */
export const validateUsecase = (text: string): Either.Either<string, string> => {
  if (text.length === 0) return Either.left("usecase must not be empty")
  if (text.includes("/")) return Either.left(`usecase ${quote(text)} must not contain '/' (it is one path segment)`)
  if (text === "." || text === "..") {
    return Either.left(`usecase ${quote(text)} cannot be addressed: URL parsers remove a '${text}' path segment`)
  }
  if (controlPattern.test(text)) {
    return Either.left(`usecase ${quote(text)} must not contain ASCII control characters (0x00-0x1F, 0x7F)`)
  }
  if (loneSurrogate.test(text)) return Either.left(`usecase ${quote(text)} is not valid Unicode (lone surrogate)`)
  return Either.right(text)
}

/**
 * Validates a key the client can address: non-empty, valid Unicode (no lone surrogate, which has no UTF-8 form),
 * and not exactly `.` or `..` (URL parsers remove such a path segment, `%2E` included, so no URL reaches it).
 * Every other key the server accepts is valid: leading, trailing or doubled `/`, `.`/`..` segments inside a
 * longer key, control characters, any length.
 *
 * @since 0.1.0
 * @category validation
 */
export const validateKey = (key: string): Either.Either<string, string> => {
  if (key.length === 0) return Either.left("key must not be empty")
  if (key === "." || key === "..") {
    return Either.left(
      `key ${quote(key)} cannot be addressed: URL parsers (fetch, browsers, WHATWG URL) remove a '${key}' path ` +
        "segment, even percent-encoded"
    )
  }
  if (loneSurrogate.test(key)) return Either.left(`key ${quote(key)} is not valid Unicode (lone surrogate)`)
  return Either.right(key)
}

/**
 * Validates a key against §4.3's recommendations for new keys (after {@link validateKey}): no leading or trailing
 * `/`, no empty, `.` or `..` segment, no ASCII control characters (0x00–0x1F, 0x7F), at most
 * {@link MAX_KEY_BYTES} UTF-8 bytes. Such keys are handled alike by both upstream clients, URL parsers and
 * pre-signing; the Rust client, for one, drops `.`/`..` segments and tab/CR/LF.
 *
 * @since 0.1.0
 * @category validation
 */
export const validatePortableKey = (key: string): Either.Either<string, string> => {
  const valid = validateKey(key)
  if (Either.isLeft(valid)) return valid
  const rule = (what: string) => Either.left(`key ${quote(key)} is not portable (PROTOCOL §4.3): ${what}`)
  if (controlPattern.test(key)) return rule("it contains ASCII control characters (0x00-0x1F, 0x7F)")
  if (key.startsWith("/")) return rule("it starts with '/'")
  if (key.endsWith("/")) return rule("it ends with '/'")
  for (const segment of key.split("/")) {
    if (segment.length === 0) return rule("it contains an empty path segment ('//')")
    if (segment === "." || segment === "..") return rule(`it contains a '${segment}' path segment`)
  }
  const bytes = utf8(key).length
  if (bytes > MAX_KEY_BYTES) return rule(`it is ${bytes} UTF-8 bytes long, the recommended maximum is ${MAX_KEY_BYTES}`)
  return Either.right(key)
}

/**
 * Whether {@link validatePortableKey} accepts `key`.
 *
 * @since 0.1.0
 * @category validation
 */
export const isPortableKey = (key: string): boolean => Either.isRight(validatePortableKey(key))

const filterWith = (validate: (text: string) => Either.Either<string, string>) => (text: string) =>
  Either.match(validate(text), { onLeft: (reason) => reason, onRight: () => true })

/**
 * A key the client can address ({@link validateKey}), as a `Schema`.
 *
 * @since 0.1.0
 * @category validation
 */
export const Key: Schema.filter<typeof Schema.String> = Schema.String.pipe(
  Schema.filter(filterWith(validateKey), { identifier: "Key" })
)

/**
 * A key within §4.3's recommendations ({@link validatePortableKey}), as a `Schema`.
 *
 * @since 0.1.0
 * @category validation
 */
export const PortableKey: Schema.filter<typeof Schema.String> = Schema.String.pipe(
  Schema.filter(filterWith(validatePortableKey), { identifier: "PortableKey" })
)

/**
 * A usecase name ({@link validateUsecase}), as a `Schema`.
 *
 * @since 0.1.0
 * @category validation
 */
export const Usecase: Schema.filter<typeof Schema.String> = Schema.String.pipe(
  Schema.filter(filterWith(validateUsecase), { identifier: "Usecase" })
)
