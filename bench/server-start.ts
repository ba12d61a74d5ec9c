/**
 * Start-up of the `objectstore-server` command: milliseconds from spawning `run` (memory and filesystem storage,
 * auth off, a free loopback port) to the first 200 on `/health`, polled every 5 ms. The command as installed
 * (`bin/objectstore-server.js`, which runs the single-file bundle `dist/objectstore-server.mjs`) against the
 * compiled modules it ran before the bundle existed (`dist/bin.js`), interleaved. Target: at most 300 ms on a quiet
 * machine. Needs `npm run build` first.
 *
 *   node --import tsx bench/server-start.ts [--quick]
 */
import { spawn } from "node:child_process"
import * as fs from "node:fs"
import * as net from "node:net"
import * as os from "node:os"
import * as path from "node:path"
import { performance } from "node:perf_hooks"
import { fileURLToPath } from "node:url"
import { compareHigher, emit, interleave, median, progress, quick, type Result } from "./lib/harness.js"

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..")
const bundled = path.join(root, "packages/server/bin/objectstore-server.js")
const modules = path.join(root, "packages/server/dist/bin.js")
const repetitions = quick ? 5 : 15

const freePort = () =>
  new Promise<number>((resolve) => {
    const server = net.createServer()
    server.listen(0, "127.0.0.1", () => {
      const port = (server.address() as net.AddressInfo).port
      server.close(() => resolve(port))
    })
  })

/** Spawn to the first 200 on /health, in milliseconds. */
const startOnce = async (script: string, storage: "memory" | "filesystem"): Promise<number> => {
  const port = await freePort()
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "os-bench-start-"))
  const start = performance.now()
  const child = spawn(process.execPath, [script, "run"], {
    cwd: dir,
    env: {
      PATH: process.env.PATH ?? "",
      OS__HTTP_ADDR: `127.0.0.1:${port}`,
      OS__AUTH__ENFORCE: "false",
      OS__STORAGE__TYPE: storage,
      OS__STORAGE__PATH: path.join(dir, "data")
    },
    stdio: "ignore"
  })
  try {
    for (;;) {
      if (child.exitCode !== null) throw new Error(`${script} exited with ${child.exitCode}`)
      try {
        const response = await fetch(`http://127.0.0.1:${port}/health`)
        await response.arrayBuffer()
        if (response.status === 200) return performance.now() - start
      } catch {
        // not listening yet
      }
      await new Promise((resolve) => setTimeout(resolve, 5))
    }
  } finally {
    child.kill("SIGKILL")
    await new Promise((resolve) => child.once("exit", resolve))
    fs.rmSync(dir, { recursive: true, force: true })
  }
}

const main = async () => {
  for (const file of [bundled, modules, path.join(root, "packages/server/dist/objectstore-server.mjs")]) {
    if (!fs.existsSync(file)) throw new Error(`${path.relative(root, file)} is missing: run npm run build first`)
  }
  const loadBefore = os.loadavg()[0]!
  const results: Array<Result> = []
  for (const storage of ["memory", "filesystem"] as const) {
    // lower is better: compare the rates (starts per second) so the ratio reads "times faster"
    const samples = await interleave(
      { repetitions, warmup: 1 },
      () => startOnce(bundled, storage),
      () => startOnce(modules, storage)
    )
    const name = `spawn to /health 200, ${storage} storage`
    const bundledMs = median(samples.sdk)
    results.push({
      name: `${name}: bundle (bin/objectstore-server.js)`,
      median: bundledMs,
      unit: "ms",
      samples: samples.sdk,
      target: "<= 300 ms",
      pass: bundledMs <= 300
    })
    results.push({
      name: `${name}: modules (dist/bin.js)`,
      median: median(samples.baseline),
      unit: "ms",
      samples: samples.baseline
    })
    const speed = compareHigher(`${name}: speed-up`, "x", {
      sdk: samples.sdk.map((ms) => 1000 / ms),
      baseline: samples.baseline.map((ms) => 1000 / ms)
    })
    results.push({ name: speed.name, median: speed.ratio!, unit: "x" })
    progress(`${name}: bundle ${bundledMs.toFixed(0)} ms, modules ${median(samples.baseline).toFixed(0)} ms`)
  }
  emit("server-start", results, [
    `median of ${repetitions} interleaved starts after a warm-up; /health polled every 5 ms; node ${process.version}`,
    `load average (1 min) before/after: ${loadBefore.toFixed(2)} / ${os.loadavg()[0]!.toFixed(2)}`
  ])
}

main().catch((error) => {
  process.stderr.write(`${error instanceof Error ? error.stack : String(error)}\n`)
  process.exit(1)
})
