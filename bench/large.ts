/**
 * Large objects: 64 MiB put and get, zstd and none, on realistic semi-compressible data; the SDK against raw undici
 * plus the native zstd codec alone (zstd-napi's `CompressStream`/`DecompressStream` at level 3, fed the same
 * 256 KiB slices the SDK compresses). Targets, in MiB/s of payload against the baseline (issue 14, target 3): put zstd
 * 1.2x or more (the SDK compresses on a second core where there is one), get zstd and get none 0.95x or more; put
 * none 0.9x or more.
 *
 *   node --import tsx bench/large.ts [--quick]
 */
import * as Effect from "effect/Effect"
import * as Stream from "effect/Stream"
import { Readable } from "node:stream"
import type { Pool } from "undici"
import * as zstd from "zstd-napi"
import { makePool, makeSdk, objectPath, putHeaders, readHeaders, type Sdk } from "./lib/clients.js"
import { semiCompressible, slices } from "./lib/data.js"
import { compareHigher, emit, interleave, median, MiB, progress, quick, type Result, timed } from "./lib/harness.js"
import { startServer } from "./lib/server.js"

type Compression = "zstd" | "none"

const SIZE = (quick ? 16 : 64) * MiB
const SLICE = 256 * 1024
const repetitions = quick ? 3 : 7
const warmup = 1
/** Transfers per repetition: one 64 MiB transfer takes 50-500 ms, too short to rise above the machine's noise. */
const transfers = quick ? 2 : 4

const DATA = semiCompressible(SIZE, 21)
const getKey = (compression: Compression) => `large-get-${compression}`
const putKey = (compression: Compression) => `large-put-${compression}`

const rate = (millis: number) => (transfers * SIZE) / MiB / (millis / 1000)

/** Client CPU milliseconds per MiB of payload, per case and side: steadier than MiB/s on a shared machine. */
const cpu = new Map<string, Array<number>>()
let measuring = ""

/** Runs `once` `transfers` times in a row, recording the client CPU time under the current case and `side`. */
const repeated = (side: "sdk" | "raw", once: () => Promise<void>) => async () => {
  const start = process.cpuUsage()
  for (let i = 0; i < transfers; i++) await once()
  const used = process.cpuUsage(start)
  const key = `${measuring} ${side}`
  cpu.set(key, [...(cpu.get(key) ?? []), (used.user + used.system) / 1000 / ((transfers * SIZE) / MiB)])
}

const sdkPut = (sdk: Sdk, compression: Compression) => () =>
  timed(repeated("sdk", async () => {
    await sdk.run(sdk.session.put(DATA, { key: putKey(compression), compression }))
  })).then(rate)

const sdkGet = (sdk: Sdk, compression: Compression) => () =>
  timed(repeated("sdk", async () => {
    const received = await sdk.run(Effect.scoped(Effect.flatMap(
      sdk.session.get(getKey(compression)),
      (response) => Stream.runFold(response.stream, 0, (total, chunk) => total + chunk.length)
    )))
    if (received !== SIZE) throw new Error(`sdk get ${compression}: ${received} bytes`)
  })).then(rate)

const rawPut = (agent: Pool, origin: string, compression: Compression) => () =>
  timed(repeated("raw", async () => {
    const body = compression === "none"
      ? DATA
      : Readable.from(slices(DATA, SLICE)).pipe(new zstd.CompressStream({ compressionLevel: 3 }))
    const response = await agent.request({
      origin,
      path: objectPath(putKey(compression)),
      method: "PUT",
      headers: putHeaders(compression),
      body
    })
    const json = (await response.body.json()) as { key?: string }
    if (response.statusCode >= 300 || typeof json.key !== "string") throw new Error(`raw put: ${response.statusCode}`)
  })).then(rate)

const rawGet = (agent: Pool, origin: string, compression: Compression) => () =>
  timed(repeated("raw", async () => {
    const response = await agent.request({
      origin,
      path: objectPath(getKey(compression)),
      method: "GET",
      headers: readHeaders
    })
    if (response.statusCode !== 200) throw new Error(`raw get: ${response.statusCode}`)
    const body = compression === "none" ? response.body : response.body.pipe(new zstd.DecompressStream())
    let received = 0
    for await (const chunk of body) received += (chunk as Uint8Array).length
    if (received !== SIZE) throw new Error(`raw get ${compression}: ${received} bytes`)
  })).then(rate)

const main = async () => {
  const server = await startServer()
  const sdk = await makeSdk(server.url)
  const agent = makePool(server.url)
  const results: Array<Result> = []
  const compressed = zstd.compress(DATA, { compressionLevel: 3 }).length
  try {
    for (const compression of ["zstd", "none"] as const) {
      await sdk.run(sdk.session.put(DATA, { key: getKey(compression), compression }))
    }
    for (const operation of ["put", "get"] as const) {
      for (const compression of ["zstd", "none"] as const) {
        measuring = `${SIZE / MiB} MiB ${operation} ${compression}`
        const samples = await interleave(
          { repetitions, warmup },
          operation === "put" ? sdkPut(sdk, compression) : sdkGet(sdk, compression),
          operation === "put" ? rawPut(agent, server.url, compression) : rawGet(agent, server.url, compression)
        )
        const bar = operation === "get" ? 0.95 : compression === "zstd" ? 1.2 : 0.9
        const result = compareHigher(`${SIZE / MiB} MiB ${operation} ${compression}`, "MiB/s", samples, bar)
        results.push(result)
        progress(`${result.name}: sdk ${result.median.toFixed(1)}, baseline ${result.baseline!.toFixed(1)} MiB/s`)
      }
    }
  } finally {
    await sdk.dispose()
    await agent.destroy()
    await server.stop()
  }
  emit("large", results, [
    `${repetitions} interleaved repetitions of ${transfers} transfers each, after ${warmup} warm-up; MiB/s of ` +
    "uncompressed payload",
    `payload: ${SIZE / MiB} MiB of semi-compressible log-like data; zstd level 3 ratio ${
      (SIZE / compressed).toFixed(2)
    }x`,
    "baseline: a raw undici Pool.request with the same headers; zstd via zstd-napi CompressStream/DecompressStream",
    ...results.map((result) => {
      const sdkCpu = median(cpu.get(`${result.name} sdk`) ?? [])
      const rawCpu = median(cpu.get(`${result.name} raw`) ?? [])
      return `${result.name}: client CPU ${sdkCpu.toFixed(2)} ms/MiB (SDK) vs ${rawCpu.toFixed(2)} ms/MiB (raw), ` +
        `ratio ${(rawCpu / sdkCpu).toFixed(2)}`
    })
  ])
}

main().catch((error) => {
  process.stderr.write(`${error instanceof Error ? error.stack : String(error)}\n`)
  process.exit(1)
})
