/**
 * Small objects: 1 KiB put, get and head at concurrency 1 and 16, the SDK against raw undici requests with the
 * same headers and bodies. Target: the SDK at 80% or more of raw undici's requests per second.
 *
 * Uploads use compression "none" (a 1 KiB body is dominated by request overhead, and zstd is measured on its own in
 * `compression.ts`); the SDK runs with its defaults otherwise (metrics on, retries on).
 *
 *   node --import tsx bench/small.ts [--quick]
 */
import * as Effect from "effect/Effect"
import { performance } from "node:perf_hooks"
import type { Pool } from "undici"
import { makePool, makeSdk, objectPath, putHeaders, readHeaders, type Sdk } from "./lib/clients.js"
import { semiCompressible } from "./lib/data.js"
import { compareHigher, emit, interleave, KiB, progress, quick, type Result } from "./lib/harness.js"
import { startServer } from "./lib/server.js"

type Operation = "put" | "get" | "head"

const PAYLOAD = semiCompressible(KiB, 11)
const GET_KEY = "small-get"
const putKey = (i: number) => `small-put-${i % 64}`

const repetitions = quick ? 3 : 7
const warmup = 1
const countFor = (concurrency: number) => quick ? (concurrency === 1 ? 200 : 600) : concurrency === 1 ? 1000 : 3000

const sdkOperation = (sdk: Sdk, operation: Operation) => (i: number): Effect.Effect<unknown, unknown> => {
  switch (operation) {
    case "put":
      return sdk.session.put(PAYLOAD, { key: putKey(i), compression: "none" })
    case "get":
      return sdk.session.getBytes(GET_KEY)
    case "head":
      return sdk.session.head(GET_KEY)
  }
}

const rawOperation = (agent: Pool, origin: string, operation: Operation) => async (i: number): Promise<void> => {
  switch (operation) {
    case "put": {
      const response = await agent.request({
        origin,
        path: objectPath(putKey(i)),
        method: "PUT",
        headers: putHeaders("none"),
        body: PAYLOAD
      })
      const json = (await response.body.json()) as { key?: string }
      if (response.statusCode !== 200 && response.statusCode !== 201 || typeof json.key !== "string") {
        throw new Error(`put failed: ${response.statusCode}`)
      }
      return
    }
    case "get": {
      const response = await agent.request({ origin, path: objectPath(GET_KEY), method: "GET", headers: readHeaders })
      const bytes = new Uint8Array(await response.body.arrayBuffer())
      if (response.statusCode !== 200 || bytes.length !== PAYLOAD.length) throw new Error("get failed")
      return
    }
    case "head": {
      const response = await agent.request({
        origin,
        path: objectPath(GET_KEY),
        method: "HEAD",
        headers: readHeaders,
        reset: false
      })
      await response.body.dump()
      if (response.statusCode !== 200 && response.statusCode !== 204) throw new Error("head failed")
      return
    }
  }
}

/** Client CPU time per request of each side, summed over the measured repetitions of the current case. */
const cpu = { sdk: { micros: 0, requests: 0 }, raw: { micros: 0, requests: 0 } }

const withCpu = async (side: "sdk" | "raw", count: number, body: () => Promise<unknown>): Promise<number> => {
  const before = process.cpuUsage()
  const start = performance.now()
  await body()
  const elapsed = performance.now() - start
  const used = process.cpuUsage(before)
  cpu[side].micros += used.user + used.system
  cpu[side].requests += count
  return count / (elapsed / 1000)
}

/** Requests per second of `count` calls of `op` with `concurrency` in flight. */
const rawRate = (op: (i: number) => Promise<void>, count: number, concurrency: number): Promise<number> => {
  let next = 0
  return withCpu("raw", count, () =>
    Promise.all(Array.from({ length: concurrency }, async () => {
      while (next < count) await op(next++)
    })))
}

const sdkRate = async (
  sdk: Sdk,
  op: (i: number) => Effect.Effect<unknown, unknown>,
  count: number,
  concurrency: number
): Promise<number> => {
  const indices = Array.from({ length: count }, (_, i) => i)
  return withCpu("sdk", count, () => sdk.run(Effect.forEach(indices, op, { concurrency, discard: true })))
}

const main = async () => {
  const server = await startServer()
  const sdk = await makeSdk(server.url, { compression: "none" })
  const agent = makePool(server.url)
  const origin = server.url
  const results: Array<Result> = []
  const notes: Array<string> = []
  try {
    await sdk.run(sdk.session.put(PAYLOAD, { key: GET_KEY }))
    for (const operation of ["put", "get", "head"] as const) {
      for (const concurrency of [1, 16]) {
        const count = countFor(concurrency)
        const sdkOp = sdkOperation(sdk, operation)
        const rawOp = rawOperation(agent, origin, operation)
        for (const side of [cpu.sdk, cpu.raw]) {
          side.micros = 0
          side.requests = 0
        }
        const cpuBefore = server.cpuMillis()
        const wallBefore = performance.now()
        const samples = await interleave(
          { repetitions, warmup },
          () => sdkRate(sdk, sdkOp, count, concurrency),
          () => rawRate(rawOp, count, concurrency)
        )
        const serverBusy = (server.cpuMillis() - cpuBefore) / (performance.now() - wallBefore)
        const result = compareHigher(`1 KiB ${operation} c${concurrency}`, "req/s", samples, 0.8)
        results.push(result)
        progress(
          `${result.name}: sdk ${result.median.toFixed(0)} req/s, undici ${result.baseline!.toFixed(0)} req/s, ` +
            `ratio ${result.ratio!.toFixed(2)}; server process busy ${(serverBusy * 100).toFixed(0)}% of one core`
        )
        notes.push(
          `${result.name}: client CPU per request ${(cpu.sdk.micros / cpu.sdk.requests).toFixed(0)} us (SDK) vs ${
            (cpu.raw.micros / cpu.raw.requests).toFixed(0)
          } us (undici); server process ${(serverBusy * 100).toFixed(0)}% of a core`
        )
      }
    }
  } finally {
    await sdk.dispose()
    await agent.destroy()
    await server.stop()
  }
  notes.unshift(
    `${repetitions} interleaved repetitions after ${warmup} warm-up; ${countFor(1)} requests per repetition at c1, ` +
      `${countFor(16)} at c16; uploads with compression "none", SDK defaults otherwise (metrics, retries)`
  )
  emit("small", results, notes)
}

main().catch((error) => {
  process.stderr.write(`${error instanceof Error ? error.stack : String(error)}\n`)
  process.exit(1)
})
