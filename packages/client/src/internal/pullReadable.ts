/**
 * A byte `Stream` as the Node.js `Readable` an upload hands to undici, read one pull at a time.
 *
 * The platform's `NodeStream.toReadable` runs the whole stream in one fiber that lives as long as the upload and
 * waits on a latch between chunks. Once V8 has moved that fiber's objects to its old generation (early in a long
 * upload), they keep every chunk that passed through reachable for the young-generation collections, which would
 * otherwise free a sent chunk's buffer as soon as 32 MiB of buffers have been allocated since the last one: the
 * buffers wait for a full collection instead, and V8 runs those when external memory has grown by 64 MB. A 1 GiB
 * streamed put peaked at 64-78 MiB above idle that way, against 40-45 MiB for raw undici sending the same chunks
 * (`bench/streaming-memory.ts`; `test/UploadStream.test.ts` shows the retention with forced young collections).
 *
 * Here each `_read` runs one pull of the stream (`Stream.toPull`) in a fiber of its own, which ends with the pull:
 * nothing that outlives a chunk refers to it. The stream is pulled only when the `Readable` asks for more (undici
 * pauses it while the socket is full), so at most one chunk of the stream is read ahead of the socket.
 *
 * The stream's scope is closed when it ends, fails, or the `Readable` is destroyed (undici destroys the body when
 * the request fails or is aborted); a pull in flight is interrupted first.
 *
 * @internal
 */
import * as Cause from "effect/Cause"
import type * as Chunk from "effect/Chunk"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Fiber from "effect/Fiber"
import * as FiberId from "effect/FiberId"
import * as Option from "effect/Option"
import * as Runtime from "effect/Runtime"
import * as Scope from "effect/Scope"
import * as Stream from "effect/Stream"
import { Readable } from "node:stream"

type Pull<E> = Effect.Effect<Chunk.Chunk<Uint8Array>, Option.Option<E>>

/**
 * `stream` as a `Readable` of its bytes, run with the current runtime (its context and fiber refs). Failures of the
 * stream destroy the `Readable` with the failure (`Cause.squash`).
 *
 * @internal
 */
export const make = <E>(stream: Stream.Stream<Uint8Array, E>): Effect.Effect<Readable> =>
  Effect.map(Effect.runtime<never>(), (runtime) => new PullReadable(runtime, stream))

class PullReadable<E> extends Readable {
  readonly #run: <A, E1>(effect: Effect.Effect<A, E1>) => Fiber.RuntimeFiber<A, E1>
  readonly #stream: Stream.Stream<Uint8Array, E>
  #scope: Scope.CloseableScope | undefined
  #pull: Pull<E> | undefined
  #fiber: Fiber.RuntimeFiber<Chunk.Chunk<Uint8Array>, Option.Option<E>> | undefined
  #ended = false

  constructor(runtime: Runtime.Runtime<never>, stream: Stream.Stream<Uint8Array, E>) {
    super()
    this.#run = Runtime.runFork(runtime)
    this.#stream = stream
  }

  override _read(): void {
    if (this.#fiber !== undefined || this.#ended) return
    const pull = this.#pull ?? this.#open()
    const fiber = this.#run(pull)
    this.#fiber = fiber
    fiber.addObserver((exit) => {
      if (this.#fiber !== fiber) return // destroyed meanwhile: `_destroy` has taken over
      this.#fiber = undefined
      if (Exit.isSuccess(exit)) return this.#deliver(exit.value)
      const failure = Cause.failureOption(exit.cause)
      // A defect or an interruption.
      if (Option.isNone(failure)) return void this.destroy(squash(exit.cause))
      // `None`: the stream has ended; `Some(e)`: its own failure.
      const error = failure.value
      if (Option.isNone(error)) return this.#end()
      this.destroy(squash(Cause.fail(error.value)))
    })
  }

  /** The first pull: opens the stream in a scope of its own, then pulls; later pulls reuse the pull it made. */
  #open(): Pull<E> {
    const scope = Effect.runSync(Scope.make())
    this.#scope = scope
    return Effect.flatMap(Scope.extend(Stream.toPull(this.#stream), scope), (pull) => {
      this.#pull = pull
      return pull
    })
  }

  #deliver(chunk: Chunk.Chunk<Uint8Array>): void {
    let pushed = false
    for (const bytes of chunk) {
      if (bytes.length === 0) continue
      pushed = true
      this.push(bytes)
    }
    // An empty chunk gives the `Readable` nothing: pull again, or it would wait for a `_read` that never comes.
    if (!pushed) this._read()
  }

  #end(): void {
    this.#ended = true
    const scope = this.#scope
    this.#scope = undefined
    if (scope === undefined) return void this.push(null)
    this.#run(Scope.close(scope, Exit.void)).addObserver((exit) => {
      if (Exit.isSuccess(exit)) this.push(null)
      else this.destroy(squash(exit.cause))
    })
  }

  override _destroy(error: Error | null, callback: (error?: Error | null) => void): void {
    this.#ended = true
    const fiber = this.#fiber
    const scope = this.#scope
    this.#fiber = undefined
    this.#scope = undefined
    if (fiber === undefined && scope === undefined) return callback(error)
    const stop = Effect.zipRight(
      fiber === undefined ? Effect.void : Fiber.interrupt(fiber),
      scope === undefined ? Effect.void : Scope.close(scope, Exit.interrupt(FiberId.none))
    )
    this.#run(stop).addObserver((exit) => callback(Exit.isFailure(exit) ? squash(exit.cause) : error))
  }
}

/** What the `Readable` is destroyed with, as `NodeStream.toReadable` does: the cause squashed. */
const squash = (cause: Cause.Cause<unknown>): Error => Cause.squash(cause) as Error
