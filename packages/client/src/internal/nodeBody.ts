/**
 * A Node.js `Readable` response body (undici's) as a byte `Stream` of one hand-written stage.
 *
 * Each pull takes what the body has buffered (`read()`) and waits only when nothing is; a body whose length is known
 * ends as soon as that many bytes have been read, without waiting for the `end` event (a small body that arrived
 * with its headers is one chunk and no wait). The stream is {@link Meter.Meterable}: metered, it counts, maps its
 * failures, runs the end check and reports its exit in the same stage, so a `get` stream costs one stage per chunk
 * where the platform's `NodeStream.fromReadable` and a metering stage cost two (and an `ensuring` a third).
 *
 * When the stream stops before the body's end (a failure, interruption, or a consumer that stopped early) the body
 * is destroyed, which releases the connection, as `NodeStream.fromReadable` does.
 *
 * @internal
 */
import * as Channel from "effect/Channel"
import * as Chunk from "effect/Chunk"
import * as Effect from "effect/Effect"
import * as Stream from "effect/Stream"
import type { Readable } from "node:stream"
import * as Meter from "./meter.js"

/** Bodies read to their announced length by a stream of this module, before their `end` event was emitted. */
const readToLength = new WeakSet<Readable>()

/**
 * Whether `body` has been read to its end: its `end` event was emitted, or a stream of this module read its whole
 * announced length (nothing is left to release: undici has already handed the connection back).
 *
 * @internal
 */
export const isComplete = (body: Readable): boolean => body.readableEnded || readToLength.has(body)

const noop = () => {}

type Pull<E> = Channel.Channel<Chunk.Chunk<Uint8Array>, unknown, E, unknown, void, unknown>

/**
 * The stream of `body`'s bytes; `onError` makes the stream's failure from the body's error. `length` is the body's
 * announced length (`Content-Length`), when there is one.
 *
 * @internal
 */
export const stream = <E>(
  body: Readable,
  onError: (cause: unknown) => E,
  length: number | undefined
): Meter.Meterable<E> => {
  const metered = <E1, E2>(options: Meter.Options<E, E1, E2>): Stream.Stream<Uint8Array, E1 | E2> =>
    Stream.fromChannel(Channel.suspend(() => pull(body, onError, length, options)))
  return Meter.meterable(metered<E, never>({ onBytes: noop }), metered)
}

const pull = <E, E1, E2>(
  body: Readable,
  onError: (cause: unknown) => E,
  length: number | undefined,
  options: Meter.Options<E, E1, E2>
): Pull<E1 | E2> => {
  const { mapError, onBytes, onEnd, onExit, onPull } = options
  let received = 0
  let stopped = false
  let listening = false
  let wake: (() => void) | undefined
  const signal = () => {
    if (wake !== undefined) {
      const resume = wake
      wake = undefined
      resume()
    }
  }
  const complete = () => body.readableEnded || received === length
  const stop = () => {
    if (stopped) return
    stopped = true
    if (listening) {
      body.off("readable", signal)
      body.off("end", signal)
      body.off("error", signal)
      body.off("close", signal)
    }
    if (received === length) readToLength.add(body)
    else if (!body.readableEnded) body.destroy()
    onExit?.()
  }
  // Until something happens to the body: data, its end, a failure, or its destruction. The state is checked again
  // once listening, in case it changed since the pull looked (the fiber may have yielded in between).
  const wait = Effect.async<void>((resume) => {
    if (!listening) {
      listening = true
      body.on("readable", signal)
      body.on("end", signal)
      body.on("error", signal)
      body.on("close", signal)
    }
    if (body.readableLength > 0 || body.readableEnded || body.destroyed) return resume(Effect.void)
    wake = () => resume(Effect.void)
    return Effect.sync(() => {
      wake = undefined
    })
  })
  const fail = (cause: unknown): Pull<E1> => {
    const error = onError(cause)
    options.onError?.(error)
    return Channel.fail(mapError === undefined ? error as unknown as E1 : mapError(error))
  }
  const ended: Pull<E2> = onEnd === undefined ? Channel.void : Channel.fromEffect(onEnd)
  const again = (): Pull<E1 | E2> => loop
  const step = (): Pull<E1 | E2> => {
    if (received !== length) {
      const chunk = body.read() as Uint8Array | null
      if (chunk !== null) {
        received += chunk.length
        onBytes(chunk.length)
        return Channel.flatMap(Channel.write(Chunk.of(chunk)), again)
      }
    }
    if (body.errored !== null) return fail(body.errored)
    if (complete()) return ended
    if (body.destroyed) return fail(new Error("the response body was destroyed before its end"))
    onPull?.()
    return Channel.flatMap(Channel.fromEffect(wait), again)
  }
  const loop: Pull<E1 | E2> = Channel.suspend(step)
  return Channel.ensuring(loop, Effect.sync(stop))
}
