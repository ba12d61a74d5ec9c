/**
 * The local server alone, under load from raw undici: requests per second for 1 KiB put/get/head at growing
 * concurrency (memory storage, and get/put at c16 and put at c64 on filesystem storage), and MiB/s for 64 MiB
 * put/get (no compression), a filesystem mix of gets, puts and deletes at c64, with the server's CPU time per request, the share of one core the server process used
 * and the median latency. When an
 * SDK figure in another workload approaches these, or the server sits near 100% of a core, the server (not the
 * client) is the limit.
 *
 * With `--baseline <git revision>` every case also runs against the server source at that revision, interleaved
 * with the working tree's (A B, B A, …), both bundled the same way (`lib/baseline.ts`), and the table gives the
 * ratio working tree / baseline. Without it the working tree's server runs alone (through tsx).
 *
 *   node --import tsx bench/server-load.ts [--quick] [--baseline main] [--only "1 KiB get c16,1 KiB put c16"]
 */
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { performance } from "node:perf_hooks"
import type { Pool } from "undici"
import { bundleServer, type ServerBundle } from "./lib/baseline.js"
import { makePool, objectPath, putHeaders, readHeaders } from "./lib/clients.js"
import { semiCompressible } from "./lib/data.js"
import { argument, emit, KiB, median, MiB, progress, quick, type Result } from "./lib/harness.js"
import { type BenchServer, startServer } from "./lib/server.js"

const repetitions = quick ? 3 : 5
const SMALL = semiCompressible(KiB, 41)
const LARGE_SIZE = (quick ? 16 : 64) * MiB
const LARGE = semiCompressible(LARGE_SIZE, 42)
const baselineRevision = argument("baseline")
const only = argument("only")?.split(",").map((name) => name.trim())

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

/** Half gets, four in ten puts, one in ten deletes, over 256 keys (a get of a deleted key is a 404). */
const mixed: Request = async (agent, origin, i) => {
  const key = `load-mixed-${(i * 7919) % 256}`
  const kind = i % 10
  if (kind >= 5 && kind <= 8) return put(SMALL, () => key)(agent, origin, i)
  const response = await agent.request({
    origin,
    path: objectPath(key),
    method: kind === 9 ? "DELETE" : "GET",
    headers: readHeaders
  })
  await response.body.dump()
  if (response.statusCode >= 300 && response.statusCode !== 404) throw new Error(`mixed: ${response.statusCode}`)
}

interface Target {
  readonly server: BenchServer
  readonly agent: Pool
}

interface Sample {
  /** Requests (or, scaled, MiB) per second. */
  readonly rate: number
  /** Share of one core the server used. */
  readonly busy: number
  /** Server CPU time per request, microseconds. */
  readonly cpuPerRequest: number
  /** Median time from sending a request to its response's end, milliseconds. */
  readonly latency: number
}

/** Runs `count` requests with `concurrency` in flight. */
const load = async (target: Target, request: Request, count: number, concurrency: number): Promise<Sample> => {
  let next = 0
  const latencies: Array<number> = []
  const cpu = target.server.cpuMillis()
  const start = performance.now()
  await Promise.all(Array.from({ length: concurrency }, async () => {
    while (next < count) {
      const sent = performance.now()
      await request(target.agent, target.server.url, next++)
      latencies.push(performance.now() - sent)
    }
  }))
  const elapsed = performance.now() - start
  const used = target.server.cpuMillis() - cpu
  return {
    rate: count / (elapsed / 1000),
    busy: used / elapsed,
    cpuPerRequest: (used * 1000) / count,
    latency: median(latencies)
  }
}

interface Case {
  readonly name: string
  readonly unit: string
  readonly storage: "memory" | "filesystem"
  readonly request: Request
  readonly count: number
  readonly concurrency: number
  readonly scale?: number
}

const small = quick ? 600 : 3000
const large = quick ? 2 : 4
const largeMiB = LARGE_SIZE / MiB
const allCases: ReadonlyArray<Case> = [
  ...[1, 16, 64].map((concurrency): Case => ({
    name: `1 KiB get c${concurrency}`,
    unit: "req/s",
    storage: "memory",
    request: read("GET", "load-small", KiB),
    count: small,
    concurrency
  })),
  {
    name: "1 KiB put c16",
    unit: "req/s",
    storage: "memory",
    request: put(SMALL, (i) => `load-put-${i % 64}`),
    count: small,
    concurrency: 16
  },
  {
    name: "1 KiB head c16",
    unit: "req/s",
    storage: "memory",
    request: read("HEAD", "load-small", 0),
    count: small,
    concurrency: 16
  },
  {
    name: "filesystem 1 KiB get c16",
    unit: "req/s",
    storage: "filesystem",
    request: read("GET", "load-small", KiB),
    count: small,
    concurrency: 16
  },
  {
    name: "filesystem 1 KiB put c16",
    unit: "req/s",
    storage: "filesystem",
    request: put(SMALL, (i) => `load-put-${i % 64}`),
    count: quick ? 300 : 1000,
    concurrency: 16
  },
  {
    name: "filesystem 1 KiB put c64",
    unit: "req/s",
    storage: "filesystem",
    request: put(SMALL, (i) => `load-put-${i % 256}`),
    count: quick ? 600 : 2000,
    concurrency: 64
  },
  {
    name: "filesystem mixed c64",
    unit: "req/s",
    storage: "filesystem",
    request: mixed,
    count: quick ? 600 : 2000,
    concurrency: 64
  },
  {
    name: `${largeMiB} MiB put none`,
    unit: "MiB/s",
    storage: "memory",
    request: put(LARGE, () => "load-large-put"),
    count: large,
    concurrency: 1,
    scale: largeMiB
  },
  {
    name: `${largeMiB} MiB get none`,
    unit: "MiB/s",
    storage: "memory",
    request: read("GET", "load-large", LARGE_SIZE),
    count: large,
    concurrency: 1,
    scale: largeMiB
  }
]
const cases = allCases.filter((c) => only === undefined || only.includes(c.name))

const main = async () => {
  const loadBefore = os.loadavg()[0]!
  const bundles: Array<ServerBundle> = []
  const dirs: Array<string> = []
  const targets = new Map<string, Target>()
  const start = async (side: "current" | "baseline", storage: Case["storage"]) => {
    const key = `${side}/${storage}`
    const existing = targets.get(key)
    if (existing !== undefined) return existing
    const script = side === "current"
      ? (baselineRevision === undefined ? undefined : bundles[0]!.script)
      : bundles[1]!.script
    let storageSetting = "memory"
    if (storage === "filesystem") {
      const dir = fs.mkdtempSync(path.join(os.tmpdir(), "os-bench-store-"))
      dirs.push(dir)
      storageSetting = `filesystem:${dir}`
    }
    const server = await startServer({ script, storage: storageSetting })
    const target = { server, agent: makePool(server.url) }
    targets.set(key, target)
    await put(SMALL, () => "load-small")(target.agent, server.url, 0)
    if (storage === "memory") await put(LARGE, () => "load-large")(target.agent, server.url, 0)
    return target
  }
  const results: Array<Result> = []
  const notes: Array<string> = []
  try {
    if (baselineRevision !== undefined) {
      progress(`bundling the working tree's server and ${baselineRevision}'s`)
      bundles.push(await bundleServer(), await bundleServer(baselineRevision))
    }
    for (const c of cases) {
      const scale = c.scale ?? 1
      const sides = baselineRevision === undefined ? ["current" as const] : ["current" as const, "baseline" as const]
      const runners = await Promise.all(sides.map((side) => start(side, c.storage)))
      for (const runner of runners) await load(runner, c.request, Math.max(1, Math.floor(c.count / 4)), c.concurrency)
      const samples = runners.map(() => [] as Array<Sample>)
      for (let i = 0; i < repetitions; i++) {
        const order = i % 2 === 0 ? runners.map((_, j) => j) : runners.map((_, j) => j).reverse()
        for (const j of order) samples[j]!.push(await load(runners[j]!, c.request, c.count, c.concurrency))
      }
      const rates = samples.map((list) => list.map((s) => s.rate * scale))
      const busy = samples.map((list) => list.map((s) => s.busy * 100))
      const cpu = samples.map((list) => list.map((s) => scale === 1 ? s.cpuPerRequest : s.cpuPerRequest / 1000))
      const compared = (name: string, unit: string, values: Array<Array<number>>): Result => {
        const current = median(values[0]!)
        if (values.length === 1) return { name, median: current, unit, samples: values[0] }
        const baseline = median(values[1]!)
        return {
          name,
          median: current,
          unit,
          baseline,
          ratio: current / baseline,
          samples: values[0],
          baselineSamples: values[1]
        }
      }
      results.push(compared(c.name, c.unit, rates))
      results.push(compared(`${c.name}: server CPU`, scale === 1 ? "µs/req" : "ms/transfer", cpu))
      results.push(compared(`${c.name}: server busy`, "% of a core", busy))
      results.push(compared(`${c.name}: median latency`, "ms", samples.map((list) => list.map((s) => s.latency))))
      progress(
        `${c.name}: ${median(rates[0]!).toFixed(0)} ${c.unit}, server ${median(cpu[0]!).toFixed(0)} ${
          scale === 1 ? "µs/req" : "ms/transfer"
        }` +
          (rates.length > 1
            ? ` (baseline ${median(rates[1]!).toFixed(0)} ${c.unit}, ${median(cpu[1]!).toFixed(0)})`
            : "")
      )
    }
  } finally {
    for (const target of targets.values()) {
      await target.agent.destroy()
      await target.server.stop()
    }
    for (const bundle of bundles) bundle.dispose()
    for (const dir of dirs) fs.rmSync(dir, { recursive: true, force: true })
  }
  notes.push(
    `median of ${repetitions} repetitions after a warm-up; the client is raw undici (one Pool); the server is ` +
      "`Server.layer` (auth off) in its own process; server CPU from /proc/<pid>/stat",
    `load average (1 min) before/after: ${loadBefore.toFixed(2)} / ${os.loadavg()[0]!.toFixed(2)}`
  )
  if (baselineRevision !== undefined) {
    notes.push(
      `baseline: the server at ${bundles[1]?.label ?? baselineRevision}, interleaved with the working ` +
        "tree's; both bundled with esbuild; ratio = working tree / baseline (for CPU, lower is better)"
    )
  }
  emit("server-load", results, notes)
}

main().catch((error) => {
  process.stderr.write(`${error instanceof Error ? error.stack : String(error)}\n`)
  process.exit(1)
})
