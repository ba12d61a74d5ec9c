/**
 * A profiling target, not a workload (bench/run.ts does not run it): one SDK operation in a loop against the
 * benchmark server, so `node --cpu-prof` sees the client alone.
 *
 *   node --cpu-prof --cpu-prof-dir=/tmp/prof --import tsx bench/profile/sdk.ts <op> [count] [concurrency]
 *   op: put | get | head | put-large-none | put-large-zstd | get-large-none | get-large-zstd | put-stream-none
 *   options: --no-metrics
 */
import * as Effect from "effect/Effect"
import * as Stream from "effect/Stream"
import { performance } from "node:perf_hooks"
import { makeSdk } from "../lib/clients.js"
import { chunkStream, semiCompressible } from "../lib/data.js"
import { KiB, MiB } from "../lib/harness.js"
import { startServer } from "../lib/server.js"

const [op = "get", countText, concurrencyText] = process.argv.slice(2).filter((arg) => !arg.startsWith("--"))
const count = Number(countText ?? 5000)
const concurrency = Number(concurrencyText ?? 16)
const SMALL = semiCompressible(KiB, 1)
const LARGE = op.includes("large") ? semiCompressible(64 * MiB, 2) : new Uint8Array(0)

const streamBody = (size: number): Stream.Stream<Uint8Array> => chunkStream(size, 256 * KiB)

const main = async () => {
  const server = await startServer()
  const sdk = await makeSdk(server.url, { metrics: !process.argv.includes("--no-metrics") })
  const s = sdk.session
  await sdk.run(s.put(SMALL, { key: "small", compression: "none" }))
  if (LARGE.length > 0) {
    await sdk.run(s.put(LARGE, { key: "large-none", compression: "none" }))
    await sdk.run(s.put(LARGE, { key: "large-zstd", compression: "zstd" }))
  }
  const drain = (key: string) =>
    Effect.scoped(Effect.flatMap(s.get(key), (r) => Stream.runFold(r.stream, 0, (n, c) => n + c.length)))
  const operation = (i: number): Effect.Effect<unknown, unknown> => {
    switch (op) {
      case "put":
        return s.put(SMALL, { key: `p${i % 64}`, compression: "none" })
      case "get":
        return s.getBytes("small")
      case "head":
        return s.head("small")
      case "put-large-none":
        return s.put(LARGE, { key: "pl", compression: "none" })
      case "put-large-zstd":
        return s.put(LARGE, { key: "pl", compression: "zstd" })
      case "get-large-none":
        return drain("large-none")
      case "get-large-zstd":
        return drain("large-zstd")
      case "put-stream-none":
        return s.put(streamBody(64 * MiB), { key: "ps", compression: "none" })
      default:
        throw new Error(`unknown op ${op}`)
    }
  }
  const start = performance.now()
  await sdk.run(Effect.forEach(Array.from({ length: count }, (_, i) => i), operation, { concurrency, discard: true }))
  const seconds = (performance.now() - start) / 1000
  process.stderr.write(`${op}: ${count} in ${seconds.toFixed(2)} s = ${(count / seconds).toFixed(0)} op/s\n`)
  await sdk.dispose()
  await server.stop()
}

main().catch((error) => {
  process.stderr.write(`${error instanceof Error ? error.stack : String(error)}\n`)
  process.exit(1)
})
