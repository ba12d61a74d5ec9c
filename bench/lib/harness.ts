/**
 * The benchmark convention shared by every `bench/<name>.ts` workload:
 *
 * - `--quick` keeps a workload under about 30 s (smaller sizes, fewer repetitions);
 * - SDK and baseline runs are interleaved (A B, then B A, …) after a warm-up, so slow drifts of a shared machine
 *   hit both alike, and every figure is the median of the repetitions;
 * - a human table goes to stderr and ONE JSON line to stdout:
 *   `{"workload":"<name>","quick":bool,"results":[{name, median, unit, baseline?, ratio?, target?, pass?, …}],
 *   "notes":[…]}`. `bench/run.ts` collects these lines into `BENCHMARKS.md`.
 *
 * Benchmarks measure; they never assert timings.
 */
import { performance } from "node:perf_hooks"

/** Whether the workload was started with `--quick`. */
export const quick: boolean = process.argv.includes("--quick")

/** The value of `--name value` on the command line, if any. */
export const argument = (name: string): string | undefined => {
  const index = process.argv.indexOf(`--${name}`)
  return index >= 0 ? process.argv[index + 1] : undefined
}

/** One measured figure. `ratio` is `median / baseline`. */
export interface Result {
  readonly name: string
  readonly median: number
  readonly unit: string
  readonly baseline?: number | undefined
  readonly ratio?: number | undefined
  /** The target in words, e.g. `>= 0.80 x baseline` or `< 64 MiB`. */
  readonly target?: string | undefined
  readonly pass?: boolean | undefined
  /** Every repetition, in run order. */
  readonly samples?: ReadonlyArray<number> | undefined
  readonly baselineSamples?: ReadonlyArray<number> | undefined
}

/** The JSON line a workload prints. */
export interface Report {
  readonly workload: string
  readonly quick: boolean
  readonly results: ReadonlyArray<Result>
  readonly notes: ReadonlyArray<string>
}

export const median = (values: ReadonlyArray<number>): number => {
  if (values.length === 0) return Number.NaN
  const sorted = [...values].sort((a, b) => a - b)
  const middle = sorted.length >> 1
  return sorted.length % 2 === 1 ? sorted[middle]! : (sorted[middle - 1]! + sorted[middle]!) / 2
}

export const MiB = 1024 * 1024
export const KiB = 1024

/** Runs `body` and returns the elapsed wall time in milliseconds. */
export const timed = async (body: () => Promise<unknown>): Promise<number> => {
  const start = performance.now()
  await body()
  return performance.now() - start
}

/**
 * Runs `warmup` unmeasured rounds of both, then `repetitions` measured rounds alternating the order (A B, B A, …).
 * Each function returns its own figure for one repetition (a rate, a duration, bytes…).
 */
export const interleave = async (
  options: { readonly repetitions: number; readonly warmup: number },
  sdk: () => Promise<number>,
  baseline: () => Promise<number>
): Promise<{ readonly sdk: Array<number>; readonly baseline: Array<number> }> => {
  for (let i = 0; i < options.warmup; i++) {
    await sdk()
    await baseline()
  }
  const out = { sdk: [] as Array<number>, baseline: [] as Array<number> }
  for (let i = 0; i < options.repetitions; i++) {
    if (i % 2 === 0) {
      out.sdk.push(await sdk())
      out.baseline.push(await baseline())
    } else {
      out.baseline.push(await baseline())
      out.sdk.push(await sdk())
    }
  }
  return out
}

/** A result comparing SDK samples to baseline samples where higher is better, with a minimum ratio as target. */
export const compareHigher = (
  name: string,
  unit: string,
  samples: { readonly sdk: ReadonlyArray<number>; readonly baseline: ReadonlyArray<number> },
  minimumRatio?: number
): Result => {
  const sdk = median(samples.sdk)
  const baseline = median(samples.baseline)
  const ratio = sdk / baseline
  return {
    name,
    median: sdk,
    unit,
    baseline,
    ratio,
    ...(minimumRatio === undefined
      ? {}
      : { target: `>= ${minimumRatio.toFixed(2)} x baseline`, pass: ratio >= minimumRatio }),
    samples: samples.sdk,
    baselineSamples: samples.baseline
  }
}

/** A result comparing SDK samples to baseline samples where lower is better (CPU time, memory), with a maximum ratio. */
export const compareLower = (
  name: string,
  unit: string,
  samples: { readonly sdk: ReadonlyArray<number>; readonly baseline: ReadonlyArray<number> },
  maximumRatio?: number
): Result => {
  const sdk = median(samples.sdk)
  const baseline = median(samples.baseline)
  const ratio = sdk / baseline
  return {
    name,
    median: sdk,
    unit,
    baseline,
    ratio,
    ...(maximumRatio === undefined
      ? {}
      : { target: `<= ${maximumRatio.toFixed(2)} x baseline`, pass: ratio <= maximumRatio }),
    samples: samples.sdk,
    baselineSamples: samples.baseline
  }
}

/** Formats a number for tables: 3 significant digits, thousands grouped. */
export const format = (value: number | undefined): string => {
  if (value === undefined) return ""
  if (!Number.isFinite(value)) return String(value)
  const magnitude = Math.abs(value)
  if (magnitude >= 1000) return Math.round(value).toLocaleString("en-US")
  if (magnitude >= 100) return value.toFixed(0)
  if (magnitude >= 10) return value.toFixed(1)
  if (magnitude >= 1) return value.toFixed(2)
  return value.toFixed(3)
}

const verdict = (result: Result): string => result.pass === undefined ? "" : result.pass ? "pass" : "MISS"

/** Renders results as an aligned text table. */
export const textTable = (results: ReadonlyArray<Result>): string => {
  const header = ["case", "median", "unit", "baseline", "ratio", "target", ""]
  const rows = results.map((r) => [
    r.name,
    format(r.median),
    r.unit,
    format(r.baseline),
    r.ratio === undefined ? "" : r.ratio.toFixed(3),
    r.target ?? "",
    verdict(r)
  ])
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((row) => row[i]!.length)))
  const line = (cells: ReadonlyArray<string>) => cells.map((cell, i) => cell.padEnd(widths[i]!)).join("  ").trimEnd()
  return [line(header), line(widths.map((w) => "-".repeat(w))), ...rows.map(line)].join("\n")
}

/** Prints the human table (stderr) and the one JSON line (stdout). */
export const emit = (workload: string, results: ReadonlyArray<Result>, notes: ReadonlyArray<string> = []): void => {
  process.stderr.write(`\n== ${workload}${quick ? " (quick)" : ""} ==\n${textTable(results)}\n`)
  for (const note of notes) process.stderr.write(`  note: ${note}\n`)
  const report: Report = { workload, quick, results, notes }
  process.stdout.write(JSON.stringify(report) + "\n")
}

/** Logs progress to stderr (never stdout, which carries the JSON line). */
export const progress = (message: string): void => {
  process.stderr.write(`  ${message}\n`)
}
