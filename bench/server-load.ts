/**
 * The local server alone, under load from raw undici: requests per second for 1 KiB put/get/head at growing
 * concurrency, and MiB/s for 64 MiB put/get (no compression), with the share of one core the server process used.
 * When an SDK figure in another workload approaches these, or the server sits near 100% of a core, the server (not
 * the client) is the limit. No baseline: this is the ceiling the other workloads are read against.
 *
 *   node --import tsx bench/server-load.ts [--quick]
 */
import { performance } from "node:perf_hooks"
import type { Pool } from "undici"
import { makePool, objectPath, putHeaders, readHeaders } from "./lib/clients.js"
import { semiCompressible } from "./lib/data.js"
import { emit, KiB, median, MiB, progress, quick, type Result } from "./lib/harness.js"
import { type BenchServer, startServer } from "./lib/server.js"

const repetitions = quick ? 3 : 5
const SMALL = semiCompressible(KiB, 41)
const LARGE_SIZE = (quick ? 16 : 64) * MiB
const LARGE = semiCompressible(LARGE_SIZE, 42)

type Request = (agent: Pool, origin: string, i: number) => Promise<void>

const put = (body: Uint8Array, key: (i: number) => string): Request => async (agent, origin, i) => {
  const response = await agent.request({
    origin,
    path: objectPath(key(i)),
    method: "PUT",
    headers: putHeaders("none"),
    body
  })
  await response.body.dump()
  if (response.statusCode >= 300) throw new Error(`put: ${response.statusCode}`)
}

const read = (method: "GET" | "HEAD", key: string, expected: number): Request => async (agent, origin) => {
  // HEAD with `reset: false`: undici would otherwise close the connection after it (the SDK keeps it).
  const response = await agent.request({ origin, path: objectPath(key), method, headers: readHeaders, reset: false })
  let received = 0
  for await (const chunk of response.body) received += (chunk as Uint8Array).length
  if (response.statusCode >= 300 || received !== expected) throw new Error(`${method}: ${response.statusCode}`)
}

/** Runs `count` requests with `concurrency` in flight; returns requests per second and the server's CPU share. */
const load = async (server: BenchServer, agent: Pool, request: Request, count: number, concurrency: number) => {
  let next = 0
  const cpu = server.cpuMillis()
  const start = performance.now()
  await Promise.all(Array.from({ length: concurrency }, async () => {
    while (next < count) await request(agent, server.url, next++)
  }))
  const elapsed = performance.now() - start
  return { rate: count / (elapsed / 1000), busy: (server.cpuMillis() - cpu) / elapsed }
}

const main = async () => {
  const server = await startServer()
  const agent = makePool(server.url)
  const results: Array<Result> = []
  const notes: Array<string> = []
  const measure = async (
    name: string,
    unit: string,
    request: Request,
    count: number,
    concurrency: number,
    scale = 1
  ) => {
    await load(server, agent, request, Math.max(1, Math.floor(count / 4)), concurrency)
    const rates: Array<number> = []
    const busy: Array<number> = []
    for (let i = 0; i < repetitions; i++) {
      const sample = await load(server, agent, request, count, concurrency)
      rates.push(sample.rate * scale)
      busy.push(sample.busy * 100)
    }
    results.push({ name, median: median(rates), unit, samples: rates })
    results.push({ name: `${name}: server CPU`, median: median(busy), unit: "% of a core", samples: busy })
    progress(`${name}: ${median(rates).toFixed(0)} ${unit}, server ${median(busy).toFixed(0)}% of a core`)
  }
  try {
    await put(SMALL, () => "load-small")(agent, server.url, 0)
    await put(LARGE, () => "load-large")(agent, server.url, 0)
    const small = quick ? 600 : 3000
    for (const concurrency of [1, 16, 64]) {
      await measure(`1 KiB get c${concurrency}`, "req/s", read("GET", "load-small", KiB), small, concurrency)
    }
    await measure("1 KiB put c16", "req/s", put(SMALL, (i) => `load-put-${i % 64}`), small, 16)
    await measure("1 KiB head c16", "req/s", read("HEAD", "load-small", 0), small, 16)
    const large = quick ? 2 : 4
    const perSecond = LARGE_SIZE / MiB
    await measure(`${perSecond} MiB put none`, "MiB/s", put(LARGE, () => "load-large-put"), large, 1, perSecond)
    await measure(`${perSecond} MiB get none`, "MiB/s", read("GET", "load-large", LARGE_SIZE), large, 1, perSecond)
  } finally {
    await agent.destroy()
    await server.stop()
  }
  notes.push(
    `median of ${repetitions} repetitions after a warm-up; the client is raw undici (one Agent); the server is ` +
      "`Server.layer` (memory storage, auth off) in its own process; server CPU from /proc/<pid>/stat"
  )
  emit("server-load", results, notes)
}

main().catch((error) => {
  process.stderr.write(`${error instanceof Error ? error.stack : String(error)}\n`)
  process.exit(1)
})
