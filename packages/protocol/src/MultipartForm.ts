/**
 * A streaming `multipart/form-data` reader and writer (RFC 7578 framing) for the batch endpoint (PROTOCOL §10): the
 * server reads batch requests and writes batch responses with it, the client the other way round.
 *
 * The reader is push-based and synchronous: every input chunk yields the parts it completes. It never holds more
 * than one part's body (capped at `maxBody` bytes; a longer body is counted and marked `truncated`) plus the
 * lookahead needed to find the next delimiter, so a request of any length is read in bounded memory.
 *
 * @since 0.1.0
 */
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import * as Stream from "effect/Stream"
import * as Bytes from "./Bytes.js"

/**
 * @since 0.1.0
 * @category models
 */
export interface Part {
  /** Part headers with lowercase names (the last of repeated names wins). Values are latin1-decoded bytes. */
  readonly headers: Readonly<Record<string, string>>
  /** The body, or its first `maxBody` bytes when `truncated`. */
  readonly body: Uint8Array
  /** The full body size. */
  readonly size: number
  readonly truncated: boolean
}

/**
 * A framing error: the body is not well-formed multipart (or ended early).
 *
 * @since 0.1.0
 * @category errors
 */
export class FramingError {
  /**
   * @since 0.1.0
   */
  readonly _tag = "FramingError"
  constructor(readonly reason: string) {}
}

/**
 * @since 0.1.0
 * @category models
 */
export interface ReaderOptions {
  /** Body bytes kept per part; longer bodies are truncated (and marked). */
  readonly maxBody: number
  /** Largest header block of one part. Default 64 KiB. */
  readonly maxHeaderBytes?: number | undefined
  /** Largest total input. Default unlimited. */
  readonly maxTotal?: number | undefined
  /**
   * Whether each body is copied into an array of its own (default `true`). With `false` a body that arrived in one
   * input chunk is a view into that chunk or into the buffer the reader joined it into, which saves an allocation
   * per part when the caller copies the body anyway (a store), but keeps that buffer alive as long as the body is:
   * only for input chunks nobody changes afterwards.
   */
  readonly copyBodies?: boolean | undefined
}

// Bytes: Node's `Buffer` where there is one (its native search and latin1 codec), plain `Uint8Array` elsewhere
// (browsers), with the same results.
const NodeBuffer: typeof Buffer | undefined = (globalThis as { readonly Buffer?: typeof Buffer }).Buffer

const latin1 = (text: string): Uint8Array => {
  if (NodeBuffer !== undefined) return NodeBuffer.from(text, "latin1")
  const out = new Uint8Array(text.length)
  for (let i = 0; i < text.length; i++) out[i] = text.charCodeAt(i) & 0xff
  return out
}

const fromLatin1 = (bytes: Uint8Array, start: number, end: number): string => {
  if (NodeBuffer !== undefined) {
    return NodeBuffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString("latin1", start, end)
  }
  let text = ""
  for (let i = start; i < end; i += 8192) {
    text += String.fromCharCode(...bytes.subarray(i, Math.min(end, i + 8192)))
  }
  return text
}

/** `chunk` without a copy (a `Buffer` view on Node, for its native search). */
const view = (chunk: Uint8Array): Uint8Array =>
  NodeBuffer !== undefined ? NodeBuffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength) : chunk

const concat = (list: ReadonlyArray<Uint8Array>): Uint8Array =>
  NodeBuffer !== undefined ? NodeBuffer.concat(list) : Bytes.concat(list)

const indexOf = (haystack: Uint8Array, needle: Uint8Array): number => {
  if (NodeBuffer !== undefined && haystack instanceof NodeBuffer) return haystack.indexOf(needle)
  const first = needle[0]!
  const last = haystack.length - needle.length
  for (let i = haystack.indexOf(first); i >= 0 && i <= last; i = haystack.indexOf(first, i + 1)) {
    let j = 1
    while (j < needle.length && haystack[i + j] === needle[j]) j++
    if (j === needle.length) return i
  }
  return -1
}

const CRLF = latin1("\r\n")
const HEADER_END = latin1("\r\n\r\n")
const EMPTY = new Uint8Array(0)

type State = "preamble" | "boundary" | "headers" | "body" | "done"

/**
 * @since 0.1.0
 * @category parsing
 */
export class Reader {
  private buffer: Uint8Array = CRLF // a virtual CRLF lets the first delimiter match at the very start
  private state: State = "preamble"
  private readonly delimiter: Uint8Array
  private headers: Record<string, string> = {}
  private chunks: Array<Uint8Array> = []
  private kept = 0
  private size = 0
  private total = 0
  private readonly maxHeaderBytes: number
  private readonly maxTotal: number

  constructor(boundary: string, private readonly options: ReaderOptions) {
    this.delimiter = latin1(`\r\n--${boundary}`)
    this.maxHeaderBytes = options.maxHeaderBytes ?? 64 * 1024
    this.maxTotal = options.maxTotal ?? Infinity
  }

  /** Whether the closing delimiter has been read (anything after it is ignored). */
  get done(): boolean {
    return this.state === "done"
  }

  /**
   * Feeds a chunk; returns the parts it completed. Throws `FramingError`.
   *
   * @since 0.1.0
   */
  push(chunk: Uint8Array): Array<Part> {
    if (this.state === "done") return []
    this.total += chunk.length
    if (this.total > this.maxTotal) {
      throw new FramingError(`request body exceeds the limit of ${this.maxTotal} bytes`)
    }
    const incoming = view(chunk)
    this.buffer = this.buffer.length === 0 ? incoming : concat([this.buffer, incoming])
    const parts: Array<Part> = []
    while (this.step(parts)) {
      // keep going while progress is made
    }
    return parts
  }

  /**
   * Signals the end of input. Throws `FramingError` unless the closing delimiter was read.
   *
   * @since 0.1.0
   */
  end(): void {
    if (this.state !== "done") throw new FramingError("incomplete multipart body: the closing boundary is missing")
  }

  /**
   * One state transition; `false` when more input is needed.
   *
   * @internal
   */
  private step(parts: Array<Part>): boolean {
    switch (this.state) {
      case "done":
        return false
      case "preamble": {
        const at = indexOf(this.buffer, this.delimiter)
        if (at < 0) {
          this.buffer = this.tail(this.delimiter.length - 1)
          return false
        }
        this.buffer = this.buffer.subarray(at + this.delimiter.length)
        this.state = "boundary"
        return true
      }
      case "boundary": {
        if (this.buffer.length < 2) return false
        if (this.buffer[0] === 0x2d && this.buffer[1] === 0x2d) {
          this.state = "done"
          this.buffer = EMPTY
          return false
        }
        const eol = indexOf(this.buffer, CRLF)
        if (eol < 0) {
          if (this.buffer.length > 256) throw new FramingError("malformed boundary line")
          return false
        }
        for (let i = 0; i < eol; i++) {
          const byte = this.buffer[i]
          if (byte !== 0x20 && byte !== 0x09) throw new FramingError("malformed boundary line")
        }
        this.buffer = this.buffer.subarray(eol + 2)
        this.state = "headers"
        return true
      }
      case "headers": {
        if (this.buffer.length < 2) return false
        let end: number
        let next: number
        if (this.buffer[0] === 0x0d && this.buffer[1] === 0x0a) {
          end = 0
          next = 2
        } else {
          end = indexOf(this.buffer, HEADER_END)
          if (end < 0) {
            if (this.buffer.length > this.maxHeaderBytes) throw new FramingError("part headers too large")
            return false
          }
          next = end + 4
        }
        if (end > this.maxHeaderBytes) throw new FramingError("part headers too large")
        this.headers = parseHeaders(fromLatin1(this.buffer, 0, end))
        this.buffer = this.buffer.subarray(next)
        this.chunks = []
        this.kept = 0
        this.size = 0
        this.state = "body"
        return true
      }
      case "body": {
        const at = indexOf(this.buffer, this.delimiter)
        if (at < 0) {
          const safe = this.buffer.length - (this.delimiter.length - 1)
          if (safe > 0) {
            this.append(this.buffer.subarray(0, safe))
            this.buffer = this.buffer.subarray(safe)
          }
          return false
        }
        this.append(this.buffer.subarray(0, at))
        this.buffer = this.buffer.subarray(at + this.delimiter.length)
        parts.push(this.finishPart())
        this.state = "boundary"
        return true
      }
    }
  }

  /** @internal */
  private tail(length: number): Uint8Array {
    return this.buffer.length <= length ? this.buffer : this.buffer.subarray(this.buffer.length - length)
  }

  /** @internal */
  private append(bytes: Uint8Array): void {
    if (bytes.length === 0) return
    this.size += bytes.length
    const room = this.options.maxBody - this.kept
    if (room <= 0) return
    const wanted = bytes.length <= room ? bytes : bytes.subarray(0, room)
    let kept = wanted
    if (this.options.copyBodies !== false) {
      // copy: the input chunk is not ours to keep alive
      kept = new Uint8Array(wanted.length)
      kept.set(wanted)
    }
    this.chunks.push(kept)
    this.kept += kept.length
  }

  /** @internal */
  private finishPart(): Part {
    const body = this.chunks.length === 1 ? this.chunks[0]! : this.chunks.length === 0 ? EMPTY : concat(this.chunks)
    const part: Part = {
      headers: this.headers,
      body: new Uint8Array(body.buffer, body.byteOffset, body.byteLength),
      size: this.size,
      truncated: this.size > this.kept
    }
    this.chunks = []
    this.headers = {}
    return part
  }
}

const isBlank = (code: number) => code === 0x20 || code === 0x09

/**
 * The header name in `text[start, end)`, lowercased; `undefined` when it holds whitespace (the general rule then
 * decides). A plain scan: names are almost always lowercase already, and no regular expression runs per header.
 */
const plainName = (text: string, start: number, end: number): string | undefined => {
  let upper = false
  for (let i = start; i < end; i++) {
    const code = text.charCodeAt(i)
    // whitespace as `trim` and `\s` see it in latin1: TAB, LF, VT, FF, CR, space, NBSP
    if ((code >= 0x09 && code <= 0x0d) || code === 0x20 || code === 0xa0) return undefined
    if (code >= 0x41 && code <= 0x5a) upper = true
  }
  const name = text.slice(start, end)
  return upper ? name.toLowerCase() : name
}

// One pass over the block with indexOf (no split, no regular expression): every part of a batch, request and
// answer, comes here.
const parseHeaders = (text: string): Record<string, string> => {
  const headers: Record<string, string> = {}
  if (text === "") return headers
  let start = 0
  while (true) {
    const eol = text.indexOf("\r\n", start)
    const end = eol < 0 ? text.length : eol
    const colon = text.indexOf(":", start)
    if (colon <= start || colon >= end) throw new FramingError("malformed part header line")
    let name = plainName(text, start, colon)
    if (name === undefined) {
      name = text.slice(start, colon).trim().toLowerCase()
      if (name === "" || /\s/.test(name)) throw new FramingError("malformed part header name")
    }
    let from = colon + 1
    let to = end
    while (from < to && isBlank(text.charCodeAt(from))) from++
    while (to > from && isBlank(text.charCodeAt(to - 1))) to--
    headers[name] = text.slice(from, to)
    if (eol < 0) return headers
    start = eol + 2
  }
}

/**
 * Reads the parts of a multipart body as a stream of groups: the parts completed by one input chunk (never empty).
 * A framing problem (or the end of input before the closing delimiter) fails the stream with `FramingError` after
 * the parts completed before it.
 *
 * @since 0.1.0
 * @category parsing
 */
export const partGroups = <E, R>(
  body: Stream.Stream<Uint8Array, E, R>,
  boundary: string,
  options: ReaderOptions
): Stream.Stream<ReadonlyArray<Part>, E | FramingError, R> =>
  Stream.suspend(() => {
    const reader = new Reader(boundary, options)
    const guard = <A>(f: () => A): Effect.Effect<A, FramingError> =>
      Effect.try({
        try: f,
        catch: (error) => error instanceof FramingError ? error : new FramingError(String(error))
      })
    return body.pipe(
      Stream.takeUntil(() => reader.done),
      Stream.mapEffect((chunk) => guard(() => reader.push(chunk))),
      Stream.filter((group) => group.length > 0),
      Stream.concat(Stream.fromEffect(guard(() => reader.end())).pipe(Stream.drain))
    )
  })

/**
 * Reads the parts of a multipart body one by one (see {@link partGroups}).
 *
 * @since 0.1.0
 * @category parsing
 */
export const parts = <E, R>(
  body: Stream.Stream<Uint8Array, E, R>,
  boundary: string,
  options: ReaderOptions
): Stream.Stream<Part, E | FramingError, R> => Stream.flattenIterables(partGroups(body, boundary, options))

/**
 * The `boundary` parameter of a `multipart/form-data` content type (quoted or not); `None` for other types.
 *
 * @since 0.1.0
 * @category parsing
 */
export const boundaryOf = (contentType: string | undefined): Option.Option<string> => {
  if (contentType === undefined) return Option.none()
  const [type, ...params] = contentType.split(";")
  if (type!.trim().toLowerCase() !== "multipart/form-data") return Option.none()
  for (const param of params) {
    const eq = param.indexOf("=")
    if (eq < 0) continue
    if (param.slice(0, eq).trim().toLowerCase() !== "boundary") continue
    let value = param.slice(eq + 1).trim()
    if (value.length >= 2 && value.startsWith("\"") && value.endsWith("\"")) {
      value = value.slice(1, -1).replace(/\\(.)/g, "$1")
    }
    return value === "" || value.length > 200 ? Option.none() : Option.some(value)
  }
  return Option.none()
}

/**
 * Encodes one part: `--boundary`, the header lines, an empty line, the body and a CRLF.
 *
 * @since 0.1.0
 * @category encoding
 */
export const encodePart = (
  boundary: string,
  headers: ReadonlyArray<readonly [string, string]>,
  body: Uint8Array
): Uint8Array => {
  let head = `--${boundary}\r\n`
  for (const [name, value] of headers) head += `${name}: ${value}\r\n`
  head += "\r\n"
  const headBytes = latin1(head)
  const out = new Uint8Array(headBytes.length + body.length + 2)
  out.set(headBytes, 0)
  out.set(body, headBytes.length)
  out[out.length - 2] = 0x0d
  out[out.length - 1] = 0x0a
  return out
}

/**
 * The closing delimiter `--boundary--` (no trailing CRLF, as upstream).
 *
 * @since 0.1.0
 * @category encoding
 */
export const encodeClose = (boundary: string): Uint8Array => latin1(`--${boundary}--`)
