/**
 * Byte-array helpers shared by the client and the server (bodies arrive as chunks; some places need them whole: a
 * batch part, a multipart part, the memory store).
 *
 * @since 0.1.0
 */
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import * as Stream from "effect/Stream"

/**
 * Concatenates byte arrays into one (the only array itself when there is just one).
 *
 * @since 0.1.0
 * @category combinators
 */
export const concat = (chunks: Iterable<Uint8Array>): Uint8Array => {
  const parts = Array.isArray(chunks) ? chunks as ReadonlyArray<Uint8Array> : Array.from(chunks)
  if (parts.length === 1) return parts[0]!
  let length = 0
  for (const part of parts) length += part.length
  const out = new Uint8Array(length)
  let offset = 0
  for (const part of parts) {
    out.set(part, offset)
    offset += part.length
  }
  return out
}

/**
 * Runs a byte stream and collects it into one array. Only for bodies known to be small or meant to be held whole.
 *
 * @since 0.1.0
 * @category combinators
 */
export const collect = <E, R>(stream: Stream.Stream<Uint8Array, E, R>): Effect.Effect<Uint8Array, E, R> =>
  // Pulled chunk by chunk: a quarter of the cost of `Stream.runCollect` (about 50 against 170 us for a one-chunk
  // stream), which matters for the many small bodies of a batch.
  Effect.scoped(Effect.flatMap(Stream.toPull(stream), (pull) => {
    const pieces: Array<Uint8Array> = []
    const loop: Effect.Effect<Uint8Array, E, R> = Effect.matchEffect(pull, {
      onFailure: (error) => Option.isNone(error) ? Effect.sync(() => concat(pieces)) : Effect.fail(error.value),
      onSuccess: (chunk) => {
        for (const piece of chunk) pieces.push(piece)
        return loop
      }
    })
    return loop
  }))
