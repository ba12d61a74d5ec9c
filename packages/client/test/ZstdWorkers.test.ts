/**
 * zstd-napi with a background worker (`ZSTD_c_nbWorkers`), the streamed compress where the machine has a second
 * core: one valid frame that any decoder reads back, produced while the input is still being read (not buffered
 * whole), and small bodies compressed in one call on the calling thread as before.
 */
import { assert, describe, it } from "@effect/vitest"
import { fzstdBackend, loadNapi, napiBackend, type NapiBinding } from "@objectstore/client/internal/zstd"
import * as ZstdFrames from "@objectstore/client/internal/zstdFrames"
import * as Chunk from "effect/Chunk"
import * as Effect from "effect/Effect"
import * as Stream from "effect/Stream"
import { randomBytes } from "node:crypto"

const KiB = 1024
const MiB = 1024 * KiB

/** Semi-compressible bytes: text with random runs, so each job has real work and the ratio is about 3x. */
const payload = (size: number): Uint8Array => {
  const out = new Uint8Array(size)
  const words = new TextEncoder().encode("request completed upstream timeout retrying cache miss hit stored ")
  for (let offset = 0; offset < size; offset += 4 * KiB) {
    const noise = randomBytes(256)
    for (let i = 0; i < 4 * KiB && offset + i < size; i++) {
      out[offset + i] = i < 256 ? noise[i]! : words[(offset / 7 + i * 13) % words.length]!
    }
  }
  return out
}

const LARGE = payload(7 * MiB + 123)

const slices = (bytes: Uint8Array, size: number): Array<Uint8Array> => {
  const out: Array<Uint8Array> = []
  for (let offset = 0; offset < bytes.length; offset += size) out.push(bytes.subarray(offset, offset + size))
  return out
}

const frames = (bytes: Uint8Array): number => {
  const scanner = ZstdFrames.make()
  const segments = scanner.split(bytes)
  assert.isTrue(scanner.atBoundary())
  return segments.filter((segment) => segment.endsFrame).length
}

const concat = (chunks: Chunk.Chunk<Uint8Array>) => Buffer.concat(Chunk.toReadonlyArray(chunks))

describe("zstd-napi with a background worker", () => {
  it.effect(
    "a streamed body larger than several jobs is one frame that zstd-napi and fzstd decode",
    () =>
      Effect.gen(function*() {
        const binding: NapiBinding = yield* loadNapi
        const input = LARGE
        for (const workers of [2, 1, 0]) {
          const backend = napiBackend(binding, workers)
          const compressed = concat(
            yield* Stream.runCollect(backend.compress(Stream.fromIterable(slices(input, 100 * KiB))))
          )
          assert.strictEqual(frames(compressed), 1, `workers ${workers}`)
          assert.isTrue(compressed.length < input.length / 2, `workers ${workers}: ${compressed.length} bytes`)
          assert.isTrue(Buffer.from(backend.decompressSync!(compressed)).equals(input), `workers ${workers}: napi`)
          assert.isTrue(
            Buffer.from(fzstdBackend.decompressSync!(compressed)).equals(input),
            `workers ${workers}: fzstd`
          )
        }
      }),
    { timeout: 60_000 }
  )

  it.effect(
    "output flows while the input is still being read (the body is not gathered whole)",
    () =>
      Effect.gen(function*() {
        const binding = yield* loadNapi
        const backend = napiBackend(binding, 2)
        const piece = LARGE.subarray(0, 256 * KiB)
        let pulled = 0
        const input = Stream.repeatEffect(Effect.sync(() => {
          pulled += piece.length
          return piece
        })).pipe(Stream.take(128)) // 32 MiB
        const first = yield* backend.compress(input).pipe(Stream.take(1), Stream.runCollect)
        assert.strictEqual(Chunk.size(first), 1)
        // The first output comes out after a few jobs' worth of input (2 MiB jobs), not after all 32 MiB.
        assert.isTrue(pulled <= 12 * MiB, `read ${pulled / MiB} MiB before the first output`)
      }),
    { timeout: 60_000 }
  )

  it.effect(
    "an empty, a one-byte (compressed on the calling thread) and a large stream make valid frames; contexts are reused",
    () =>
      Effect.gen(function*() {
        const binding = yield* loadNapi
        const backend = napiBackend(binding, 2)
        for (let round = 0; round < 3; round++) {
          for (const input of [new Uint8Array(0), new Uint8Array([round]), LARGE.subarray(round, 3 * MiB)]) {
            const compressed = concat(
              yield* Stream.runCollect(backend.compress(Stream.fromIterable(slices(input, 64 * KiB))))
            )
            assert.strictEqual(frames(compressed), 1)
            assert.isTrue(Buffer.from(backend.decompressSync!(compressed)).equals(input))
          }
        }
      }),
    { timeout: 60_000 }
  )
})
