/**
 * One `Channel` stage that counts the bytes of a byte stream, maps its failures and runs an effect when it ends:
 * what `Stream.mapError`, `Stream.tap` and `Stream.concat`/`Stream.onEnd` do in three or four stages, each with its
 * own per-chunk pull. A response body passes a chunk of up to 64 KiB at a time, so the stages add up over a large
 * `get`.
 *
 * A stream that reads its bytes from a source of its own (NodeClient's response bodies) can do the same in its
 * source stage, with no stage added at all: it is {@link Meterable}, and {@link meter} hands it the options.
 *
 * @internal
 */
import * as Cause from "effect/Cause"
import * as Channel from "effect/Channel"
import type * as Chunk from "effect/Chunk"
import * as Effect from "effect/Effect"
import * as Stream from "effect/Stream"

/** @internal */
export interface Options<E, E1, E2> {
  /**
   * Called before the stream waits for a chunk that has not arrived (the downstream asks for more and nothing is
   * buffered; a stream that cannot tell calls it before every read).
   */
  readonly onPull?: (() => void) | undefined
  /** Called with the byte length of every chunk, before it is passed on. */
  readonly onBytes: (bytes: number) => void
  /** Maps the stream's own failures (default: unchanged). */
  readonly mapError?: ((error: E) => E1) | undefined
  /** Sees each of the stream's own failures (before `mapError`). */
  readonly onError?: ((error: E) => void) | undefined
  /** Runs when the stream has ended (not on failure or interruption); its failure fails the stream. */
  readonly onEnd?: Effect.Effect<void, E2> | undefined
  /**
   * Called once when the stream stops, however it does: ended (after `onEnd`), failed, interrupted, or no longer
   * pulled by a consumer that stopped early.
   */
  readonly onExit?: (() => void) | undefined
}

/**
 * The key under which a {@link Meterable} stream offers to meter itself.
 *
 * @internal
 */
export const MeterableTypeId: unique symbol = Symbol.for("@objectstore/client/Meter/Meterable")

/**
 * A byte stream that can count, map and end itself in its own source stage: {@link meter} calls
 * `[MeterableTypeId](options)` instead of adding a stage. The stream returned must behave as {@link meter}'s does.
 *
 * @internal
 */
export interface Meterable<E> extends Stream.Stream<Uint8Array, E> {
  readonly [MeterableTypeId]: <E1, E2>(options: Options<E, E1, E2>) => Stream.Stream<Uint8Array, E1 | E2>
}

/**
 * `stream`, marked {@link Meterable} with `metered`, which must be `stream` with `options` applied.
 *
 * @internal
 */
export const meterable = <E>(
  stream: Stream.Stream<Uint8Array, E>,
  metered: <E1, E2>(options: Options<E, E1, E2>) => Stream.Stream<Uint8Array, E1 | E2>
): Meterable<E> => Object.assign(stream, { [MeterableTypeId]: metered })

/**
 * `self`, counted by `onBytes`, its failures seen by `onError` and mapped by `mapError`, and `onEnd` run at its end.
 *
 * @internal
 */
export const meter = <E, R, E1 = E, E2 = never>(
  self: Stream.Stream<Uint8Array, E, R>,
  options: Options<E, E1, E2>
): Stream.Stream<Uint8Array, E1 | E2, R> => {
  if (MeterableTypeId in self) return (self as unknown as Meterable<E>)[MeterableTypeId](options)
  const { mapError, onBytes, onEnd, onError, onExit, onPull } = options
  const read: Channel.Channel<Chunk.Chunk<Uint8Array>, Chunk.Chunk<Uint8Array>, E1 | E2, E, void, unknown> = Channel
    .readWithCause({
      onInput: (chunk: Chunk.Chunk<Uint8Array>) => {
        for (const bytes of chunk) onBytes(bytes.length)
        return Channel.flatMap(Channel.write(chunk), () => loop)
      },
      onFailure: (cause: Cause.Cause<E>) => {
        if (onError !== undefined) { for (const error of Cause.failures(cause)) onError(error) }
        return Channel.failCause(
          mapError === undefined ? cause as Cause.Cause<unknown> as Cause.Cause<E1> : Cause.map(cause, mapError)
        )
      },
      onDone: () => onEnd ?? Channel.void
    })
  const loop = onPull === undefined ? read : Channel.suspend(() => {
    onPull()
    return read
  })
  return Stream.pipeThroughChannel(
    self,
    onExit === undefined ? loop : Channel.ensuring(loop, Effect.sync(onExit))
  )
}
