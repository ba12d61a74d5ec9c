/**
 * The server's memory and latency for a batch of large reads: one batch request of N gets of the same 8 MiB object
 * (raw undici, the response read as it streams and counted, never kept), against the server in its own process
 * (memory storage, and filesystem storage for the working tree's 1,000 gets). Reports the server's peak RSS above its idle RSS (the kernel's `VmHWM`, reset before the
 * batch), the time to the first response byte, and the throughput. Target: with the default batch memory budget
 * (32 MiB), 1,000 gets stay within the budget (peak RSS above idle below 64 MiB, allowing for the runtime's
 * own growth) and the first byte arrives within a second.
 *
 * With `--baseline <git revision>` the same cases run against the server at that revision first (both bundled
 * with esbuild). A server that holds whole answers in memory needs about N x 8 MiB: against such a baseline only
 * `--baseline-gets` (default 100) gets are sent, so the machine is not driven out of memory.
 *
 *   node --import tsx bench/batch-memory.ts [--quick] [--baseline <rev>] [--baseline-gets 100]
 */
import * as Path from "@objectstore/protocol/Path"
import * as crypto from "node:crypto"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { performance } from "node:perf_hooks"
import { Pool } from "undici"
import { bundleServer, type ServerBundle } from "./lib/baseline.js"
import { objectPath, putHeaders, SCOPE, USECASE } from "./lib/clients.js"
import { semiCompressible } from "./lib/data.js"
import { argument, emit, median, MiB, progress, quick, type Result } from "./lib/harness.js"
import { type BenchServer, startServer } from "./lib/server.js"

const OBJECT_SIZE = 8 * MiB
const GETS = quick ? [100, 1000] : [100, 1000]
const repetitions = quick ? 1 : 3
const baselineRevision = argument("baseline")
const baselineGets = Number(argument("baseline-gets") ?? 100)

const readKiB = (pid: number, field: string): number => {
  const match = new RegExp(`${field}:\\s+(\\d+) kB`).exec(fs.readFileSync(`/proc/${pid}/status`, "utf8"))
  return match === null ? Number.NaN : Number(match[1]) * 1024
}

const scopePath = Object.entries(SCOPE).map(([name, value]) => `${name}=${value}`).join(";")

/** One batch of `count` gets of `key`: time to first byte, total time and the server's peak RSS above idle. */
const batchOfGets = async (server: BenchServer, pool: Pool, key: string, count: number) => {
  const boundary = crypto.randomBytes(16).toString("hex")
  const part = `--${boundary}\r\nx-sn-batch-operation-kind: get\r\nx-sn-batch-operation-key: ${
    Path.encodeBatchKey(key)
  }\r\n\r\n\r\n`
  const body = Buffer.from(part.repeat(count) + `--${boundary}--\r\n`, "latin1")
  await new Promise((resolve) => setTimeout(resolve, 300))
  const idle = server.rss()
  fs.writeFileSync(`/proc/${server.pid}/clear_refs`, "5")
  const start = performance.now()
  const response = await pool.request({
    path: `/v1/objects:batch/${USECASE}/${scopePath}/`,
    method: "POST",
    headers: { "content-type": `multipart/form-data; boundary=${boundary}` },
    body
  })
  let firstByte = Number.NaN
  let received = 0
  for await (const chunk of response.body) {
    if (received === 0) firstByte = performance.now() - start
    received += (chunk as Uint8Array).length
  }
  const elapsed = performance.now() - start
  const peak = readKiB(server.pid, "VmHWM")
  if (response.statusCode !== 200 || received < count * OBJECT_SIZE) {
    throw new Error(`batch: status ${response.statusCode}, ${received} bytes`)
  }
  return { firstByte, elapsed, growth: peak - idle, mibPerSecond: (received / MiB) / (elapsed / 1000) }
}

const main = async () => {
  const loadBefore = os.loadavg()[0]!
  const results: Array<Result> = []
  const notes: Array<string> = []
  const bundles: Array<ServerBundle> = []
  try {
    interface Side {
      readonly label: string
      readonly script?: string | undefined
      readonly gets: Array<number>
      readonly storage?: "filesystem" | undefined
    }
    const fsSide: Side = { label: "working tree, filesystem", gets: [1000], storage: "filesystem" }
    const sides: Array<Side> = [{ label: "working tree", gets: GETS }, fsSide]
    if (baselineRevision !== undefined) {
      progress(`bundling the working tree's server and ${baselineRevision}'s`)
      bundles.push(await bundleServer(), await bundleServer(baselineRevision))
      sides[0] = { label: "working tree", script: bundles[0]!.script, gets: GETS }
      sides[1] = { ...fsSide, script: bundles[0]!.script }
      sides.unshift({ label: `baseline ${bundles[1]!.label}`, script: bundles[1]!.script, gets: [baselineGets] })
    }
    const payload = semiCompressible(OBJECT_SIZE, 8)
    for (const side of sides) {
      for (const count of side.gets) {
        const samples: Array<{ firstByte: number; elapsed: number; growth: number; mibPerSecond: number }> = []
        for (let i = 0; i < repetitions; i++) {
          // a fresh server per sample: its peak is not flattered by memory an earlier batch left allocated
          const dir = side.storage === undefined ? undefined : fs.mkdtempSync(path.join(os.tmpdir(), "os-bench-"))
          const server = await startServer({
            script: side.script,
            storage: dir === undefined ? undefined : `filesystem:${dir}`
          })
          const pool = new Pool(server.url)
          try {
            const put = await pool.request({
              path: objectPath("big"),
              method: "PUT",
              headers: putHeaders("none"),
              body: payload
            })
            await put.body.dump()
            samples.push(await batchOfGets(server, pool, "big", count))
          } finally {
            await pool.destroy()
            await server.stop()
            if (dir !== undefined) fs.rmSync(dir, { recursive: true, force: true })
          }
        }
        const name = `${side.label}: batch of ${count} gets of 8 MiB`
        const growth = median(samples.map((s) => s.growth / MiB))
        const firstByte = median(samples.map((s) => s.firstByte))
        results.push({
          name: `${name}: server peak RSS above idle`,
          median: growth,
          unit: "MiB",
          samples: samples.map((s) => s.growth / MiB),
          ...(side.label.startsWith("working tree") ? { target: "< 64 MiB", pass: growth < 64 } : {})
        })
        results.push({
          name: `${name}: first byte`,
          median: firstByte,
          unit: "ms",
          samples: samples.map((s) => s.firstByte),
          ...(side.label.startsWith("working tree") ? { target: "< 1000 ms", pass: firstByte < 1000 } : {})
        })
        results.push({
          name: `${name}: throughput`,
          median: median(samples.map((s) => s.mibPerSecond)),
          unit: "MiB/s",
          samples: samples.map((s) => s.mibPerSecond)
        })
        progress(`${name}: +${growth.toFixed(0)} MiB, first byte ${firstByte.toFixed(0)} ms`)
      }
    }
  } finally {
    for (const bundle of bundles) bundle.dispose()
  }
  notes.push(
    `median of ${repetitions} sample(s), each against a fresh server process (memory storage, default batch memory ` +
      "budget 32 MiB); peak RSS from the server's VmHWM, reset before the batch; the client counts the response bytes",
    `load average (1 min) before/after: ${loadBefore.toFixed(2)} / ${os.loadavg()[0]!.toFixed(2)}`
  )
  emit("batch-memory", results, notes)
}

main().catch((error) => {
  process.stderr.write(`${error instanceof Error ? error.stack : String(error)}\n`)
  process.exit(1)
})
