/**
 * The synchronous codec adapter behind `Compression.layerZstdNapi` and `Compression.layerFzstd`
 * (`codec.transformSync`): bounded, pull-driven output, release of the codec however the stream ends, and frame and
 * chunk boundaries anywhere in the input.
 */
import { assert, describe, it } from "@effect/vitest"
import * as Compression from "@objectstore/client/Compression"
import { OUTPUT_LIMIT, type SyncCodec, transformSync } from "@objectstore/client/internal/codec"
import * as Chunk from "effect/Chunk"
import * as Data from "effect/Data"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as FastCheck from "effect/FastCheck"
import * as Fiber from "effect/Fiber"
import * as Option from "effect/Option"
import * as Stream from "effect/Stream"
import { randomBytes } from "node:crypto"
import * as v8 from "node:v8"
import * as vm from "node:vm"

const KiB = 1024
const MiB = 1024 * KiB

const collect = <E>(stream: Stream.Stream<Uint8Array, E>) =>
  Effect.map(Stream.runCollect(stream), (chunks) => Buffer.concat(Chunk.toReadonlyArray(chunks)))

const chunkBytes = (chunk: Chunk.Chunk<Uint8Array>) => Chunk.reduce(chunk, 0, (total, bytes) => total + bytes.length)

class InputError extends Data.TaggedError("InputError")<{ readonly at?: number }> {}

/**
 * A codec that turns every input byte into `pieces` outputs of `piece` bytes, computed lazily, and records how much
 * it produced and how often it was released.
 */
const expanding = (options: { readonly piece: number; readonly pieces: number; readonly failAt?: number }) => {
  const state = { produced: 0, released: 0, acquired: 0 }
  const acquire = (): SyncCodec => {
    state.acquired++
    return {
      *push(chunk) {
        for (let byte = 0; byte < chunk.length; byte++) {
          for (let i = 0; i < options.pieces; i++) {
            if (options.failAt !== undefined && state.produced >= options.failAt) throw new Error("corrupt block")
            state.produced += options.piece
            yield new Uint8Array(options.piece)
          }
        }
      },
      *finish() {},
      release() {
        state.released++
      }
    }
  }
  return { state, acquire }
}

describe("transformSync", () => {
  it.scoped("writes bounded chunks and runs the codec only as far as the consumer pulls", () =>
    Effect.gen(function*() {
      // One input byte expands to 32 MiB in 128 KiB pieces.
      const codec = expanding({ piece: 128 * KiB, pieces: 256 })
      const pull = yield* Stream.toPull(transformSync(Stream.make(new Uint8Array(1)), "decompress", codec.acquire))
      let delivered = 0
      for (let i = 0; i < 5; i++) {
        const chunk = yield* pull
        const bytes = chunkBytes(chunk)
        assert.isAbove(bytes, 0)
        assert.isAtMost(bytes, OUTPUT_LIMIT + 128 * KiB)
        delivered += bytes
        // Never more than one write ahead of what was delivered...
        assert.isAtMost(codec.state.produced - delivered, OUTPUT_LIMIT)
      }
      // ...and nothing more while nobody pulls.
      const stalled = codec.state.produced
      for (let i = 0; i < 20; i++) yield* Effect.yieldNow()
      assert.strictEqual(codec.state.produced, stalled)
      // The rest comes out in bounded chunks too.
      let pulls = 5
      for (;;) {
        const next = yield* Effect.option(pull)
        if (Option.isNone(next)) break
        assert.isAtMost(chunkBytes(next.value), OUTPUT_LIMIT + 128 * KiB)
        delivered += chunkBytes(next.value)
        pulls++
      }
      assert.strictEqual(delivered, 32 * MiB)
      assert.isAtLeast(pulls, (32 * MiB) / (OUTPUT_LIMIT + 128 * KiB))
    }))

  it.effect("runs every buffer of a multi-buffer input chunk, and skips empty ones", () =>
    Effect.gen(function*() {
      const codec = expanding({ piece: 3, pieces: 2 })
      const input = Stream.fromChunks(
        Chunk.make(new Uint8Array(2), new Uint8Array(0), new Uint8Array(1)),
        Chunk.empty(),
        Chunk.make(new Uint8Array(0)),
        Chunk.make(new Uint8Array(4))
      )
      const output = yield* collect(transformSync(input, "compress", codec.acquire))
      assert.strictEqual(output.length, 7 * 2 * 3)
    }))

  it.effect("releases the codec when the stream ends, when the input fails and when the codec fails", () =>
    Effect.gen(function*() {
      const done = expanding({ piece: 10, pieces: 1 })
      yield* collect(transformSync(Stream.make(new Uint8Array(100)), "compress", done.acquire))
      assert.deepStrictEqual(done.state, { produced: 1000, released: 1, acquired: 1 })

      const input = expanding({ piece: 10, pieces: 1 })
      const failing = Stream.concat(Stream.make(new Uint8Array(5)), Stream.fail(new InputError({})))
      const inputError = yield* Effect.flip(collect(transformSync(failing, "compress", input.acquire)))
      assert.instanceOf(inputError, InputError)
      assert.strictEqual(input.state.released, 1)

      const broken = expanding({ piece: 10, pieces: 1, failAt: 500 })
      const error = yield* Effect.flip(
        collect(transformSync(Stream.make(new Uint8Array(100)), "decompress", broken.acquire))
      )
      assert.strictEqual(error._tag, "CompressionError")
      if (error._tag === "CompressionError") {
        assert.strictEqual(error.operation, "decompress")
        assert.strictEqual(error.detail, "corrupt block")
      }
      assert.strictEqual(broken.state.released, 1)
    }))

  it.effect("a codec that cannot be created fails with CompressionError, before reading any input", () =>
    Effect.gen(function*() {
      let pulled = 0
      const input = Stream.make(new Uint8Array(1)).pipe(Stream.tap(() => Effect.sync(() => pulled++)))
      const error = yield* Effect.flip(collect(transformSync(input, "compress", () => {
        throw new Error("no encoder")
      })))
      assert.strictEqual(error._tag, "CompressionError")
      assert.strictEqual(pulled, 0)
    }))

  it.live("interruption releases the codec and stops the input", () =>
    Effect.gen(function*() {
      const codec = expanding({ piece: 64 * KiB, pieces: 64 })
      let pulled = 0
      const endless = Stream.repeatEffect(Effect.sync(() => {
        pulled++
        return new Uint8Array(1)
      }))
      const latch = yield* Effect.makeLatch(false)
      const fiber = yield* transformSync(endless, "decompress", codec.acquire).pipe(
        Stream.runForEach(() => Effect.zipRight(latch.open, Effect.never)),
        Effect.fork
      )
      yield* latch.await
      assert.strictEqual(codec.state.released, 0)
      yield* Fiber.interrupt(fiber)
      assert.isTrue(Exit.isInterrupted(yield* Fiber.await(fiber)))
      assert.strictEqual(codec.state.released, 1)
      const after = pulled
      for (let i = 0; i < 10; i++) yield* Effect.yieldNow()
      assert.strictEqual(pulled, after)
      assert.isAtMost(codec.state.produced, OUTPUT_LIMIT + 64 * KiB)
    }))
})

const decoders: ReadonlyArray<readonly [string, Effect.Effect<Compression.Service, unknown>]> = [
  ["zstd-napi", Compression.makeZstdNapi],
  ["fzstd", Effect.succeed(Compression.fzstd)]
]

describe("zstd decoders through transformSync", () => {
  // Measure live memory, not garbage the collector has not reclaimed yet.
  v8.setFlagsFromString("--expose-gc")
  const gc = vm.runInNewContext("gc") as () => void
  const liveArrayBuffers = () => {
    gc()
    return process.memoryUsage().arrayBuffers
  }

  /** One zstd frame of 256 MiB of zeros: about 8 KiB. */
  const zeroFrame = Effect.gen(function*() {
    const encoder = yield* Compression.makeZstdNapi
    const zeros = new Uint8Array(MiB)
    return yield* collect(encoder.compress(Stream.repeatValue(zeros).pipe(Stream.take(256))))
  })

  for (const [name, make] of decoders) {
    it.scoped(
      `${name}: a small frame of 256 MiB of zeros decodes in bounded chunks, one pull at a time`,
      () =>
        Effect.gen(function*() {
          const frame = yield* zeroFrame
          assert.isBelow(frame.length, 64 * KiB)
          const service = yield* make
          const before = liveArrayBuffers()
          const pull = yield* Stream.toPull(service.decompress(Stream.make(frame)))
          const held: Array<Chunk.Chunk<Uint8Array>> = []
          for (let i = 0; i < 4; i++) held.push(yield* pull)
          // Four pulls hold about 4 MiB of output; the codec has not decoded the other 252 MiB.
          assert.isBelow(liveArrayBuffers() - before, 32 * MiB)
          const zeros = Buffer.alloc(256 * KiB)
          let total = 0
          let pulls = 0
          const check = (chunk: Chunk.Chunk<Uint8Array>) => {
            pulls++
            assert.isAtMost(chunkBytes(chunk), OUTPUT_LIMIT + 128 * KiB)
            for (const bytes of chunk) {
              total += bytes.length
              assert.isTrue(
                Buffer.from(bytes.buffer, bytes.byteOffset, bytes.length).equals(zeros.subarray(0, bytes.length))
              )
            }
          }
          held.forEach(check)
          held.length = 0
          for (;;) {
            const next = yield* Effect.option(pull)
            if (Option.isNone(next)) break
            check(next.value)
          }
          assert.strictEqual(total, 256 * MiB)
          assert.isAtLeast(pulls, 256 * MiB / (OUTPUT_LIMIT + 128 * KiB))
        }),
      60_000
    )
  }

  /** Three frames (text, empty, random) and where each one ends. */
  const makeFrames = Effect.gen(function*() {
    const encoder = yield* Compression.makeZstdNapi
    const parts = [Buffer.from("objectstore zstd frame ".repeat(120)), Buffer.alloc(0), randomBytes(100)]
    const compressed = yield* Effect.forEach(parts, (part) => collect(encoder.compress(Stream.make(part))))
    const ends = compressed.reduce<Array<number>>((acc, frame) => [...acc, (acc.at(-1) ?? 0) + frame.length], [])
    return { joined: Buffer.concat(compressed), payload: Buffer.concat(parts), ends: [0, ...ends] }
  })
  // Made once for the file: the property below runs many times over the same frames.
  let made: Effect.Effect.Success<typeof makeFrames> | undefined
  const frames = Effect.suspend(() =>
    made === undefined ? Effect.tap(makeFrames, (value) => Effect.sync(() => (made = value))) : Effect.succeed(made)
  )

  for (const [name, make] of decoders) {
    it.effect(
      `${name}: concatenated frames split at every byte decode; every cut inside a frame fails`,
      () =>
        Effect.gen(function*() {
          const service = yield* make
          const { ends, joined, payload } = yield* frames
          for (let cut = 0; cut <= joined.length; cut++) {
            const head = joined.subarray(0, cut)
            const tail = joined.subarray(cut)
            // As two chunks, and as one chunk of two buffers.
            const split = yield* collect(service.decompress(Stream.make(head, tail)))
            assert.isTrue(split.equals(payload), `split at ${cut}`)
            const grouped = yield* collect(service.decompress(Stream.fromChunk(Chunk.make(head, tail))))
            assert.isTrue(grouped.equals(payload), `one chunk split at ${cut}`)
            // The input ends at `cut`: fine at a frame boundary, a CompressionError anywhere else.
            const prefix = yield* Effect.exit(collect(service.decompress(Stream.make(head))))
            if (ends.includes(cut)) {
              assert.isTrue(Exit.isSuccess(prefix), `ends at frame boundary ${cut}`)
            } else {
              const error = yield* Effect.flip(prefix)
              assert.strictEqual(error._tag, "CompressionError", `ends at ${cut}`)
            }
          }
        }),
      60_000
    )

    it.effect.prop(
      `${name}: concatenated frames decode whatever the chunk boundaries and grouping`,
      [FastCheck.array(FastCheck.nat(), { maxLength: 40 }), FastCheck.array(FastCheck.nat(), { maxLength: 40 })],
      ([cuts, groups]) =>
        Effect.gen(function*() {
          const service = yield* make
          const { joined, payload } = yield* frames
          const points = [...new Set(cuts.map((cut) => cut % (joined.length + 1)))].sort((a, b) => a - b)
          const pieces = [...points, joined.length].map((end, i) => joined.subarray(i === 0 ? 0 : points[i - 1], end))
          // Group the pieces (empty ones included) into chunks of 1 to 4 buffers.
          const chunks: Array<Chunk.Chunk<Uint8Array>> = []
          for (let i = 0, g = 0; i < pieces.length; g++) {
            const size = 1 + ((groups[g % Math.max(1, groups.length)] ?? 0) % 4)
            chunks.push(Chunk.fromIterable(pieces.slice(i, i + size)))
            i += size
          }
          const restored = yield* collect(service.decompress(Stream.fromChunks(...chunks)))
          assert.isTrue(restored.equals(payload))
        }),
      { fastCheck: { numRuns: 100 } }
    )
  }
})
