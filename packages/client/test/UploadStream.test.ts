/**
 * A streamed `put` over `NodeClient`, against a loopback `node:http` server that discards what it receives:
 *
 * - the caller's stream is read only as fast as the server takes the bytes: while the server reads nothing, the
 *   producer stops a few MiB ahead (what the sockets' kernel buffers hold, plus a chunk), however long the body;
 * - interrupting the put stops the caller's stream (its finalizers run) and closes the request;
 * - a chunk the socket has taken is garbage as soon as it is sent, freed by V8's young-generation collections. The
 *   platform's `NodeStream.toReadable` ran the body in one long-lived fiber whose old-generation objects kept the
 *   chunks reachable until a full collection, which V8 runs far less often: a 1 GiB put peaked 20-30 MiB higher
 *   (`bench/streaming-memory.ts`).
 */
import { assert, describe, it } from "@effect/vitest"
import * as Auth from "@objectstore/client/Auth"
import * as Compression from "@objectstore/client/Compression"
import * as Metrics from "@objectstore/client/Metrics"
import * as NodeClient from "@objectstore/client/NodeClient"
import * as ObjectstoreClient from "@objectstore/client/ObjectstoreClient"
import * as Scope from "@objectstore/client/Scope"
import * as Usecase from "@objectstore/client/Usecase"
import * as Effect from "effect/Effect"
import * as Fiber from "effect/Fiber"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as Stream from "effect/Stream"
import * as http from "node:http"
import type * as net from "node:net"
import * as v8 from "node:v8"
import * as vm from "node:vm"

const KiB = 1024
const MiB = 1024 * KiB
const CHUNK = 256 * KiB

v8.setFlagsFromString("--expose-gc")
const gc = vm.runInNewContext("gc") as (options?: { readonly type: "minor" | "major" }) => void

interface Sink {
  readonly url: string
  /** Body bytes the server has read so far. */
  readonly received: () => number
  /** Connections the client has closed. */
  readonly closed: () => number
  /** Starts reading request bodies (the server holds them unread until then when made with `held`). */
  readonly release: () => void
}

/** A loopback server that reads request bodies and throws them away, answering each put with its key. */
const sink = (options: { readonly held: boolean }) =>
  Effect.acquireRelease(
    Effect.async<{ server: http.Server; sink: Sink }>((resume) => {
      let received = 0
      let closed = 0
      let held = options.held
      const waiting: Array<http.IncomingMessage> = []
      const server = http.createServer((request, response) => {
        request.on("data", (chunk: Buffer) => (received += chunk.length))
        request.on("end", () => {
          response.writeHead(201, { "content-type": "application/json" })
          response.end(JSON.stringify({ key: decodeURIComponent(request.url!.split("/").pop()!) }))
        })
        if (held) {
          request.pause()
          waiting.push(request)
        }
      })
      server.on("connection", (socket: net.Socket) => socket.on("close", () => closed++))
      server.listen(0, "127.0.0.1", () => {
        const port = (server.address() as net.AddressInfo).port
        resume(Effect.succeed({
          server,
          sink: {
            url: `http://127.0.0.1:${port}`,
            received: () => received,
            closed: () => closed,
            release: () => {
              held = false
              for (const request of waiting.splice(0)) request.resume()
            }
          }
        }))
      })
    }),
    ({ server }) =>
      Effect.async<void>((resume) => {
        server.closeAllConnections()
        server.close(() => resume(Effect.void))
      })
  ).pipe(Effect.map(({ sink }) => sink))

const session = (url: string, compression: Usecase.Compression) =>
  Effect.flatMap(
    ObjectstoreClient.ObjectstoreClient,
    (client) => client.session(Usecase.make("uploads", { compression }), Scope.make({ org: 1 }))
  ).pipe(
    Effect.provide(
      ObjectstoreClient.layer({ baseUrl: url, retry: false }).pipe(
        Layer.provide(Layer.mergeAll(
          NodeClient.layerHttpClient({ connectTimeout: "5 seconds", direct: true }),
          Compression.layer,
          Auth.layerNone,
          Metrics.layerNoop
        ))
      )
    )
  )

/** `count` fresh 256 KiB chunks, each made when the stream is pulled; `onChunk` sees how many were made. */
const chunks = (count: number, onChunk: (made: number) => void): Stream.Stream<Uint8Array> =>
  Stream.suspend(() => {
    let made = 0
    return Stream.repeatEffectOption(Effect.suspend(() => {
      if (made === count) return Effect.fail(Option.none())
      const chunk = new Uint8Array(CHUNK)
      onChunk(++made)
      return Effect.succeed(chunk)
    }))
  })

describe("streamed put over NodeClient", () => {
  it.scopedLive("reads the caller's stream no faster than the server takes it", () =>
    Effect.gen(function*() {
      const server = yield* sink({ held: true })
      const put = (yield* session(server.url, "none")).put
      const count = 256 // 64 MiB
      let made = 0
      let changed = performance.now()
      const fiber = yield* Effect.fork(put(
        chunks(count, (n) => {
          made = n
          changed = performance.now()
        }),
        { key: "held" }
      ))
      // While the server reads nothing, the producer stops: wait until it has not moved for 200 ms.
      yield* Effect.repeat(Effect.sleep("20 millis"), { until: () => made > 0 && performance.now() - changed > 200 })
      const ahead = made * CHUNK
      assert.strictEqual(server.received(), 0)
      server.release()
      assert.strictEqual(yield* fiber.await.pipe(Effect.flatten), "held")
      assert.strictEqual(server.received(), count * CHUNK)
      // The sockets' kernel buffers on loopback (a few MiB) and a chunk or two in the client; not the 64 MiB body.
      assert.isBelow(ahead, 16 * MiB, `the producer ran ${(ahead / MiB).toFixed(1)} MiB ahead of the server`)
    }))

  it.scopedLive("interrupting a put stops the caller's stream and closes the request", () =>
    Effect.gen(function*() {
      const server = yield* sink({ held: true })
      const put = (yield* session(server.url, "none")).put
      let made = 0
      let finalized = false
      const body = chunks(256, (n) => (made = n)).pipe(Stream.ensuring(Effect.sync(() => (finalized = true))))
      const fiber = yield* Effect.fork(put(body, { key: "interrupted" }))
      yield* Effect.repeat(Effect.sleep("20 millis"), { until: () => made > 0 })
      yield* Fiber.interrupt(fiber)
      // A paused socket does not see its peer go: read again.
      server.release()
      yield* Effect.repeat(Effect.sleep("20 millis"), { until: () => finalized && server.closed() > 0 }).pipe(
        Effect.timeout("10 seconds"),
        Effect.ignore
      )
      assert.isTrue(finalized)
      assert.strictEqual(server.closed(), 1)
    }))

  // The body's path to the socket is the same with zstd, but the compressed chunks come when zstd's background
  // jobs finish, so what a collection finds alive varies from run to run: uncompressed, the test is deterministic.
  it.scopedLive("sent chunks are freed by young-generation collections", () =>
    Effect.gen(function*() {
      const server = yield* sink({ held: false })
      const put = (yield* session(server.url, "none")).put
      yield* put(chunks(4, () => {}), { key: "warm-up" })
      gc()
      const before = process.memoryUsage().arrayBuffers
      // Young-generation collections at the start of the upload promote what lives as long as the upload (as a
      // long-lived fiber does) to the old generation, as V8 does on its own early in a long upload; then one
      // every 16 chunks (4 MiB).
      const count = 160 // 40 MiB
      yield* put(chunks(count, (made) => (made <= 3 || made % 16 === 0) && gc({ type: "minor" })), { key: "freed" })
      assert.strictEqual(server.received(), (4 + count) * CHUNK)
      // Two young-generation collections, each followed by a turn of the event loop (buffers are freed after).
      for (let i = 0; i < 2; i++) {
        gc({ type: "minor" })
        yield* Effect.sleep("20 millis")
      }
      const left = process.memoryUsage().arrayBuffers - before
      assert.isBelow(left, 12 * MiB, `${(left / MiB).toFixed(1)} MiB of buffers survived young-generation collections`)
    }))
})
