/**
 * A profiling aid, not a workload (bench/run.ts does not run it): client and server CPU per operation of `many`,
 * both sides measured. One server process; `rounds` warm rounds (after one warm-up) of `count` puts of 1 KiB then
 * `count` gets, with compression "none" and with the usecase's default zstd, alternated. Client CPU from
 * `process.cpuUsage`, server CPU from `/proc/<pid>/stat` (10 ms ticks: use counts of 10,000 or more). With
 * `SRV=here` or `SRV=<revision>` the server is bundled (`bench/lib/baseline.ts`) from the working tree or that
 * revision instead of run from source; with `BENCH_SERVER_NODE_OPTIONS="--cpu-prof --cpu-prof-dir=..."` it is
 * profiled.
 *
 *   node --import tsx bench/profile/many-cpu.ts [count] [rounds] [label]
 *
 * Prints one JSON line: per mode, each round's ops/s, client µs per operation (c) and server µs per operation (s).
 */
import { Batch } from "@objectstore/client"
import * as Effect from "effect/Effect"
import * as Stream from "effect/Stream"
import { performance } from "node:perf_hooks"
import { bundleServer } from "../lib/baseline.js"
import { makeSdk } from "../lib/clients.js"
import { semiCompressible } from "../lib/data.js"
import { KiB } from "../lib/harness.js"
import { startServer } from "../lib/server.js"

const count = Number(process.argv[2] ?? 10_000)
const rounds = Number(process.argv[3] ?? 3)
const PAYLOAD = semiCompressible(KiB, 5)

const main = async () => {
  const which = process.env.SRV
  const bundle = which === undefined ? undefined : await bundleServer(which === "here" ? undefined : which)
  const server = await startServer(bundle === undefined ? {} : { script: bundle.script })
  const sdk = await makeSdk(server.url)
  const out: Record<string, Array<string>> = { none: [], zstd: [] }
  try {
    for (let round = 0; round <= rounds; round++) {
      for (const mode of ["none", "zstd"] as const) {
        const options = mode === "none" ? { compression: "none" as const } : {}
        const key = (i: number) => `cpu-${round}-${mode}-${i}`
        const client = process.cpuUsage()
        const serverBefore = server.cpuMillis()
        const start = performance.now()
        await sdk.run(Effect.gen(function*() {
          yield* Batch.collectErrors(sdk.session.many(
            Stream.range(0, count - 1).pipe(Stream.map((i) => Batch.put(PAYLOAD, { key: key(i), ...options })))
          ))
          yield* Stream.runDrain(
            sdk.session.many(Stream.range(0, count - 1).pipe(Stream.map((i) => Batch.get(key(i)))))
          )
        }))
        const elapsed = performance.now() - start
        const used = process.cpuUsage(client)
        const serverMillis = server.cpuMillis() - serverBefore
        if (round === 0) continue // warm-up
        out[mode]!.push(
          `${(2 * count / (elapsed / 1000)).toFixed(0)}ops/s c${
            ((used.user + used.system) / (2 * count)).toFixed(0)
          } s${(serverMillis * 1000 / (2 * count)).toFixed(0)}`
        )
      }
    }
  } finally {
    await sdk.dispose()
    await server.stop()
    bundle?.dispose()
  }
  process.stdout.write(`${process.argv[4] ?? ""} ${JSON.stringify(out)}\n`)
}

main().catch((error) => {
  process.stderr.write(`${error instanceof Error ? error.stack : String(error)}\n`)
  process.exit(1)
})
