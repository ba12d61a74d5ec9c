/**
 * The zstd frame scanner behind the `node:zlib` decoder (`internal/zstdFrames.ts`): it must find every frame
 * boundary whatever the frame's options (checksum, content size, block types) and wherever the input is cut into
 * chunks, drop skippable frames, and tell when the input ends inside a frame. zstd-napi makes the frames and its
 * `findFrameCompressedSize` is the oracle.
 */
import { assert, describe, it } from "@effect/vitest"
import * as Frames from "@objectstore/client/internal/zstdFrames"
import * as FastCheck from "effect/FastCheck"
import { createRequire } from "node:module"

const require = createRequire(import.meta.url)
const napi = (() => {
  try {
    return {
      zstd: require("zstd-napi") as {
        Compressor: new() => {
          setParameters(parameters: Record<string, number | boolean>): void
          compress(data: Uint8Array): Uint8Array
        }
      },
      binding: require("zstd-napi/binding.js") as { findFrameCompressedSize(frame: Uint8Array): number }
    }
  } catch {
    return undefined
  }
})()

const payload = FastCheck.oneof(
  FastCheck.constant(new Uint8Array(0)),
  FastCheck.uint8Array({ maxLength: 2000 }), // mostly raw blocks
  FastCheck.integer({ min: 1, max: 300_000 }).map((n) => new Uint8Array(n)), // RLE, several blocks
  FastCheck.integer({ min: 1, max: 200_000 }).map((n) => new TextEncoder().encode("objectstore ".repeat(n / 12 + 1)))
)

const frameOptions = FastCheck.record({
  compressionLevel: FastCheck.integer({ min: 1, max: 9 }),
  checksumFlag: FastCheck.boolean(),
  contentSizeFlag: FastCheck.boolean()
})

const skippable = (magicLow: number, data: Uint8Array) => {
  const frame = new Uint8Array(8 + data.length)
  frame.set([0x50 | magicLow, 0x2a, 0x4d, 0x18])
  new DataView(frame.buffer).setUint32(4, data.length, true)
  frame.set(data, 8)
  return frame
}

const concat = (parts: ReadonlyArray<Uint8Array>) => {
  const out = new Uint8Array(parts.reduce((n, part) => n + part.length, 0))
  let offset = 0
  for (const part of parts) {
    out.set(part, offset)
    offset += part.length
  }
  return out
}

/** Runs the scanner over `input` cut at `cuts`; returns the frames it delimited and whether it ended between frames. */
const scan = (input: Uint8Array, cuts: ReadonlyArray<number>) => {
  const scanner = Frames.make()
  const frames: Array<Uint8Array> = []
  let open: Array<Uint8Array> = []
  const points = [...new Set(cuts.map((cut) => cut % (input.length + 1)))].sort((a, b) => a - b)
  let previous = 0
  for (const end of [...points, input.length]) {
    for (const segment of scanner.split(input.subarray(previous, end))) {
      open.push(segment.bytes.slice())
      if (segment.endsFrame) {
        frames.push(concat(open))
        open = []
      }
    }
    previous = end
  }
  return { frames, open: concat(open), atBoundary: scanner.atBoundary() }
}

describe.skipIf(napi === undefined)("zstd frame scanner", () => {
  const compress = (data: Uint8Array, options: Record<string, number | boolean>) => {
    const compressor = new napi!.zstd.Compressor()
    compressor.setParameters(options)
    return compressor.compress(data)
  }

  it.prop(
    "finds every frame whatever its options and the chunk boundaries; skippable frames are dropped",
    [
      FastCheck.array(
        FastCheck.oneof(
          FastCheck.tuple(payload, frameOptions).map(([data, options]) => ({ skip: false, data, options })),
          FastCheck.tuple(FastCheck.integer({ min: 0, max: 15 }), FastCheck.uint8Array({ maxLength: 40 })).map((
            [low, data]
          ) => ({ skip: true, data, low }))
        ),
        { maxLength: 6 }
      ),
      FastCheck.array(FastCheck.nat(), { maxLength: 30 })
    ],
    ([specs, cuts]) => {
      const parts = specs.map((spec) =>
        "low" in spec ? skippable(spec.low, spec.data) : compress(spec.data, spec.options)
      )
      const zstdFrames = parts.filter((_, i) => !specs[i]!.skip)
      for (const frame of zstdFrames) assert.strictEqual(napi!.binding.findFrameCompressedSize(frame), frame.length)
      const input = concat(parts)
      const result = scan(input, cuts)
      assert.isTrue(result.atBoundary)
      assert.strictEqual(result.open.length, 0)
      assert.deepStrictEqual(
        result.frames.map((frame) => Buffer.from(frame).toString("hex")),
        zstdFrames.map((frame) => Buffer.from(frame).toString("hex"))
      )
    },
    { fastCheck: { numRuns: 150 } }
  )

  it("an input cut anywhere inside a frame does not end at a boundary; at a frame's end it does", () => {
    const first = compress(new TextEncoder().encode("first frame, ".repeat(100)), { checksumFlag: true })
    const second = compress(new Uint8Array(200_000), { checksumFlag: false, contentSizeFlag: false })
    const both = concat([first, skippable(3, new Uint8Array([1, 2, 3])), second])
    const boundaries = new Set([0, first.length, first.length + 11, both.length])
    for (let cut = 0; cut <= both.length; cut++) {
      const result = scan(both.subarray(0, cut), [cut >> 1])
      assert.strictEqual(result.atBoundary, boundaries.has(cut), `cut at ${cut}`)
    }
  })

  it("bytes that are not zstd frames are refused", () => {
    assert.throws(() => Frames.make().split(new TextEncoder().encode("plain text")), /not zstd data/)
    const reserved = compress(new Uint8Array(10), {})
    reserved[4] = reserved[4]! | 0x08
    assert.throws(() => Frames.make().split(reserved), /reserved bit/)
  })
})
