/**
 * The per-runtime part of `bench/compression-runtimes.ts`: measures, in whatever runtime loads it (Node, Bun, Deno,
 * a browser page), the codec `Compression.layer` picks there, the WebAssembly codec (`Compression.makeWasm`) and
 * fzstd (the decoder baseline), through the service API as the session uses it:
 *
 * - 1 KiB: `compressBytes` / `decompressBytes`, one `Effect.runPromise` per operation, µs per operation;
 * - a multi-MiB body: `compress` of 256 KiB slices, `decompress` of 64 KiB slices of the frame, one buffer per
 *   stream Chunk (as a body arrives), MB/s (10^6 bytes) of uncompressed bytes.
 *
 * Every repetition runs every codec, in a rotated order (interleaved, so drifts of a shared machine hit all alike);
 * figures are medians. Uses only what every runtime has (`performance`, `Effect`, the client).
 */
import * as Compression from "@objectstore/client/Compression"
import * as Chunk from "effect/Chunk"
import * as Effect from "effect/Effect"
import * as Stream from "effect/Stream"
import { semiCompressible } from "./data.js"

/** One measured figure of one codec. */
export interface Row {
  readonly codec: string
  readonly metric: "compress 1 KiB" | "decompress 1 KiB" | "compress large" | "decompress large"
  readonly unit: "µs/op" | "MB/s"
  readonly median: number
  readonly samples: ReadonlyArray<number>
}

export interface Options {
  /** Bytes of the large body. */
  readonly size: number
  readonly repetitions: number
  /** Operations per 1 KiB sample. */
  readonly ops: number
}

const slices = (bytes: Uint8Array, size: number): Array<Uint8Array> => {
  const out: Array<Uint8Array> = []
  for (let offset = 0; offset < bytes.length; offset += size) out.push(bytes.subarray(offset, offset + size))
  return out
}

const median = (values: ReadonlyArray<number>): number => {
  const sorted = [...values].sort((a, b) => a - b)
  const middle = sorted.length >> 1
  return sorted.length % 2 === 1 ? sorted[middle]! : (sorted[middle - 1]! + sorted[middle]!) / 2
}

const count = <E>(stream: Stream.Stream<Uint8Array, E>): Promise<number> =>
  Effect.runPromise(Stream.runFold(stream, 0, (total, chunk) => total + chunk.length) as Effect.Effect<number>)

const oneByOne = (buffers: ReadonlyArray<Uint8Array>): Stream.Stream<Uint8Array> =>
  Stream.fromChunks(...buffers.map((buffer) => Chunk.of(buffer)))

const time = async (body: () => Promise<unknown>): Promise<number> => {
  const start = performance.now()
  await body()
  return performance.now() - start
}

/** Runs the measurements; `label(service)` names the codec `Compression.layer` picked. */
export const run = async (options: Options): Promise<{ readonly picked: string; readonly rows: Array<Row> }> => {
  const picked = await Effect.runPromise(Compression.make)
  const wasm = await Effect.runPromise(Compression.makeWasm)
  const encoder = picked.implementation === "fzstd" ? wasm : picked
  const large = semiCompressible(options.size, 31)
  const small = large.subarray(0, 1024)
  const largeIn = slices(large, 256 * 1024)
  const frame = await Effect.runPromise(Compression.compressBytes(encoder, large))
  const frameIn = slices(frame, 64 * 1024)
  const smallFrame = await Effect.runPromise(Compression.compressBytes(encoder, small))

  type Task = { codec: string; metric: Row["metric"]; unit: Row["unit"]; once: () => Promise<number> }
  const perOp = (service: Compression.Service, operation: "compress" | "decompress") => async () => {
    const input = operation === "compress" ? small : smallFrame
    const call = operation === "compress" ? Compression.compressBytes : Compression.decompressBytes
    const millis = await time(async () => {
      for (let i = 0; i < options.ops; i++) await Effect.runPromise(call(service, input))
    })
    return millis * 1000 / options.ops
  }
  const rate = (millis: number) => options.size / 1e6 / (millis / 1000)
  const compressLarge = (service: Compression.Service) => async () =>
    rate(
      await time(async () => {
        const out = await count(service.compress(oneByOne(largeIn)))
        if (out < 100 || out > options.size) throw new Error(`${service.implementation} compress: ${out} bytes`)
      })
    )
  const decompressLarge = (service: Compression.Service) => async () =>
    rate(
      await time(async () => {
        const out = await count(service.decompress(oneByOne(frameIn)))
        if (out !== options.size) throw new Error(`${service.implementation} decompress: ${out} bytes`)
      })
    )

  const codecs: Array<[string, Compression.Service]> = picked.implementation === "fzstd" ? [] : [[
    `${picked.implementation} (layer)`,
    picked
  ]]
  if (picked.implementation !== "wasm") codecs.push(["wasm", wasm])
  const tasks: Array<Task> = []
  for (const [codec, service] of codecs) {
    tasks.push({ codec, metric: "compress 1 KiB", unit: "µs/op", once: perOp(service, "compress") })
    tasks.push({ codec, metric: "compress large", unit: "MB/s", once: compressLarge(service) })
    // The WebAssembly service decodes with fzstd: measured once, as the baseline.
    if (service.implementation !== "wasm") {
      tasks.push({ codec, metric: "decompress 1 KiB", unit: "µs/op", once: perOp(service, "decompress") })
      tasks.push({ codec, metric: "decompress large", unit: "MB/s", once: decompressLarge(service) })
    }
  }
  tasks.push({
    codec: "fzstd",
    metric: "decompress 1 KiB",
    unit: "µs/op",
    once: perOp(Compression.fzstd, "decompress")
  })
  tasks.push({ codec: "fzstd", metric: "decompress large", unit: "MB/s", once: decompressLarge(Compression.fzstd) })

  const samples = tasks.map(() => [] as Array<number>)
  // One warm-up round, then rotated rounds.
  for (const task of tasks) await task.once()
  for (let round = 0; round < options.repetitions; round++) {
    for (let i = 0; i < tasks.length; i++) {
      const index = (i + round) % tasks.length
      samples[index]!.push(await tasks[index]!.once())
    }
  }
  return {
    picked: picked.implementation,
    rows: tasks.map((task, i) => ({
      codec: task.codec,
      metric: task.metric,
      unit: task.unit,
      median: median(samples[i]!),
      samples: samples[i]!
    }))
  }
}
