/**
 * Generic adapters that turn a streaming codec into a `Stream` transformation.
 *
 * Two shapes are supported:
 *
 * - {@link transformSync}: a synchronous, pull-driven codec (zstd-napi's low-level contexts, fzstd). Each input
 *   chunk is pushed into the codec only when the downstream pulls, and the codec's output for it is handed out one
 *   buffer per pull, so a highly compressible chunk never materialises all at once.
 * - {@link transformNode}: a Node.js `Transform` stream (node:zlib). A writer fiber feeds the transform and waits for
 *   each write to be processed before sending the next one; the output is read with the transform's async iterator,
 *   which pauses the transform while the consumer is not pulling.
 *
 * In both, failures of the input stream pass through unchanged and failures of the codec become
 * `CompressionError`. The codec is released when the stream ends, fails or is interrupted.
 *
 * @internal
 */
import * as Effect from "effect/Effect"
import * as Fiber from "effect/Fiber"
import * as Option from "effect/Option"
import * as Stream from "effect/Stream"
import type { Duplex } from "node:stream"
import { CompressionError } from "../ObjectstoreError.js"

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

const drain = (operation: Operation, make: () => Iterator<Uint8Array>): Stream.Stream<Uint8Array, CompressionError> =>
  Stream.suspend(() => {
    let iterator: Iterator<Uint8Array> | undefined
    return Stream.repeatEffectOption(
      Effect.suspend((): Effect.Effect<Uint8Array, Option.Option<CompressionError>> => {
        try {
          iterator ??= make()
          const next = iterator.next()
          return next.done ? Effect.fail(Option.none()) : Effect.succeed(next.value)
        } catch (cause) {
          return Effect.fail(Option.some(codecError(operation, cause)))
        }
      })
    )
  })

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
  Stream.unwrapScoped(
    Effect.map(
      Effect.acquireRelease(
        Effect.try({ try: acquire, catch: (cause) => codecError(operation, cause) }),
        (codec) => Effect.sync(() => codec.release())
      ),
      (codec) =>
        self.pipe(
          Stream.flatMap((chunk) => drain(operation, () => codec.push(chunk))),
          Stream.concat(drain(operation, () => codec.finish()))
        )
    )
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
