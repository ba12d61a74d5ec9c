import { assert, describe, it } from "@effect/vitest"
import * as Compression from "@objectstore/client/Compression"
import { CompressionError } from "@objectstore/client/ObjectstoreError"
import * as Chunk from "effect/Chunk"
import * as Data from "effect/Data"
import * as Deferred from "effect/Deferred"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Fiber from "effect/Fiber"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as Stream from "effect/Stream"
import { spawnSync } from "node:child_process"
import { createHash, randomBytes } from "node:crypto"
import * as fs from "node:fs"
import * as path from "node:path"
import * as v8 from "node:v8"
import * as vm from "node:vm"
import * as zlib from "node:zlib"
import { tempDirSync } from "../../../test/support.js"

const zlibHasZstd = typeof (zlib as unknown as Record<string, unknown>).createZstdCompress === "function"

/** Splits `bytes` into pieces of `size` bytes (a stream of many small chunks). */
const chunked = (bytes: Uint8Array, size: number): Stream.Stream<Uint8Array> => {
  const pieces: Array<Uint8Array> = []
  for (let offset = 0; offset < bytes.length; offset += size) pieces.push(bytes.slice(offset, offset + size))
  return Stream.fromIterable(pieces)
}

const collect = <E>(stream: Stream.Stream<Uint8Array, E>) =>
  Effect.map(Stream.runCollect(stream), (chunks) => Buffer.concat(Chunk.toReadonlyArray(chunks)))

/** Compressible text-like data of `size` bytes. */
const text = (size: number): Uint8Array => {
  const words = ["object", "store", "zstd", "frame", "usecase", "scope", "key", "attachments", "42", "\n"]
  const out = Buffer.alloc(size)
  let offset = 0
  let state = 7
  while (offset < size) {
    state = (state * 1103515245 + 12345) >>> 0
    offset += out.write(words[state % words.length]! + " ", offset)
  }
  return out
}

const zstdCli = (args: ReadonlyArray<string>, input?: Uint8Array): Buffer => {
  const result = spawnSync("/usr/bin/zstd", [...args], {
    ...(input === undefined ? {} : { input }),
    maxBuffer: 256 * 1024 * 1024
  })
  if (result.status !== 0) throw new Error(`zstd ${args.join(" ")} failed: ${result.stderr.toString()}`)
  return result.stdout
}

const hasZstdCli = fs.existsSync("/usr/bin/zstd")

class InputError extends Data.TaggedError("InputError")<{ readonly at: number }> {}

interface Codec {
  readonly name: Compression.Implementation
  readonly available: boolean
  /** The service under test. */
  readonly service: Effect.Effect<Compression.Service, CompressionError>
  /** A service that can compress, to produce inputs for `service.decompress` (itself unless it is fzstd). */
  readonly encoder: Effect.Effect<Compression.Service, CompressionError>
}

const codecs: ReadonlyArray<Codec> = [
  { name: "zstd-napi", available: true, service: Compression.makeZstdNapi, encoder: Compression.makeZstdNapi },
  { name: "node:zlib", available: zlibHasZstd, service: Compression.makeNodeZlib, encoder: Compression.makeNodeZlib },
  { name: "fzstd", available: true, service: Effect.succeed(Compression.fzstd), encoder: Compression.makeZstdNapi },
  // The browsers' codec (WebAssembly compression, fzstd decompression), forced here so every run tests it.
  { name: "wasm", available: true, service: Compression.makeWasm, encoder: Compression.makeWasm }
]

const payloads: ReadonlyArray<readonly [string, Uint8Array, number]> = [
  ["empty", new Uint8Array(0), 1024],
  ["one byte", new Uint8Array([42]), 1024],
  ["small text", new TextEncoder().encode("hello, objectstore!"), 4],
  ["3 MiB of text in 64 KiB chunks", text(3 * 1024 * 1024), 65536],
  ["1 MiB of text in odd 1000-byte chunks", text(1024 * 1024), 1000],
  ["2 MiB of random bytes", randomBytes(2 * 1024 * 1024), 65536],
  ["1 MiB of zeros in one chunk", new Uint8Array(1024 * 1024), 1024 * 1024]
]

for (const codec of codecs) {
  describe.skipIf(!codec.available)(`Compression (${codec.name})`, () => {
    it.effect("reports its implementation", () =>
      Effect.gen(function*() {
        const service = yield* codec.service
        assert.strictEqual(service.implementation, codec.name)
      }))

    for (const [name, payload, size] of payloads) {
      it.effect(`round trip: ${name}`, () =>
        Effect.gen(function*() {
          const service = yield* codec.service
          const encoder = yield* codec.encoder
          const compressed = yield* collect(encoder.compress(chunked(payload, size)))
          const restored = yield* collect(service.decompress(chunked(compressed, 777)))
          assert.strictEqual(restored.length, payload.length)
          assert.isTrue(restored.equals(payload))
        }))
    }

    it.effect("compressBytes / decompressBytes: whole bodies in one call, same bytes as the streams", () =>
      Effect.gen(function*() {
        const service = yield* codec.service
        const encoder = yield* codec.encoder
        assert.isDefined(service.decompressBytes)
        for (const [name, payload] of payloads) {
          const compressed = yield* Compression.compressBytes(encoder, payload)
          // One frame with its content size: the `zstd` tool and the streaming decoder read it.
          const streamed = yield* collect(service.decompress(chunked(compressed, 1000)))
          assert.isTrue(streamed.equals(payload), `${name}: streamed`)
          const restored = yield* Compression.decompressBytes(service, compressed)
          assert.isTrue(Buffer.from(restored).equals(payload), `${name}: whole`)
        }
        // Frames made by the stream encoder (no content size), concatenated.
        const parts = [text(70_000), new Uint8Array(0), randomBytes(3000)]
        const frames = yield* Effect.forEach(parts, (part) => collect(encoder.compress(chunked(part, 4096))))
        const restored = yield* Compression.decompressBytes(service, Buffer.concat(frames))
        assert.isTrue(Buffer.from(restored).equals(Buffer.concat(parts)))
        // Frames with their content size, concatenated: all of them, not the first alone.
        const sized = yield* Effect.forEach(parts, (part) => Compression.compressBytes(encoder, part))
        const whole = yield* Compression.decompressBytes(service, Buffer.concat(sized))
        assert.isTrue(Buffer.from(whole).equals(Buffer.concat(parts)))
      }))

    it.effect("decompressBytes fails with CompressionError on corrupt or truncated data, and the next call works", () =>
      Effect.gen(function*() {
        const service = yield* codec.service
        const encoder = yield* codec.encoder
        const payload = text(200_000)
        const compressed = yield* Compression.compressBytes(encoder, payload)
        for (const bad of [text(4096), compressed.subarray(0, 10), compressed.subarray(0, compressed.length - 1)]) {
          const error = yield* Effect.flip(Compression.decompressBytes(service, bad))
          assert.instanceOf(error, CompressionError)
          assert.strictEqual(error.operation, "decompress")
          // A context pooled after a failure mid-frame starts clean.
          const restored = yield* Compression.decompressBytes(service, compressed)
          assert.isTrue(Buffer.from(restored).equals(payload))
        }
      }))

    it.effect("pooled contexts: streams and one-shot calls interleaved give the right bytes", () =>
      Effect.gen(function*() {
        if (codec.name === "fzstd") return
        const service = yield* codec.service
        const inputs = Array.from({ length: 20 }, (_, i) => text(1000 + i * 5000))
        const results = yield* Effect.forEach(
          inputs,
          (input, i) =>
            i % 2 === 0
              ? collect(service.compress(chunked(input, 4096)))
              : Compression.compressBytes(service, input),
          { concurrency: 8 }
        )
        // An abandoned stream returns its context mid-frame: the next user must not continue that frame.
        yield* Stream.runHead(service.compress(Stream.make(randomBytes(512 * 1024), randomBytes(512 * 1024))))
        for (const [i, result] of results.entries()) {
          const restored = yield* collect(service.decompress(Stream.make(result)))
          assert.isTrue(restored.equals(inputs[i]!), `input ${i}`)
        }
        const again = yield* Compression.compressBytes(service, inputs[3]!)
        assert.isTrue((yield* collect(service.decompress(Stream.make(again)))).equals(inputs[3]!))
      }))

    it.effect("decompresses several concatenated frames (and an empty frame among them)", () =>
      Effect.gen(function*() {
        const service = yield* codec.service
        const encoder = yield* codec.encoder
        const parts = [text(100_000), new Uint8Array(0), randomBytes(5000), text(300)]
        const frames = yield* Effect.forEach(parts, (part) => collect(encoder.compress(chunked(part, 4096))))
        const joined = Buffer.concat(frames)
        for (const size of [1, 13, 65536]) {
          const restored = yield* collect(service.decompress(chunked(joined, size)))
          assert.isTrue(restored.equals(Buffer.concat(parts)), `chunk size ${size}`)
        }
      }))

    it.effect("decompresses an empty input to an empty output", () =>
      Effect.gen(function*() {
        const service = yield* codec.service
        assert.strictEqual((yield* collect(service.decompress(Stream.empty))).length, 0)
        assert.strictEqual((yield* collect(service.decompress(Stream.make(new Uint8Array(0))))).length, 0)
      }))

    it.effect("fails with CompressionError on data that is not zstd", () =>
      Effect.gen(function*() {
        const service = yield* codec.service
        const error = yield* Effect.flip(collect(service.decompress(Stream.make(text(4096)))))
        assert.instanceOf(error, CompressionError)
        assert.strictEqual(error.operation, "decompress")
        assert.isNotEmpty(error.detail)
      }))

    it.effect("fails with CompressionError on a corrupt frame header", () =>
      Effect.gen(function*() {
        const service = yield* codec.service
        const encoder = yield* codec.encoder
        const compressed = yield* collect(encoder.compress(Stream.make(text(50_000))))
        compressed[1] ^= 0xff // the magic number
        const error = yield* Effect.flip(collect(service.decompress(chunked(compressed, 1000))))
        assert.strictEqual(error._tag, "CompressionError")
      }))

    it.effect("fails with CompressionError on a truncated frame, wherever it is cut", () =>
      Effect.gen(function*() {
        const service = yield* codec.service
        const encoder = yield* codec.encoder
        const compressed = yield* collect(encoder.compress(chunked(text(400_000), 65536)))
        for (const length of [3, 10, 100, Math.floor(compressed.length / 2), compressed.length - 1]) {
          const exit = yield* Effect.exit(collect(service.decompress(chunked(compressed.subarray(0, length), 4096))))
          assert.isTrue(Exit.isFailure(exit), `cut at ${length}`)
          const error = yield* Effect.flip(exit)
          assert.strictEqual(error._tag, "CompressionError", `cut at ${length}`)
        }
      }))

    it.effect("passes input errors through unchanged", () =>
      Effect.gen(function*() {
        const service = yield* codec.service
        const encoder = yield* codec.encoder
        const compressed = yield* collect(encoder.compress(Stream.make(text(200_000))))
        const failing = <A>(stream: Stream.Stream<A>) => Stream.concat(stream, Stream.fail(new InputError({ at: 1 })))
        const decompressError = yield* Effect.flip(collect(service.decompress(failing(chunked(compressed, 1000)))))
        assert.instanceOf(decompressError, InputError)
        if (codec.name !== "fzstd") {
          const compressError = yield* Effect.flip(collect(service.compress(failing(chunked(text(200_000), 1000)))))
          assert.instanceOf(compressError, InputError)
        }
      }))

    it.effect("is lazy: nothing is read from the input before the output is pulled", () =>
      Effect.gen(function*() {
        const service = yield* codec.service
        const encoder = yield* codec.encoder
        const compressed = yield* collect(encoder.compress(Stream.make(randomBytes(4 * 1024 * 1024))))
        let pulled = 0
        const input = chunked(compressed, 1024).pipe(Stream.tap(() => Effect.sync(() => pulled++)))
        const first = yield* Stream.runHead(service.decompress(input))
        assert.isTrue(Option.isSome(first))
        // The first output needs about one 128 KiB block of the ~4096 KiB of input, not all of it.
        assert.isAbove(pulled, 0)
        assert.isBelow(pulled, 512)
      }))

    it.effect("interruption stops the codec and its input", () =>
      Effect.gen(function*() {
        const service = yield* codec.service
        const encoder = yield* codec.encoder
        const frame = yield* collect(encoder.compress(Stream.make(text(8192))))
        const operations = [
          ["compress", (input: Stream.Stream<Uint8Array>) => service.compress(input), text(8192)],
          ["decompress", (input: Stream.Stream<Uint8Array>) => service.decompress(input), frame]
        ] as const
        for (const [name, run, chunk] of operations) {
          if (name === "compress" && codec.name === "fzstd") continue
          const started = yield* Deferred.make<void>()
          let pulled = 0
          const endless = Stream.repeatEffect(Effect.suspend(() => {
            pulled++
            return pulled === 10 ? Effect.as(Deferred.succeed(started, undefined), chunk) : Effect.succeed(chunk)
          }))
          const fiber = yield* Effect.fork(Stream.runDrain(run(endless)))
          yield* Deferred.await(started)
          yield* Fiber.interrupt(fiber)
          const after = pulled
          for (let i = 0; i < 10; i++) yield* Effect.yieldNow()
          assert.strictEqual(pulled, after, name)
          assert.isTrue(Exit.isInterrupted(yield* Fiber.await(fiber)), name)
        }
      }))
  })
}

describe("Compression (fzstd encoder)", () => {
  it.effect("compress fails with CompressionError: no encoder", () =>
    Effect.gen(function*() {
      const error = yield* Effect.flip(collect(Compression.fzstd.compress(Stream.make(text(10)))))
      assert.strictEqual(error._tag, "CompressionError")
      assert.strictEqual(error.operation, "compress")
      assert.strictEqual(error.detail, "no zstd encoder available in this runtime")
    }))
})

describe("Compression layers", () => {
  it.effect("layer picks the best implementation available", () =>
    Effect.gen(function*() {
      const service = yield* Compression.Compression
      assert.strictEqual(service.implementation, zlibHasZstd ? "node:zlib" : "zstd-napi")
    }).pipe(Effect.provide(Compression.layer)))

  it.effect("layerNodeZlib fails to build with a clear CompressionError without node:zlib zstd", () =>
    Effect.gen(function*() {
      const exit = yield* Effect.exit(Layer.build(Compression.layerNodeZlib).pipe(Effect.scoped))
      if (zlibHasZstd) {
        assert.isTrue(Exit.isSuccess(exit))
      } else {
        const error = yield* Effect.flip(exit)
        assert.strictEqual(error._tag, "CompressionError")
        assert.include(error.detail, "node:zlib has no zstd")
      }
    }))

  it.effect("layerZstdNapi and layerFzstd provide their implementation", () =>
    Effect.gen(function*() {
      const napi = yield* Effect.provide(Compression.Compression, Compression.layerZstdNapi)
      const fzstd = yield* Effect.provide(Compression.Compression, Compression.layerFzstd)
      assert.strictEqual(napi.implementation, "zstd-napi")
      assert.strictEqual(fzstd.implementation, "fzstd")
    }))
})

describe.skipIf(!hasZstdCli)("Compression interop with the zstd command-line tool", () => {
  const tmp = tempDirSync("zstd")
  const encoders = codecs.filter((codec) => codec.available && codec.name !== "fzstd")
  const decoders = codecs.filter((codec) => codec.available)

  for (const codec of encoders) {
    it.effect(`${codec.name} output → zstd -d equals the input (one frame, level 3)`, () =>
      Effect.gen(function*() {
        const service = yield* codec.service
        for (const payload of [new Uint8Array(0), text(1_500_000), randomBytes(300_000)]) {
          const compressed = yield* collect(service.compress(chunked(payload, 10_000)))
          assert.isTrue(zstdCli(["-d", "-c"], compressed).equals(payload))
          const file = path.join(tmp, `${codec.name.replace(":", "-")}-${payload.length}.zst`)
          fs.writeFileSync(file, compressed)
          const listing = zstdCli(["-l", "-v", file]).toString()
          assert.match(listing, /# Zstandard Frames: 1\b/)
        }
      }))
  }

  for (const codec of decoders) {
    it.effect(`zstd output (default, -19, --no-check, concatenated files) → ${codec.name} decompress`, () =>
      Effect.gen(function*() {
        const service = yield* codec.service
        const a = text(700_000)
        const b = randomBytes(100_000)
        const fileA = path.join(tmp, `a-${codec.name.replace(":", "-")}`)
        const fileB = path.join(tmp, `b-${codec.name.replace(":", "-")}`)
        fs.writeFileSync(fileA, a)
        fs.writeFileSync(fileB, b)
        const cases: ReadonlyArray<readonly [ReadonlyArray<string>, Uint8Array]> = [
          [["-c", "-q", fileA], a],
          [["-19", "-c", "-q", fileA], a],
          [["--no-check", "-c", "-q", fileA], a],
          [["-c", "-q", fileA, fileB], Buffer.concat([a, b])],
          [["-1", "--no-check", "-c", "-q", fileB, fileA, fileB], Buffer.concat([b, a, b])]
        ]
        for (const [args, expected] of cases) {
          const compressed = zstdCli(args)
          const restored = yield* collect(service.decompress(chunked(compressed, 8192)))
          assert.isTrue(restored.equals(expected), args.join(" "))
        }
        // A compressed empty payload is a valid frame.
        const empty = zstdCli(["-c", "-q"], new Uint8Array(0))
        assert.strictEqual((yield* collect(service.decompress(Stream.make(empty)))).length, 0)
      }))
  }

  // fzstd (also the WebAssembly service's decoder) does not verify the frame checksum.
  for (const codec of decoders.filter((codec) => codec.name !== "fzstd" && codec.name !== "wasm")) {
    it.effect(`${codec.name} detects a corrupt payload through the frame checksum`, () =>
      Effect.gen(function*() {
        const service = yield* codec.service
        const payload = text(200_000)
        const compressed = zstdCli(["-c", "-q", "--check"], payload)
        compressed[Math.floor(compressed.length / 2)] ^= 0x55
        const error = yield* Effect.flip(collect(service.decompress(chunked(compressed, 4096))))
        assert.strictEqual(error._tag, "CompressionError")
      }))
  }
})

describe("Compression of a large stream", () => {
  const CHUNK = 64 * 1024
  /** `count` fresh 64 KiB chunks of partly compressible data, generated as they are pulled. */
  const generated = (count: number) => {
    const half = text(CHUNK / 2)
    return Stream.range(1, count, 1).pipe(
      Stream.map((i) => {
        // Half text (repeated, compressible), half fresh random bytes (incompressible).
        const chunk = Buffer.concat([half, randomBytes(CHUNK / 2)])
        chunk.writeUInt32LE(i, 0)
        return new Uint8Array(chunk.buffer, chunk.byteOffset, chunk.length)
      })
    )
  }
  // Measure live memory, not garbage the collector has not reclaimed yet.
  v8.setFlagsFromString("--expose-gc")
  const gc = vm.runInNewContext("gc") as () => void
  const used = () => {
    gc()
    const usage = process.memoryUsage()
    return usage.heapUsed + usage.arrayBuffers
  }

  const roundTrip = (encoder: Compression.Service, decoder: Compression.Service, count: number) =>
    Effect.gen(function*() {
      const inputHash = createHash("sha256")
      const outputHash = createHash("sha256")
      let compressedBytes = 0
      let outputBytes = 0
      let peak = 0
      let pulls = 0
      const baseline = used()
      const compressed = encoder.compress(
        generated(count).pipe(Stream.tap((chunk) => Effect.sync(() => inputHash.update(chunk))))
      ).pipe(Stream.tap((chunk) => Effect.sync(() => compressedBytes += chunk.length)))
      yield* decoder.decompress(compressed).pipe(
        Stream.runForEach((chunk) =>
          Effect.sync(() => {
            outputHash.update(chunk)
            outputBytes += chunk.length
            if (++pulls % 64 === 0) peak = Math.max(peak, used() - baseline)
          })
        )
      )
      peak = Math.max(peak, used() - baseline)
      assert.strictEqual(outputBytes, count * CHUNK)
      assert.strictEqual(outputHash.digest("hex"), inputHash.digest("hex"))
      assert.isBelow(compressedBytes, outputBytes)
      return peak
    })

  it.effect("128 MiB round trip through zstd-napi keeps memory bounded", () =>
    Effect.gen(function*() {
      const napi = yield* Compression.makeZstdNapi
      const peak = yield* roundTrip(napi, napi, 2048)
      assert.isBelow(peak, 64 * 1024 * 1024)
    }))

  it.effect("64 MiB through zstd-napi then fzstd keeps memory bounded", () =>
    Effect.gen(function*() {
      const napi = yield* Compression.makeZstdNapi
      const peak = yield* roundTrip(napi, Compression.fzstd, 1024)
      assert.isBelow(peak, 64 * 1024 * 1024)
    }))
})
