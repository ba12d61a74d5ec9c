/**
 * The fault suite's findings pinned down one by one, over loopback against the fault server: an early answer to an
 * upload whose next write fails is still the outcome; the connect deadline runs on Effect's Clock (not undici's
 * coarse timer); and no token reaches a span's exit, whichever undici transport sends the request.
 */
import * as NodeHttpClient from "@effect/platform-node/NodeHttpClient"
import type * as HttpClient from "@effect/platform/HttpClient"
import * as HttpServer from "@effect/platform/HttpServer"
import { assert, describe, it, layer } from "@effect/vitest"
import { Auth, Body, Compression, Metrics, ObjectstoreClient, Scope, Usecase } from "@objectstore/client"
import * as NodeClient from "@objectstore/client/NodeClient"
import * as Server from "@objectstore/server/Server"
import * as Cause from "effect/Cause"
import * as Context from "effect/Context"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Fiber from "effect/Fiber"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as Redacted from "effect/Redacted"
import * as Stream from "effect/Stream"
import * as TestClock from "effect/TestClock"
import { inspect } from "node:util"
import * as FaultServer from "./support/faultServer.js"
import { recordingTracer as recordSpans } from "./support/tracer.js"

const TOKEN = "s3ssion-faults-SECRET"

const sessionOver = (
  baseUrl: string,
  http: Layer.Layer<HttpClient.HttpClient, unknown>,
  options: Omit<ObjectstoreClient.Options, "baseUrl"> = {}
) =>
  Effect.gen(function*() {
    const context = yield* Layer.build(
      ObjectstoreClient.layer({ baseUrl, ...options }).pipe(
        Layer.provide(Layer.mergeAll(http, Auth.layerToken(Redacted.make(TOKEN)), Compression.layer, Metrics.layerNoop))
      )
    )
    return yield* Context.get(context, ObjectstoreClient.ObjectstoreClient).session(
      Usecase.make("faults", { compression: "none" }),
      Scope.make({ org: 1 })
    )
  })

const realSleep = (millis: number) => Effect.promise(() => new Promise((resolve) => setTimeout(resolve, millis)))

describe("an early answer to an upload", () => {
  // The next chunk of the body is produced only once the server has answered and reset the connection: writing it
  // fails (ECONNRESET) while the answer waits, unread, in the socket.
  const answeredThenMore = (server: FaultServer.FaultServer) =>
    Stream.concat(
      Stream.make(new Uint8Array(1024)),
      Stream.fromEffect(Effect.as(server.answered, new Uint8Array(256 * 1024)))
    )

  for (
    const [status, tag, reason] of [[503, "ResponseError", "Overloaded"], [413, "ResponseError", "BadRequest"], [
      500,
      "ResponseError",
      "ServerError"
    ]] as const
  ) {
    it.scopedLive(`${status} before the body is read is the outcome, not the failed write`, () =>
      Effect.gen(function*() {
        const server = yield* FaultServer.make({ fault: { _tag: "Early", status }, upstream: "http://127.0.0.1:1" })
        const session = yield* sessionOver(server.url, NodeClient.layerHttpClient(), { retry: false })
        const error = yield* Effect.flip(session.put(answeredThenMore(server), { key: "k" }))
        assert.deepStrictEqual(
          [error._tag, error._tag === "ResponseError" && [error.reason, error.status, error.detail, error.attempts]],
          [tag, [reason, status, `early ${status}`, 1]]
        )
      }))
  }

  it.scopedLive("a replayable body answered 503 with Retry-After: 1 is sent again a second later", () =>
    Effect.gen(function*() {
      const server = yield* FaultServer.make({
        fault: { _tag: "Early", status: 503, retryAfter: 1 },
        upstream: "http://127.0.0.1:1"
      })
      const session = yield* sessionOver(server.url, NodeClient.layerHttpClient(), { retry: { times: 1 } })
      const start = performance.now()
      const error = yield* Effect.flip(session.put(Body.replayable(() => answeredThenMore(server)), { key: "k" }))
      assert.isAtLeast(performance.now() - start, 1000)
      assert.strictEqual(server.faulted(), 2)
      assert.deepStrictEqual(
        error._tag === "ResponseError" && [error.reason, error.attempts, error.retries],
        ["Overloaded", 2, "Exhausted"]
      )
    }))
})

describe("the connect deadline", () => {
  it.scoped(
    "runs on Effect's Clock: a TestClock that does not move never times the connection out",
    () =>
      Effect.gen(function*() {
        const server = yield* FaultServer.make({ fault: { _tag: "NeverAccept" }, upstream: "http://127.0.0.1:1" })
        const session = yield* sessionOver(
          server.url,
          NodeClient.layerHttpClient({ connectTimeout: "100 millis" }),
          { retry: false }
        )
        const fiber = yield* Effect.fork(session.head("k"))
        // undici's own connect timer (a coarse wheel of real time) would have fired by now
        yield* realSleep(1500)
        yield* TestClock.adjust("99 millis")
        yield* realSleep(100)
        assert.isTrue(Option.isNone(yield* Fiber.poll(fiber)))
        yield* TestClock.adjust("1 millis")
        const error = yield* Effect.flip(Fiber.join(fiber))
        assert.deepStrictEqual(
          error._tag === "NetworkError" && [error.reason, error.attempts, error.retries],
          ["Timeout", 1, "Disabled"]
        )
        assert.include(error._tag === "NetworkError" ? error.detail : "", "timeout: 100ms")
      }),
    { timeout: 20_000 }
  )

  it.scopedLive("takes at least the configured time, on the live clock", () =>
    Effect.gen(function*() {
      const server = yield* FaultServer.make({ fault: { _tag: "NeverAccept" }, upstream: "http://127.0.0.1:1" })
      for (const millis of [100, 300]) {
        const session = yield* sessionOver(
          server.url,
          NodeClient.layerHttpClient({ connectTimeout: Duration.millis(millis) }),
          { retry: false }
        )
        const start = performance.now()
        const error = yield* Effect.flip(session.head("k"))
        const took = performance.now() - start
        assert.strictEqual(error._tag === "NetworkError" && error.reason, "Timeout")
        assert.isAtLeast(took, millis - 1)
        assert.isBelow(took, millis * 20)
      }
    }), { timeout: 20_000 })
})

// Both undici transports: NodeClient's own, and the platform's (the token is protected in the request's headers).
const transports = [
  ["NodeClient.layerHttpClient", NodeClient.layerHttpClient()],
  ["platform undici client", NodeHttpClient.layerUndici]
] as const

layer(Server.layer({ port: 0 }), { excludeTestServices: true })("no token in a span's exit", (it) => {
  for (const [name, http] of transports) {
    for (const httpSpans of [true, false]) {
      it.scoped(`${name}, httpSpans ${httpSpans}: serialised at the span's end and later, success and failure`, () =>
        Effect.gen(function*() {
          const upstream = yield* HttpServer.addressFormattedWith(Effect.succeed)
          const reset = yield* FaultServer.make({ fault: { _tag: "ResetBeforeDownload" }, upstream })
          const seen: Array<string> = []
          const exits: Array<Exit.Exit<unknown, unknown>> = []
          const tracer = recordingTracer((exit) => {
            exits.push(exit)
            seen.push(JSON.stringify(exit), inspect(exit, { depth: 10 }), String(exit))
          })
          const ok = yield* sessionOver(upstream, http, { httpSpans, retry: false })
          const failing = yield* sessionOver(reset.url, http, { httpSpans, retry: false })
          yield* ok.put("payload", { key: "k" }).pipe(Effect.withTracer(tracer))
          yield* ok.head("k").pipe(Effect.withTracer(tracer))
          const exit = yield* Effect.exit(failing.head("k").pipe(Effect.withTracer(tracer)))
          assert.isTrue(Exit.isFailure(exit))
          if (Exit.isFailure(exit)) seen.push(Cause.pretty(exit.cause), inspect(exit.cause, { depth: 10 }))
          assert.isAtLeast(exits.length, httpSpans ? 6 : 3)
          const later = exits.flatMap((exit) => [JSON.stringify(exit), inspect(exit, { depth: 10 }), String(exit)])
          assert.deepStrictEqual([...seen, ...later].filter((text) => text.includes(TOKEN)), [])
        }))
    }
  }
})

/** A tracer that hands every span's exit to `onEnd`. */
const recordingTracer = (onEnd: (exit: Exit.Exit<unknown, unknown>) => void) =>
  recordSpans([], { onEnd: (_span, exit) => onEnd(exit) })
