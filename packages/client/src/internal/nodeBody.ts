/**
 * A Node.js `Readable` response body (undici's) as a byte `Stream` of one hand-written stage.
 *
 * - What the body has buffered when the consumer pulls is taken at once (`read()`): a small body that arrived with
 *   its headers is one chunk, with no wait.
 * - Once the stream has had to wait, the body flows (`data` events) into a list the next pull takes whole, and a
 *   waiting consumer is woken only after the event loop's turn at I/O: the chunks the connection delivered in that
 *   turn (one per socket read, up to 64 KiB each) go on as one Effect chunk of several arrays, uncopied. Effect's
 *   cost is per pull (a fiber suspension and resumption, the channel steps of every stage downstream), so a large
 *   download pays it a few times per MiB instead of once per 64 KiB. At most {@link GATHER_LIMIT} is gathered ahead
 *   of the consumer: then the body is paused (undici stops reading the connection) until the consumer takes it.
 * - A body whose length is known ends as soon as that many bytes have been passed on, without waiting for `end`.
 * - The stream is {@link Meter.Meterable}: metered, it counts, maps its failures, runs the end check and reports its
 *   exit in the same stage, so a `get` stream has one stage where the platform's `NodeStream.fromReadable`, a
 *   metering stage and an `ensuring` made three.
 * - When the stream stops before the body's end (a failure, interruption, or a consumer that stopped early), the body
 *   is destroyed, which releases the connection, as `NodeStream.fromReadable` does.
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

/**
 * The most a stream gathers from the body before it pauses the body (undici then stops reading the connection) until
 * the consumer takes what was gathered.
 */
const GATHER_LIMIT = 1024 * 1024

const pull = <E, E1, E2>(
  body: Readable,
  onError: (cause: unknown) => E,
  length: number | undefined,
  options: Meter.Options<E, E1, E2>
): Pull<E1 | E2> => {
  const { mapError, onBytes, onEnd, onExit, onPull } = options
  let received = 0
  let stopped = false
  // Once the stream has had to wait, the body flows into `gathered` ('data' events) instead of being read.
  let flowing = false
  let gathered: Array<Uint8Array> = []
  let gatheredBytes = 0
  let paused = false
  let wake: (() => void) | undefined
  let wakeScheduled = false
  const wakeNow = () => {
    if (wake !== undefined) {
      const resume = wake
      wake = undefined
      resume()
    }
  }
  // Data wakes the consumer only after the event loop's turn at I/O: the chunks the connection delivers meanwhile
  // (one per socket read) are passed on together, one pull for all of them.
  const wakeAfterIo = () => {
    wakeScheduled = false
    wakeNow()
  }
  const onData = (chunk: Uint8Array) => {
    gathered.push(chunk)
    gatheredBytes += chunk.length
    if (gatheredBytes >= GATHER_LIMIT && !paused) {
      paused = true
      body.pause()
    }
    if (wake !== undefined && !wakeScheduled) {
      wakeScheduled = true
      setImmediate(wakeAfterIo)
    }
  }
  const complete = () => body.readableEnded || received === length
  const stop = () => {
    if (stopped) return
    stopped = true
    if (flowing) {
      body.off("data", onData)
      body.off("end", wakeNow)
      body.off("error", wakeNow)
      body.off("close", wakeNow)
    }
    if (received === length) readToLength.add(body)
    else if (!body.readableEnded) body.destroy()
    onExit?.()
  }
  // Until something happens to the body: data, its end, a failure, or its destruction. The state is checked again
  // once listening, in case it changed since the pull looked (the fiber may have yielded in between).
  const wait = Effect.async<void>((resume) => {
    if (!flowing) {
      flowing = true
      body.on("data", onData)
      body.on("end", wakeNow)
      body.on("error", wakeNow)
      body.on("close", wakeNow)
    }
    if (gathered.length > 0 || body.readableEnded || body.destroyed) return resume(Effect.void)
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
    if (gathered.length > 0) {
      const chunks = gathered
      const bytes = gatheredBytes
      gathered = []
      gatheredBytes = 0
      received += bytes
      onBytes(bytes)
      if (paused) {
        paused = false
        body.resume()
      }
      return Channel.flatMap(Channel.write(Chunk.unsafeFromArray(chunks)), again)
    }
    if (!flowing && received !== length) {
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
