/**
 * The wire format of `Session.many` (PROTOCOL §10): the multipart request body of one batch, and the answer's parts
 * mapped back to the operations' outcomes (§10.5 steps 6, 7).
 *
 * @since 0.1.0
 * @internal
 */
import type * as Headers from "@effect/platform/Headers"
import * as HttpBody from "@effect/platform/HttpBody"
import type * as HttpClientError from "@effect/platform/HttpClientError"
import * as Limits from "@objectstore/protocol/Limits"
import * as MultipartForm from "@objectstore/protocol/MultipartForm"
import * as Path from "@objectstore/protocol/Path"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Exit from "effect/Exit"
import * as Option from "effect/Option"
import * as Ref from "effect/Ref"
import * as Stream from "effect/Stream"
import type * as Batch from "../Batch.js"
import * as Compression from "../Compression.js"
import type { NetworkError } from "../ObjectstoreError.js"
import type * as Session from "../SessionModel.js"
import * as Errors from "./errors.js"
import type * as Http from "./http.js"
import type { BatchItem } from "./manyPlan.js"
import { outcome } from "./manyPlan.js"
import * as zstd from "./zstd.js"

/** Request body buffers are flushed at this size. */
const FLUSH_SIZE = 256 * 1024

/** A request buffer's first size: a flush's worth and a part of up to 32 KiB (it grows for a larger part). */
const BUFFER_SIZE = FLUSH_SIZE + 32 * 1024

/**
 * Four groups of 16 hex digits joined with `-`, like the Rust client's boundaries.
 *
 * @internal
 */
export const randomBoundary = (): string => {
  const bytes = new Uint8Array(32)
  globalThis.crypto.getRandomValues(bytes)
  const hex = Array.from(bytes, (byte) => byte.toString(16).padStart(2, "0")).join("")
  return [0, 16, 32, 48].map((start) => hex.slice(start, start + 16)).join("-")
}

const DISPOSITION = "content-disposition: form-data; name=\"part\"\r\n"

// Node's `Buffer` where there is one (its native latin1 writer), plain `Uint8Array` elsewhere (browsers).
const NodeBuffer: typeof Buffer | undefined = (globalThis as { readonly Buffer?: typeof Buffer }).Buffer

const allocate = (size: number): Uint8Array =>
  NodeBuffer !== undefined ? NodeBuffer.allocUnsafe(size) : new Uint8Array(size)

/**
 * A request buffer the parts are written straight into (§10.2 framing, as `MultipartForm.encodePart` with the
 * part's name first): no array per part, no concatenation. Grows as needed.
 */
class PartsBuffer {
  private bytes: Uint8Array
  private used = 0
  private readonly opening: string
  constructor(private readonly boundary: string, capacity: number) {
    this.bytes = allocate(capacity)
    this.opening = `--${boundary}\r\n${DISPOSITION}`
  }

  get size(): number {
    return this.used
  }

  /**
   * Adds a part; with `compressInto` its body is compressed straight into the buffer (no array of its own). A
   * codec failure is thrown, with nothing added.
   */
  part(
    headers: ReadonlyArray<readonly [string, string]>,
    body: Uint8Array,
    compressInto?: (into: Uint8Array, bytes: Uint8Array) => number
  ): void {
    let head = this.opening
    for (const [name, value] of headers) head += `${name}: ${value}\r\n`
    head += "\r\n"
    const room = compressInto === undefined ? body.length : Limits.compressBound(body.length)
    this.reserve(head.length + room + 2)
    const bytes = this.bytes
    let at = this.text(head, this.used)
    if (compressInto === undefined) {
      bytes.set(body, at)
      at += body.length
    } else {
      at += compressInto(bytes.subarray(at, at + room), body)
    }
    bytes[at++] = 0x0d
    bytes[at++] = 0x0a
    this.used = at
  }

  close(): void {
    const close = `--${this.boundary}--\r\n`
    this.reserve(close.length)
    this.used = this.text(close, this.used)
  }

  /** Writes `text` as latin1 (like `encodePart`) at `at`, where there is room; returns the end. */
  private text(text: string, at: number): number {
    if (NodeBuffer !== undefined) return at + (this.bytes as Buffer).write(text, at, "latin1")
    const bytes = this.bytes
    for (let i = 0; i < text.length; i++) bytes[at++] = text.charCodeAt(i) & 0xff
    return at
  }

  contents(): Uint8Array {
    return this.bytes.subarray(0, this.used)
  }

  private reserve(size: number): void {
    if (this.used + size <= this.bytes.length) return
    const grown = allocate(Math.max(2 * this.bytes.length, this.used + size))
    grown.set(this.bytes.subarray(0, this.used))
    this.bytes = grown
  }
}

/**
 * The multipart request body of one batch, in buffers of about `FLUSH_SIZE` bytes (a write per part would be slow).
 * A body that fails to read (a file) is remembered in `failed`, so the request's failure can name it.
 *
 * @internal
 */
export const requestBody = (boundary: string, items: ReadonlyArray<BatchItem>, compression: Compression.Service) =>
  Effect.gen(function*() {
    const captured = yield* Ref.make(Option.none<unknown>())
    const empty = new Uint8Array(0)
    // zstd in one call per body, on a pooled context (a zstd stream per body cost about 3 ms of CPU each), without
    // an effect when the codec is this package's own
    const codec = zstd.oneShots.get(compression)
    const compressed = (bytes: Uint8Array) => Compression.compressBytes(compression, bytes)
    /**
     * Writes the part when its body is at hand (in memory, an `Exit` being the value itself), compressed at once if
     * it must be and the codec is this package's own: `false` when the effect must run (which also reports a codec
     * failure with the proper error).
     */
    const writeAtHand = (out: PartsBuffer, item: BatchItem, body: Effect.Effect<Uint8Array, Batch.ManyError>) => {
      if (!(Exit.isExit(body) && Exit.isSuccess(body as Exit.Exit<Uint8Array, Batch.ManyError>))) return false
      const bytes = (body as Exit.Success<Uint8Array, Batch.ManyError>).value
      try {
        if (!item.compress) out.part(item.headers, bytes)
        else if (codec?.compressInto !== undefined) out.part(item.headers, bytes, codec.compressInto)
        else if (codec?.compress !== undefined) out.part(item.headers, codec.compress(bytes))
        else return false
        return true
      } catch {
        return false
      }
    }
    // A plain loop per buffer, an effect only for a put's body that is not already at hand (a stream step per part
    // cost more than encoding it).
    const buffer = (from: number): Effect.Effect<readonly [Uint8Array, number], Batch.ManyError> =>
      Effect.suspend(() => {
        const out = new PartsBuffer(boundary, BUFFER_SIZE)
        let at = from
        const loop = (): Effect.Effect<readonly [Uint8Array, number], Batch.ManyError> => {
          while (at < items.length && out.size < FLUSH_SIZE) {
            const item = items[at]!
            const body = item.body
            if (body === undefined) {
              out.part(item.headers, empty)
            } else if (!writeAtHand(out, item, body)) {
              return Effect.flatMap(item.compress ? Effect.flatMap(body, compressed) : body, (bytes) => {
                out.part(item.headers, bytes)
                at++
                return loop()
              })
            }
            at++
          }
          if (at >= items.length) out.close()
          return Effect.succeed([out.contents(), at] as const)
        }
        return loop()
      })
    const parts = Stream.paginateEffect(
      0,
      (from: number) =>
        Effect.map(
          buffer(from),
          ([bytes, next]) => [bytes, next < items.length ? Option.some(next) : Option.none()] as const
        )
    ).pipe(Stream.tapError((error) => Ref.set(captured, Option.some<unknown>(error))))
    return {
      body: HttpBody.stream(parts, `multipart/form-data; boundary=${boundary}`),
      failed: Ref.get(captured)
    } satisfies Http.PreparedBody
  })

/**
 * What the answer's parts are read with.
 *
 * @internal
 */
export interface ReadContext {
  readonly target: { readonly method: string; readonly path: string }
  readonly compression: Compression.Service
  readonly toObjectMetadata: (response: { readonly headers: Headers.Headers }) => Session.ObjectMetadata
}

/**
 * The outcomes of a batch from its answer: one per item, in item order; an item the answer says nothing about
 * fails with a decode error naming what was wrong.
 *
 * @internal
 */
export const readResponse = (
  context: ReadContext,
  items: ReadonlyArray<BatchItem>,
  body: Stream.Stream<Uint8Array, HttpClientError.ResponseError>,
  boundary: string
): Effect.Effect<Array<Batch.Outcome>, Errors.Failure<NetworkError>> =>
  Effect.gen(function*() {
    const { target } = context
    // an outcome, or (a zstd get) the effect that decompresses its body into one
    const results: Array<Batch.Outcome | Effect.Effect<Batch.Outcome> | undefined> = new Array(items.length)
    const malformed: Array<string | undefined> = new Array(items.length)
    let seen = 0
    let unattributable = 0
    const groups = MultipartForm.partGroups(body, boundary, { maxBody: Infinity }).pipe(
      Stream.mapError((error) =>
        error instanceof MultipartForm.FramingError
          ? Errors.failure(Errors.decode(target, `malformed batch response: ${error.reason}`))
          : Errors.fromHttpClientError(error, target)
      )
    )
    yield* Stream.runForEachWhile(groups, (group) =>
      Effect.sync(() => {
        for (const part of group) {
          seen++
          const mapped = mapPart(context, items, part)
          if (mapped._tag === "Unattributable") {
            unattributable++
            if (mapped.index !== undefined && malformed[mapped.index] === undefined) {
              malformed[mapped.index] = mapped.reason
            }
          } else if (results[mapped.index] === undefined) {
            results[mapped.index] = mapped.outcome
          } else {
            unattributable++
          }
          // an endless answer (a server that repeats an error part) is cut off
          if (seen > items.length) return false
        }
        return true
      }))
    const outcomes: Array<Batch.Outcome> = new Array(items.length)
    const decoding: Array<Effect.Effect<void>> = []
    for (let i = 0; i < items.length; i++) {
      const result = results[i]
      if (result === undefined) {
        const item = items[i]!
        outcomes[i] = outcome(
          item.kind,
          item.index,
          item.key,
          Either.left(Errors.decode(
            target,
            `server did not return a response for operation ${item.index}${
              malformed[i] === undefined ? "" : ` (malformed answer: ${malformed[i]})`
            }${unattributable > 0 ? ` (${unattributable} unattributable answer part(s))` : ""}`
          ))
        )
      } else if (Effect.isEffect(result)) {
        decoding.push(Effect.map(result, (decoded) => void (outcomes[i] = decoded)))
      } else {
        outcomes[i] = result
      }
    }
    if (decoding.length > 0) yield* Effect.all(decoding, { concurrency: 1, discard: true })
    return outcomes
  })

type Mapped =
  | {
    readonly _tag: "Outcome"
    readonly index: number
    readonly outcome: Batch.Outcome | Effect.Effect<Batch.Outcome>
  }
  | { readonly _tag: "Unattributable"; readonly index: number | undefined; readonly reason: string }

/**
 * A part's headers as response headers: they already have lowercase names and string values, all that
 * `toObjectMetadata` reads (`Headers.fromInput` would copy them for every part).
 */
const partHeaders = (part: MultipartForm.Part): Headers.Headers => part.headers as Headers.Headers

/** The metadata of a body handed on decompressed: every field named (a spread per answer cost more). */
const decompressed = (stored: Session.ObjectMetadata): Session.ObjectMetadata => ({
  contentType: stored.contentType,
  compression: "none",
  expirationPolicy: stored.expirationPolicy,
  timeCreated: stored.timeCreated,
  timeCreatedText: stored.timeCreatedText,
  timeExpires: stored.timeExpires,
  timeExpiresText: stored.timeExpiresText,
  origin: stored.origin,
  filename: stored.filename,
  custom: stored.custom
})

/**
 * The number written by the `min` to `max` decimal digits `text` starts with, followed by nothing (`whole`) or by
 * nothing or a space; `undefined` otherwise. A scan, where a regular expression and a split cost more per part.
 */
const leadingDigits = (text: string, min: number, max: number, whole: boolean): number | undefined => {
  let value = 0
  let at = 0
  for (; at < text.length; at++) {
    const code = text.charCodeAt(at)
    if (code < 0x30 || code > 0x39) break
    if (at === max) return undefined
    value = value * 10 + (code - 0x30)
  }
  if (at < min) return undefined
  if (at < text.length && (whole || text.charCodeAt(at) !== 0x20)) return undefined
  return value
}

/** §10.5 step 6. */
const mapPart = (context: ReadContext, items: ReadonlyArray<BatchItem>, part: MultipartForm.Part): Mapped => {
  const indexText = part.headers["x-sn-batch-operation-index"]
  const position = indexText === undefined ? undefined : leadingDigits(indexText.trim(), 1, 9, true)
  if (position === undefined || position >= items.length) {
    return { _tag: "Unattributable", index: undefined, reason: `part with unknown index ${String(indexText)}` }
  }
  const item = items[position]!
  const unattributable = (reason: string): Mapped => ({ _tag: "Unattributable", index: position, reason })
  const statusText = part.headers["x-sn-batch-operation-status"]
  // the text before the first space, three digits
  const status = statusText === undefined ? undefined : leadingDigits(statusText.trim(), 3, 3, false)
  if (status === undefined) return unattributable("missing or invalid status")
  const keyText = part.headers["x-sn-batch-operation-key"]
  const decoded = keyText === undefined ? undefined : Either.getOrUndefined(Path.decodeBatchKey(keyText))
  const key = decoded ?? item.key
  const done = (result: Either.Either<unknown, Batch.ManyError>): Mapped => ({
    _tag: "Outcome",
    index: position,
    outcome: outcome(item.kind, item.index, key, result)
  })
  if (status === 404 && (item.kind === "get" || item.kind === "head")) return done(Either.right(Option.none()))
  if (status === 404 && item.kind === "delete") return done(Either.right(undefined))
  if (status >= 400) {
    const body = new TextDecoder().decode(part.body)
    return done(Either.left(Errors.fromStatus({ status, body, retryAfter: undefined }).error))
  }
  if (key === undefined) return unattributable("success without a key")
  switch (item.kind) {
    case "put":
      return done(Either.right(key))
    case "delete":
      return done(Either.right(undefined))
    case "head":
      return done(Either.right(Option.some(context.toObjectMetadata({ headers: partHeaders(part) }))))
    case "get": {
      const stored = context.toObjectMetadata({ headers: partHeaders(part) })
      if (stored.compression !== "zstd" || !item.decompress) {
        return done(Either.right(Option.some({ key, metadata: stored, bytes: part.body })))
      }
      const decompressNow = zstd.oneShots.get(context.compression)?.decompress
      if (decompressNow !== undefined) {
        let bytes: Uint8Array | undefined
        try {
          bytes = decompressNow(part.body)
        } catch {
          // the effect below fails with the codec's error
        }
        if (bytes !== undefined) {
          return done(Either.right(Option.some({ key, metadata: decompressed(stored), bytes })))
        }
      }
      return {
        _tag: "Outcome",
        index: position,
        outcome: Effect.map(
          Effect.either(Compression.decompressBytes(context.compression, part.body)),
          (result) =>
            outcome(
              item.kind,
              item.index,
              key,
              Either.map(result, (bytes) => Option.some({ key, metadata: decompressed(stored), bytes }))
            )
        )
      }
    }
  }
}
