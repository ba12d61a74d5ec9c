/**
 * Clients that stop sending in the middle of a body: the server stores nothing, keeps serving, and can always shut
 * down (a half-sent request must not keep the listening socket open forever).
 */
import * as HttpServer from "@effect/platform/HttpServer"
import { assert, describe, it } from "@effect/vitest"
import * as Server from "@objectstore/server/Server"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Layer from "effect/Layer"
import * as Scope from "effect/Scope"
import * as net from "node:net"

const halfSent = (port: number, path: string) =>
  Effect.acquireRelease(
    Effect.async<net.Socket>((resume) => {
      const socket = net.connect(port, "127.0.0.1", () => {
        socket.write(`PUT ${path} HTTP/1.1\r\nhost: x\r\ntransfer-encoding: chunked\r\n\r\n`)
        socket.write(`10000\r\n${"a".repeat(30_000)}`, () => resume(Effect.succeed(socket)))
      })
    }),
    (socket) => Effect.sync(() => socket.destroy())
  )

const portOf = Effect.map(HttpServer.HttpServer, (server) => (server.address as HttpServer.TcpAddress).port)

describe("bodies cut off by the client", () => {
  it.live("a client that disconnects mid-body leaves nothing stored, and the server keeps serving", () =>
    Effect.gen(function*() {
      const port = yield* portOf
      const control = yield* Server.ServerControl
      yield* Effect.scoped(Effect.flatMap(halfSent(port, "/v1/objects/u/org=1/cut"), () => Effect.sleep("100 millis")))
      yield* Effect.sleep("200 millis")
      assert.strictEqual((yield* control.storage.list).length, 0)
      const health = yield* Effect.promise(() => fetch(`http://127.0.0.1:${port}/health`))
      assert.strictEqual(health.status, 200)
    }).pipe(Effect.provide(Server.layer({ port: 0 }))))

  it.live("the server shuts down while a client stalls in the middle of a body", () =>
    Effect.gen(function*() {
      const scope = yield* Scope.make()
      const context = yield* Layer.buildWithScope(Server.layer({ port: 0 }), scope)
      const port = yield* Effect.provide(portOf, context)
      yield* halfSent(port, "/v1/objects/u/org=1/stalled")
      yield* Effect.sleep("100 millis")
      // the socket stays open: closing the server must not wait for it
      const closed = yield* Scope.close(scope, Exit.void).pipe(Effect.timeout("5 seconds"), Effect.option)
      assert.isTrue(closed._tag === "Some", "server shutdown finished")
    }).pipe(Effect.scoped))
})
