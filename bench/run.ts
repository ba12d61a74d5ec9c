/**
 * Runs every benchmark workload (`bench/<name>.ts`) in its own child process, one after another, collects the JSON
 * line each prints, and writes the results with the command and the environment into `BENCHMARKS.md`.
 *
 *   node --import tsx bench/run.ts                 full settings; writes BENCHMARKS.md
 *   node --import tsx bench/run.ts --quick         short settings (each workload ~30 s); prints, writes nothing
 *   options: --only small,large   --out FILE (write there; with --quick too)   --list
 *            --sources (measure the TypeScript sources through tsx instead of the built packages)
 *
 * The packages are measured as users install them: `npm run build` first, then every workload runs with
 * `TSX_TSCONFIG_PATH=bench/tsconfig.built.json`, under which `@objectstore/*` resolves to the built `dist` (tsc's
 * output) rather than to the sources through the root tsconfig's `paths`. tsx compiles sources with esbuild's
 * `keepNames`, which wraps every function the client creates per request in a `__name` call: about 10-15% of a small
 * request's client CPU that no installed package pays. A workload run by hand (`node --import tsx bench/small.ts`)
 * measures the sources unless given the same variable.
 *
 * Only the part of `BENCHMARKS.md` between the `<!-- bench:results:begin -->` and `<!-- bench:results:end -->`
 * markers is regenerated; hand-written analysis around them survives. Workloads run sequentially so that each has
 * the machine (and its own RSS and GC state) to itself. The exit code is non-zero only when a workload crashed:
 * missed targets are reported, never asserted.
 */
import { execFileSync, spawn } from "node:child_process"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { fileURLToPath } from "node:url"
import { format, type Report, type Result } from "./lib/harness.js"

const here = path.dirname(fileURLToPath(import.meta.url))
const root = path.dirname(here)
const BEGIN = "<!-- bench:results:begin -->"
const END = "<!-- bench:results:end -->"

/** Known workloads, in the order they run; any other `bench/*.ts` runs after them, alphabetically. */
const ORDER = [
  "server-load",
  "small",
  "large",
  "compression",
  "streaming-memory",
  "batch",
  "multipart",
  "resumable",
  "memory-1gib"
]

const args = process.argv.slice(2)
const option = (name: string): string | undefined => {
  const index = args.indexOf(`--${name}`)
  return index >= 0 ? args[index + 1] : undefined
}
const quick = args.includes("--quick")
const sources = args.includes("--sources")
const only = option("only")?.split(",").map((name) => name.trim()).filter((name) => name !== "")
const out = option("out") ?? (quick ? undefined : path.join(root, "BENCHMARKS.md"))
const timeoutMs = (quick ? 3 : 20) * 60_000

/**
 * Scripts under `bench/` that are not workloads: they print a table for people and no result line. `faults` tabulates
 * every operation against every fault (its cells are asserted by the test suite, `FaultSuite.test.ts`); all its modes
 * together run for longer than a workload may, so run here it was stopped after 20 minutes and reported as failed.
 */
const TOOLS = new Set(["run", "faults"])

const discover = (): Array<string> => {
  const found = fs.readdirSync(here)
    // `_`-prefixed files are scratch files, not workloads.
    .filter((file) => file.endsWith(".ts") && !file.endsWith(".d.ts") && !file.startsWith("_"))
    .map((file) => file.slice(0, -3))
    .filter((name) => !TOOLS.has(name))
  const known = ORDER.filter((name) => found.includes(name))
  return [...known, ...found.filter((name) => !ORDER.includes(name)).sort()]
}

interface Outcome {
  readonly name: string
  readonly seconds: number
  readonly report?: Report | undefined
  readonly error?: string | undefined
}

const runWorkload = (name: string): Promise<Outcome> =>
  new Promise((resolve) => {
    const start = Date.now()
    const child = spawn(process.execPath, [
      "--import",
      "tsx",
      path.join(here, `${name}.ts`),
      ...(quick ? ["--quick"] : [])
    ], {
      cwd: root,
      stdio: ["ignore", "pipe", "inherit"],
      env: sources ? process.env : { ...process.env, TSX_TSCONFIG_PATH: path.join(here, "tsconfig.built.json") }
    })
    let stdout = ""
    child.stdout.setEncoding("utf8")
    child.stdout.on("data", (data: string) => (stdout += data))
    const timer = setTimeout(() => {
      process.stderr.write(`run: ${name} exceeded ${timeoutMs / 60_000} min, stopping it\n`)
      child.kill("SIGTERM")
    }, timeoutMs)
    child.once("exit", (code, signal) => {
      clearTimeout(timer)
      const seconds = (Date.now() - start) / 1000
      const line = stdout.split("\n").reverse().find((text) => text.startsWith("{"))
      let report: Report | undefined
      try {
        report = line === undefined ? undefined : (JSON.parse(line) as Report)
      } catch {
        report = undefined
      }
      if (code === 0 && report !== undefined) return resolve({ name, seconds, report })
      resolve({
        name,
        seconds,
        report,
        error: report === undefined
          ? `exited with ${signal ?? code} without a result line`
          : `exited with ${signal ?? code}`
      })
    })
  })

const git = (...command: Array<string>): string => {
  try {
    return execFileSync("git", command, { cwd: root, encoding: "utf8", stdio: ["ignore", "pipe", "ignore"] }).trim()
  } catch {
    return "unknown"
  }
}

const environment = (loadBefore: ReadonlyArray<number>, loadAfter: ReadonlyArray<number>) => {
  const cpus = os.cpus()
  const models = [...new Set(cpus.map((cpu) => cpu.model.trim()))].join(", ")
  const dirty = git("status", "--porcelain", "--untracked-files=no") === "" ? "" : " (with uncommitted changes)"
  const load = (values: ReadonlyArray<number>) => values.map((value) => value.toFixed(2)).join(" / ")
  return [
    `- Command: \`node --import tsx bench/run.ts${args.length > 0 ? ` ${args.join(" ")}` : ""}\`` +
    ` (\`npm run bench${quick ? ":quick" : ""}\`)`,
    `- Date: ${new Date().toISOString()}`,
    `- Commit: ${git("rev-parse", "--short", "HEAD")}${dirty}`,
    `- Machine: ${cpus.length} x ${models}; ${(os.totalmem() / 1024 ** 3).toFixed(1)} GiB memory; ` +
    `${os.type()} ${os.release()} ${os.arch()}`,
    `- Node.js ${process.version}`,
    `- Load average (1/5/15 min) before: ${load(loadBefore)}; after: ${load(loadAfter)}`,
    `- Settings: ${quick ? "quick (short runs, fewer repetitions: indicative only)" : "full"}`,
    `- Packages: ${sources ? "the TypeScript sources through tsx (--sources)" : "as built (dist, tsc's output)"}`
  ].join("\n")
}

const cell = (text: string) => text.replaceAll("|", "\\|")

const spread = (samples: ReadonlyArray<number> | undefined): string => {
  if (samples === undefined || samples.length < 2) return ""
  return `${format(Math.min(...samples))}–${format(Math.max(...samples))}`
}

const table = (results: ReadonlyArray<Result>): string => {
  const rows = results.map((r) =>
    [
      cell(r.name),
      `${format(r.median)} ${r.unit}`,
      spread(r.samples),
      r.baseline === undefined ? "" : `${format(r.baseline)} ${r.unit}`,
      r.ratio === undefined ? "" : r.ratio.toFixed(3),
      cell(r.target ?? ""),
      r.pass === undefined ? "" : r.pass ? "pass" : "**miss**"
    ].join(" | ")
  )
  return [
    "| case | SDK (median) | SDK range | baseline (median) | ratio | target | result |",
    "|---|---|---|---|---|---|---|",
    ...rows.map((row) => `| ${row} |`)
  ].join("\n")
}

const render = (outcomes: ReadonlyArray<Outcome>, env: string): string => {
  const targets = outcomes.flatMap((o) => o.report?.results ?? []).filter((r) => r.pass !== undefined)
  const missed = targets.filter((r) => r.pass === false)
  const sections = outcomes.map((outcome) => {
    const lines = [`### ${outcome.name}`, ""]
    if (outcome.error !== undefined) lines.push(`**Failed:** ${outcome.error}.`, "")
    if (outcome.report !== undefined) {
      lines.push(table(outcome.report.results), "")
      for (const note of outcome.report.notes) lines.push(`- ${note}`)
      if (outcome.report.notes.length > 0) lines.push("")
    }
    lines.push(
      `_Ran in ${outcome.seconds.toFixed(0)} s: \`node --import tsx bench/${outcome.name}.ts${
        quick ? " --quick" : ""
      }\`_`
    )
    return lines.join("\n")
  })
  return [
    BEGIN,
    "<!-- Generated by bench/run.ts: edits between these markers are overwritten. -->",
    "",
    "## Results",
    "",
    env,
    "",
    `Targets met: ${targets.length - missed.length} of ${targets.length}` +
    (missed.length > 0 ? ` (missed: ${missed.map((r) => r.name).join("; ")})` : "") + ".",
    "",
    ...sections.flatMap((section) => [section, ""]),
    END
  ].join("\n")
}

const TEMPLATE = `# Benchmarks

How fast and how lean the SDK is, measured against baselines on the same machine in the same run (\`bench/\`).
Run \`npm run bench\` (full settings, writes this file) or \`npm run bench:quick\` (short settings, prints only).
Figures are medians of interleaved SDK/baseline repetitions; ratios are SDK / baseline.

`

const write = (file: string, generated: string) => {
  const existing = fs.existsSync(file) ? fs.readFileSync(file, "utf8") : TEMPLATE
  const begin = existing.indexOf(BEGIN)
  const end = existing.indexOf(END)
  const next = begin >= 0 && end > begin
    ? existing.slice(0, begin) + generated + existing.slice(end + END.length)
    : `${existing.trimEnd()}\n\n${generated}\n`
  fs.writeFileSync(file, next)
}

const main = async () => {
  const all = discover()
  if (args.includes("--list")) {
    process.stdout.write(all.join("\n") + "\n")
    return
  }
  const unknown = (only ?? []).filter((name) => !all.includes(name))
  if (unknown.length > 0) throw new Error(`unknown workload(s): ${unknown.join(", ")} (have: ${all.join(", ")})`)
  const selected = only === undefined ? all : all.filter((name) => only.includes(name))
  if (!sources) {
    process.stderr.write("run: npm run build (the packages are measured as built; --sources for the sources)\n")
    execFileSync("npm", ["run", "build"], { cwd: root, stdio: ["ignore", "ignore", "inherit"] })
  }
  const loadBefore = os.loadavg()
  const outcomes: Array<Outcome> = []
  for (const name of selected) {
    process.stderr.write(`\nrun: ${name}${quick ? " --quick" : ""}\n`)
    const outcome = await runWorkload(name)
    if (outcome.error !== undefined) process.stderr.write(`run: ${name} failed: ${outcome.error}\n`)
    outcomes.push(outcome)
  }
  const generated = render(outcomes, environment(loadBefore, os.loadavg()))
  if (out === undefined) process.stdout.write(generated + "\n")
  else {
    write(out, generated)
    process.stderr.write(`\nrun: wrote ${path.relative(process.cwd(), out)}\n`)
  }
  if (outcomes.some((outcome) => outcome.error !== undefined)) process.exitCode = 1
}

main().catch((error) => {
  process.stderr.write(`${error instanceof Error ? error.stack : String(error)}\n`)
  process.exit(1)
})
