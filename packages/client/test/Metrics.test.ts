import * as HttpServer from "@effect/platform/HttpServer"
import { assert, describe, it, layer } from "@effect/vitest"
import * as Auth from "@objectstore/client/Auth"
import * as Compression from "@objectstore/client/Compression"
import * as FetchClient from "@objectstore/client/FetchClient"
import * as Metrics from "@objectstore/client/Metrics"
import * as NodeClient from "@objectstore/client/NodeClient"
import * as ObjectstoreClient from "@objectstore/client/ObjectstoreClient"
import { NotFoundError } from "@objectstore/client/ObjectstoreError"
import * as Scope from "@objectstore/client/Scope"
import * as Usecase from "@objectstore/client/Usecase"
import * as Server from "@objectstore/server/Server"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Fiber from "effect/Fiber"
import * as Layer from "effect/Layer"
import * as Metric from "effect/Metric"
import * as TestClock from "effect/TestClock"

// Metrics are process-global: every test uses its own usecase tag, so absolute values are deltas from zero.
let counter = 0
const uniqueUsecase = (name: string) => `metrics_test_${name}_${++counter}_${Math.random().toString(36).slice(2)}`

const tagged = <Type, In, Out>(metric: Metric.Metric<Type, In, Out>, tags: ReadonlyArray<readonly [string, string]>) =>
  tags.reduce((m, [key, value]) => Metric.tagged(m, key, value), metric)

const histogram = (metric: Metric.Metric.Histogram<number>, tags: ReadonlyArray<readonly [string, string]>) =>
  Metric.value(tagged(metric, tags))

/** The attributes every counter of ours carries (OpenTelemetry style). */
const op = (operation: Metrics.Operation, usecase: string) =>
  [["objectstore.operation", operation], ["objectstore.usecase", usecase]] as const

const count = (metric: Metric.Metric.Counter<number>, tags: ReadonlyArray<readonly [string, string]>) =>
  Effect.map(Metric.value(tagged(metric, tags)), (state) => state.count)

/** Runs `track` around a 1.5 s sleep (driven by the TestClock), failing when `fail` is set. */
const trackedSleep = (service: Metrics.Service, operation: Metrics.Operation, usecase: string, fail: boolean) =>
  Effect.gen(function*() {
    const work = Effect.zipRight(Effect.sleep("1500 millis"), fail ? Effect.fail("boom" as const) : Effect.succeed(7))
    const fiber = yield* Effect.fork(Effect.either(service.track(operation, usecase, work)))
    yield* TestClock.adjust("1500 millis")
    return yield* Fiber.join(fiber)
  })

describe("Metrics.layer", () => {
  it.effect("track records latency in seconds and counts the outcome", () =>
    Effect.gen(function*() {
      const service = yield* Metrics.Metrics
      const usecase = uniqueUsecase("track")
      const ok = yield* trackedSleep(service, "put", usecase, false)
      assert.deepStrictEqual(ok._tag, "Right")
      const failed = yield* trackedSleep(service, "put", usecase, true)
      assert.deepStrictEqual(failed._tag, "Left")

      const latency = yield* histogram(Metrics.latency.put, [["usecase", usecase]])
      assert.strictEqual(latency.count, 2) // failures included
      assert.strictEqual(latency.sum, 3)
      assert.strictEqual(latency.max, 1.5)
      const success = [...op("put", usecase), ["objectstore.outcome", "success"]] as const
      // OpenTelemetry's error.type: the error's tag, or _OTHER for an untagged failure like this one.
      const failure = [...op("put", usecase), ["objectstore.outcome", "failure"], ["error.type", "_OTHER"]] as const
      assert.strictEqual(yield* count(Metrics.requests, success), 1)
      assert.strictEqual(yield* count(Metrics.requests, failure), 1)
      yield* Effect.either(
        service.track("head", usecase, Effect.fail(new NotFoundError({ usecase: "u", scope: "_", key: "k" })))
      )
      const notFound = [...op("head", usecase), ["objectstore.outcome", "failure"], [
        "error.type",
        "NotFoundError"
      ]] as const
      assert.strictEqual(yield* count(Metrics.requests, notFound), 1)
      // Other operations are untouched.
      assert.strictEqual((yield* histogram(Metrics.latency.get, [["usecase", usecase]])).count, 0)
    }).pipe(Effect.provide(Metrics.layer)))

  it.effect("track counts interruption separately", () =>
    Effect.gen(function*() {
      const service = yield* Metrics.Metrics
      const usecase = uniqueUsecase("interrupt")
      const fiber = yield* Effect.fork(service.track("get", usecase, Effect.never))
      yield* TestClock.adjust("1 second")
      yield* Fiber.interrupt(fiber)
      const tags = [...op("get", usecase), ["objectstore.outcome", "interrupted"]] as const
      assert.strictEqual(yield* count(Metrics.requests, tags), 1)
      assert.strictEqual((yield* histogram(Metrics.latency.get, [["usecase", usecase]])).sum, 1)
    }).pipe(Effect.provide(Metrics.layer)))

  it.effect("recordSize records sizes, ratio and throughput by compression", () =>
    Effect.gen(function*() {
      const service = yield* Metrics.Metrics
      const usecase = uniqueUsecase("size")
      yield* service.recordSize("put", usecase, {
        bytes: 250,
        compression: "zstd",
        uncompressedBytes: 1000,
        elapsed: Duration.seconds(2)
      })
      const none = [["usecase", usecase], ["compression", "none"]] as const
      const zstd = [["usecase", usecase], ["compression", "zstd"]] as const
      const sizeNone = yield* histogram(Metrics.size.put, none)
      const sizeZstd = yield* histogram(Metrics.size.put, zstd)
      assert.deepStrictEqual([sizeNone.count, sizeNone.sum], [1, 1000])
      assert.deepStrictEqual([sizeZstd.count, sizeZstd.sum], [1, 250])
      assert.strictEqual((yield* histogram(Metrics.compressionRatio.put, zstd)).sum, 0.25)
      assert.strictEqual((yield* histogram(Metrics.compressionRatio.put, none)).count, 0)
      assert.strictEqual((yield* histogram(Metrics.throughput.put, none)).sum, 500)
      assert.strictEqual((yield* histogram(Metrics.throughput.put, zstd)).sum, 125)
      assert.strictEqual((yield* histogram(Metrics.inverseThroughput.put, none)).sum, 0.002)
      assert.strictEqual((yield* histogram(Metrics.inverseThroughput.put, zstd)).sum, 0.008)

      // A multipart part has no compression tag; zero elapsed records no throughput.
      yield* service.recordSize("multipart.put_part", usecase, { bytes: 4096, elapsed: Duration.zero })
      const part = [["usecase", usecase]] as const
      assert.strictEqual((yield* histogram(Metrics.size["multipart.put_part"], part)).sum, 4096)
      assert.strictEqual((yield* histogram(Metrics.throughput["multipart.put_part"], part)).count, 0)
    }).pipe(Effect.provide(Metrics.layer)))

  it.effect("recordResponse and recordRetry count by status and operation", () =>
    Effect.gen(function*() {
      const service = yield* Metrics.Metrics
      const usecase = uniqueUsecase("responses")
      yield* service.recordResponse("get", usecase, 404)
      yield* service.recordResponse("get", usecase, 404)
      yield* service.recordResponse("get", usecase, 503)
      yield* service.recordRetry("get", usecase)
      const status = (code: string) => [...op("get", usecase), ["http.response.status_code", code]] as const
      assert.strictEqual(yield* count(Metrics.responses, status("404")), 2)
      assert.strictEqual(yield* count(Metrics.responses, status("503")), 1)
      assert.strictEqual(yield* count(Metrics.retries, op("get", usecase)), 1)
    }).pipe(Effect.provide(Metrics.layer)))
})

describe("Metrics.layerNoop", () => {
  it.effect("records nothing and leaves the effect unchanged", () =>
    Effect.gen(function*() {
      const service = yield* Metrics.Metrics
      const usecase = uniqueUsecase("noop")
      const result = yield* trackedSleep(service, "put", usecase, false)
      assert.deepStrictEqual(result._tag === "Right" ? result.right : undefined, 7)
      yield* service.recordSize("put", usecase, { bytes: 10, compression: "none", elapsed: Duration.seconds(1) })
      yield* service.recordResponse("put", usecase, 201)
      yield* service.recordRetry("put", usecase)
      assert.strictEqual((yield* histogram(Metrics.latency.put, [["usecase", usecase]])).count, 0)
      assert.strictEqual((yield* histogram(Metrics.size.put, [["usecase", usecase], ["compression", "none"]])).count, 0)
      const outcome = [...op("put", usecase), ["objectstore.outcome", "success"]] as const
      assert.strictEqual(yield* count(Metrics.requests, outcome), 0)
      assert.strictEqual(yield* count(Metrics.retries, op("put", usecase)), 0)
    }).pipe(Effect.provide(Metrics.layerNoop)))
})

type Call = readonly [name: string, value: number, tags: Readonly<Record<string, string>> | undefined, unit?: string]

const recordingBackend = () => {
  const calls: Array<Call> = []
  const other: Array<string> = []
  const backend: Metrics.Backend = {
    distribution: (name, value, tags, unit) => {
      calls.push(unit === undefined ? [name, value, tags] : [name, value, tags, unit])
    },
    increment: (name) => {
      other.push(`increment ${name}`)
    },
    gauge: (name) => {
      other.push(`gauge ${name}`)
    }
  }
  return { calls, other, backend }
}

describe("Metrics.layerBackend", () => {
  it.effect("makes exactly the Python client's distribution calls", () =>
    Effect.gen(function*() {
      const { backend, calls, other } = recordingBackend()
      const service = Metrics.makeBackend(backend)
      yield* trackedSleep(service, "put", "attachments", false)
      yield* service.recordSize("put", "attachments", {
        bytes: 250,
        compression: "zstd",
        uncompressedBytes: 1000,
        elapsed: Duration.seconds(2)
      })
      yield* trackedSleep(service, "get", "attachments", true)
      yield* service.recordSize("multipart.put_part", "attachments", { bytes: 100, elapsed: Duration.seconds(4) })
      yield* service.recordSize("put", "attachments", { bytes: 8, compression: "none", elapsed: Duration.zero })
      // Not measured by the Python client: list_parts, abort, many, responses, retries.
      yield* trackedSleep(service, "multipart.list_parts", "attachments", false)
      yield* trackedSleep(service, "multipart.abort", "attachments", false)
      yield* trackedSleep(service, "many", "attachments", false)
      yield* service.recordSize("many", "attachments", { bytes: 5, compression: "none", elapsed: Duration.seconds(1) })
      yield* service.recordResponse("put", "attachments", 500)
      yield* service.recordRetry("put", "attachments")

      const none = { usecase: "attachments", compression: "none" }
      const zstd = { usecase: "attachments", compression: "zstd" }
      assert.deepStrictEqual(calls, [
        ["storage.put.latency", 1.5, { usecase: "attachments" }],
        ["storage.put.size", 1000, none, "byte"],
        ["storage.put.throughput", 500, none],
        ["storage.put.inverse_throughput", 0.002, none],
        ["storage.put.size", 250, zstd, "byte"],
        ["storage.put.throughput", 125, zstd],
        ["storage.put.inverse_throughput", 0.008, zstd],
        ["storage.put.compression_ratio", 0.25, zstd],
        ["storage.get.latency", 1.5, { usecase: "attachments" }],
        ["storage.multipart.put_part.size", 100, { usecase: "attachments" }, "byte"],
        ["storage.multipart.put_part.throughput", 25, { usecase: "attachments" }],
        ["storage.multipart.put_part.inverse_throughput", 0.04, { usecase: "attachments" }],
        ["storage.put.size", 8, none, "byte"]
      ])
      assert.deepStrictEqual(other, [])
    }))

  it.effect("a throwing backend never fails the operation", () =>
    Effect.gen(function*() {
      const service = yield* Metrics.Metrics
      const result = yield* trackedSleep(service, "delete", "attachments", false)
      assert.strictEqual(result._tag, "Right")
      yield* service.recordSize("put", "attachments", { bytes: 1, compression: "none", elapsed: Duration.seconds(1) })
    }).pipe(Effect.provide(Metrics.layerBackend({
      distribution: () => {
        throw new Error("backend down")
      }
    }))))
})

describe("a session's metrics", () => {
  // Metrics.layer's Effect forms only: the request path then records through them instead of `unsafe`.
  const effectForms = Layer.succeed(
    Metrics.Metrics,
    Metrics.Metrics.of({
      track: Metrics.make.track,
      recordSize: Metrics.make.recordSize,
      recordResponse: Metrics.make.recordResponse,
      recordRetry: Metrics.make.recordRetry
    })
  )
  const clients = (baseUrl: string) =>
    [
      ["NodeClient", NodeClient.layer({ baseUrl })],
      [
        "NodeClient, Effect forms",
        ObjectstoreClient.layer({ baseUrl }).pipe(
          Layer.provide(Layer.mergeAll(
            NodeClient.layerHttpClient({ direct: true }),
            Compression.layer,
            Auth.layerNone,
            effectForms
          ))
        )
      ],
      [
        "FetchClient",
        ObjectstoreClient.layer({ baseUrl }).pipe(
          Layer.provide(Layer.mergeAll(FetchClient.layerHttpClient(), Compression.layer, Auth.layerNone, Metrics.layer))
        )
      ]
    ] as const

  layer(Server.layer({ port: 0 }), { excludeTestServices: true, timeout: 30_000 })("against the local server", (it) => {
    it.effect("responses, sizes and outcomes are recorded with the caller's metric labels, whatever the transport", () =>
      HttpServer.addressFormattedWith((baseUrl) =>
        Effect.forEach(clients(baseUrl), ([name, client]) =>
          Effect.gen(function*() {
            const usecase = uniqueUsecase("session")
            const tenant = [["tenant", name]] as const
            yield* Effect.gen(function*() {
              const objectstore = yield* ObjectstoreClient.ObjectstoreClient
              const session = yield* objectstore.session(
                Usecase.make(usecase, { compression: "none" }),
                Scope.make({ org: 7 })
              )
              const key = yield* session.put(new Uint8Array(1000).fill(1), { key: "k" })
              yield* session.head(key)
              assert.strictEqual((yield* session.getBytes(key)).length, 1000)
              yield* Effect.flip(session.head("missing"))
            }).pipe(Effect.tagMetrics("tenant", name), Effect.provide(client))

            const status = (operation: Metrics.Operation, code: string) =>
              [...op(operation, usecase), ["http.response.status_code", code], ...tenant] as const
            assert.strictEqual(yield* count(Metrics.responses, status("put", "200")), 1, name)
            assert.strictEqual(yield* count(Metrics.responses, status("head", "204")), 1, name)
            assert.strictEqual(yield* count(Metrics.responses, status("head", "404")), 1, name)
            assert.strictEqual(yield* count(Metrics.responses, status("get", "200")), 1, name)
            const none = [["usecase", usecase], ["compression", "none"], ...tenant] as const
            assert.strictEqual((yield* histogram(Metrics.size.put, none)).sum, 1000, name)
            assert.strictEqual((yield* histogram(Metrics.size.get, none)).sum, 1000, name)
            const outcome = (operation: Metrics.Operation, result: string) =>
              [...op(operation, usecase), ["objectstore.outcome", result], ...tenant] as const
            assert.strictEqual(yield* count(Metrics.requests, outcome("head", "success")), 1, name)
          }))
      ))
  })
})
