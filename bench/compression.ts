/**
 * Compression alone: the client's `Compression` layer (as `Compression.layer` picks it: zstd-napi on Node 20,
 * node:zlib where it has zstd) against the native codec it wraps, driven directly, and against `fzstd` for
 * decompression. MiB/s of uncompressed bytes; no network.
 *
 * - compress: 256 KiB slices in (as `Session.put` slices a byte array), one zstd frame (level 3) out;
 * - decompress: that frame in 64 KiB chunks (as undici delivers a response body), bytes out.
 *
 * The layer gets one buffer per stream `Chunk`, as a response body delivers them (`Stream.fromIterable` would hand
 * it thousands of buffers in one Chunk and hide the cost per chunk). Besides MiB/s (wall time), the notes give the
 * CPU time per MiB of each side (`process.cpuUsage`), which a shared machine disturbs less.
 *
 * Baselines: zstd-napi's Node stream classes (`CompressStream`/`DecompressStream`, the usual way to stream with it),
 * a bare loop over its low-level binding (`compressStream2`/`decompressStream` into one reused buffer, no copies:
 * the ceiling), and fzstd's streaming `Decompress` (what `Compression.layerFzstd` wraps).
 *
 *   node --import tsx bench/compression.ts [--quick]
 */
import * as Compression from "@objectstore/client/Compression"
import * as Chunk from "effect/Chunk"
import * as Effect from "effect/Effect"
import * as Stream from "effect/Stream"
import { Decompress } from "fzstd"
import { createRequire } from "node:module"
import { Readable } from "node:stream"
import * as zstd from "zstd-napi"
import { semiCompressible, slices } from "./lib/data.js"
import { compareHigher, emit, interleave, median, MiB, progress, quick, type Result, timed } from "./lib/harness.js"

const binding = createRequire(import.meta.url)("zstd-napi/binding") as {
  CCtx: new() => {
    setParameter(p: number, v: number): void
    compressStream2(dst: Uint8Array, src: Uint8Array, end: number): [number, number, number]
  }
  DCtx: new() => { decompressStream(dst: Uint8Array, src: Uint8Array): [number, number, number] }
  CParameter: { compressionLevel: number }
  EndDirective: { continue: number; end: number }
  cStreamOutSize(): number
  dStreamOutSize(): number
}

const SIZE = (quick ? 16 : 64) * MiB
const repetitions = quick ? 3 : 5
const warmup = 1

const DATA = semiCompressible(SIZE, 31)
const IN = slices(DATA, 256 * 1024)
const FRAME = zstd.compress(DATA, { compressionLevel: 3 })
const FRAME_IN = slices(FRAME, 64 * 1024)

const rate = (millis: number) => SIZE / MiB / (millis / 1000)

/** One buffer per Chunk, as `Stream.fromReadable` delivers a response body. */
const oneByOne = (buffers: ReadonlyArray<Uint8Array>): Stream.Stream<Uint8Array> =>
  Stream.fromChunks(...buffers.map((buffer) => Chunk.of(buffer)))

/** CPU milliseconds per MiB of payload, per measured function (warm-up included; medians are reported). */
const cpuSamples = new Map<() => Promise<number>, Array<number>>()
const withCpu = (run: () => Promise<number>): () => Promise<number> => {
  const samples: Array<number> = []
  const measured = async () => {
    const start = process.cpuUsage()
    const result = await run()
    const used = process.cpuUsage(start)
    samples.push((used.user + used.system) / 1000 / (SIZE / MiB))
    return result
  }
  cpuSamples.set(measured, samples)
  return measured
}
const check = (label: string, bytes: number, expected: number) => {
  if (bytes !== expected) throw new Error(`${label}: ${bytes} bytes, expected ${expected}`)
}

const count = <E>(stream: Stream.Stream<Uint8Array, E>) =>
  Effect.runPromise(Stream.runFold(stream, 0, (total, chunk) => total + chunk.length) as Effect.Effect<number>)

const layerCompress = (service: Compression.Service) => () =>
  timed(async () => {
    const out = await count(service.compress(oneByOne(IN)))
    if (out < 100 || out > SIZE) throw new Error(`compress: ${out} bytes`)
  }).then(rate)

const layerDecompress = (service: Compression.Service) => () =>
  timed(async () => check("decompress", await count(service.decompress(oneByOne(FRAME_IN))), SIZE)).then(
    rate
  )

const nodeStream = async (input: ReadonlyArray<Uint8Array>, transform: NodeJS.ReadWriteStream) => {
  let total = 0
  for await (const chunk of Readable.from(input).pipe(transform)) total += (chunk as Uint8Array).length
  return total
}

const streamCompress = () => timed(() => nodeStream(IN, new zstd.CompressStream({ compressionLevel: 3 }))).then(rate)
const streamDecompress = () =>
  timed(async () => check("DecompressStream", await nodeStream(FRAME_IN, new zstd.DecompressStream()), SIZE)).then(
    rate
  )

const bindingCompress = () =>
  timed(async () => {
    const cctx = new binding.CCtx()
    cctx.setParameter(binding.CParameter.compressionLevel, 3)
    const out = new Uint8Array(binding.cStreamOutSize())
    let total = 0
    for (const slice of IN) {
      let input = slice
      while (input.length > 0) {
        const [, produced, consumed] = cctx.compressStream2(out, input, binding.EndDirective.continue)
        total += produced
        input = input.subarray(consumed)
      }
    }
    for (;;) {
      const [remaining, produced] = cctx.compressStream2(out, new Uint8Array(0), binding.EndDirective.end)
      total += produced
      if (remaining === 0) break
    }
    if (total < 100) throw new Error("binding compress")
  }).then(rate)

const bindingDecompress = () =>
  timed(async () => {
    const dctx = new binding.DCtx()
    const out = new Uint8Array(binding.dStreamOutSize())
    let total = 0
    for (const slice of FRAME_IN) {
      let input = slice
      for (;;) {
        const [, produced, consumed] = dctx.decompressStream(out, input)
        total += produced
        input = input.subarray(consumed)
        if (input.length === 0 && produced < out.length) break
      }
    }
    check("binding decompress", total, SIZE)
  }).then(rate)

const fzstdDecompress = () =>
  timed(async () => {
    let total = 0
    const decoder = new Decompress((chunk) => {
      total += chunk.length
    })
    for (const slice of FRAME_IN) decoder.push(slice)
    decoder.push(new Uint8Array(0), true)
    check("fzstd", total, SIZE)
  }).then(rate)

const main = async () => {
  const service = await Effect.runPromise(Compression.make)
  const results: Array<Result> = []
  const cpuNotes: Array<string> = []
  const measure = async (name: string, sdk: () => Promise<number>, baseline: () => Promise<number>) => {
    const [sdkCpu, baselineCpu] = [withCpu(sdk), withCpu(baseline)]
    const result = compareHigher(name, "MiB/s", await interleave({ repetitions, warmup }, sdkCpu, baselineCpu))
    results.push(result)
    const cpu = [median(cpuSamples.get(sdkCpu)!), median(cpuSamples.get(baselineCpu)!)] as const
    cpuNotes.push(
      `${name}: CPU ${cpu[0].toFixed(2)} vs ${cpu[1].toFixed(2)} ms/MiB (ratio ${(cpu[1] / cpu[0]).toFixed(2)})`
    )
    progress(`${name}: ${result.median.toFixed(0)} vs ${result.baseline!.toFixed(0)} MiB/s; ${cpuNotes.at(-1)}`)
  }
  await measure(
    `compress (${service.implementation}) vs zstd-napi CompressStream`,
    layerCompress(service),
    streamCompress
  )
  await measure(
    `compress (${service.implementation}) vs zstd-napi binding loop`,
    layerCompress(service),
    bindingCompress
  )
  await measure(
    `decompress (${service.implementation}) vs zstd-napi DecompressStream`,
    layerDecompress(service),
    streamDecompress
  )
  await measure(
    `decompress (${service.implementation}) vs zstd-napi binding loop`,
    layerDecompress(service),
    bindingDecompress
  )
  await measure(`decompress (${service.implementation}) vs fzstd Decompress`, layerDecompress(service), fzstdDecompress)
  await measure("decompress (layerFzstd) vs fzstd Decompress", layerDecompress(Compression.fzstd), fzstdDecompress)
  emit("compression", results, [
    `${repetitions} interleaved repetitions after ${warmup} warm-up; ${SIZE / MiB} MiB semi-compressible payload, ` +
    `zstd level 3 ratio ${(SIZE / FRAME.length).toFixed(2)}x; MiB/s of uncompressed bytes`,
    "compress input: 256 KiB slices; decompress input: 64 KiB slices of one frame; one buffer per stream Chunk",
    "CPU time per MiB (layer vs baseline; ratio = baseline / layer, like the MiB/s ratio):",
    ...cpuNotes
  ])
}

main().catch((error) => {
  process.stderr.write(`${error instanceof Error ? error.stack : String(error)}\n`)
  process.exit(1)
})
