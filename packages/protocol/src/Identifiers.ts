/**
 * Usecases and object keys (PROTOCOL §4.1, §4.3): the client-side validation rules.
 *
 * The server accepts any non-empty usecase and key; these checks keep a client to the portable subset that every
 * component (both upstream clients, URL parsers, pre-signing) handles the same way.
 *
 * @since 0.1.0
 */
import * as Either from "effect/Either"
import { utf8 } from "./internal/bytes.js"

/**
 * The recommended maximum length of a key, in UTF-8 bytes.
 *
 * @since 0.1.0
 * @category constants
 */
export const MAX_KEY_BYTES = 512

const usecasePattern = /^[A-Za-z0-9_-]+$/

/**
 * Validates a usecase name: one or more of `A-Z a-z 0-9 _ -`.
 *
 * @since 0.1.0
 * @category validation
 */
export const validateUsecase = (text: string): Either.Either<string, string> => {
  if (text.length === 0) return Either.left("usecase must not be empty")
  if (!usecasePattern.test(text)) {
    return Either.left(`invalid usecase ${JSON.stringify(text)}: only A-Z, a-z, 0-9, '_' and '-' are allowed`)
  }
  return Either.right(text)
}

const controlPattern = /[\u0000-\u001f\u007f]/

/**
 * Validates an object key with the §4.3 client recommendations: non-empty, no leading or trailing `/`, no empty,
 * `.` or `..` segment, no ASCII control characters (0x00–0x1F, 0x7F), and at most 512 UTF-8 bytes.
 *
 * @since 0.1.0
 * @category validation
 */
export const validateKey = (key: string): Either.Either<string, string> => {
  if (key.length === 0) return Either.left("key must not be empty")
  if (controlPattern.test(key)) return Either.left("key must not contain control characters")
  if (key.startsWith("/")) return Either.left("key must not start with '/'")
  if (key.endsWith("/")) return Either.left("key must not end with '/'")
  for (const segment of key.split("/")) {
    if (segment.length === 0) return Either.left("key must not contain an empty path segment ('//')")
    if (segment === "." || segment === "..") {
      return Either.left(`key must not contain a '${segment}' path segment`)
    }
  }
  const bytes = utf8(key).length
  if (bytes > MAX_KEY_BYTES) return Either.left(`key is ${bytes} bytes long, at most ${MAX_KEY_BYTES} are allowed`)
  return Either.right(key)
}
