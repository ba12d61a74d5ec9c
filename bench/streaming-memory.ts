/**
 * Streaming memory: a 1 GiB put and get through the SDK (zstd and none), and the peak RSS of the client process above
 * its idle RSS. Target: under 64 MiB above idle. Raw undici (with zstd-napi streams for zstd) is measured the same
 * way as the reference.
 *
 * Every case runs in its own child process (`--case <name>`, started with `--expose-gc`), so heap growth from one
 * case never shows up in the next: the child sets up its client and warms it (one small put/get, which loads the
 * codec and opens a connection), settles the heap, records the idle RSS, resets the kernel's high-water mark
 * (`/proc/self/clear_refs`) and streams the payload; the peak is `VmHWM`. The payload is produced on the fly in
 * 256 KiB chunks and never held whole. The server runs in yet another process.
 *
 *   node --import tsx bench/streaming-memory.ts [--quick]
 */
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import * as Stream from "effect/Stream"
import { spawn } from "node:child_process"
import { performance } from "node:perf_hooks"
import { Readable } from "node:stream"
import { fileURLToPath } from "node:url"
import * as zstd from "zstd-napi"
import { makePool, makeSdk, objectPath, putHeaders, readHeaders } from "./lib/clients.js"
import { chunkSource } from "./lib/data.js"
import { argument, emit, median, MiB, progress, quick, type Result } from "./lib/harness.js"
import * as Memory from "./lib/memory.js"
import { startServer } from "./lib/server.js"

type Compression = "zstd" | "none"
type Side = "sdk" | "raw"
type Operation = "put" | "get"

const CHUNK = 256 * 1024
const LIMIT = 64 * MiB

interface CaseOutput {
  readonly idle: number
  readonly peak: number
  readonly source: string
  readonly seconds: number
}

const getKey = (compression: Compression) => `memory-get-${compression}`
const putKey = (compression: Compression) => `memory-put-${compression}`

/** `size` bytes of semi-compressible data as lazily produced chunks. */
function* chunks(size: number): Generator<Uint8Array> {
  const source = chunkSource(CHUNK)
  for (let sent = 0; sent < size; sent += CHUNK) {
    const chunk = source.next()
    yield size - sent < CHUNK ? chunk.subarray(0, size - sent) : chunk
  }
}

/** The same chunks as an Effect stream that produces one chunk per pull. */
const chunkStream = (size: number): Stream.Stream<Uint8Array> =>
  Stream.suspend(() => {
    const iterator = chunks(size)
    return Stream.repeatEffectOption(Effect.suspend(() => {
      const next = iterator.next()
      return next.done ? Effect.fail(Option.none()) : Effect.succeed(next.value)
    }))
  })

const rawPut = async (url: string, compression: Compression, key: string, size: number) => {
  const agent = makePool(url)
  try {
    const source = Readable.from(chunks(size))
    const response = await agent.request({
      origin: url,
      path: objectPath(key),
      method: "PUT",
      headers: putHeaders(compression),
      body: compression === "none" ? source : source.pipe(new zstd.CompressStream({ compressionLevel: 3 }))
    })
    await response.body.dump()
    if (response.statusCode >= 300) throw new Error(`raw put: ${response.statusCode}`)
  } finally {
    await agent.destroy()
  }
}

/** One case, in this (child) process. */
const runCase = async (side: Side, operation: Operation, compression: Compression, url: string, size: number) => {
  let run: () => Promise<number>
  let dispose: () => Promise<void>
  if (side === "sdk") {
    const sdk = await makeSdk(url)
    const put = (body: Stream.Stream<Uint8Array>, key: string) => sdk.run(sdk.session.put(body, { key, compression }))
    const get = (key: string) =>
      sdk.run(Effect.scoped(Effect.flatMap(
        sdk.session.get(key),
        (response) => Stream.runFold(response.stream, 0, (total, chunk) => total + chunk.length)
      )))
    await put(chunkStream(CHUNK), "memory-warmup")
    await get("memory-warmup")
    run = operation === "put"
      ? () => put(chunkStream(size), putKey(compression)).then(() => size)
      : () => get(getKey(compression))
    dispose = () => sdk.dispose()
  } else {
    const agent = makePool(url)
    const get = async (key: string, decode: boolean) => {
      const response = await agent.request({ origin: url, path: objectPath(key), method: "GET", headers: readHeaders })
      const body = decode ? response.body.pipe(new zstd.DecompressStream()) : response.body
      let received = 0
      for await (const chunk of body) received += (chunk as Uint8Array).length
      return received
    }
    await rawPut(url, compression, "memory-warmup", CHUNK)
    await get("memory-warmup", compression === "zstd")
    run = operation === "put"
      ? () => rawPut(url, compression, putKey(compression), size).then(() => size)
      : () => get(getKey(compression), compression === "zstd")
    dispose = () => agent.destroy()
  }
  const idle = await Memory.settledRss()
  const tracker = Memory.track()
  const start = performance.now()
  const bytes = await run()
  const seconds = (performance.now() - start) / 1000
  const { peak, source } = tracker.stop()
  if (bytes !== size) throw new Error(`${side} ${operation} ${compression}: ${bytes} of ${size} bytes`)
  await dispose()
  const output: CaseOutput = { idle, peak, source, seconds }
  process.stdout.write(JSON.stringify(output) + "\n")
}

const spawnCase = (name: string, url: string, size: number): Promise<CaseOutput> =>
  new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [
      "--expose-gc",
      "--import",
      "tsx",
      fileURLToPath(import.meta.url),
      "--case",
      name,
      "--url",
      url,
      "--size",
      String(size)
    ], { stdio: ["ignore", "pipe", "inherit"] })
    let out = ""
    child.stdout.setEncoding("utf8")
    child.stdout.on("data", (data: string) => (out += data))
    child.once("error", reject)
    child.once("exit", (code) => {
      if (code !== 0) return reject(new Error(`case ${name} exited with ${code}`))
      resolve(JSON.parse(out.trim().split("\n").pop()!) as CaseOutput)
    })
  })

const main = async () => {
  const size = (quick ? 256 : 1024) * MiB
  const repetitions = quick ? 1 : 3
  const server = await startServer()
  const results: Array<Result> = []
  const notes: Array<string> = []
  try {
    for (const compression of ["zstd", "none"] as const) {
      await rawPut(server.url, compression, getKey(compression), size)
    }
    for (const operation of ["put", "get"] as const) {
      for (const compression of ["zstd", "none"] as const) {
        const peaks: Record<Side, Array<number>> = { sdk: [], raw: [] }
        const seconds: Record<Side, Array<number>> = { sdk: [], raw: [] }
        let idle = 0
        for (let i = 0; i < repetitions; i++) {
          for (const side of (i % 2 === 0 ? ["sdk", "raw"] : ["raw", "sdk"]) as Array<Side>) {
            const output = await spawnCase(`${side}-${operation}-${compression}`, server.url, size)
            peaks[side].push(output.peak - output.idle)
            seconds[side].push(output.seconds)
            if (side === "sdk") idle = output.idle
            progress(
              `${side} ${operation} ${compression}: idle ${(output.idle / MiB).toFixed(0)} MiB, peak ${
                (output.peak / MiB).toFixed(0)
              } MiB (${output.source}), ${output.seconds.toFixed(1)} s`
            )
          }
        }
        const sdk = median(peaks.sdk)
        const raw = median(peaks.raw)
        results.push({
          name: `${size / MiB} MiB ${operation} ${compression}: peak RSS above idle`,
          median: sdk / MiB,
          unit: "MiB",
          baseline: raw / MiB,
          ratio: sdk / raw,
          target: `< ${LIMIT / MiB} MiB`,
          pass: sdk < LIMIT,
          samples: peaks.sdk.map((x) => x / MiB),
          baselineSamples: peaks.raw.map((x) => x / MiB)
        })
        notes.push(
          `${operation} ${compression}: SDK idle RSS ${(idle / MiB).toFixed(0)} MiB; ${
            (size / MiB / median(seconds.sdk)).toFixed(0)
          } MiB/s (raw undici ${(size / MiB / median(seconds.raw)).toFixed(0)} MiB/s)`
        )
      }
    }
  } finally {
    await server.stop()
  }
  notes.unshift(
    `median of ${repetitions} run(s), each case in a fresh child process; baseline = raw undici` +
      " (+ zstd-napi streams) streaming the same chunks"
  )
  emit("streaming-memory", results, notes)
}

const selected = argument("case")
const entry = selected === undefined
  ? main()
  : (() => {
    const [side, operation, compression] = selected.split("-") as [Side, Operation, Compression]
    return runCase(side, operation, compression, argument("url")!, Number(argument("size")))
  })()
entry.catch((error) => {
  process.stderr.write(`${error instanceof Error ? error.stack : String(error)}\n`)
  process.exit(1)
})
