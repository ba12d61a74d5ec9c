/**
 * Peak resident memory of this process. On Linux the kernel's own high-water mark (`VmHWM` in
 * `/proc/self/status`) is reset by writing `5` to `/proc/self/clear_refs`, so a phase's peak is exact and no sample
 * is missed while the event loop is busy. A timer sampling `process.memoryUsage.rss()` every few milliseconds runs
 * as well (and is the only source elsewhere).
 */
import * as fs from "node:fs"

const readKiB = (field: string): number | undefined => {
  try {
    const match = new RegExp(`${field}:\\s+(\\d+) kB`).exec(fs.readFileSync("/proc/self/status", "utf8"))
    return match === null ? undefined : Number(match[1]) * 1024
  } catch {
    return undefined
  }
}

const resetHighWaterMark = (): boolean => {
  try {
    fs.writeFileSync("/proc/self/clear_refs", "5")
    return true
  } catch {
    return false
  }
}

export interface PeakTracker {
  /** The peak RSS since `track()`, in bytes, and how it was measured. */
  readonly stop: () => { readonly peak: number; readonly source: "VmHWM" | "sampled" }
}

/** Starts tracking the peak RSS from now on. */
export const track = (intervalMs = 5): PeakTracker => {
  const exact = resetHighWaterMark()
  let sampled = process.memoryUsage.rss()
  const timer = setInterval(() => {
    sampled = Math.max(sampled, process.memoryUsage.rss())
  }, intervalMs)
  return {
    stop: () => {
      clearInterval(timer)
      sampled = Math.max(sampled, process.memoryUsage.rss())
      const hwm = exact ? readKiB("VmHWM") : undefined
      return hwm === undefined
        ? { peak: sampled, source: "sampled" }
        : { peak: Math.max(hwm, sampled), source: "VmHWM" }
    }
  }
}

/** The RSS now, after a full GC when the process runs with `--expose-gc`. */
export const settledRss = async (): Promise<number> => {
  const gc = (globalThis as { gc?: () => void }).gc
  for (let i = 0; i < 3; i++) {
    gc?.()
    await new Promise((resolve) => setTimeout(resolve, 20))
  }
  return process.memoryUsage.rss()
}
