/**
 * Turns a `Body.Input` into the HTTP body of one upload attempt: optional streamed zstd compression, byte
 * counting for metrics, and capture of the caller's own stream error (which `HttpBody.stream` would otherwise
 * turn into a transport error).
 *
 * @since 0.1.0
 * @internal
 */
import * as HttpBody from "@effect/platform/HttpBody"
import type * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import * as Stream from "effect/Stream"
import * as Body from "../Body.js"
import type * as Compression from "../Compression.js"
import type { PreparedBody } from "./http.js"
import * as Meter from "./meter.js"

/** Slice size when a byte array is compressed as a stream. */
const SLICE = 256 * 1024

/**
 * The largest body compressed in one call rather than as a stream: larger ones are sliced and streamed, so that
 * memory stays bounded and the upload deadline sees progress.
 *
 * @internal
 */
export const ONE_SHOT_LIMIT = SLICE

/**
 * The bytes of a body already in memory (a string, encoded, or a byte array); `undefined` for streams.
 *
 * @internal
 */
export const inMemory = (input: Body.Input<unknown, unknown>): Uint8Array | undefined =>
  typeof input === "string" ? new TextEncoder().encode(input) : input instanceof Uint8Array ? input : undefined

/** @internal */
export interface Counts {
  /** Bytes read from the caller (uncompressed). */
  readonly raw: number
  /** Bytes put on the wire (compressed when compressed). */
  readonly sent: number
}

/** @internal */
export interface Upload {
  readonly replayable: boolean
  /** Prepares one attempt; `counts` reads the bytes streamed so far by that attempt. */
  readonly attempt: Effect.Effect<Attempt>
  /** The attempt itself when preparing one needs no effect (bytes sent as they are): every attempt sends it. */
  readonly ready?: Attempt | undefined
}

/** One attempt's body, and the bytes it has streamed so far. */
export interface Attempt {
  readonly prepared: PreparedBody
  readonly counts: () => Counts
}

const slices = (bytes: Uint8Array): Stream.Stream<Uint8Array> =>
  bytes.length <= SLICE
    ? Stream.make(bytes)
    : Stream.fromIterable(
      Array.from({ length: Math.ceil(bytes.length / SLICE) }, (_, i) => bytes.subarray(i * SLICE, (i + 1) * SLICE))
    )

/** @internal */
export const prepare = <E, R>(
  input: Body.Input<E, R>,
  options: {
    readonly compression: "zstd" | "none"
    readonly compress: Compression.Service["compress"]
    readonly context: Context.Context<R>
    readonly contentType: string
  }
): Upload => {
  const bytes = inMemory(input as Body.Input<unknown, unknown>)
  if (bytes !== undefined && options.compression === "none") {
    const counts = { raw: bytes.length, sent: bytes.length }
    const ready: Attempt = { prepared: { body: HttpBody.uint8Array(bytes, options.contentType) }, counts: () => counts }
    return { replayable: true, attempt: Effect.succeed(ready), ready }
  }
  const replayable = bytes !== undefined || Body.isReplayable(input)
  const contentLength = bytes !== undefined
    ? bytes.length
    : Body.isReplayable(input)
    ? input.contentLength
    : undefined
  let used = false
  const source = (): Stream.Stream<Uint8Array, E, R> => {
    if (bytes !== undefined) return slices(bytes)
    if (Body.isReplayable(input)) return (input as Body.Replayable<E, R>).make()
    if (used) return Stream.die(new Error("a stream body cannot be sent twice"))
    used = true
    return input as Stream.Stream<Uint8Array, E, R>
  }
  return {
    replayable,
    attempt: Effect.sync(() => {
      let captured = Option.none<unknown>()
      let raw = 0
      let sent = 0
      const compress = options.compression === "zstd"
      // One metering stage before the codec (raw bytes) and one after (bytes sent), which also captures the caller's
      // own failure, or a single one when nothing is compressed.
      const counted = compress
        ? options.compress(Meter.meter(source(), { onBytes: (bytes) => (raw += bytes) }))
        : source()
      const stream = Meter.meter(counted, {
        onBytes: compress ? (bytes) => (sent += bytes) : (bytes) => (raw += bytes, sent += bytes),
        onError: (error) => (captured = Option.some<unknown>(error))
      }).pipe(Stream.provideContext(options.context))
      const length = options.compression === "none" ? contentLength : undefined
      return {
        prepared: {
          body: HttpBody.stream(stream, options.contentType, length),
          failed: Effect.sync(() => captured)
        },
        counts: () => ({ raw, sent })
      }
    })
  }
}
