/**
 * Generic adapters that turn a streaming codec into a `Stream` transformation.
 *
 * Two shapes are supported:
 *
 * - {@link transformSync}: a synchronous, pull-driven codec (zstd-napi's low-level contexts, fzstd), run by one
 *   `Channel` loop. Each input chunk is read only when the downstream pulls, and the codec's output for it is
 *   written at most {@link OUTPUT_LIMIT} bytes per pull, so a highly compressible chunk never materialises all at
 *   once.
 * - {@link transformNode}: a Node.js `Transform` stream (node:zlib). A writer fiber feeds the transform and waits for
 *   each write to be processed before sending the next one; the output is read with the transform's async iterator,
 *   which pauses the transform while the consumer is not pulling.
 *
 * In both, failures of the input stream pass through unchanged and failures of the codec become
 * `CompressionError`. The codec is released when the stream ends, fails or is interrupted.
 *
 * @internal
 */
import * as Channel from "effect/Channel"
import * as Chunk from "effect/Chunk"
import * as Effect from "effect/Effect"
import * as Fiber from "effect/Fiber"
import * as Queue from "effect/Queue"
import * as Stream from "effect/Stream"
import type { Duplex } from "node:stream"
import { CompressionError } from "../ObjectstoreError.js"
import * as Frames from "./zstdFrames.js"

/** @internal */
export type Operation = "compress" | "decompress"

/** @internal */
export const errorDetail = (cause: unknown): string => {
  if (cause instanceof Error) return cause.message
  if (typeof cause === "string") return cause
  return "unknown codec failure"
}

/** @internal */
export const codecError = (operation: Operation, cause: unknown): CompressionError =>
  new CompressionError({ operation, detail: errorDetail(cause) })

/**
 * A synchronous streaming codec. `push` and `finish` return lazy iterators: the codec does its work while the
 * iterator is advanced, and may throw from `next()`.
 *
 * @internal
 */
export interface SyncCodec {
  readonly push: (chunk: Uint8Array) => Iterator<Uint8Array>
  readonly finish: () => Iterator<Uint8Array>
  readonly release: () => void
}

/**
 * The most output one write of {@link transformSync} carries. A codec call produces at most its output buffer
 * (128 KiB for zstd-napi), so a write holds a handful of them; a tiny input that expands hugely is emitted this
 * much at a time, and the codec only continues when the downstream pulls again.
 *
 * @internal
 */
export const OUTPUT_LIMIT = 1024 * 1024

/**
 * The channel behind {@link transformSync}: reads input chunks, runs the codec over every buffer in them and writes
 * its output, at most {@link OUTPUT_LIMIT} bytes per write. All of the codec's state lives in these closures; a
 * write suspends the channel until the downstream pulls, so the codec never runs ahead of its consumer.
 */
const codecChannel = <E>(
  operation: Operation,
  codec: SyncCodec
): Channel.Channel<Chunk.Chunk<Uint8Array>, Chunk.Chunk<Uint8Array>, E | CompressionError, E, unknown, unknown> => {
  let inputs: ReadonlyArray<Uint8Array> = []
  let index = 0
  let current: Iterator<Uint8Array> | undefined
  let full = false

  /** Runs the codec until the pending input is used up or `OUTPUT_LIMIT` bytes are out; throws codec errors. */
  const run = (): Array<Uint8Array> => {
    const out: Array<Uint8Array> = []
    let bytes = 0
    full = false
    for (;;) {
      if (current === undefined) {
        if (index >= inputs.length) return out
        current = codec.push(inputs[index++]!)
      }
      const next = current.next()
      if (next.done === true) {
        current = undefined
      } else if (next.value.length > 0) {
        out.push(next.value)
        bytes += next.value.length
        if (bytes >= OUTPUT_LIMIT) {
          full = true
          return out
        }
      }
    }
  }

  /** Writes the codec's output for the pending input, a bounded chunk per pull, then continues with `then`. */
  const pump = (
    then: Channel.Channel<Chunk.Chunk<Uint8Array>, Chunk.Chunk<Uint8Array>, E | CompressionError, E, unknown, unknown>
  ): Channel.Channel<Chunk.Chunk<Uint8Array>, Chunk.Chunk<Uint8Array>, E | CompressionError, E, unknown, unknown> =>
    Channel.suspend(() => {
      let out: Array<Uint8Array>
      try {
        out = run()
      } catch (cause) {
        return Channel.fail(codecError(operation, cause))
      }
      if (full) return Channel.zipRight(Channel.write(Chunk.unsafeFromArray(out)), pump(then))
      return out.length === 0 ? then : Channel.zipRight(Channel.write(Chunk.unsafeFromArray(out)), then)
    })

  const finish = Channel.suspend(() => {
    current = codec.finish()
    return pump(Channel.void)
  })

  const read: Channel.Channel<
    Chunk.Chunk<Uint8Array>,
    Chunk.Chunk<Uint8Array>,
    E | CompressionError,
    E,
    unknown,
    unknown
  > = Channel.readWithCause({
    onInput: (input: Chunk.Chunk<Uint8Array>) => {
      inputs = Chunk.toReadonlyArray(input)
      index = 0
      return pump(read)
    },
    onFailure: Channel.failCause,
    onDone: () => finish
  })
  return read
}

/**
 * Runs `self` through a fresh codec from `acquire`, released (also on failure and interruption) when the stream
 * ends.
 *
 * @internal
 */
export const transformSync = <E, R>(
  self: Stream.Stream<Uint8Array, E, R>,
  operation: Operation,
  acquire: () => SyncCodec
): Stream.Stream<Uint8Array, E | CompressionError, R> =>
  // The codec is taken when the stage starts and released by the stage's own finalizer: no scope and no inner stream
  // (`Stream.unwrapScoped` costs more than the whole codec for a 1 KiB body).
  Stream.pipeThroughChannel(
    self,
    Channel.suspend(() => {
      let codec: SyncCodec
      try {
        codec = acquire()
      } catch (cause) {
        return Channel.fail(codecError(operation, cause))
      }
      return Channel.ensuring(codecChannel<E>(operation, codec), Effect.sync(() => codec.release()))
    })
  )

const writeChunk = (operation: Operation, transform: Duplex, chunk: Uint8Array) =>
  Effect.async<void, CompressionError>((resume) => {
    transform.write(chunk, (error) => {
      resume(error ? Effect.fail(codecError(operation, error)) : Effect.void)
    })
  })

/**
 * Runs `self` through a fresh Node.js transform from `make`, destroyed when the stream ends, fails or is
 * interrupted. At most one input chunk is in flight at a time.
 *
 * @internal
 */
export const transformNode = <E, R>(
  self: Stream.Stream<Uint8Array, E, R>,
  operation: Operation,
  make: () => Duplex
): Stream.Stream<Uint8Array, E | CompressionError, R> =>
  Stream.unwrapScoped(
    Effect.gen(function*() {
      const transform = yield* Effect.acquireRelease(
        Effect.try({ try: make, catch: (cause) => codecError(operation, cause) }),
        (transform) => Effect.sync(() => transform.destroy())
      )
      // Errors surface through the writer or the reader; without a listener an `error` event would crash.
      transform.on("error", () => {})
      const writer = yield* self.pipe(
        Stream.runForEach((chunk) => chunk.length === 0 ? Effect.void : writeChunk(operation, transform, chunk)),
        Effect.zipRight(Effect.sync(() => transform.end())),
        Effect.forkScoped
      )
      const output = Stream.fromAsyncIterable(
        transform as AsyncIterable<Uint8Array>,
        (cause) => codecError(operation, cause)
      )
      // The writer's failure (an input error or a codec error) ends the output; its success does not.
      return Stream.interruptWhen(output, Effect.zipRight(Fiber.join(writer), Effect.never))
    })
  )

/**
 * Decompresses `self` with a fresh Node.js transform from `make` for every zstd frame, found by
 * `zstdFrames.make`, and fails with `CompressionError` when the input ends inside a frame. For decoders that stop
 * after the first frame and accept a frame cut short (`node:zlib` in Node.js 22): a stored object may be several
 * frames (one per multipart part), and a short body must not pass for a whole one.
 *
 * Frames are fed and read in order; a transform is read to its end before the next one's output, and at most a few
 * are alive at once (the one being read, the one being written, one waiting). All are destroyed when the stream
 * ends, fails or is interrupted.
 *
 * @internal
 */
export const transformNodeFrames = <E, R>(
  self: Stream.Stream<Uint8Array, E, R>,
  make: () => Duplex
): Stream.Stream<Uint8Array, E | CompressionError, R> =>
  Stream.unwrapScoped(
    Effect.gen(function*() {
      const scanner = Frames.make()
      const alive = new Set<Duplex>()
      yield* Effect.addFinalizer(() =>
        Effect.sync(() => {
          for (const transform of alive) transform.destroy()
          alive.clear()
        })
      )
      // The transforms in frame order, then `undefined` once the input ended between frames.
      const frames = yield* Queue.bounded<Duplex | undefined>(1)
      let current: Duplex | undefined
      const start = Effect.suspend(() => {
        const transform = make()
        // Errors surface through the writer or the reader; without a listener an `error` event would crash.
        transform.on("error", () => {})
        alive.add(transform)
        current = transform
        return Queue.offer(frames, transform)
      }).pipe(Effect.catchAllDefect((cause) => Effect.fail(codecError("decompress", cause))))
      const feed = (chunk: Uint8Array) =>
        Effect.suspend(() => {
          let segments: ReadonlyArray<Frames.Segment>
          try {
            segments = scanner.split(chunk)
          } catch (cause) {
            return Effect.fail(codecError("decompress", cause))
          }
          return Effect.forEach(segments, (segment) =>
            Effect.gen(function*() {
              if (current === undefined) yield* start
              if (segment.bytes.length > 0) yield* writeChunk("decompress", current!, segment.bytes)
              if (segment.endsFrame) {
                current!.end()
                current = undefined
              }
            }), { discard: true })
        })
      const writer = yield* self.pipe(
        Stream.runForEach(feed),
        Effect.zipRight(Effect.suspend(() =>
          scanner.atBoundary()
            ? Queue.offer(frames, undefined)
            : Effect.fail(codecError("decompress", "truncated input: the data ends inside a zstd frame"))
        )),
        Effect.forkScoped
      )
      const output = Stream.fromQueue(frames).pipe(
        Stream.takeWhile((transform): transform is Duplex => transform !== undefined),
        Stream.flatMap((transform) =>
          Stream.fromAsyncIterable(transform as AsyncIterable<Uint8Array>, (cause) => codecError("decompress", cause))
            .pipe(Stream.ensuring(Effect.sync(() => {
              alive.delete(transform)
              transform.destroy()
            })))
        )
      )
      // The writer's failure (an input error, a codec error, a truncation) ends the output; its success does not.
      return Stream.interruptWhen(output, Effect.zipRight(Fiber.join(writer), Effect.never))
    })
  )
