/**
 * A profiling aid, not a workload: the SDK's own CPU per operation with no network and no server. The session runs
 * over `NodeClient`'s undici `HttpClient` whose dispatcher answers every request at once from memory, so what is
 * measured is the SDK (session, retries, metrics, spans, the HttpClient) and nothing else. Steadier than the
 * loopback ladder on a shared machine: one process, one core.
 *
 *   node --import tsx bench/profile/overhead.ts [count] [rounds] [op filter,...]
 */
import * as HttpClient from "@effect/platform/HttpClient"
// From the sources: the internal undici client is not exported, and it must be the same module instance the
// session sees.
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as ManagedRuntime from "effect/ManagedRuntime"
import * as Stream from "effect/Stream"
import { Readable } from "node:stream"
import * as Auth from "../../packages/client/src/Auth.js"
import * as Compression from "../../packages/client/src/Compression.js"
import * as UndiciClient from "../../packages/client/src/internal/undiciClient.js"
import * as Metrics from "../../packages/client/src/Metrics.js"
import * as ObjectstoreClient from "../../packages/client/src/ObjectstoreClient.js"
import * as Scope from "../../packages/client/src/Scope.js"
import * as Transport from "../../packages/client/src/Transport.js"
import * as Usecase from "../../packages/client/src/Usecase.js"
import { median } from "../lib/harness.js"

const count = Number(process.argv[2] ?? 20000)
const rounds = Number(process.argv[3] ?? 7)
const only = process.argv[4]?.split(",")
const BODY = new Uint8Array(1024).fill(97)

class MemoryBody extends Readable {
  readonly #bytes: Uint8Array
  constructor(bytes: Uint8Array) {
    super()
    this.#bytes = bytes
  }
  override _read() {
    if (this.#bytes.length > 0) this.push(this.#bytes)
    this.push(null)
  }
  arrayBuffer() {
    this.resume()
    return Promise.resolve(this.#bytes.slice().buffer)
  }
  text() {
    this.resume()
    return Promise.resolve(new TextDecoder().decode(this.#bytes))
  }
}

const HEADERS = {
  "content-type": "application/octet-stream",
  "x-sn-time-created": "2026-11-28T09:00:00.000000Z",
  "x-sn-expiration": "manual",
  "content-length": "1024"
}
const answer = (method: string) => ({
  body: method === "GET"
    ? BODY
    : method === "HEAD" || method === "DELETE"
    ? new Uint8Array(0)
    : new TextEncoder().encode("{\"key\":\"k\"}"),
  status: method === "PUT" ? 200 : method === "GET" ? 200 : 204
})
interface Handler {
  onRequestStart(controller: unknown, context: unknown): void
  onResponseStart(controller: unknown, status: number, headers: Record<string, string>, message: string): void
  onResponseData(controller: unknown, chunk: Uint8Array): void
  onResponseEnd(controller: unknown, trailers: Record<string, string>): void
}
const controller = { abort() {}, pause() {}, resume() {}, aborted: false, paused: false, reason: null }
// Both ways undici is driven: `request` (a body stream, for get streams) and `dispatch` (the answer read whole).
const dispatcher = {
  request(options: { method: string }, callback: (error: Error | null, data: unknown) => void) {
    const { body, status } = answer(options.method)
    queueMicrotask(() => callback(null, { statusCode: status, headers: HEADERS, body: new MemoryBody(body) }))
  },
  dispatch(options: { method: string }, handler: Handler) {
    const { body, status } = answer(options.method)
    handler.onRequestStart(controller, {})
    queueMicrotask(() => {
      handler.onResponseStart(controller, status, HEADERS, "")
      if (body.length > 0) handler.onResponseData(controller, body)
      handler.onResponseEnd(controller, {})
    })
    return true
  }
}

const main = async () => {
  const { httpClient, transport } = UndiciClient.make(dispatcher as never, true)
  const make = (metrics: boolean, extra: Partial<ObjectstoreClient.Options> = {}) =>
    ManagedRuntime.make(
      ObjectstoreClient.layer({ baseUrl: "http://127.0.0.1:1", ...extra }).pipe(
        Layer.provide(Layer.mergeAll(
          Layer.succeed(HttpClient.HttpClient, httpClient),
          Layer.succeed(Transport.Transport, transport),
          Compression.layer,
          Auth.layerNone,
          metrics ? Metrics.layer : Metrics.layerNoop
        ))
      )
    )
  const variants = [
    ["default", make(true)],
    ["no metrics", make(false)],
    ["httpSpans", make(true, { httpSpans: true })]
  ] as const
  const sessions = await Promise.all(
    variants.map(([, runtime]) =>
      runtime.runPromise(
        Effect.flatMap(ObjectstoreClient.ObjectstoreClient, (c) =>
          c.session(Usecase.make("bench", { compression: "none" }), Scope.make({ org: 1 })))
      )
    )
  )
  const rate = async (run: () => Promise<unknown>) => {
    const start = process.cpuUsage()
    await run()
    const used = process.cpuUsage(start)
    return (used.user + used.system) / count
  }
  const ops = {
    // The harness alone (a fiber per operation, 16 at a time): subtract it from the rows below.
    "harness": (_: typeof sessions[number]) => Effect.void,
    // The floor of any Stream a caller runs: one 1 KiB chunk, drained (Effect's channel executor, nothing of ours).
    "stream floor": (_: typeof sessions[number]) => Stream.runDrain(Stream.succeed(BODY)),
    head: (s: typeof sessions[number]) => s.head("k"),
    getBytes: (s: typeof sessions[number]) => s.getBytes("k"),
    "get stream": (s: typeof sessions[number]) =>
      Effect.scoped(Effect.flatMap(s.get("k"), (r) => Stream.runDrain(r.stream))),
    put: (s: typeof sessions[number]) => s.put(BODY, { key: "k" }),
    delete: (s: typeof sessions[number]) => s.delete("k")
  }
  const cases: Array<[string, () => Promise<number>]> = []
  for (const [op, f] of Object.entries(ops)) {
    if (only !== undefined && !only.some((o) => op.includes(o))) continue
    variants.forEach(([name, runtime], i) => {
      const effect = f(sessions[i]!) as Effect.Effect<unknown, unknown>
      cases.push([
        `${op}, ${name}`,
        () =>
          rate(() =>
            runtime.runPromise(Effect.forEach(Array.from({ length: count }), () => effect, {
              concurrency: 16,
              discard: true
            }))
          )
      ])
    })
  }
  const samples = new Map(cases.map(([name]) => [name, [] as Array<number>]))
  for (const [, run] of cases) await run()
  for (let i = 0; i < rounds; i++) {
    for (const [name, run] of i % 2 === 0 ? cases : [...cases].reverse()) samples.get(name)!.push(await run())
  }
  for (const [name, values] of samples) {
    process.stdout.write(`${name.padEnd(28)} ${median(values).toFixed(1).padStart(7)} us/op\n`)
  }
  await Promise.all(variants.map(([, runtime]) => runtime.dispose()))
}

main().catch((error) => {
  process.stderr.write(`${error instanceof Error ? error.stack : String(error)}\n`)
  process.exit(1)
})
