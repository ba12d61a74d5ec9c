/**
 * Faults.layer works over a real transport too: undici to the local server on loopback TCP.
 */
import * as HttpServer from "@effect/platform/HttpServer"
import { assert, describe, it } from "@effect/vitest"
import * as Auth from "@objectstore/client/Auth"
import * as Compression from "@objectstore/client/Compression"
import * as Metrics from "@objectstore/client/Metrics"
import * as NodeClient from "@objectstore/client/NodeClient"
import * as ObjectstoreClient from "@objectstore/client/ObjectstoreClient"
import * as Scope from "@objectstore/client/Scope"
import * as Usecase from "@objectstore/client/Usecase"
import * as Server from "@objectstore/server/Server"
import * as Faults from "@objectstore/testing/Faults"
import * as RequestLog from "@objectstore/testing/RequestLog"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Schedule from "effect/Schedule"
import * as Stream from "effect/Stream"

const Tcp = Layer.unwrapEffect(
  HttpServer.addressFormattedWith((baseUrl) =>
    Effect.succeed(
      ObjectstoreClient.layer({ baseUrl, retry: { schedule: Schedule.spaced("10 millis"), times: 2 } }).pipe(
        Layer.provide(Layer.mergeAll(Compression.layer, Auth.layerNone, Metrics.layerNoop))
      )
    )
  )
).pipe(
  // client → log → faults → undici → server
  Layer.provideMerge(RequestLog.layer),
  Layer.provideMerge(Faults.layer()),
  Layer.provideMerge(NodeClient.layerHttpClient({ connectTimeout: "2 seconds" })),
  Layer.provide(Server.layer({ port: 0 }))
)

const session = Effect.flatMap(
  ObjectstoreClient.ObjectstoreClient,
  (client) => client.session(Usecase.make("plain", { compression: "none" }), Scope.make({ org: 1 }))
)

describe("Faults over loopback TCP", () => {
  it.live("status, reset, body reset and truncation behave as in-process", () =>
    Effect.gen(function*() {
      const s = yield* session
      const faults = yield* Faults.Faults
      const log = yield* RequestLog.RequestLog
      const payload = "x".repeat(100_000)
      yield* s.put(payload, { key: "k" })

      yield* faults.set([{ operation: "get", times: 1, fault: Faults.status(503, { retryAfter: 0 }) }])
      assert.strictEqual((yield* s.getText("k")).length, payload.length) // retried
      yield* faults.set([{ operation: "head", fault: Faults.reset }])
      const reset = yield* Effect.flip(s.head("k"))
      assert.strictEqual(reset._tag === "NetworkError" && reset.reason, "Transport")
      yield* faults.set([{ operation: "get", fault: Faults.resetDuringBody({ afterBytes: 1000 }) }])
      let received = 0
      const midway = yield* Effect.scoped(Effect.flatMap(s.get("k"), (response) =>
        response.stream.pipe(
          Stream.runForEach((chunk) => Effect.sync(() => (received += chunk.length))),
          Effect.flip
        )))
      assert.strictEqual(midway._tag === "NetworkError" && midway.reason, "Transport")
      assert.strictEqual(received, 1000)
      yield* faults.set([{ operation: "get", fault: Faults.truncate({ afterBytes: 10 }) }])
      assert.strictEqual(yield* s.getText("k"), payload.slice(0, 10))
      yield* faults.clear
      assert.strictEqual((yield* s.getText("k")).length, payload.length)

      const entries = yield* log.entries
      assert.deepStrictEqual(entries.map((entry) => [entry.operation, entry.status ?? entry.error]), [
        ["put", 200],
        ["get", 503],
        ["get", 200],
        ["head", "RequestError: Transport"],
        ["head", "RequestError: Transport"],
        ["head", "RequestError: Transport"],
        ["get", 200],
        ["get", 200],
        ["get", 200]
      ])
    }).pipe(Effect.provide(Tcp)))
})
