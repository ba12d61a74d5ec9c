/**
 * Multipart memory: an automatic upload (`session.upload`) of a 1 GiB stream with 8 MiB parts at concurrency 4,
 * compression none and zstd, recording the client process's peak RSS above its settled idle RSS (kernel high-water
 * mark `VmHWM`, reset before the upload) and the peak of retained heap + array buffers (sampled after a full GC).
 * Target: under 128 MiB of RSS above idle (4 × partSize × concurrency): the parts in flight (32 MiB), their compressed
 * frames, allocator and runtime slack, independent of the 1 GiB size.
 *
 * The payload is produced on the fly (1 MiB chunks) and never held whole; the server runs in its own process.
 *
 *   node --import tsx bench/memory-1gib.ts [--quick]
 */
import * as Stream from "effect/Stream"
import * as v8 from "node:v8"
import * as vm from "node:vm"
import { makeSdk } from "./lib/clients.js"
import { chunkStream } from "./lib/data.js"
import { emit, MiB, progress, quick, type Result } from "./lib/harness.js"
import * as Memory from "./lib/memory.js"
import { startServer } from "./lib/server.js"

const SIZE = (quick ? 256 : 1024) * MiB
const PART = 8 * MiB
const CONCURRENCY = 4
/** Bounded by the parts in flight, not by the payload: 4 × partSize × concurrency leaves room for allocator slack. */
const LIMIT = 4 * PART * CONCURRENCY
const CHUNK = MiB

v8.setFlagsFromString("--expose-gc")
const gc = vm.runInNewContext("gc") as () => void
;(globalThis as { gc?: () => void }).gc ??= gc

const payload = (): Stream.Stream<Uint8Array> => chunkStream(SIZE, CHUNK, 23)

const retained = () => {
  gc()
  const usage = process.memoryUsage()
  return usage.heapUsed + usage.arrayBuffers
}

const main = async () => {
  const server = await startServer()
  const sdk = await makeSdk(server.url, { metrics: false })
  const results: Array<Result> = []
  try {
    for (const compression of ["none", "zstd"] as const) {
      // warm-up: codec loaded, connections open
      await sdk.run(sdk.session.upload(Stream.make(new Uint8Array(PART + 1)), { partSize: PART, compression }))
      const idle = await Memory.settledRss()
      const idleRetained = retained()
      let peakRetained = idleRetained
      const sampler = setInterval(() => (peakRetained = Math.max(peakRetained, retained())), 250)
      const tracker = Memory.track()
      const start = performance.now()
      const result = await sdk.run(sdk.session.upload(payload(), {
        key: `memory-1gib-${compression}`,
        compression,
        partSize: PART,
        concurrency: CONCURRENCY
      }))
      const seconds = (performance.now() - start) / 1000
      const { peak, source } = tracker.stop()
      clearInterval(sampler)
      if (result.bytes !== SIZE) throw new Error(`uploaded ${result.bytes} of ${SIZE} bytes`)
      const growth = peak - idle
      results.push({
        name: `${SIZE / MiB} MiB upload ${compression}: peak RSS above idle`,
        median: growth / MiB,
        unit: "MiB",
        target: `< ${LIMIT / MiB} MiB`,
        pass: growth < LIMIT
      })
      results.push({
        name: `${SIZE / MiB} MiB upload ${compression}: peak heap + array buffers above idle`,
        median: (peakRetained - idleRetained) / MiB,
        unit: "MiB"
      })
      results.push({
        name: `${SIZE / MiB} MiB upload ${compression}: throughput`,
        median: SIZE / MiB / seconds,
        unit: "MiB/s"
      })
      progress(`${compression}: +${(growth / MiB).toFixed(1)} MiB RSS (${source}), ${seconds.toFixed(1)} s`)
      await sdk.run(sdk.session.delete(`memory-1gib-${compression}`))
    }
  } finally {
    await sdk.dispose()
    await server.stop()
  }
  emit("memory-1gib", results, [
    `parts of ${PART / MiB} MiB, concurrency ${CONCURRENCY}; payload generated on the fly in ${CHUNK / MiB} MiB chunks`,
    "peak RSS from the kernel's VmHWM (reset before the upload) where available, else sampled",
    "server: separate process (memory store)"
  ])
}

main().catch((error) => {
  process.stderr.write(`${error instanceof Error ? error.stack : String(error)}\n`)
  process.exit(1)
})
