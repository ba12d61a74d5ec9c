/**
 * The Node.js `Transform` adapter behind `Compression.layerNodeZlib`. Node 20 has no zstd in `node:zlib`, so the
 * adapter is exercised here with zstd-napi's `CompressStream` / `DecompressStream`, which are Transforms too.
 */
import { assert, describe, it } from "@effect/vitest"
import { transformNode } from "@objectstore/client/internal/codec"
import * as Chunk from "effect/Chunk"
import * as Data from "effect/Data"
import * as Deferred from "effect/Deferred"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Fiber from "effect/Fiber"
import * as Option from "effect/Option"
import * as Stream from "effect/Stream"
import { randomBytes } from "node:crypto"
import type { Duplex } from "node:stream"
import { CompressStream, DecompressStream } from "zstd-napi"

const chunked = (bytes: Uint8Array, size: number): Stream.Stream<Uint8Array> => {
  const pieces: Array<Uint8Array> = []
  for (let offset = 0; offset < bytes.length; offset += size) pieces.push(bytes.slice(offset, offset + size))
  return Stream.fromIterable(pieces)
}

const collect = <E>(stream: Stream.Stream<Uint8Array, E>) =>
  Effect.map(Stream.runCollect(stream), (chunks) => Buffer.concat(Chunk.toReadonlyArray(chunks)))

const compress = <E>(self: Stream.Stream<Uint8Array, E>) => transformNode(self, "compress", () => new CompressStream())
const decompress = <E>(self: Stream.Stream<Uint8Array, E>) =>
  transformNode(self, "decompress", () => new DecompressStream())

const sample = Buffer.from("the quick brown fox jumps over the lazy dog ".repeat(50_000))

class InputError extends Data.TaggedError("InputError")<{ readonly source?: string }> {}

describe("Compression Transform adapter", () => {
  it.effect("round trips text, random and empty payloads", () =>
    Effect.gen(function*() {
      for (const payload of [sample, randomBytes(1_000_000), Buffer.alloc(0)]) {
        const compressed = yield* collect(compress(chunked(payload, 65536)))
        const restored = yield* collect(decompress(chunked(compressed, 333)))
        assert.isTrue(restored.equals(payload))
      }
    }))

  it.effect("decompresses concatenated frames", () =>
    Effect.gen(function*() {
      const a = yield* collect(compress(Stream.make(sample)))
      const b = yield* collect(compress(Stream.make(Buffer.from("tail"))))
      const restored = yield* collect(decompress(chunked(Buffer.concat([a, b, a]), 1000)))
      assert.isTrue(restored.equals(Buffer.concat([sample, Buffer.from("tail"), sample])))
    }))

  it.effect("codec failures become CompressionError (corrupt and truncated input)", () =>
    Effect.gen(function*() {
      const corrupt = yield* Effect.flip(collect(decompress(Stream.make(sample.subarray(0, 1000)))))
      assert.strictEqual(corrupt._tag, "CompressionError")
      assert.strictEqual(corrupt.operation, "decompress")
      const compressed = yield* collect(compress(Stream.make(sample)))
      const truncated = yield* Effect.flip(collect(decompress(Stream.make(compressed.subarray(0, 100)))))
      assert.strictEqual(truncated._tag, "CompressionError")
    }))

  it.effect("input failures pass through unchanged", () =>
    Effect.gen(function*() {
      const input = Stream.concat(chunked(sample, 4096), Stream.fail(new InputError({ source: "test" })))
      const error = yield* Effect.flip(collect(compress(input)))
      assert.instanceOf(error, InputError)
    }))

  it.effect("respects back-pressure: a stalled consumer stops the input", () =>
    Effect.gen(function*() {
      let pulled = 0
      const input = Stream.repeatEffect(Effect.sync(() => {
        pulled++
        return randomBytes(16_384)
      }))
      const first = yield* Stream.runHead(compress(input))
      assert.isTrue(Option.isSome(first))
      const after = pulled
      for (let i = 0; i < 20; i++) yield* Effect.sleep(0).pipe(Effect.zipRight(Effect.yieldNow()))
      // The head needed about one 128 KiB block; the writer stopped when the output was dropped.
      assert.isBelow(after, 64)
      assert.strictEqual(pulled, after)
    }))

  it.live("interruption destroys the transform", () =>
    Effect.gen(function*() {
      let transform: Duplex | undefined
      const started = yield* Deferred.make<void>()
      let pulled = 0
      const input = Stream.repeatEffect(Effect.suspend(() => {
        pulled++
        return pulled === 5 ? Effect.as(Deferred.succeed(started, undefined), sample) : Effect.succeed(sample)
      }))
      const stream = transformNode(input, "compress", () => (transform = new CompressStream()))
      const fiber = yield* Effect.fork(Stream.runDrain(stream))
      yield* Deferred.await(started)
      yield* Fiber.interrupt(fiber)
      assert.isTrue(Exit.isInterrupted(yield* Fiber.await(fiber)))
      assert.isTrue(transform?.destroyed)
    }))
})
