/**
 * A Node.js `Readable` response body as a Stream of one stage (`internal/nodeBody.ts`, what NodeClient's
 * `response.stream` and so every `get` stream over it is made of): chunks as they arrive, the end at the announced
 * length without waiting for `end`, failures, the body destroyed when the stream stops before its end, and the
 * metering options applied in the same stage.
 */
import { assert, describe, it } from "@effect/vitest"
import * as Meter from "@objectstore/client/internal/meter"
import * as NodeBody from "@objectstore/client/internal/nodeBody"
import * as Chunk from "effect/Chunk"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Stream from "effect/Stream"
import { Readable } from "node:stream"

/** A body that is read only through `read()` (like undici's): its data is pushed from outside. */
const body = () => new Readable({ read() {} })

const bytes = (length: number, fill: number) => new Uint8Array(length).fill(fill)

/** A body that has arrived whole (its data and its end pushed) before anyone reads it. */
const arrived = (...chunks: Array<Uint8Array>) => {
  const readable = body()
  for (const chunk of chunks) readable.push(chunk)
  readable.push(null)
  return readable
}

/** A failure as the stream's own error (the `onError` given to the stream). */
class BodyError {
  readonly _tag = "BodyError"
  constructor(readonly cause: unknown) {}
}

const make = (readable: Readable, length?: number) => NodeBody.stream(readable, (cause) => new BodyError(cause), length)

const total = (chunks: Chunk.Chunk<Uint8Array>) => Chunk.reduce(chunks, 0, (n, chunk) => n + chunk.length)

/** Meter options that record what was called. */
const recording = () => {
  const seen = { pulls: 0, bytes: 0, errors: [] as Array<unknown>, ends: 0, exits: 0 }
  const options = {
    onPull: () => void seen.pulls++,
    onBytes: (n: number) => void (seen.bytes += n),
    onError: (error: BodyError) => void seen.errors.push(error),
    mapError: (error: BodyError) => ({ _tag: "Mapped" as const, cause: error.cause }),
    onEnd: Effect.sync(() => void seen.ends++),
    onExit: () => void seen.exits++
  }
  return { seen, options }
}

describe("NodeBody", () => {
  it.live("passes chunks on as they arrive and ends at the body's end when no length is known", () =>
    Effect.gen(function*() {
      const readable = body()
      const { options, seen } = recording()
      let sent = 0
      const timer = setInterval(() => {
        if (sent < 3) readable.push(bytes(1000, ++sent))
        else {
          readable.push(null)
          clearInterval(timer)
        }
      }, 5)
      const chunks = yield* Stream.runCollect(Meter.meter(make(readable), options))
      assert.strictEqual(total(chunks), 3000)
      assert.deepStrictEqual(Chunk.toArray(chunks).map((chunk) => chunk[0]), [1, 2, 3])
      // It waited for each chunk, and metered it.
      assert.isAtLeast(seen.pulls, 3)
      assert.deepStrictEqual([seen.bytes, seen.ends, seen.exits, seen.errors.length], [3000, 1, 1, 0])
      assert.isTrue(readable.readableEnded)
    }))

  it.live("chunks that arrive in one turn at I/O while the consumer waits are passed on together, uncopied", () =>
    Effect.gen(function*() {
      const readable = body()
      const pushed = Array.from({ length: 5 }, (_, i) => Buffer.alloc(100, i))
      setTimeout(() => {
        for (const chunk of pushed) readable.push(chunk)
        setTimeout(() => readable.push(null), 5)
      }, 5)
      const pulls: Array<Array<Uint8Array>> = []
      yield* Stream.runForEachChunk(make(readable), (chunk) => Effect.sync(() => void pulls.push(Chunk.toArray(chunk))))
      assert.strictEqual(pulls.length, 1)
      assert.strictEqual(pulls[0]!.length, 5)
      pulls[0]!.forEach((chunk, i) => assert.strictEqual(chunk, pushed[i]))
    }))

  it.scopedLive("gathers at most 1 MiB ahead of the consumer: the body is paused until the consumer takes it", () =>
    Effect.gen(function*() {
      const readable = body()
      const pull = yield* Stream.toPull(make(readable))
      setTimeout(() => readable.push(bytes(10, 1)), 5)
      assert.strictEqual(total(yield* pull), 10)
      // The consumer does not pull while 2 MiB arrive.
      for (let i = 0; i < 32; i++) readable.push(bytes(64 * 1024, i))
      yield* Effect.promise(() => new Promise((resolve) => setImmediate(resolve)))
      assert.isTrue(readable.isPaused())
      assert.isAtLeast(readable.readableLength, 1024 * 1024 - 64 * 1024)
      let received = total(yield* pull)
      assert.strictEqual(received, 1024 * 1024)
      assert.isFalse(readable.isPaused())
      readable.push(null)
      for (;;) {
        const next = yield* Effect.either(pull)
        if (Either.isLeft(next)) break
        received += total(next.right)
      }
      assert.strictEqual(received, 2 * 1024 * 1024)
    }))

  it.live("ends once the announced length is read, without waiting for the end event; the body is complete", () =>
    Effect.gen(function*() {
      const readable = body()
      setTimeout(() => readable.push(bytes(600, 1)), 5)
      setTimeout(() => readable.push(bytes(400, 2)), 10)
      // No `push(null)`: a stream waiting for `end` would never finish.
      const chunks = yield* Stream.runCollect(make(readable, 1000)).pipe(Effect.timeout("5 seconds"))
      assert.strictEqual(total(chunks), 1000)
      assert.isFalse(readable.destroyed)
      assert.isTrue(NodeBody.isComplete(readable))
    }))

  it.effect("a body that has arrived whole is one chunk, read without waiting", () =>
    Effect.gen(function*() {
      const readable = arrived(bytes(1024, 7))
      const { options, seen } = recording()
      const chunks = yield* Stream.runCollect(Meter.meter(make(readable, 1024), options))
      assert.strictEqual(Chunk.size(chunks), 1)
      assert.strictEqual(total(chunks), 1024)
      assert.deepStrictEqual([seen.pulls, seen.bytes, seen.ends, seen.exits], [0, 1024, 1, 1])
    }))

  it.live("a failure of the body fails the stream with the mapped error; onError sees it, onEnd does not run", () =>
    Effect.gen(function*() {
      const readable = body()
      const { options, seen } = recording()
      const boom = new Error("connection reset")
      setTimeout(() => readable.push(bytes(10, 1)), 5)
      setTimeout(() => readable.destroy(boom), 10)
      const outcome = yield* Effect.either(Stream.runCollect(Meter.meter(make(readable, 1000), options)))
      assert.isTrue(Either.isLeft(outcome))
      const error = (outcome as Either.Left<{ _tag: string; cause: unknown }, unknown>).left
      assert.deepStrictEqual([error._tag, error.cause], ["Mapped", boom])
      assert.deepStrictEqual([seen.bytes, seen.errors.length, seen.ends, seen.exits], [10, 1, 0, 1])
    }))

  it.live("a body destroyed without an error before its end fails the stream instead of waiting forever", () =>
    Effect.gen(function*() {
      const readable = body()
      setTimeout(() => readable.destroy(), 5)
      const outcome = yield* Effect.either(Stream.runCollect(make(readable))).pipe(Effect.timeout("5 seconds"))
      assert.isTrue(Either.isLeft(outcome))
    }))

  it.live("a consumer that stops early, or interruption while waiting, destroys the body", () =>
    Effect.gen(function*() {
      const endless = body()
      endless.push(bytes(100, 1))
      setTimeout(() => endless.push(bytes(100, 2)), 5)
      const { options, seen } = recording()
      const first = yield* Stream.runCollect(Stream.take(Meter.meter(make(endless), options), 1))
      assert.strictEqual(total(first), 100)
      assert.isTrue(endless.destroyed)
      assert.deepStrictEqual([seen.ends, seen.exits], [0, 1])

      const silent = body()
      const waited = yield* Stream.runDrain(make(silent, 10)).pipe(Effect.timeout("20 millis"), Effect.either)
      assert.isTrue(Either.isLeft(waited))
      assert.isTrue(silent.destroyed)
      assert.isFalse(NodeBody.isComplete(silent))
    }))

  it.effect("a short body read to its end still ends (the caller's end check decides)", () =>
    Effect.gen(function*() {
      const chunks = yield* Stream.runCollect(make(arrived(bytes(10, 1)), 1000))
      assert.strictEqual(total(chunks), 10)
    }))
})
