/**
 * The small literal syntax of structured `OS__*` values (PROTOCOL §16.2):
 *
 * - dictionary `{key=value, key=value}`: keys are bare identifiers (`A-Z a-z 0-9 _ -`) or double-quoted strings,
 *   a trailing comma is allowed;
 * - array `[value, value]` (trailing comma allowed);
 * - double-quoted strings with backslash escapes (`\"`, `\\`, `\/`, `\n`, `\r`, `\t`, `\b`, `\f`, `\0`, `\uXXXX`,
 *   `\u{X…}`);
 * - bare text up to the next `,` `{` `}` `[` `]` (surrounding whitespace trimmed), which is read as `true`/`false`,
 *   a number (integer or float syntax), or else a string.
 *
 * Whitespace between tokens is ignored.
 *
 * @since 0.1.0
 * @internal
 */
import * as Either from "effect/Either"

/**
 * A parsed literal: plain JS values. Dictionaries are plain objects (own enumerable properties only, insertion
 * order kept; a repeated key keeps its last value).
 *
 * @since 0.1.0
 * @internal
 */
export type LiteralValue =
  | string
  | number
  | boolean
  | ReadonlyArray<LiteralValue>
  | { readonly [key: string]: LiteralValue }

/**
 * Why a literal could not be parsed, and where (0-based offset in the input, in UTF-16 code units).
 *
 * @since 0.1.0
 * @internal
 */
export interface LiteralError {
  readonly message: string
  readonly position: number
}

/**
 * @since 0.1.0
 * @internal
 */
export const isDict = (value: LiteralValue | undefined): value is { readonly [key: string]: LiteralValue } =>
  typeof value === "object" && value !== null && !Array.isArray(value)

/**
 * @since 0.1.0
 * @internal
 */
export const isArray = (value: LiteralValue | undefined): value is ReadonlyArray<LiteralValue> => Array.isArray(value)

const FLOAT = /^[+-]?(?:[0-9]+\.[0-9]*|\.[0-9]+|[0-9]+)(?:[eE][+-]?[0-9]+)?$/
const BARE_KEY = /[A-Za-z0-9_-]/
const isWhitespace = (c: string) => c === " " || c === "\t" || c === "\n" || c === "\r"
const isDelimiter = (c: string) => c === "," || c === "{" || c === "}" || c === "[" || c === "]"

class Failure {
  constructor(readonly message: string, readonly position: number) {}
}

/**
 * Reads bare text as a boolean, number or string.
 *
 * @since 0.1.0
 * @internal
 */
export const bareValue = (text: string): LiteralValue => {
  if (text === "true") return true
  if (text === "false") return false
  if (FLOAT.test(text)) {
    const n = Number(text)
    return Number.isFinite(n) ? n : text
  }
  return text
}

class Parser {
  index = 0
  constructor(readonly input: string) {}

  fail(message: string, position = this.index): never {
    throw new Failure(message, position)
  }

  skipWhitespace(): void {
    while (this.index < this.input.length && isWhitespace(this.input[this.index]!)) this.index++
  }

  peek(): string | undefined {
    return this.input[this.index]
  }

  describe(): string {
    const c = this.peek()
    return c === undefined ? "end of input" : JSON.stringify(c)
  }

  value(): LiteralValue {
    this.skipWhitespace()
    const c = this.peek()
    if (c === "{") return this.dict()
    if (c === "[") return this.array()
    if (c === "\"") return this.quoted()
    return this.bare()
  }

  bare(): LiteralValue {
    const start = this.index
    while (this.index < this.input.length && !isDelimiter(this.input[this.index]!) && this.input[this.index] !== "\"") {
      this.index++
    }
    const text = this.input.slice(start, this.index).trim()
    if (text === "") this.fail(`expected a value, found ${this.describe()}`, start)
    return bareValue(text)
  }

  quoted(): string {
    const start = this.index
    this.index++ // opening quote
    let out = ""
    for (;;) {
      const c = this.input[this.index]
      if (c === undefined) this.fail("unterminated string", start)
      this.index++
      if (c === "\"") return out
      if (c !== "\\") {
        out += c
        continue
      }
      const escapeAt = this.index - 1
      const e = this.input[this.index]
      this.index++
      switch (e) {
        case "\"":
        case "\\":
        case "/":
          out += e
          break
        case "n":
          out += "\n"
          break
        case "r":
          out += "\r"
          break
        case "t":
          out += "\t"
          break
        case "b":
          out += "\b"
          break
        case "f":
          out += "\f"
          break
        case "0":
          out += "\0"
          break
        case "u": {
          let hex: string
          if (this.input[this.index] === "{") {
            const close = this.input.indexOf("}", this.index)
            if (close === -1) this.fail("unterminated \\u{…} escape", escapeAt)
            hex = this.input.slice(this.index + 1, close)
            this.index = close + 1
            if (!/^[0-9A-Fa-f]{1,6}$/.test(hex)) this.fail("invalid \\u{…} escape", escapeAt)
          } else {
            hex = this.input.slice(this.index, this.index + 4)
            if (!/^[0-9A-Fa-f]{4}$/.test(hex)) this.fail("invalid \\u escape (expected four hex digits)", escapeAt)
            this.index += 4
          }
          const code = parseInt(hex, 16)
          if (code > 0x10FFFF) this.fail("invalid \\u{…} escape (out of range)", escapeAt)
          out += String.fromCodePoint(code)
          break
        }
        case undefined:
          this.fail("unterminated string", start)
          break
        default:
          this.fail(`unknown escape \\${e}`, escapeAt)
      }
    }
  }

  key(): string {
    this.skipWhitespace()
    if (this.peek() === "\"") return this.quoted()
    const start = this.index
    while (this.index < this.input.length && BARE_KEY.test(this.input[this.index]!)) this.index++
    if (this.index === start) this.fail(`expected a key, found ${this.describe()}`)
    return this.input.slice(start, this.index)
  }

  dict(): { readonly [key: string]: LiteralValue } {
    this.index++ // {
    const entries: Array<[string, LiteralValue]> = []
    for (;;) {
      this.skipWhitespace()
      if (this.peek() === "}") {
        this.index++
        // Object.fromEntries defines own properties, so a key like `__proto__` stays plain data.
        return Object.fromEntries(entries)
      }
      const key = this.key()
      this.skipWhitespace()
      if (this.peek() !== "=") this.fail(`expected "=" after key ${JSON.stringify(key)}, found ${this.describe()}`)
      this.index++
      const value = this.value()
      const existing = entries.findIndex(([k]) => k === key)
      if (existing !== -1) entries.splice(existing, 1)
      entries.push([key, value])
      this.skipWhitespace()
      const c = this.peek()
      if (c === ",") this.index++
      else if (c !== "}") this.fail(`expected "," or "}", found ${this.describe()}`)
    }
  }

  array(): ReadonlyArray<LiteralValue> {
    this.index++ // [
    const items: Array<LiteralValue> = []
    for (;;) {
      this.skipWhitespace()
      if (this.peek() === "]") {
        this.index++
        return items
      }
      items.push(this.value())
      this.skipWhitespace()
      const c = this.peek()
      if (c === ",") this.index++
      else if (c !== "]") this.fail(`expected "," or "]", found ${this.describe()}`)
    }
  }
}

/**
 * Parses a whole literal; anything but whitespace after the value is an error.
 *
 * @since 0.1.0
 * @internal
 */
export const parse = (input: string): Either.Either<LiteralValue, LiteralError> => {
  const parser = new Parser(input)
  try {
    const value = parser.value()
    parser.skipWhitespace()
    if (parser.index < input.length) parser.fail(`unexpected ${parser.describe()} after the value`)
    return Either.right(value)
  } catch (error) {
    if (error instanceof Failure) return Either.left({ message: error.message, position: error.position })
    throw error
  }
}

/**
 * Formats a parse error for humans: `<message> at position <n>`.
 *
 * @since 0.1.0
 * @internal
 */
export const formatError = (error: LiteralError): string => `${error.message} at position ${error.position}`

const quote = (text: string): string => {
  let out = "\""
  for (const c of text) {
    const code = c.codePointAt(0)!
    if (c === "\"" || c === "\\") out += "\\" + c
    else if (code < 0x20 || code === 0x7F) out += `\\u{${code.toString(16)}}`
    else out += c
  }
  return out + "\""
}

/**
 * Renders a value in the literal syntax (strings always quoted, keys quoted unless bare-safe); `parse(render(v))`
 * gives `v` back.
 *
 * @since 0.1.0
 * @internal
 */
export const render = (value: LiteralValue): string => {
  if (typeof value === "string") return quote(value)
  if (typeof value === "number" || typeof value === "boolean") return String(value)
  if (isArray(value)) return `[${value.map(render).join(",")}]`
  return `{${
    Object.entries(value).map(([k, v]) => `${/^[A-Za-z0-9_-]+$/.test(k) ? k : quote(k)}=${render(v)}`).join(",")
  }}`
}
