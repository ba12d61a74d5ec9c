/**
 * A profiling target, not a workload (bench/run.ts does not run it): `many` puts then gets of 1 KiB objects against
 * the benchmark server, so `node --cpu-prof` sees the client alone.
 *
 *   node --cpu-prof --cpu-prof-dir=/tmp/prof --import tsx bench/profile/many.ts [count] [--none]
 *
 * Without `--none`, the usecase's default compression (zstd) is used.
 */
import { Batch } from "@objectstore/client"
import * as Effect from "effect/Effect"
import * as Stream from "effect/Stream"
import { performance } from "node:perf_hooks"
import { makeSdk } from "../lib/clients.js"
import { semiCompressible } from "../lib/data.js"
import { KiB } from "../lib/harness.js"
import { startServer } from "../lib/server.js"

const [countText] = process.argv.slice(2).filter((arg) => !arg.startsWith("--"))
const count = Number(countText ?? 10_000)
const none = process.argv.includes("--none")
const PAYLOAD = semiCompressible(KiB, 5)

const main = async () => {
  const server = await startServer()
  const sdk = await makeSdk(server.url)
  const options = none ? { compression: "none" as const } : {}
  try {
    const before = process.cpuUsage()
    const start = performance.now()
    await sdk.run(Effect.gen(function*() {
      yield* Batch.collectErrors(sdk.session.many(
        Stream.range(0, count - 1).pipe(Stream.map((i) => Batch.put(PAYLOAD, { key: `m${i}`, ...options })))
      ))
      yield* sdk.session.many(Stream.range(0, count - 1).pipe(Stream.map((i) => Batch.get(`m${i}`)))).pipe(
        Stream.runDrain
      )
    }))
    const elapsed = performance.now() - start
    const used = process.cpuUsage(before)
    process.stderr.write(
      `${count} puts + gets (${none ? "none" : "zstd"}): ${elapsed.toFixed(0)} ms, client CPU ${
        ((used.user + used.system) / 1000).toFixed(0)
      } ms\n`
    )
  } finally {
    await sdk.dispose()
    await server.stop()
  }
}

main().catch((error) => {
  process.stderr.write(`${error instanceof Error ? error.stack : String(error)}\n`)
  process.exit(1)
})
