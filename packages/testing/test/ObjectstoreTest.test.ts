/**
 * The kit layer: one-line setup, inspection of the store and of the requests, auth on/off, usecase rules, and
 * expiration driven by TestClock.
 */
import { assert, describe, it, layer } from "@effect/vitest"
import * as Expiration from "@objectstore/client/Expiration"
import * as ObjectstoreClient from "@objectstore/client/ObjectstoreClient"
import * as Scope from "@objectstore/client/Scope"
import * as Session from "@objectstore/client/Session"
import * as Usecase from "@objectstore/client/Usecase"
import * as Faults from "@objectstore/testing/Faults"
import * as ObjectstoreTest from "@objectstore/testing/ObjectstoreTest"
import * as Cause from "effect/Cause"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Fiber from "effect/Fiber"
import * as Option from "effect/Option"
import * as Redacted from "effect/Redacted"
import * as Stream from "effect/Stream"
import * as TestClock from "effect/TestClock"

const files = Usecase.make("files")
const scope = Scope.make({ org: 42, project: 7 })
const session = (usecase: Usecase.Usecase = files) =>
  Effect.flatMap(ObjectstoreClient.ObjectstoreClient, (client) => client.session(usecase, scope))

describe("ObjectstoreTest.layer", () => {
  it.effect("one line of setup: the client talks to the real server in-process", () =>
    Effect.gen(function*() {
      const s = yield* session()
      const key = yield* s.put("hello, kit", { contentType: "text/plain", metadata: { origin: "test" } })
      assert.strictEqual(yield* s.getText(key), "hello, kit")
      const head = yield* s.head(key)
      assert.strictEqual(head.contentType, "text/plain")
      assert.deepStrictEqual(head.custom, { origin: "test" })
      yield* s.delete(key)
      const error = yield* Effect.flip(s.getText(key))
      assert.strictEqual(error._tag, "NotFoundError")
    }).pipe(Effect.provide(ObjectstoreTest.layer())))

  it.effect("the store shows what the server holds: metadata, stored size, payload (decompressed or raw)", () =>
    Effect.gen(function*() {
      const s = yield* session()
      const text = "a".repeat(10_000)
      yield* s.put(text, { key: "big" })
      yield* s.put("plain", { key: "small", compression: "none" })
      const store = yield* ObjectstoreTest.Store
      const objects = yield* store.objects
      assert.deepStrictEqual(objects.map((o) => [o.usecase, o.scope, o.key]), [
        ["files", "org=42;project=7", "big"],
        ["files", "org=42;project=7", "small"]
      ])
      const big = objects[0]!
      assert.strictEqual(big.metadata.compression, "zstd")
      assert.isBelow(big.size, 1_000) // stored compressed
      assert.isFalse(big.expired)
      assert.deepStrictEqual(yield* store.readText(files, scope, "big"), Option.some(text))
      assert.deepStrictEqual(yield* store.readText("files", "org=42;project=7", "small"), Option.some("plain"))
      const raw = Option.getOrThrow(yield* store.read("files", "org=42;project=7", "big", { raw: true }))
      assert.deepStrictEqual([...raw.subarray(0, 4)], [0x28, 0xb5, 0x2f, 0xfd]) // the zstd frame magic
      assert.isTrue(Option.isNone(yield* store.read("files", "org=42;project=7", "missing")))
    }).pipe(Effect.provide(ObjectstoreTest.layer())))

  it.effect("the request log records each request: operation, path, key, status, headers without the token", () =>
    Effect.gen(function*() {
      const s = yield* session()
      const key = yield* s.put("x")
      yield* s.head(key)
      yield* s.getText(key)
      yield* s.delete(key)
      yield* Effect.flip(s.head(key))
      const store = yield* ObjectstoreTest.Store
      const log = yield* store.requests
      assert.deepStrictEqual(log.map((e) => [e.sequence, e.method, e.operation, e.status]), [
        [1, "POST", "put", 201],
        [2, "HEAD", "head", 204],
        [3, "GET", "get", 200],
        [4, "DELETE", "delete", 204],
        [5, "HEAD", "head", 404]
      ])
      assert.strictEqual(log[1]!.key, key)
      assert.strictEqual(log[1]!.path, `/v1/objects/files/org=42;project=7/${key}`)
      assert.strictEqual(log[0]!.requestHeaders["content-encoding"], "zstd")
      assert.strictEqual(log[2]!.responseHeaders["content-encoding"], "zstd")
      for (const entry of log) {
        assert.isTrue(entry.hasToken)
        assert.notProperty(entry.requestHeaders, "x-os-auth")
        assert.notProperty(entry.requestHeaders, "authorization")
      }
      assert.notInclude(JSON.stringify(log), "Bearer")
      yield* store.clearRequests
      assert.strictEqual((yield* store.requests).length, 0)
      yield* s.head(key).pipe(Effect.ignore)
      assert.strictEqual((yield* store.requests)[0]!.sequence, 6)
    }).pipe(Effect.provide(ObjectstoreTest.layer({ auth: true }))))

  it.effect("auth on: a scope whose names look like integers is granted in order and accepted by the server", () =>
    Effect.gen(function*() {
      const client = yield* ObjectstoreClient.ObjectstoreClient
      const s = yield* client.session(files, Scope.fromEntries([["2", "x"], ["org", 1], ["10", "y"]]))
      const key = yield* s.put("ordered")
      assert.strictEqual(yield* s.getText(key), "ordered")
      const [entry] = yield* Effect.flatMap(ObjectstoreTest.Store, (store) => store.requests)
      assert.strictEqual(entry!.path, `/v1/objects/files/2=x;org=1;10=y/`)
      assert.strictEqual(entry!.status, 201)
    }).pipe(Effect.provide(ObjectstoreTest.layer({ auth: true }))))

  it.effect("auth off: no token is sent and the server does not ask for one", () =>
    Effect.gen(function*() {
      const s = yield* session()
      yield* s.put("x", { key: "k" })
      const store = yield* ObjectstoreTest.Store
      assert.isFalse((yield* store.requests)[0]!.hasToken)
      assert.isTrue(Option.isNone(store.key))
    }).pipe(Effect.provide(ObjectstoreTest.layer())))

  it.effect("auth on: the client signs with the generated key; anonymous and foreign tokens are refused", () =>
    Effect.gen(function*() {
      const s = yield* session()
      assert.strictEqual(yield* s.getText(yield* s.put("signed")), "signed")
      const store = yield* ObjectstoreTest.Store
      const key = Option.getOrThrow(store.key)
      assert.strictEqual(key.kid, "test-key")
      assert.include(key.publicKey, "BEGIN PUBLIC KEY")

      const anonymous = yield* Effect.flip(
        Effect.flatMap(session(), (other) => other.put("x")).pipe(
          Effect.provide(ObjectstoreTest.layer({ auth: { anonymous: true } }))
        )
      )
      assert.strictEqual(anonymous._tag, "AuthError")
      assert.strictEqual(anonymous._tag === "AuthError" && anonymous.reason, "MissingToken")

      const forged = yield* Effect.flip(
        Effect.flatMap(session(), (other) => other.put("x")).pipe(
          Effect.provide(ObjectstoreTest.layer({ auth: { token: Redacted.make("not.a.jwt") } }))
        )
      )
      assert.strictEqual(forged._tag === "AuthError" && forged.reason, "InvalidToken")
    }).pipe(Effect.provide(ObjectstoreTest.layer({ auth: true }))))

  it.effect("auth with a given key pair whose server permissions are read-only: writes are forbidden", () =>
    Effect.gen(function*() {
      const s = yield* session()
      const error = yield* Effect.flip(s.put("x"))
      assert.strictEqual(error._tag, "AuthError")
      assert.strictEqual(error._tag === "AuthError" && error.reason, "Forbidden")
      const store = yield* ObjectstoreTest.Store
      assert.strictEqual(Option.getOrThrow(store.key).kid, "mine")
    }).pipe(
      Effect.provide(ObjectstoreTest.layer({
        auth: { ...ObjectstoreTest.generateKey("mine"), permissions: ["object.read"] }
      }))
    ))

  it.effect("usecase rules are enforced by the in-process server", () =>
    Effect.gen(function*() {
      const s = yield* session(Usecase.make("files", { expirationPolicy: Expiration.timeToLive("30 days") }))
      const error = yield* Effect.flip(s.put("x"))
      assert.strictEqual(error._tag, "ResponseError")
      assert.strictEqual(error._tag === "ResponseError" && error.reason, "BadRequest")
      assert.include(error.message, "exceeds maximum")
      yield* s.put("x", { expirationPolicy: Expiration.timeToLive("1 day") })
      const manual = yield* Effect.flip(s.put("x", { expirationPolicy: Expiration.manual }))
      assert.strictEqual(manual._tag, "ResponseError")
    }).pipe(
      Effect.provide(ObjectstoreTest.layer({
        usecases: { files: { manual: { allowed: false }, ttl: { allowed: true, max: Duration.days(7) } } }
      }))
    ))
})

describe("ObjectstoreTest with TestClock", () => {
  it.effect("advancing the clock expires ttl objects; the store flags them until the reaper runs", () =>
    Effect.gen(function*() {
      const s = yield* session(Usecase.make("files", { expirationPolicy: Expiration.timeToLive("30 seconds") }))
      const key = yield* s.put("short-lived")
      yield* TestClock.adjust("30 seconds")
      assert.strictEqual(yield* s.getText(key), "short-lived") // equal is not expired
      yield* TestClock.adjust("1 millis")
      assert.strictEqual((yield* Effect.flip(s.getText(key)))._tag, "NotFoundError")
      assert.strictEqual((yield* Effect.flip(s.head(key)))._tag, "NotFoundError")
      const store = yield* ObjectstoreTest.Store
      const [object] = yield* store.objects
      assert.strictEqual(object?.key, key)
      assert.isTrue(object?.expired)
      assert.strictEqual(yield* store.reapNow, 1)
      assert.strictEqual((yield* store.objects).length, 0)
    }).pipe(Effect.provide(ObjectstoreTest.layer())))

  it.effect("time-to-idle reads bump the deadline; idle objects expire", () =>
    Effect.gen(function*() {
      const s = yield* session(Usecase.make("files", { expirationPolicy: Expiration.timeToIdle("2 hours") }))
      const read = yield* s.put("read often")
      const idle = yield* s.put("never read")
      yield* TestClock.adjust("100 minutes")
      assert.strictEqual(yield* s.getText(read), "read often") // bumps to 100 min + 2 h
      yield* TestClock.adjust("50 minutes") // 150 min: past the original 2 h deadline
      assert.strictEqual(yield* s.getText(read), "read often")
      assert.strictEqual((yield* Effect.flip(s.getText(idle)))._tag, "NotFoundError")
      // the second read bumped again (220 min was within the 30 min debounce window): 150 min + 2 h
      const head = yield* s.head(read)
      assert.strictEqual(head.timeExpires?.getTime(), Duration.toMillis("270 minutes"))
    }).pipe(Effect.provide(ObjectstoreTest.layer())))

  it.effect("the log's timing is on the TestClock: an injected latency shows as its exact duration", () =>
    Effect.gen(function*() {
      const s = yield* session()
      const fiber = yield* Effect.fork(s.put("slow", { key: "slow" }))
      yield* ObjectstoreTest.advance("3 seconds")
      yield* fiber.await
      const [entry] = yield* Effect.flatMap(ObjectstoreTest.Store, (store) => store.requests)
      assert.strictEqual(entry?.durationMillis, 3000)
      assert.strictEqual(entry?.status, 200)
    }).pipe(
      Effect.provide(ObjectstoreTest.layer({ faults: [{ operation: "put", fault: Faults.latency("3 seconds") }] }))
    ))
})

layer(ObjectstoreTest.layerSession(files, scope, { auth: true }))("with @effect/vitest layer()", (it) => {
  it.effect("the Session is provided and the TestClock is shared with the server", () =>
    Effect.gen(function*() {
      const s = yield* Session.Session
      yield* TestClock.setTime(Duration.toMillis("1000 days"))
      yield* s.put("kept", { key: "kept" }) // no expiry: the next test finds it
      const key = yield* s.put(Stream.make(new TextEncoder().encode("streamed")), {
        expirationPolicy: Expiration.timeToLive("1 minute")
      })
      const head = yield* s.head(key)
      assert.strictEqual(head.timeCreated?.getTime(), Duration.toMillis("1000 days"))
      yield* TestClock.adjust("2 minutes")
      assert.strictEqual((yield* Effect.flip(s.head(key)))._tag, "NotFoundError")
    }))

  it.effect("state persists across the tests of the block", () =>
    Effect.gen(function*() {
      const store = yield* ObjectstoreTest.Store
      // The expired object of the previous test may or may not have been reaped yet; the kept one is there.
      assert.include((yield* store.objects).map((object) => object.key), "kept")
    }))

  it.effect("advance(d) wakes a fiber sleeping for d or less (a jittered delay); otherwise it says what sleeps", () =>
    Effect.gen(function*() {
      const start = yield* TestClock.currentTimeMillis
      const shorter = yield* Effect.fork(Effect.sleep("700 millis"))
      yield* ObjectstoreTest.advance("1 second")
      assert.isTrue(Option.isSome(yield* Fiber.poll(shorter)))
      assert.strictEqual((yield* TestClock.currentTimeMillis) - start, 1000)

      yield* Effect.fork(Effect.sleep("2 seconds"))
      const tooLong = yield* Effect.exit(ObjectstoreTest.advance("1 second", "50 millis"))
      assert.isTrue(Exit.isFailure(tooLong))
      // The message lists every sleeper (the layer's server may have its own, such as the reaper).
      const tooLongText = Cause.pretty(Exit.isFailure(tooLong) ? tooLong.cause : Cause.empty)
      assert.include(
        tooLongText,
        "no fiber started sleeping for 1s or less within 50ms of real time; fibers are sleeping"
      )
      assert.match(tooLongText, /sleeping for (.*, )?2s\b/)
      const exact = yield* Effect.exit(ObjectstoreTest.awaitSleep("1500 millis", "50 millis"))
      const exactText = Cause.pretty(Exit.isFailure(exact) ? exact.cause : Cause.empty)
      assert.include(exactText, "no fiber started sleeping for exactly 1s 500ms within 50ms of real time")
      assert.match(exactText, /sleeping for (.*, )?2s\b/)
    }))
})
