/**
 * Resumable versus multipart: the automatic upload (`session.upload`) of a 256 MiB file (compression none, so the
 * automatic choice is resumable) sent as a resumable upload (sequential 8 MiB chunks, PROTOCOL §22) and as a
 * multipart upload (8 MiB parts, concurrency 4, §11), in one interleaved run, against the memory and the
 * filesystem store. Figures are MiB/s of payload, medians of interleaved repetitions; `ratio` = resumable ÷
 * multipart. No target: the figure says what the sequential, crash-safe path costs next to parallel parts.
 *
 * The file is written once into a temporary folder (removed at the end); the server runs in its own process.
 *
 *   node --import tsx bench/resumable.ts [--quick]
 */
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { makeSdk, type Sdk } from "./lib/clients.js"
import { emit, median, MiB, progress, quick, type Result, timed } from "./lib/harness.js"
import { startServer } from "./lib/server.js"

const SIZE = (quick ? 64 : 256) * MiB
const PART = 8 * MiB
const repetitions = quick ? 1 : 3

const rate = (millis: number) => SIZE / MiB / (millis / 1000)

const upload = (sdk: Sdk, file: string, method: "resumable" | "multipart") =>
  timed(async () => {
    const result = await sdk.run(sdk.session.upload({ path: file }, {
      key: `resumable-bench-${method}`,
      compression: "none",
      partSize: PART,
      concurrency: 4,
      method
    }))
    if (result.method !== method) throw new Error(`expected ${method}, got ${result.method}`)
  }).then(rate)

const main = async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "objectstore-bench-resumable-"))
  const results: Array<Result> = []
  try {
    const file = path.join(dir, "payload.bin")
    const handle = fs.openSync(file, "w")
    const chunk = Buffer.alloc(MiB)
    for (let i = 0; i < SIZE / MiB; i++) {
      for (let j = 0; j < chunk.length; j += 4) chunk.writeUInt32LE((i * 2654435761 + j * 40503) >>> 0, j)
      fs.writeSync(handle, chunk)
    }
    fs.closeSync(handle)
    for (const store of ["memory", "filesystem"] as const) {
      const storeDir = path.join(dir, "store")
      const server = await startServer(store === "memory" ? {} : { storage: `filesystem:${storeDir}` })
      const sdk = await makeSdk(server.url, { metrics: false, compression: "none" })
      try {
        await upload(sdk, file, "resumable") // warm-up: connections, JIT
        await upload(sdk, file, "multipart")
        const samples = { resumable: [] as Array<number>, multipart: [] as Array<number> }
        for (let round = 0; round < repetitions; round++) {
          const order = round % 2 === 0 ? ["resumable", "multipart"] as const : ["multipart", "resumable"] as const
          for (const method of order) {
            const value = await upload(sdk, file, method)
            samples[method].push(value)
            progress(`${store} ${method}: ${value.toFixed(1)} MiB/s`)
          }
        }
        const baseline = median(samples.multipart)
        results.push({
          name: `${SIZE / MiB} MiB file, ${store} store: multipart (8 MiB parts, concurrency 4)`,
          median: baseline,
          unit: "MiB/s",
          samples: samples.multipart
        })
        const value = median(samples.resumable)
        results.push({
          name: `${SIZE / MiB} MiB file, ${store} store: resumable (8 MiB chunks, sequential)`,
          median: value,
          unit: "MiB/s",
          baseline,
          ratio: value / baseline,
          samples: samples.resumable
        })
      } finally {
        await sdk.dispose()
        await server.stop()
        fs.rmSync(storeDir, { recursive: true, force: true })
      }
    }
  } finally {
    fs.rmSync(dir, { recursive: true, force: true })
  }
  emit("resumable", results, [
    `${repetitions} repetition(s), order alternating; MiB/s of payload; baseline = multipart upload of the same file`,
    "compression none (the automatic choice for such a file is resumable); the server: separate process",
    "resumable: every chunk is fsynced and its offset recorded before the answer (filesystem store), then the " +
    "commit copies the session's bytes into the object"
  ])
}

main().catch((error) => {
  process.stderr.write(`${error instanceof Error ? error.stack : String(error)}\n`)
  process.exit(1)
})
