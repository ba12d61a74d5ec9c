/**
 * The `Transport` service: `NodeClient.layerHttpClient` declares its transport explicitly, `ObjectstoreClient` uses
 * it to abort a request past its deadline even when the `HttpClient` is wrapped by combinators, and a plain
 * `HttpClient` layer (fetch) without a `Transport` still gets every deadline. Over loopback, against a listener that
 * reads requests and never answers.
 */
import * as FetchHttpClient from "@effect/platform/FetchHttpClient"
import * as HttpClient from "@effect/platform/HttpClient"
import * as HttpClientRequest from "@effect/platform/HttpClientRequest"
import { assert, describe, it } from "@effect/vitest"
import { Auth, Compression, Metrics, ObjectstoreClient, Scope, Transport, Usecase } from "@objectstore/client"
import * as NodeClient from "@objectstore/client/NodeClient"
import * as Context from "effect/Context"
import * as Data from "effect/Data"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as net from "node:net"

class Hung extends Data.TaggedError("Hung") {}

/** A loopback listener that reads requests and never answers; `closed` counts connections the client closed. */
const silentServer = Effect.acquireRelease(
  Effect.async<{ server: net.Server; url: string; received: () => string; closed: () => number }>((resume) => {
    let received = ""
    let closed = 0
    const sockets = new Set<net.Socket>()
    const server = net.createServer((socket) => {
      sockets.add(socket)
      socket.on("data", (data) => (received += data.toString("latin1")))
      socket.on("error", () => {})
      socket.on("close", () => {
        sockets.delete(socket)
        closed++
      })
    })
    server.listen(0, "127.0.0.1", () => {
      const { port } = server.address() as net.AddressInfo
      resume(Effect.succeed({
        server: Object.assign(server, { sockets }),
        url: `http://127.0.0.1:${port}`,
        received: () => received,
        closed: () => closed
      }))
    })
  }),
  ({ server }) =>
    Effect.async<void>((resume) => {
      for (const socket of (server as net.Server & { sockets: Set<net.Socket> }).sockets) socket.destroy()
      server.close(() => resume(Effect.void))
    })
)

const sessionWith = (url: string, http: Layer.Layer<HttpClient.HttpClient, unknown>) =>
  Effect.gen(function*() {
    const context = yield* Layer.build(
      ObjectstoreClient.layer({ baseUrl: url, timeout: "300 millis", retry: false }).pipe(
        Layer.provide(Layer.mergeAll(http, Auth.layerNone, Compression.layer, Metrics.layerNoop))
      )
    )
    return yield* Context.get(context, ObjectstoreClient.ObjectstoreClient).session(
      Usecase.make("transport", { compression: "none" }),
      Scope.make({ org: 1 })
    )
  })

/** NodeClient's HttpClient wrapped by a combinator that makes a new request object (a header added). */
const wrappedNodeClient = Layer.effect(
  HttpClient.HttpClient,
  Effect.map(HttpClient.HttpClient, HttpClient.mapRequest(HttpClientRequest.setHeader("x-wrapped", "yes")))
).pipe(Layer.provideMerge(NodeClient.layerHttpClient({ connectTimeout: "5 seconds" })))

describe("Transport", () => {
  it.scoped("NodeClient.layerHttpClient provides its Transport with its HttpClient", () =>
    Effect.gen(function*() {
      const context = yield* Layer.build(NodeClient.layerHttpClient())
      assert.isTrue(Option.isSome(Context.getOption(context, Transport.Transport)))
    }))

  it.scoped("NodeClient.layerHttpClient offers Transport.send only with direct: true", () =>
    Effect.gen(function*() {
      const plain = yield* Layer.build(NodeClient.layerHttpClient())
      const direct = yield* Layer.build(NodeClient.layerHttpClient({ direct: true }))
      assert.isUndefined(Context.get(plain, Transport.Transport).send)
      assert.isFunction(Context.get(direct, Transport.Transport).send)
    }))

  it.scopedLive("direct: requests bypass the HttpClient (and its combinators); without it they go through it", () =>
    Effect.gen(function*() {
      const server = yield* silentServer
      for (const direct of [false, true]) {
        let seen = 0
        const counted = Layer.effect(
          HttpClient.HttpClient,
          Effect.map(HttpClient.HttpClient, HttpClient.tapRequest(() => Effect.sync(() => seen++)))
        ).pipe(Layer.provideMerge(NodeClient.layerHttpClient({ connectTimeout: "5 seconds", direct })))
        const session = yield* sessionWith(server.url, counted)
        const error = yield* Effect.flip(session.head("k"))
        assert.strictEqual(error._tag === "NetworkError" && error.reason, "Timeout")
        assert.strictEqual(seen, direct ? 0 : 1)
      }
      // Both went out, with the same request line.
      assert.strictEqual(server.received().split("HEAD /v1/objects/transport/org=1/k HTTP/1.1").length, 3)
    }))

  for (
    const [name, http, aborts] of [
      ["NodeClient's HttpClient wrapped by mapRequest (Transport in context)", wrappedNodeClient, true],
      [
        "NodeClient.layerHttpClient({ direct: true }) (Transport.send)",
        NodeClient.layerHttpClient({ connectTimeout: "5 seconds", direct: true }),
        true
      ],
      ["FetchHttpClient.layer (no Transport)", FetchHttpClient.layer, false]
    ] as const
  ) {
    it.scopedLive(`${name}: the response deadline ends the request with a Timeout`, () =>
      Effect.gen(function*() {
        const server = yield* silentServer
        const session = yield* sessionWith(server.url, http)
        const start = performance.now()
        // A deadline that never fired would hang: bound the wait generously.
        const error = yield* Effect.flip(
          session.head("k").pipe(Effect.timeoutFail({
            duration: "20 seconds",
            onTimeout: () => new Hung()
          }))
        )
        assert.isAtLeast(performance.now() - start, 290)
        assert.strictEqual(error._tag, "NetworkError")
        assert.strictEqual(error._tag === "NetworkError" && error.reason, "Timeout")
        assert.include(server.received(), "HEAD /v1/objects/transport/org=1/k")
        if (aborts) {
          if (http === wrappedNodeClient) assert.include(server.received(), "x-wrapped: yes")
          // The transport aborted the one request: its connection is closed.
          yield* Effect.promise(() => new Promise((resolve) => setTimeout(resolve, 50)))
          assert.strictEqual(server.closed(), 1)
        }
      }))
  }
})
