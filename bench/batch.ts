/**
 * Batch operations: 10,000 objects of 1 KiB put and then got through `session.many` (batch requests of up to 1000
 * operations, 3 in flight), against the same objects put and got through individual `put`/`getBytes` calls at the
 * same total concurrency (batch + individual windows of `many`: 3 + 5 = 8), in one run. Target: `many` at least
 * 5x faster (ops/s ratio).
 *
 * The server runs in its own process (`Server.layer`, memory storage, loopback). The first row uploads with
 * compression "none"; the "default options" rows use the usecase's default zstd (the bodies are compressed on put
 * and decompressed on get): `many` with zstd against `many` with "none" (issue 14, target 1: >= 0.8x), and against
 * individual calls with zstd (>= 5x). Each repetition is timed end to end: all puts, then all gets, every outcome
 * checked. With `--million` a Stream of 1,000,000 head operations of missing keys is also run
 * through `many` and the client's peak heap growth reported (constant memory).
 *
 *   node --import tsx bench/batch.ts [--quick] [--million]
 */
import { Batch } from "@objectstore/client"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Stream from "effect/Stream"
import { performance } from "node:perf_hooks"
import * as v8 from "node:v8"
import * as vm from "node:vm"
import { makeSdk, type Sdk } from "./lib/clients.js"
import { semiCompressible } from "./lib/data.js"
import { compareHigher, emit, interleave, KiB, median, progress, quick, type Result } from "./lib/harness.js"
import { startServer } from "./lib/server.js"

const COUNT = quick ? 2_000 : 10_000
const CONCURRENCY = Batch.defaults.batchConcurrency + Batch.defaults.individualConcurrency
const repetitions = quick ? 3 : 5
const PAYLOAD = semiCompressible(KiB, 5)
const million = process.argv.includes("--million")

const keyOf = (round: number, i: number) => `batch-${round}-${i}`

const check = (condition: boolean, message: string) => {
  if (!condition) throw new Error(message)
}

/** "default": the usecase's default (zstd), as a new user gets it. */
type Compression = "none" | "default"

const options = (compression: Compression) => compression === "none" ? { compression: "none" as const } : {}

/** Puts then gets `COUNT` objects through `many`; returns operations per second (puts + gets). */
const viaMany = (sdk: Sdk, round: number, compression: Compression = "none") => async (): Promise<number> => {
  const start = performance.now()
  await sdk.run(Effect.gen(function*() {
    const puts = yield* Batch.collectErrors(sdk.session.many(
      Stream.range(0, COUNT - 1).pipe(
        Stream.map((i) => Batch.put(PAYLOAD, { key: keyOf(round, i), ...options(compression) }))
      )
    ))
    check(puts.length === 0, `many put failed: ${puts[0]?.error.message}`)
    let got = 0
    yield* sdk.session.many(Stream.range(0, COUNT - 1).pipe(Stream.map((i) => Batch.get(keyOf(round, i))))).pipe(
      Stream.runForEach((outcome) =>
        Effect.sync(() => {
          check(outcome.kind === "get" && Either.isRight(outcome.result), `many get failed at ${outcome.index}`)
          const value = (outcome as Batch.GetOutcome).result.pipe(Either.getOrThrow)
          check(value._tag === "Some" && value.value.bytes.length === PAYLOAD.length, "many get: wrong body")
          got++
        })
      )
    )
    check(got === COUNT, "many get: missing outcomes")
  }))
  return (2 * COUNT) / ((performance.now() - start) / 1000)
}

/** The same through individual calls, `CONCURRENCY` in flight. */
const viaSingle = (sdk: Sdk, round: number, compression: Compression = "none") => async (): Promise<number> => {
  const start = performance.now()
  await sdk.run(Effect.gen(function*() {
    yield* Effect.forEach(
      Array.from({ length: COUNT }, (_, i) => i),
      (i) => sdk.session.put(PAYLOAD, { key: keyOf(round, i), ...options(compression) }),
      { concurrency: CONCURRENCY, discard: true }
    )
    yield* Effect.forEach(
      Array.from({ length: COUNT }, (_, i) => i),
      (i) =>
        Effect.flatMap(
          sdk.session.getBytes(keyOf(round, i)),
          (bytes) => Effect.sync(() => check(bytes.length === PAYLOAD.length, "get: wrong body"))
        ),
      { concurrency: CONCURRENCY, discard: true }
    )
  }))
  return (2 * COUNT) / ((performance.now() - start) / 1000)
}

v8.setFlagsFromString("--expose-gc")
const gc = vm.runInNewContext("gc") as () => void

/**
 * A Stream of `n` heads of missing keys through `many`: elapsed ms and peak live-heap growth in bytes (heap used
 * after a full GC, sampled every 50,000 outcomes).
 */
const constantMemory = async (sdk: Sdk, n: number) => {
  gc()
  const before = process.memoryUsage().heapUsed
  let peak = before
  let seen = 0
  const start = performance.now()
  const count = await sdk.run(
    sdk.session.many(Stream.range(0, n - 1).pipe(Stream.map((i) => Batch.head(`missing-${i}`)))).pipe(
      Stream.tap(() =>
        Effect.sync(() => {
          if (++seen % 50_000 === 0) {
            gc()
            peak = Math.max(peak, process.memoryUsage().heapUsed)
          }
        })
      ),
      Stream.runCount
    )
  )
  check(count === n, "heads: missing outcomes")
  return { elapsed: performance.now() - start, growth: peak - before }
}

const main = async () => {
  const server = await startServer()
  // The usecase's default compression is zstd; the "none" rows ask for "none" on every put.
  const sdk = await makeSdk(server.url)
  const results: Array<Result> = []
  const notes: Array<string> = [
    `${COUNT} objects of 1 KiB: put then get; many (batches of <= 1000, 3 batch + 5 individual in flight) vs ` +
    `individual put/getBytes at concurrency ${CONCURRENCY}; ops/s counts puts and gets`,
    `command: node --import tsx bench/batch.ts${quick ? " --quick" : ""}${million ? " --million" : ""}`
  ]
  try {
    let round = 0
    progress(`many vs individual, ${COUNT} x 1 KiB, ${repetitions} repetitions`)
    const samples = await interleave(
      { repetitions, warmup: 1 },
      () => viaMany(sdk, round++)(),
      () => viaSingle(sdk, round++)()
    )
    const result = compareHigher(`put+get ${COUNT} x 1 KiB: many vs individual`, "ops/s", samples, 5)
    results.push(result)
    notes.push(`ratio many/individual = ${result.ratio!.toFixed(2)} (target >= 5)`)
    progress(`many ${median(samples.sdk).toFixed(0)} ops/s, individual ${median(samples.baseline).toFixed(0)} ops/s`)
    progress(`default options (zstd): many vs many with "none", ${COUNT} x 1 KiB`)
    const zstdSamples = await interleave(
      { repetitions, warmup: 1 },
      () => viaMany(sdk, round++, "default")(),
      () => viaMany(sdk, round++, "none")()
    )
    const zstdResult = compareHigher(
      `put+get ${COUNT} x 1 KiB: many, default options (zstd) vs many with compression "none"`,
      "ops/s",
      zstdSamples,
      0.8
    )
    results.push(zstdResult)
    progress(
      `many zstd ${median(zstdSamples.sdk).toFixed(0)} ops/s, many none ${
        median(zstdSamples.baseline).toFixed(0)
      } ops/s`
    )
    progress(`default options (zstd): many vs individual, ${COUNT} x 1 KiB`)
    const zstdIndividual = await interleave(
      { repetitions, warmup: 1 },
      () => viaMany(sdk, round++, "default")(),
      () => viaSingle(sdk, round++, "default")()
    )
    results.push(compareHigher(
      `put+get ${COUNT} x 1 KiB, default options (zstd): many vs individual`,
      "ops/s",
      zstdIndividual,
      5
    ))
    if (million) {
      const n = 1_000_000
      progress(`constant memory: a Stream of ${n} heads of missing keys`)
      const { elapsed, growth } = await constantMemory(sdk, n)
      results.push({
        name: `many: Stream of ${n} heads, peak live heap growth`,
        median: growth / (1024 * 1024),
        unit: "MiB"
      })
      results.push({ name: `many: Stream of ${n} heads, throughput`, median: n / (elapsed / 1000), unit: "ops/s" })
    }
  } finally {
    await sdk.dispose()
    await server.stop()
  }
  emit("batch", results, notes)
}

main().catch((error) => {
  process.stderr.write(`${error instanceof Error ? error.stack : String(error)}\n`)
  process.exit(1)
})
