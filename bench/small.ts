/**
 * Small objects: 1 KiB put, get and head at concurrency 1 and 16, the SDK against raw undici requests with the
 * same headers and bodies. Targets (issue 14, target 2): the SDK at 90% or more of raw undici's requests per second at
 * c1 (80% at c16, where the server is the limit), and client CPU per request at most 1.5x raw undici's.
 *
 * Two kinds of rows:
 * - the original rows: uploads with compression "none" and an object stored uncompressed, SDK defaults otherwise
 *   (metrics on, retries on);
 * - "default options" rows: the SDK exactly as a new user gets it (the usecase's default zstd, metrics, retries):
 *   puts compress the 1 KiB body, gets read an object stored with zstd. Their baseline is raw undici plus zstd-napi's
 *   one-shot `compress`/`decompress` (its shared context), the least a native client does for the same request.
 * - "zstd vs none" rows: the SDK's client CPU per put with default zstd over the same put with compression "none",
 *   in one interleaved run (issue 14, target 1: <= 1.3).
 * - "read as a Stream" rows: the client CPU of a `get` whose body is run as a Stream (`Stream.runDrain`) over a
 *   `getBytes` of the same object (issue 14, target 4: <= 2), and Effect's own floor for that: a one-chunk
 *   `Stream.runDrain` with no request at all, against a whole `getBytes`.
 *
 *   node --import tsx bench/small.ts [--quick]
 */
import * as Effect from "effect/Effect"
import * as Stream from "effect/Stream"
import { performance } from "node:perf_hooks"
import type { Pool } from "undici"
import * as zstd from "zstd-napi"
import { makePool, makeSdk, objectPath, putHeaders, readHeaders, type Sdk } from "./lib/clients.js"
import { semiCompressible } from "./lib/data.js"
import { compareHigher, compareLower, emit, interleave, KiB, progress, quick, type Result } from "./lib/harness.js"
import { startServer } from "./lib/server.js"

type Operation = "put" | "put-zstd" | "get" | "get-zstd" | "head"

const PAYLOAD = semiCompressible(KiB, 11)
const GET_KEY = "small-get"
const GET_ZSTD_KEY = "small-get-zstd"
const putKey = (i: number) => `small-put-${i % 64}`

const repetitions = quick ? 3 : 7
const warmup = 1
const countFor = (concurrency: number) => quick ? (concurrency === 1 ? 200 : 600) : concurrency === 1 ? 1000 : 3000

const label: Record<Operation, string> = {
  put: "put",
  "put-zstd": "put (default options: zstd)",
  get: "get",
  "get-zstd": "get of a zstd object (default options)",
  head: "head"
}

const sdkOperation = (sdk: Sdk, operation: Operation) => (i: number): Effect.Effect<unknown, unknown> => {
  switch (operation) {
    case "put":
      return sdk.session.put(PAYLOAD, { key: putKey(i), compression: "none" })
    case "put-zstd":
      return sdk.session.put(PAYLOAD, { key: putKey(i) })
    case "get":
      return sdk.session.getBytes(GET_KEY)
    case "get-zstd":
      return sdk.session.getBytes(GET_ZSTD_KEY)
    case "head":
      return sdk.session.head(GET_KEY)
  }
}

const rawOperation = (agent: Pool, origin: string, operation: Operation) => async (i: number): Promise<void> => {
  switch (operation) {
    case "put":
    case "put-zstd": {
      const zstdBody = operation === "put-zstd"
      const response = await agent.request({
        origin,
        path: objectPath(putKey(i)),
        method: "PUT",
        headers: putHeaders(zstdBody ? "zstd" : "none"),
        body: zstdBody ? zstd.compress(PAYLOAD) : PAYLOAD
      })
      const json = (await response.body.json()) as { key?: string }
      if (response.statusCode !== 200 && response.statusCode !== 201 || typeof json.key !== "string") {
        throw new Error(`put failed: ${response.statusCode}`)
      }
      return
    }
    case "get":
    case "get-zstd": {
      const key = operation === "get" ? GET_KEY : GET_ZSTD_KEY
      const response = await agent.request({ origin, path: objectPath(key), method: "GET", headers: readHeaders })
      const stored = new Uint8Array(await response.body.arrayBuffer())
      const bytes = response.headers["content-encoding"] === "zstd" ? zstd.decompress(stored) : stored
      if (response.statusCode !== 200 || bytes.length !== PAYLOAD.length) throw new Error("get failed")
      return
    }
    case "head": {
      const response = await agent.request({
        origin,
        path: objectPath(GET_KEY),
        method: "HEAD",
        headers: readHeaders,
        reset: false
      })
      await response.body.dump()
      if (response.statusCode !== 200 && response.statusCode !== 204) throw new Error("head failed")
      return
    }
  }
}

interface Side {
  micros: number
  requests: number
  /** Client CPU per request of each repetition (warm-up included, dropped before the median). */
  readonly perRepetition: Array<number>
}

const newSide = (): Side => ({ micros: 0, requests: 0, perRepetition: [] })

/** Runs `count` requests and returns requests per second; adds the client CPU time to `side`. */
const withCpu = async (side: Side, count: number, body: () => Promise<unknown>): Promise<number> => {
  const before = process.cpuUsage()
  const start = performance.now()
  await body()
  const elapsed = performance.now() - start
  const used = process.cpuUsage(before)
  side.micros += used.user + used.system
  side.requests += count
  side.perRepetition.push((used.user + used.system) / count)
  return count / (elapsed / 1000)
}

/** Requests per second of `count` calls of `op` with `concurrency` in flight. */
const rawRate = (side: Side, op: (i: number) => Promise<void>, count: number, concurrency: number): Promise<number> => {
  let next = 0
  return withCpu(side, count, () =>
    Promise.all(Array.from({ length: concurrency }, async () => {
      while (next < count) await op(next++)
    })))
}

const sdkRate = async (
  side: Side,
  sdk: Sdk,
  op: (i: number) => Effect.Effect<unknown, unknown>,
  count: number,
  concurrency: number
): Promise<number> => {
  const indices = Array.from({ length: count }, (_, i) => i)
  return withCpu(side, count, () => sdk.run(Effect.forEach(indices, op, { concurrency, discard: true })))
}

const perRequest = (side: Side) => (side.micros / side.requests).toFixed(0)

/** The measured repetitions of two sides' client CPU per request (the warm-up dropped), for `compareLower`. */
const cpuSamples = (sdk: Side, baseline: Side) => ({
  sdk: sdk.perRepetition.slice(warmup),
  baseline: baseline.perRepetition.slice(warmup)
})

const main = async () => {
  const server = await startServer()
  // The SDK as a new user gets it: the usecase's default compression (zstd), metrics, retries.
  const sdk = await makeSdk(server.url)
  const agent = makePool(server.url)
  const origin = server.url
  const results: Array<Result> = []
  const notes: Array<string> = []
  try {
    await sdk.run(sdk.session.put(PAYLOAD, { key: GET_KEY, compression: "none" }))
    await sdk.run(sdk.session.put(PAYLOAD, { key: GET_ZSTD_KEY }))
    for (const operation of ["put", "put-zstd", "get", "get-zstd", "head"] as const) {
      for (const concurrency of [1, 16]) {
        const count = countFor(concurrency)
        const sdkOp = sdkOperation(sdk, operation)
        const rawOp = rawOperation(agent, origin, operation)
        const sdkSide = newSide()
        const rawSide = newSide()
        const cpuBefore = server.cpuMillis()
        const wallBefore = performance.now()
        const samples = await interleave(
          { repetitions, warmup },
          () => sdkRate(sdkSide, sdk, sdkOp, count, concurrency),
          () => rawRate(rawSide, rawOp, count, concurrency)
        )
        const serverBusy = (server.cpuMillis() - cpuBefore) / (performance.now() - wallBefore)
        // Issue 14, target 2: at c1, 0.9x raw undici's requests per second (0.8 at c16, where the server is the
        // limit); at both, client CPU per request at most 1.5x raw undici's.
        const result = compareHigher(
          `1 KiB ${label[operation]} c${concurrency}`,
          "req/s",
          samples,
          concurrency === 1 ? 0.9 : 0.8
        )
        results.push(result)
        results.push(compareLower(
          `1 KiB ${label[operation]} c${concurrency}: client CPU per request`,
          "us/req",
          cpuSamples(sdkSide, rawSide),
          1.5
        ))
        progress(
          `${result.name}: sdk ${result.median.toFixed(0)} req/s, undici ${result.baseline!.toFixed(0)} req/s, ` +
            `ratio ${result.ratio!.toFixed(2)}; client CPU ${perRequest(sdkSide)} vs ${perRequest(rawSide)} us; ` +
            `server process busy ${(serverBusy * 100).toFixed(0)}% of one core`
        )
        notes.push(
          `${result.name}: client CPU per request over all repetitions, warm-up included, ${
            perRequest(sdkSide)
          } us (SDK) vs ${perRequest(rawSide)} us (undici; the medians are the CPU row); server process ${
            (serverBusy * 100).toFixed(0)
          }% of a core`
        )
      }
    }
    // Client CPU per request of one SDK call against another, interleaved in one run (lower is better).
    const cpuRow = async (
      name: string,
      measured: (i: number) => Effect.Effect<unknown, unknown>,
      against: (i: number) => Effect.Effect<unknown, unknown>,
      concurrency: number,
      most: number | undefined
    ) => {
      const count = countFor(concurrency)
      const measuredSide = newSide()
      const againstSide = newSide()
      await interleave(
        { repetitions, warmup },
        () => sdkRate(measuredSide, sdk, measured, count, concurrency),
        () => sdkRate(againstSide, sdk, against, count, concurrency)
      )
      const result = compareLower(name, "us/req", cpuSamples(measuredSide, againstSide), most)
      results.push(result)
      progress(
        `${name}: ${result.median.toFixed(0)} us against ${result.baseline!.toFixed(0)} us, ratio ${
          result.ratio!.toFixed(2)
        }`
      )
    }
    // Target 1: the SDK's CPU per put with its default zstd over the same put with compression "none".
    for (const concurrency of [1, 16]) {
      await cpuRow(
        `1 KiB put c${concurrency}: SDK client CPU, default zstd vs compression "none"`,
        sdkOperation(sdk, "put-zstd"),
        sdkOperation(sdk, "put"),
        concurrency,
        1.3
      )
    }
    // Target 4: a get read as a Stream against `getBytes` of the same object. The third row is Effect's own floor,
    // with no request at all: running a one-chunk Stream (`Stream.runDrain(Stream.succeed(1 KiB))`) against a whole
    // `getBytes`. A get stream costs at least a request plus that run.
    const streamed = (key: string) => () =>
      Effect.scoped(Effect.flatMap(sdk.session.get(key), (response) => Stream.runDrain(response.stream)))
    await cpuRow(
      "1 KiB get c1, read as a Stream: SDK client CPU vs getBytes",
      streamed(GET_KEY),
      sdkOperation(sdk, "get"),
      1,
      2
    )
    await cpuRow(
      "1 KiB get of a zstd object c1, read as a Stream (default options): SDK client CPU vs getBytes",
      streamed(GET_ZSTD_KEY),
      sdkOperation(sdk, "get-zstd"),
      1,
      2
    )
    await cpuRow(
      "Effect's floor: Stream.runDrain(Stream.succeed(1 KiB)), no request, vs a whole getBytes c1",
      () => Stream.runDrain(Stream.succeed(PAYLOAD)),
      sdkOperation(sdk, "get"),
      1,
      undefined
    )
  } finally {
    await sdk.dispose()
    await agent.destroy()
    await server.stop()
  }
  notes.unshift(
    `${repetitions} interleaved repetitions after ${warmup} warm-up; ${countFor(1)} requests per repetition at c1, ` +
      `${countFor(16)} at c16; "default options" rows: the usecase's zstd, metrics, retries (baseline: undici + ` +
      `zstd-napi one-shot); other rows: uploads with compression "none", SDK defaults otherwise`
  )
  emit("small", results, notes)
}

main().catch((error) => {
  process.stderr.write(`${error instanceof Error ? error.stack : String(error)}\n`)
  process.exit(1)
})
