/**
 * The client's retries respond to injected faults as documented (ObjectstoreClient.RetryOptions): transient
 * statuses are retried after `Retry-After` (asserted on the TestClock), non-replayable bodies are never retried,
 * POST is retried only when the server certainly did not process it.
 */
import { assert, describe, it } from "@effect/vitest"
import * as Body from "@objectstore/client/Body"
import * as ObjectstoreClient from "@objectstore/client/ObjectstoreClient"
import * as Scope from "@objectstore/client/Scope"
import * as Session from "@objectstore/client/Session"
import * as Usecase from "@objectstore/client/Usecase"
import * as Faults from "@objectstore/testing/Faults"
import * as ObjectstoreTest from "@objectstore/testing/ObjectstoreTest"
import * as Effect from "effect/Effect"
import * as Fiber from "effect/Fiber"
import * as Option from "effect/Option"
import * as Schedule from "effect/Schedule"
import * as Stream from "effect/Stream"
import * as TestClock from "effect/TestClock"

const files = Usecase.make("files")
const scope = Scope.make({ org: 1 })
const session = Effect.flatMap(ObjectstoreClient.ObjectstoreClient, (client) => client.session(files, scope))
const bytes = (text: string) => new TextEncoder().encode(text)

const requests = Effect.flatMap(ObjectstoreTest.Store, (store) => store.requests)
const stored = (key: string) => Effect.flatMap(ObjectstoreTest.Store, (store) => store.readText(files, scope, key))

/** Fixed 1 s between attempts, so every delay is exact on the TestClock. */
const spaced = { schedule: Schedule.spaced("1 second"), times: 3 }

describe("retries with injected faults (TestClock)", () => {
  it.effect("a single 503 with Retry-After: 1 is retried after exactly one second and succeeds", () =>
    Effect.gen(function*() {
      const s = yield* session
      const fiber = yield* Effect.fork(s.put("payload", { key: "k" }))
      yield* ObjectstoreTest.awaitSleep("1 second")
      yield* TestClock.adjust("999 millis")
      assert.isTrue(Option.isNone(yield* Fiber.poll(fiber)))
      assert.strictEqual((yield* requests).length, 1)
      yield* TestClock.adjust("1 millis")
      assert.strictEqual(yield* Fiber.join(fiber), "k")
      const log = yield* requests
      assert.deepStrictEqual(log.map((entry) => entry.status), [503, 200])
      assert.strictEqual(log[1]!.startedAt - log[0]!.startedAt, 1000)
      assert.deepStrictEqual(yield* stored("k"), Option.some("payload"))
    }).pipe(Effect.provide(ObjectstoreTest.layer({
      faults: [{ operation: "put", times: 1, fault: Faults.status(503, { retryAfter: 1 }) }]
    }))))

  it.effect("429 with Retry-After: 2 is retried after two seconds, even for a POST (the server did not process it)", () =>
    Effect.gen(function*() {
      const s = yield* session
      const fiber = yield* Effect.fork(s.put("payload"))
      yield* ObjectstoreTest.advance("2 seconds")
      const key = yield* Fiber.join(fiber)
      const log = yield* requests
      assert.deepStrictEqual(log.map((entry) => [entry.method, entry.status]), [["POST", 429], ["POST", 201]])
      assert.strictEqual(log[1]!.startedAt - log[0]!.startedAt, 2000)
      assert.deepStrictEqual(yield* stored(key), Option.some("payload"))
    }).pipe(Effect.provide(ObjectstoreTest.layer({
      faults: [{ operation: "put", times: 1, fault: Faults.status(429, { retryAfter: 2 }) }]
    }))))

  it.effect("get and head retry a 503 too; the retry delay is the larger of the schedule and Retry-After", () =>
    Effect.gen(function*() {
      const s = yield* session
      yield* s.put("payload", { key: "k" })
      const faults = yield* Faults.Faults
      yield* faults.set([{ operation: ["get", "head"], nth: 1, fault: Faults.status(503, { retryAfter: 3 }) }])
      const fiber = yield* Effect.fork(s.getText("k"))
      yield* ObjectstoreTest.advance("3 seconds")
      assert.strictEqual(yield* Fiber.join(fiber), "payload")
      yield* faults.set([{ operation: "head", nth: 1, fault: Faults.status(503) }]) // no Retry-After: 1 s schedule
      const head = yield* Effect.fork(s.head("k"))
      yield* ObjectstoreTest.advance("1 second")
      assert.strictEqual((yield* Fiber.join(head)).contentType, "application/octet-stream")
    }).pipe(Effect.provide(ObjectstoreTest.layer({ client: { retry: spaced } }))))

  it.effect("a non-replayable stream put is NOT retried: the 503 reaches the caller after one request", () =>
    Effect.gen(function*() {
      const s = yield* session
      const error = yield* Effect.flip(s.put(Stream.make(bytes("once")), { key: "k" }))
      assert.strictEqual(error._tag === "ResponseError" && error.reason, "Overloaded")
      assert.isTrue(error._tag === "ResponseError" && error.retryable) // retryable, but the body is gone
      assert.strictEqual((yield* requests).length, 1)
      assert.isTrue(Option.isNone(yield* stored("k")))
    }).pipe(Effect.provide(ObjectstoreTest.layer({
      faults: [{ operation: "put", times: 1, fault: Faults.status(503, { retryAfter: 1 }) }]
    }))))

  it.effect("a Body.replayable stream put is retried and stored", () =>
    Effect.gen(function*() {
      const s = yield* session
      const fiber = yield* Effect.fork(s.put(Body.replayable(() => Stream.make(bytes("again"))), { key: "k" }))
      yield* ObjectstoreTest.advance("1 second")
      assert.strictEqual(yield* Fiber.join(fiber), "k")
      assert.strictEqual((yield* requests).length, 2)
      assert.deepStrictEqual(yield* stored("k"), Option.some("again"))
    }).pipe(Effect.provide(ObjectstoreTest.layer({
      faults: [{ operation: "put", times: 1, fault: Faults.status(503, { retryAfter: 1 }) }]
    }))))

  it.effect("a connection reset is retried for PUT (idempotent) but not for POST; a refusal is retried for both", () =>
    Effect.gen(function*() {
      const s = yield* session
      const faults = yield* Faults.Faults
      yield* faults.set([{ operation: "put", times: 1, fault: Faults.reset }])
      const put = yield* Effect.fork(s.put("x", { key: "k" }))
      yield* ObjectstoreTest.advance("1 second")
      assert.strictEqual(yield* Fiber.join(put), "k")

      yield* faults.set([{ operation: "put", times: 1, fault: Faults.reset }])
      const post = yield* Effect.flip(s.put("x"))
      assert.strictEqual(post._tag === "NetworkError" && post.reason, "Transport")

      yield* faults.set([{ operation: "put", times: 1, fault: Faults.refuse }])
      const refused = yield* Effect.fork(s.put("x"))
      yield* ObjectstoreTest.advance("1 second")
      yield* Fiber.join(refused)
      const log = yield* requests
      assert.deepStrictEqual(log.map((entry) => [entry.method, entry.status ?? entry.error]), [
        ["PUT", "RequestError: Transport"],
        ["PUT", 200],
        ["POST", "RequestError: Transport"],
        ["POST", "RequestError: Transport"],
        ["POST", 201]
      ])
    }).pipe(Effect.provide(ObjectstoreTest.layer({ client: { retry: spaced } }))))

  it.effect("500 is not retried; a persistent 503 exhausts the retries (1 + times requests)", () =>
    Effect.gen(function*() {
      const s = yield* session
      const faults = yield* Faults.Faults
      yield* faults.set([{ operation: "put", fault: Faults.status(500) }])
      const server = yield* Effect.flip(s.put("x", { key: "k" }))
      assert.strictEqual(server._tag === "ResponseError" && server.reason, "ServerError")
      assert.strictEqual((yield* requests).length, 1)

      yield* faults.set([{ operation: "put", fault: Faults.status(503) }])
      const fiber = yield* Effect.fork(Effect.flip(s.put("x", { key: "k" })))
      for (let i = 0; i < 3; i++) yield* ObjectstoreTest.advance("1 second")
      const overloaded = yield* Fiber.join(fiber)
      assert.strictEqual(overloaded._tag === "ResponseError" && overloaded.status, 503)
      assert.strictEqual((yield* requests).length, 1 + 4)
    }).pipe(Effect.provide(ObjectstoreTest.layer({ client: { retry: spaced } }))))

  it.effect("a latency past the timeout is retried (Timeout is transient) and the next attempt succeeds", () =>
    Effect.gen(function*() {
      const s = yield* session
      yield* s.put("payload", { key: "k" })
      const faults = yield* Faults.Faults
      yield* faults.set([{ operation: "get", times: 1, fault: Faults.latency("10 seconds") }])
      const fiber = yield* Effect.fork(s.getText("k"))
      yield* ObjectstoreTest.awaitSleep("10 seconds")
      yield* TestClock.adjust("2 seconds") // the timeout
      yield* ObjectstoreTest.advance("1 second") // the retry delay
      assert.strictEqual(yield* Fiber.join(fiber), "payload")
      const gets = (yield* requests).filter((entry) => entry.operation === "get")
      assert.deepStrictEqual(gets.map((entry) => entry.status ?? entry.error), ["interrupted", 200])
      assert.strictEqual(gets[0]!.durationMillis, 2000)
    }).pipe(Effect.provide(ObjectstoreTest.layer({ client: { retry: spaced, timeout: "2 seconds" } }))))

  it.effect("a reset during the body: getText retries it (nothing reached the caller yet), a get stream does not", () =>
    Effect.gen(function*() {
      const s = yield* session
      yield* s.put("payload", { key: "k" })
      const faults = yield* Faults.Faults
      const gets = Effect.map(requests, (log) => log.filter((entry) => entry.operation === "get").length)
      yield* faults.set([{ operation: "get", times: 1, fault: Faults.resetDuringBody() }])
      const fiber = yield* Effect.fork(s.getText("k"))
      yield* ObjectstoreTest.advance("1 second")
      assert.strictEqual(yield* Fiber.join(fiber), "payload")
      assert.strictEqual(yield* gets, 2)
      yield* faults.set([{ operation: "get", times: 1, fault: Faults.resetDuringBody() }])
      const error = yield* Effect.flip(Effect.scoped(Effect.flatMap(s.get("k"), Session.collectText)))
      assert.deepStrictEqual(
        error._tag === "NetworkError" && [error.reason, error.attempts, error.retries],
        ["Transport", 1, "BodyStreamed"]
      )
      assert.strictEqual(yield* gets, 3)
      assert.strictEqual(yield* s.getText("k"), "payload") // healed
    }).pipe(Effect.provide(ObjectstoreTest.layer({ client: { retry: spaced } }))))

  it.effect("a PUT whose key response is cut is retried (idempotent); a POST's is not", () =>
    Effect.gen(function*() {
      const s = yield* session
      const faults = yield* Faults.Faults
      yield* faults.set([{ operation: "put", times: 1, fault: Faults.resetDuringBody() }])
      const fiber = yield* Effect.fork(s.put("x", { key: "k" }))
      yield* ObjectstoreTest.advance("1 second")
      assert.strictEqual(yield* Fiber.join(fiber), "k")
      yield* faults.set([{ operation: "put", times: 1, fault: Faults.resetDuringBody() }])
      assert.strictEqual((yield* Effect.flip(s.put("y")))._tag, "NetworkError")
      const objects = yield* Effect.flatMap(ObjectstoreTest.Store, (store) => store.objects)
      assert.strictEqual(objects.length, 2) // the POST was stored even though its key never reached the caller
    }).pipe(Effect.provide(ObjectstoreTest.layer({ client: { retry: spaced } }))))
})
