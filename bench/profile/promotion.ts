/**
 * A profiling aid, not a workload (bench/run.ts does not run it): how much of what one operation allocates outlives
 * it long enough for V8's young-generation collector (the scavenger) to promote it to the old generation. A request
 * that leaves nothing reachable once it has ended promotes almost nothing (raw undici: about 10 bytes); whatever is
 * promoted is copied by the scavenge that finds it and swept later by a mark-compact, and that costs CPU on the
 * main thread and on the collector's helper threads (which `process.cpuUsage` counts).
 *
 * Each case runs in a child process: a warm-up of `count` operations, then `count` measured ones, one at a time,
 * against the local server over loopback, with V8's `--trace-gc-nvp` switched on for the measured part only
 * (`v8.setFlagsFromString`). The collections it traces are summed.
 *
 *   node --import tsx bench/profile/promotion.ts [count] [case,...]
 *
 * Cases: `raw` (undici `Pool.request`, the body read whole), `getBytes`, `head`, `put` (compression "none"),
 * `get stream` (a get whose body is run with `Stream.runDrain`) and `stream floor` (Effect's own
 * `Stream.runDrain(Stream.succeed(1 KiB))`, no request). Prints, per case: client CPU per operation, scavenges, bytes
 * allocated per operation (as the collections report it: what was allocated between them), bytes promoted per
 * operation, scavenge pause per operation and mark-compacts.
 */
import * as Effect from "effect/Effect"
import * as Stream from "effect/Stream"
import { spawnSync } from "node:child_process"
import { fileURLToPath } from "node:url"
import * as v8 from "node:v8"
import { makePool, makeSdk, rawGet } from "../lib/clients.js"
import { semiCompressible } from "../lib/data.js"
import { KiB } from "../lib/harness.js"
import { startServer } from "../lib/server.js"

const CASES = ["raw", "getBytes", "head", "put", "get stream", "stream floor"] as const
type Case = typeof CASES[number]

/** The child: runs one case; V8 traces the measured part's collections to stdout, the child its CPU to stderr. */
const child = async (count: number, name: Case) => {
  const server = await startServer()
  const sdk = await makeSdk(server.url)
  const pool = makePool(server.url)
  const payload = semiCompressible(KiB, 11)
  try {
    await sdk.run(sdk.session.put(payload, { key: "promotion", compression: "none" }))
    const operation = (): Effect.Effect<unknown, unknown> => {
      switch (name) {
        case "getBytes":
          return sdk.session.getBytes("promotion")
        case "head":
          return sdk.session.head("promotion")
        case "put":
          return sdk.session.put(payload, { key: "promotion-put", compression: "none" })
        case "get stream":
          return Effect.scoped(
            Effect.flatMap(sdk.session.get("promotion"), (response) => Stream.runDrain(response.stream))
          )
        default:
          return Stream.runDrain(Stream.succeed(payload))
      }
    }
    const loop = name === "raw"
      ? async () => {
        for (let i = 0; i < count; i++) await rawGet(pool, server.url, "promotion")
      }
      : () => sdk.run(Effect.forEach(Array.from({ length: count }), operation, { discard: true }))
    await loop()
    // A young-generation collection on each side of the measured part (`--expose-gc`): the first empties the young
    // generation, so the traced collections report only what the measured part allocated; the last (traced, after
    // the CPU is read) reports what it allocated after the last collection of its own.
    const scavenge = (globalThis as { gc?: (options: { type: "minor" }) => void }).gc
    scavenge?.({ type: "minor" })
    v8.setFlagsFromString("--trace-gc-nvp")
    const before = process.cpuUsage()
    await loop()
    const used = process.cpuUsage(before)
    scavenge?.({ type: "minor" })
    v8.setFlagsFromString("--no-trace-gc-nvp")
    process.stderr.write(`${(used.user + used.system) / count}\n`)
  } finally {
    await sdk.dispose()
    await pool.destroy()
    await server.stop()
  }
}

/** Sums the collections of a `--trace-gc-nvp` trace. */
const summarise = (trace: string, count: number) => {
  let scavenges = 0
  let promoted = 0
  let pause = 0
  let markCompacts = 0
  let allocated = 0
  for (const line of trace.split("\n")) {
    const fields = new Map(
      line.split(/\s+/).filter((field) => field.includes("=")).map((field) => field.split("=") as [string, string])
    )
    // Each collection reports what was allocated since the one before it.
    allocated += Number(fields.get("allocated") ?? 0)
    if (fields.get("gc") === "s") {
      scavenges++
      promoted += Number(fields.get("promoted") ?? 0)
      pause += Number(fields.get("pause") ?? 0)
    } else if (fields.get("gc") === "mc") markCompacts++
  }
  return {
    scavenges,
    allocatedBytesPerOp: Math.round(allocated / count),
    promotedBytesPerOp: Math.round(promoted / count),
    scavengePauseMicrosPerOp: Number(((pause * 1000) / count).toFixed(1)),
    markCompacts
  }
}

const main = async () => {
  const count = Number(process.argv[2] ?? 5000)
  if (process.env.PROMOTION_CASE !== undefined) return child(count, process.env.PROMOTION_CASE as Case)
  const wanted = process.argv[3]?.split(",") ?? CASES
  const self = fileURLToPath(import.meta.url)
  for (const name of CASES.filter((c) => wanted.includes(c))) {
    const run = spawnSync(process.execPath, [...process.execArgv, "--expose-gc", self, String(count)], {
      env: { ...process.env, PROMOTION_CASE: name },
      encoding: "utf8",
      maxBuffer: 64 * 1024 * 1024
    })
    if (run.status !== 0) throw new Error(`${name}: exit ${run.status}\n${run.stderr}`)
    const cpu = Math.round(Number(run.stderr.trim().split("\n").at(-1)))
    process.stdout.write(
      `${JSON.stringify({ case: name, count, cpuMicrosPerOp: cpu, ...summarise(run.stdout, count) })}\n`
    )
  }
}

main().catch((error) => {
  process.stderr.write(`${error instanceof Error ? error.stack : String(error)}\n`)
  process.exit(1)
})
