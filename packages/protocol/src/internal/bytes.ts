/**
 * UTF-8 helpers shared by the encoders.
 *
 * @internal
 */
const encoder = new TextEncoder()
const strictDecoder = new TextDecoder("utf-8", { fatal: true })

/** @internal */
export const utf8 = (text: string): Uint8Array => encoder.encode(text)

/** @internal */
export const decodeUtf8 = (bytes: Uint8Array): string | undefined => {
  try {
    return strictDecoder.decode(bytes)
  } catch {
    return undefined
  }
}

const hex = "0123456789ABCDEF"

/** @internal */
export const percentByte = (byte: number): string => "%" + hex[byte >> 4] + hex[byte & 15]

/** @internal */
export const hexValue = (code: number): number => {
  if (code >= 48 && code <= 57) return code - 48
  if (code >= 65 && code <= 70) return code - 55
  if (code >= 97 && code <= 102) return code - 87
  return -1
}

/**
 * Percent-decodes `text` to bytes; a `%` not followed by two hex digits is kept literally (as the `url` crate does).
 *
 * @internal
 */
export const percentDecodeBytes = (text: string): Uint8Array => {
  const input = utf8(text)
  const out = new Uint8Array(input.length)
  let length = 0
  for (let i = 0; i < input.length; i++) {
    const byte = input[i]!
    if (byte === 37 && i + 2 < input.length) {
      const high = hexValue(input[i + 1]!)
      const low = hexValue(input[i + 2]!)
      if (high >= 0 && low >= 0) {
        out[length++] = high * 16 + low
        i += 2
        continue
      }
    }
    out[length++] = byte
  }
  return out.subarray(0, length)
}

/**
 * {@link percentDecodeBytes} of ASCII `text` as a string when every byte it decodes to is ASCII too; `undefined`
 * otherwise (decode the bytes then).
 *
 * @internal
 */
export const percentDecodeAscii = (text: string): string | undefined => {
  let out = ""
  let from = 0
  for (let i = 0; i < text.length; i++) {
    if (text.charCodeAt(i) !== 37 || i + 2 >= text.length) continue
    const high = hexValue(text.charCodeAt(i + 1))
    const low = hexValue(text.charCodeAt(i + 2))
    if (high < 0 || low < 0) continue
    if (high >= 8) return undefined
    out += text.slice(from, i) + String.fromCharCode(high * 16 + low)
    from = i + 3
    i += 2
  }
  return out + text.slice(from)
}

/**
 * Compares two strings by Unicode code point, which is the same order as their UTF-8 bytes.
 *
 * @internal
 */
export const compareUtf8 = (a: string, b: string): number => {
  const left = Array.from(a)
  const right = Array.from(b)
  const n = Math.min(left.length, right.length)
  for (let i = 0; i < n; i++) {
    const x = left[i]!.codePointAt(0)!
    const y = right[i]!.codePointAt(0)!
    if (x !== y) return x < y ? -1 : 1
  }
  return left.length - right.length
}
