/**
 * Multipart: the automatic upload (`session.upload`) of a 512 MiB stream with 8 MiB parts at concurrency 1, 4 and 8,
 * against one streamed `put` of the same stream (the baseline), for compression none and zstd, in one run. Figures
 * are MiB/s of source payload, medians of interleaved repetitions; `ratio` = upload ÷ single put. No target: the
 * figure shows what parallel parts buy on this machine (on loopback with 2 cores the server competes for the CPU).
 *
 * The payload is produced on the fly (1 MiB semi-compressible chunks), never held whole. The server runs in its own
 * process (memory store).
 *
 *   node --import tsx bench/multipart.ts [--quick]
 */
import * as Stream from "effect/Stream"
import { makeSdk, type Sdk } from "./lib/clients.js"
import { chunkStream } from "./lib/data.js"
import { emit, median, MiB, progress, quick, type Result, timed } from "./lib/harness.js"
import { startServer } from "./lib/server.js"

type Compression = "zstd" | "none"

const SIZE = (quick ? 64 : 512) * MiB
const PART = 8 * MiB
const CONCURRENCIES = [1, 4, 8] as const
const repetitions = quick ? 1 : 3
const CHUNK = MiB

const payload = (): Stream.Stream<Uint8Array> => chunkStream(SIZE, CHUNK, 17)

const rate = (millis: number) => SIZE / MiB / (millis / 1000)

const single = (sdk: Sdk, compression: Compression) =>
  timed(() => sdk.run(sdk.session.put(payload(), { key: `multipart-put-${compression}`, compression }))).then(rate)

const automatic = (sdk: Sdk, compression: Compression, concurrency: number) =>
  timed(async () => {
    const result = await sdk.run(sdk.session.upload(payload(), {
      key: `multipart-upload-${compression}`,
      compression,
      partSize: PART,
      concurrency
    }))
    if (result.parts !== SIZE / PART) throw new Error(`expected ${SIZE / PART} parts, got ${result.parts}`)
  }).then(rate)

const main = async () => {
  const server = await startServer()
  const sdk = await makeSdk(server.url, { metrics: false })
  const results: Array<Result> = []
  try {
    for (const compression of ["none", "zstd"] as const) {
      // warm-up: codec, connections
      await sdk.run(sdk.session.upload(Stream.make(new Uint8Array(PART + 1)), { partSize: PART, compression }))
      const samples = {
        put: [] as Array<number>,
        ...Object.fromEntries(CONCURRENCIES.map((c) => [`c${c}`, [] as Array<number>]))
      } as Record<string, Array<number>>
      for (let round = 0; round < repetitions; round++) {
        // alternate the order of the cases between rounds
        const cases = ["put", ...CONCURRENCIES.map((c) => `c${c}`)]
        for (const name of round % 2 === 0 ? cases : [...cases].reverse()) {
          const value = name === "put"
            ? await single(sdk, compression)
            : await automatic(sdk, compression, Number(name.slice(1)))
          samples[name]!.push(value)
          progress(`${compression} ${name}: ${value.toFixed(1)} MiB/s`)
        }
      }
      const baseline = median(samples["put"]!)
      results.push({
        name: `${SIZE / MiB} MiB single streamed put ${compression}`,
        median: baseline,
        unit: "MiB/s",
        samples: samples["put"]!
      })
      for (const concurrency of CONCURRENCIES) {
        const values = samples[`c${concurrency}`]!
        const value = median(values)
        results.push({
          name: `${SIZE / MiB} MiB upload ${compression} concurrency ${concurrency}`,
          median: value,
          unit: "MiB/s",
          baseline,
          ratio: value / baseline,
          samples: values
        })
      }
    }
  } finally {
    await sdk.dispose()
    await server.stop()
  }
  emit("multipart", results, [
    `${repetitions} repetition(s), case order alternating; MiB/s of uncompressed payload; baseline = single streamed put`,
    `parts of ${PART / MiB} MiB; zstd compresses each part into its own frame (parallel with concurrency)`,
    "server: separate process, memory store; the client and the server share the machine's cores"
  ])
}

main().catch((error) => {
  process.stderr.write(`${error instanceof Error ? error.stack : String(error)}\n`)
  process.exit(1)
})
