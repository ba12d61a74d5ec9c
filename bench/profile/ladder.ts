/**
 * A profiling aid, not a workload: where the SDK's per-request time goes, one layer at a time, for a 1 KiB get at
 * concurrency 16 (raw undici → the platform HttpClient over undici → + withScope → + tracer off → the SDK with and
 * without metrics), in client CPU microseconds per request. Medians of interleaved rounds.
 *
 *   node --import tsx bench/profile/ladder.ts [count] [rounds] [name filter,...]
 */
import * as NodeHttpClient from "@effect/platform-node/NodeHttpClient"
import * as HttpClient from "@effect/platform/HttpClient"
import * as HttpClientRequest from "@effect/platform/HttpClientRequest"
import * as NodeClient from "@objectstore/client/NodeClient"
import * as Effect from "effect/Effect"
import * as GlobalValue from "effect/GlobalValue"
import * as ManagedRuntime from "effect/ManagedRuntime"
import * as Scope from "effect/Scope"
import * as Stream from "effect/Stream"
import { makePool, makeSdk, objectPath, rawGet, readHeaders } from "../lib/clients.js"
import { semiCompressible } from "../lib/data.js"
import { KiB, median } from "../lib/harness.js"
import { startServer } from "../lib/server.js"

const count = Number(process.argv[2] ?? 3000)
const rounds = Number(process.argv[3] ?? 5)
const only = process.argv[4]?.split(",")
const C = 16
const SMALL = semiCompressible(KiB, 1)
const scopedRequests = GlobalValue.globalValue(
  "@effect/platform/HttpClient/scopedRequests",
  () => new WeakMap<object, AbortController>()
)
const REASON = new Error("scope closed")

const main = async () => {
  const server = await startServer()
  const url = server.url + objectPath("small")
  const agent = makePool(server.url)
  const sdk = await makeSdk(server.url)
  const sdkNoMetrics = await makeSdk(server.url, { metrics: false })
  const sdkNoRetry = await makeSdk(server.url, { retry: false })
  await sdk.run(sdk.session.put(SMALL, { key: "small", compression: "none" }))
  const platform = ManagedRuntime.make(NodeHttpClient.layerUndici)
  const client = await platform.runPromise(HttpClient.HttpClient)
  const nodeRuntime = ManagedRuntime.make(NodeClient.layerHttpClient())
  const nodeClient = await nodeRuntime.runPromise(HttpClient.HttpClient)
  // A fresh request each time: withScope keys its AbortController by the request object.
  const execute = <E, R>(c: HttpClient.HttpClient.With<E, R>) =>
    Effect.suspend(() => c.execute(HttpClientRequest.get(url).pipe(HttpClientRequest.setHeaders(readHeaders))))
  const forEach = <E>(effect: Effect.Effect<unknown, E>) =>
    Effect.forEach(Array.from({ length: count }), () => effect, { concurrency: C, discard: true }).pipe(
      Effect.tapError((error) => Effect.sync(() => console.error("cause:", (error as { cause?: unknown }).cause)))
    )
  // Client CPU microseconds per request: far steadier than wall-clock rates on a shared machine.
  const rate = async (body: () => Promise<unknown>) => {
    const start = process.cpuUsage()
    await body()
    const used = process.cpuUsage(start)
    return (used.user + used.system) / count
  }
  const ladder: Array<[string, () => Promise<number>]> = [
    ["raw undici", () =>
      rate(async () => {
        let next = 0
        await Promise.all(Array.from({ length: C }, async () => {
          while (next++ < count) await rawGet(agent, server.url, "small")
        }))
      })],
    [
      "platform client",
      () => rate(() => platform.runPromise(forEach(Effect.flatMap(execute(client), (r) => r.arrayBuffer))))
    ],
    ["platform, tracer off", () =>
      rate(() =>
        platform.runPromise(
          forEach(Effect.flatMap(execute(client), (r) => r.arrayBuffer)).pipe(Effect.withTracerEnabled(false))
        )
      )],
    [
      "NodeClient.layerHttpClient",
      () => rate(() => nodeRuntime.runPromise(forEach(Effect.flatMap(execute(nodeClient), (r) => r.arrayBuffer))))
    ],
    ["NodeClient.layerHttpClient, tracer off", () =>
      rate(() =>
        nodeRuntime.runPromise(
          forEach(Effect.flatMap(execute(nodeClient), (r) => r.arrayBuffer)).pipe(Effect.withTracerEnabled(false))
        )
      )],
    ["platform + withScope", () =>
      rate(() =>
        platform.runPromise(
          forEach(Effect.scoped(Effect.flatMap(execute(HttpClient.withScope(client)), (r) => r.arrayBuffer)))
        )
      )],
    ["platform + cheap scoped abort", () =>
      rate(() =>
        platform.runPromise(
          forEach(Effect.scoped(Effect.flatMap(
            Effect.suspend(() => {
              const request = HttpClientRequest.get(url).pipe(HttpClientRequest.setHeaders(readHeaders))
              const controller = new AbortController()
              scopedRequests.set(request, controller)
              return Effect.zipRight(
                Effect.scopeWith((scope) => Scope.addFinalizer(scope, Effect.sync(() => controller.abort(REASON)))),
                client.execute(request)
              )
            }),
            (r) => r.arrayBuffer
          )))
        )
      )],
    ["platform + scope, never abort", () =>
      rate(() =>
        platform.runPromise(
          forEach(Effect.scoped(Effect.flatMap(
            Effect.suspend(() => {
              const request = HttpClientRequest.get(url).pipe(HttpClientRequest.setHeaders(readHeaders))
              const controller = new AbortController()
              scopedRequests.set(request, controller)
              return Effect.zipRight(
                Effect.scopeWith((scope) => Scope.addFinalizer(scope, Effect.void)),
                client.execute(request)
              )
            }),
            (r) => r.arrayBuffer
          )))
        )
      )],
    ["platform + scope, abort later", () =>
      rate(() =>
        platform.runPromise(
          forEach(Effect.scoped(Effect.flatMap(
            Effect.suspend(() => {
              const request = HttpClientRequest.get(url).pipe(HttpClientRequest.setHeaders(readHeaders))
              const controller = new AbortController()
              scopedRequests.set(request, controller)
              return Effect.zipRight(
                Effect.scopeWith((scope) =>
                  Scope.addFinalizer(scope, Effect.sync(() => setTimeout(() => controller.abort(REASON), 1)))
                ),
                client.execute(request)
              )
            }),
            (r) => r.arrayBuffer
          )))
        )
      )],
    ["platform + withScope, stream", () =>
      rate(() =>
        platform.runPromise(
          forEach(
            Effect.scoped(Effect.flatMap(execute(HttpClient.withScope(client)), (r) => Stream.runCollect(r.stream)))
          )
        )
      )],
    ["sdk getBytes", () => rate(() => sdk.run(forEach(sdk.session.getBytes("small"))))],
    ["sdk getBytes, no metrics", () => rate(() => sdkNoMetrics.run(forEach(sdkNoMetrics.session.getBytes("small"))))],
    ["sdk getBytes, no retry", () => rate(() => sdkNoRetry.run(forEach(sdkNoRetry.session.getBytes("small"))))],
    [
      "sdk getBytes, tracer off",
      () => rate(() => sdk.run(forEach(sdk.session.getBytes("small")).pipe(Effect.withTracerEnabled(false))))
    ],
    ["sdk head", () => rate(() => sdk.run(forEach(sdk.session.head("small"))))],
    ["sdk put", () => rate(() => sdk.run(forEach(sdk.session.put(SMALL, { key: "small-put", compression: "none" }))))]
  ]
  if (only !== undefined) {
    ladder.splice(
      0,
      ladder.length,
      ...ladder.filter(([name]) => only.some((o) => name.includes(o)))
    )
  }
  const samples = new Map<string, Array<number>>(ladder.map(([name]) => [name, []]))
  for (const [, run] of ladder) await run()
  for (let i = 0; i < rounds; i++) {
    const order = i % 2 === 0 ? ladder : [...ladder].reverse()
    for (const [name, run] of order) samples.get(name)!.push(await run())
  }
  const base = median(samples.get("raw undici") ?? [1])
  for (const [name, values] of samples) {
    process.stderr.write(
      `${name.padEnd(40)} ${median(values).toFixed(0).padStart(6)} us/req  ${(median(values) / base).toFixed(2)}x\n`
    )
  }
  await sdk.dispose()
  await sdkNoMetrics.dispose()
  await sdkNoRetry.dispose()
  await platform.dispose()
  await nodeRuntime.dispose()
  await agent.destroy()
  await server.stop()
}

main().catch((error) => {
  process.stderr.write(`${error instanceof Error ? error.stack : String(error)}\n`)
  process.exit(1)
})
