/**
 * One `Channel` stage that counts the bytes of a byte stream, maps its failures and runs an effect when it ends:
 * what `Stream.mapError`, `Stream.tap` and `Stream.concat`/`Stream.onEnd` do in three or four stages, each with its
 * own per-chunk pull. A response body passes a chunk of up to 64 KiB at a time, so the stages add up over a large
 * `get`.
 *
 * @internal
 */
import * as Cause from "effect/Cause"
import * as Channel from "effect/Channel"
import type * as Chunk from "effect/Chunk"
import type * as Effect from "effect/Effect"
import * as Stream from "effect/Stream"

/** @internal */
export interface Options<E, E1, E2> {
  /** Called before each read of the next chunk from the stream (when the downstream asks for more). */
  readonly onPull?: (() => void) | undefined
  /** Called with the byte length of every chunk, before it is passed on. */
  readonly onBytes: (bytes: number) => void
  /** Maps the stream's own failures (default: unchanged). */
  readonly mapError?: ((error: E) => E1) | undefined
  /** Sees each of the stream's own failures (before `mapError`). */
  readonly onError?: ((error: E) => void) | undefined
  /** Runs when the stream has ended (not on failure or interruption); its failure fails the stream. */
  readonly onEnd?: Effect.Effect<void, E2> | undefined
}

/**
 * `self`, counted by `onBytes`, its failures seen by `onError` and mapped by `mapError`, and `onEnd` run at its end.
 *
 * @internal
 */
export const meter = <E, R, E1 = E, E2 = never>(
  self: Stream.Stream<Uint8Array, E, R>,
  options: Options<E, E1, E2>
): Stream.Stream<Uint8Array, E1 | E2, R> => {
  const { mapError, onBytes, onEnd, onError, onPull } = options
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
  return Stream.pipeThroughChannel(self, loop)
}
