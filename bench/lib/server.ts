/**
 * Starts the benchmark server (`server-main.ts`) in a child process and reads its CPU time, so a workload can tell
 * whether the server, not the client, was the limit.
 */
import { spawn } from "node:child_process"
import * as fs from "node:fs"
import * as path from "node:path"
import { fileURLToPath } from "node:url"

const here = path.dirname(fileURLToPath(import.meta.url))

export interface BenchServer {
  readonly url: string
  readonly pid: number
  /** CPU time (user + system) the server process has used so far, in milliseconds (Linux; `NaN` elsewhere). */
  readonly cpuMillis: () => number
  /** The server's resident set size now, in bytes (Linux; `NaN` elsewhere). */
  readonly rss: () => number
  readonly stop: () => Promise<void>
}

const ticksPerSecond = 100 // USER_HZ on Linux

const readStat = (pid: number): Array<string> | undefined => {
  try {
    const text = fs.readFileSync(`/proc/${pid}/stat`, "utf8")
    // The command name (field 2) may hold spaces; the fields after it start after the last ")".
    return text.slice(text.lastIndexOf(")") + 2).split(" ")
  } catch {
    return undefined
  }
}

/** CPU milliseconds (user + system) of a process, from `/proc/<pid>/stat`. */
export const processCpuMillis = (pid: number): number => {
  const fields = readStat(pid)
  if (fields === undefined) return Number.NaN
  // After the name: state(0) ppid(1) ... utime(11) stime(12)
  return ((Number(fields[11]) + Number(fields[12])) * 1000) / ticksPerSecond
}

const processRss = (pid: number): number => {
  try {
    const status = fs.readFileSync(`/proc/${pid}/status`, "utf8")
    const match = /VmRSS:\s+(\d+) kB/.exec(status)
    return match === null ? Number.NaN : Number(match[1]) * 1024
  } catch {
    return Number.NaN
  }
}

/** How to start the server. */
export interface ServerOptions {
  /** A bundled entry point (`bundleServer` in `baseline.ts`) instead of `server-main.ts` through tsx. */
  readonly script?: string | undefined
  /** `memory` (default) or `filesystem:<dir>`. */
  readonly storage?: string | undefined
}

/** Spawns the server and waits until it listens. */
export const startServer = (options: ServerOptions = {}): Promise<BenchServer> =>
  new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [
      ...(process.env.BENCH_SERVER_NODE_OPTIONS?.split(" ").filter(Boolean) ?? []),
      ...(options.script === undefined ? ["--import", "tsx", path.join(here, "server-main.ts")] : [options.script])
    ], {
      stdio: ["pipe", "pipe", "inherit"],
      env: { ...process.env, ...(options.storage === undefined ? {} : { BENCH_SERVER_STORAGE: options.storage }) }
    })
    let buffered = ""
    let started = false
    const exited = new Promise<void>((done) => child.once("exit", () => done()))
    child.once("error", reject)
    child.once("exit", (code) => {
      if (!started) reject(new Error(`benchmark server exited with ${code} before listening`))
    })
    child.stdout.setEncoding("utf8")
    child.stdout.on("data", (data: string) => {
      if (started) return
      buffered += data
      const newline = buffered.indexOf("\n")
      if (newline < 0) return
      started = true
      const { url } = JSON.parse(buffered.slice(0, newline)) as { url: string }
      const pid = child.pid!
      resolve({
        url,
        pid,
        cpuMillis: () => processCpuMillis(pid),
        rss: () => processRss(pid),
        stop: async () => {
          child.stdin.end()
          const timer = setTimeout(() => child.kill("SIGKILL"), 5000)
          child.kill("SIGTERM")
          await exited
          clearTimeout(timer)
        }
      })
    })
  })
