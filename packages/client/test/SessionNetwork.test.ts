/**
 * The client over a real undici transport against misbehaving loopback servers: one that never answers, one that
 * resets every connection, and a closed port.
 */
import * as NodeHttpClient from "@effect/platform-node/NodeHttpClient"
import { assert, describe, it } from "@effect/vitest"
import * as Auth from "@objectstore/client/Auth"
import * as Compression from "@objectstore/client/Compression"
import * as Metrics from "@objectstore/client/Metrics"
import * as NodeClient from "@objectstore/client/NodeClient"
import * as ObjectstoreClient from "@objectstore/client/ObjectstoreClient"
import * as Scope from "@objectstore/client/Scope"
import * as Usecase from "@objectstore/client/Usecase"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as Redacted from "effect/Redacted"
import * as Schedule from "effect/Schedule"
import * as http from "node:http"
import * as net from "node:net"

interface Loopback {
  readonly port: number
  readonly connections: () => number
  readonly closed: () => number
}

/** A TCP server on 127.0.0.1 whose connections are handled by `onConnection`; closed with the scope. */
const loopback = (onConnection: (socket: net.Socket) => void) =>
  Effect.acquireRelease(
    Effect.async<{ server: net.Server; info: Loopback }>((resume) => {
      let connections = 0
      let closed = 0
      const sockets = new Set<net.Socket>()
      const server = net.createServer((socket) => {
        connections++
        sockets.add(socket)
        socket.on("close", () => (closed++, sockets.delete(socket)))
        socket.on("error", () => {})
        // Read (and drop) what arrives: a paused socket with unread data never sees the client's FIN, so its
        // close would only be noticed when the test ends.
        socket.resume()
        onConnection(socket)
      })
      server.listen(0, "127.0.0.1", () => {
        const port = (server.address() as net.AddressInfo).port
        resume(Effect.succeed({
          server: Object.assign(server, { sockets }),
          info: { port, connections: () => connections, closed: () => closed }
        }))
      })
    }),
    ({ server }) =>
      Effect.async<void>((resume) => {
        for (const socket of (server as any).sockets as Set<net.Socket>) socket.destroy()
        server.close(() => resume(Effect.void))
      })
  ).pipe(Effect.map(({ info }) => info))

const Others = Layer.mergeAll(
  Layer.succeed(
    Auth.Auth,
    Auth.Auth.of({ token: () => Effect.succeedSome(Redacted.make("secret-t0ken")), signer: Option.none() })
  ),
  Metrics.layerNoop,
  Compression.layer
)

// Every test runs over both undici transports: the platform's client and NodeClient's own.
const transports = [
  ["platform undici client", NodeHttpClient.layerUndici],
  ["NodeClient.layerHttpClient", NodeClient.layerHttpClient({ connectTimeout: "5 seconds" })]
] as const

for (const [transport, httpLayer] of transports) {
  const Services = Layer.merge(Others, httpLayer)

  /** Builds the client in the test's scope (the undici dispatcher lives until the test ends). */
  const session = (options: ObjectstoreClient.Options, services: typeof Services = Services) =>
    Effect.gen(function*() {
      const context = yield* Layer.build(ObjectstoreClient.layer(options).pipe(Layer.provide(services)))
      const client = yield* Effect.provide(ObjectstoreClient.ObjectstoreClient, context)
      return yield* client.session(Usecase.make("net", { compression: "none" }), Scope.make({ org: 1 }))
    })

  const waitUntil = (predicate: () => boolean) =>
    Effect.repeat(Effect.sync(predicate), {
      until: (done) => done,
      schedule: Schedule.spaced("10 millis").pipe(Schedule.upTo("5 seconds"))
    })

  describe(`Session over undici (loopback misbehaviour): ${transport}`, () => {
    it.scopedLive(
      "a server that accepts and never answers hits the timeout, and the connection is closed",
      () =>
        Effect.gen(function*() {
          const server = yield* loopback(() => {})
          const s = yield* session({ baseUrl: `http://127.0.0.1:${server.port}`, timeout: "300 millis", retry: false })
          const error = yield* Effect.flip(s.head("k"))
          assert.strictEqual(error._tag, "NetworkError")
          if (error._tag === "NetworkError") {
            assert.strictEqual(error.reason, "Timeout")
            assert.isTrue(error.retryable)
          }
          // The hung connection is closed (undici may open a spare one meanwhile, closed or not).
          yield* waitUntil(() => server.closed() >= 1)
          assert.isAtLeast(server.closed(), 1)
          assert.notInclude(String(error), "secret-t0ken")
        }),
      { timeout: 20_000 }
    )

    it.scopedLive(
      "a reset connection is retried for PUT but not for POST (it might have created an object)",
      () =>
        Effect.gen(function*() {
          const server = yield* loopback((socket) => socket.once("data", () => socket.resetAndDestroy()))
          const s = yield* session({
            baseUrl: `http://127.0.0.1:${server.port}`,
            retry: { schedule: Schedule.spaced("10 millis"), times: 2 }
          })
          const post = yield* Effect.flip(s.put("x"))
          assert.strictEqual(post._tag, "NetworkError")
          assert.strictEqual(server.connections(), 1)
          const put = yield* Effect.flip(s.put("x", { key: "k" }))
          assert.strictEqual(put._tag, "NetworkError")
          if (put._tag === "NetworkError") assert.strictEqual(put.reason, "Transport")
          assert.strictEqual(server.connections(), 4)
        }),
      { timeout: 20_000 }
    )

    it.scopedLive(
      "connection refused is a retryable Transport error, and POST is retried",
      () =>
        Effect.gen(function*() {
          const port = yield* Effect.scoped(Effect.map(loopback(() => {}), (server) => server.port))
          let retries = 0
          const s = yield* session(
            { baseUrl: `http://127.0.0.1:${port}`, retry: { schedule: Schedule.spaced("10 millis"), times: 2 } },
            Layer.merge(
              Services,
              Layer.succeed(
                Metrics.Metrics,
                Metrics.Metrics.of({
                  track: (_op, _usecase, effect) => effect,
                  recordSize: () => Effect.void,
                  recordResponse: () => Effect.void,
                  recordRetry: () => Effect.sync(() => void retries++)
                })
              )
            )
          )
          const error = yield* Effect.flip(s.put("x"))
          assert.strictEqual(error._tag, "NetworkError")
          if (error._tag === "NetworkError") {
            assert.strictEqual(error.reason, "Transport")
            assert.isTrue(error.retryable)
            assert.include(error.detail, "ECONNREFUSED")
            assert.strictEqual(error.path, "/v1/objects/net/org=1/")
          }
          assert.strictEqual(retries, 2)
        }),
      { timeout: 20_000 }
    )

    it.scopedLive("closing the scope of get cancels an unread response body", () =>
      Effect.gen(function*() {
        let closed = false
        const server = yield* Effect.acquireRelease(
          Effect.async<http.Server>((resume) => {
            const server = http.createServer((_request, response) => {
              response.writeHead(200, { "content-type": "application/octet-stream" })
              response.write(new Uint8Array(64 * 1024))
              response.on("close", () => (closed = true))
            })
            server.listen(0, "127.0.0.1", () => resume(Effect.succeed(server)))
          }),
          (server) =>
            Effect.async<void>((resume) => {
              server.closeAllConnections()
              server.close(() => resume(Effect.void))
            })
        )
        const port = (server.address() as net.AddressInfo).port
        const s = yield* session({ baseUrl: `http://127.0.0.1:${port}`, retry: false })
        const response = yield* Effect.scoped(s.get("endless"))
        assert.strictEqual(response.key, "endless")
        yield* waitUntil(() => closed)
        assert.isTrue(closed)
      }), { timeout: 20_000 })
  })
}
