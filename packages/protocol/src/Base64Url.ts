/**
 * Unpadded base64url (RFC 4648 §5) with the strict decoding of PROTOCOL §13.1: only `A-Z a-z 0-9 - _`, no `=`
 * padding, a length that is not 1 modulo 4, and zero unused bits in the last character (the canonical encoding).
 * Used for pre-signed URL signatures and JWT segments.
 *
 * @since 0.1.0
 */
import * as Option from "effect/Option"

const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
const lookup: ReadonlyArray<number> = (() => {
  const table = new Array<number>(128).fill(-1)
  for (let i = 0; i < alphabet.length; i++) table[alphabet.charCodeAt(i)] = i
  return table
})()

/**
 * Encodes bytes as base64url without padding.
 *
 * @since 0.1.0
 * @category encoding
 */
export const encode = (bytes: Uint8Array): string => {
  let out = ""
  let i = 0
  for (; i + 2 < bytes.length; i += 3) {
    const n = (bytes[i]! << 16) | (bytes[i + 1]! << 8) | bytes[i + 2]!
    out += alphabet[n >> 18]! + alphabet[(n >> 12) & 63]! + alphabet[(n >> 6) & 63]! + alphabet[n & 63]!
  }
  const rest = bytes.length - i
  if (rest === 1) {
    const n = bytes[i]! << 16
    out += alphabet[n >> 18]! + alphabet[(n >> 12) & 63]!
  } else if (rest === 2) {
    const n = (bytes[i]! << 16) | (bytes[i + 1]! << 8)
    out += alphabet[n >> 18]! + alphabet[(n >> 12) & 63]! + alphabet[(n >> 6) & 63]!
  }
  return out
}

/**
 * Decodes strict unpadded base64url; `None` for foreign characters, padding, a length of 1 modulo 4, or non-zero
 * unused bits in the last character.
 *
 * @since 0.1.0
 * @category decoding
 */
export const decodeStrict = (text: string): Option.Option<Uint8Array> => {
  if (text.length % 4 === 1) return Option.none()
  const out = new Uint8Array(Math.floor((text.length * 3) / 4))
  let bits = 0
  let buffer = 0
  let length = 0
  for (let i = 0; i < text.length; i++) {
    const code = text.charCodeAt(i)
    const value = code < 128 ? lookup[code]! : -1
    if (value < 0) return Option.none()
    buffer = (buffer << 6) | value
    bits += 6
    if (bits >= 8) {
      bits -= 8
      out[length++] = (buffer >> bits) & 0xff
      buffer &= (1 << bits) - 1
    }
  }
  if (buffer !== 0) return Option.none()
  return Option.some(out.subarray(0, length))
}
