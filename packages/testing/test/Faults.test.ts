/**
 * Every fault has the effect it claims on every operation, with retries off (see Retries.test.ts for them).
 */
import { assert, describe, it } from "@effect/vitest"
import * as ObjectstoreClient from "@objectstore/client/ObjectstoreClient"
import type * as ObjectstoreError from "@objectstore/client/ObjectstoreError"
import * as Scope from "@objectstore/client/Scope"
import type * as Session from "@objectstore/client/Session"
import * as Usecase from "@objectstore/client/Usecase"
import * as Faults from "@objectstore/testing/Faults"
import * as ObjectstoreTest from "@objectstore/testing/ObjectstoreTest"
import * as Chunk from "effect/Chunk"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Exit from "effect/Exit"
import * as Fiber from "effect/Fiber"
import * as Option from "effect/Option"
import * as Stream from "effect/Stream"
import * as TestClock from "effect/TestClock"

const files = Usecase.make("files")
const plain = Usecase.make("plain", { compression: "none" })
const scope = Scope.make({ org: 1 })
const PAYLOAD = "0123456789".repeat(100)

const sessionOf = (usecase: Usecase.Usecase = files) =>
  Effect.flatMap(ObjectstoreClient.ObjectstoreClient, (client) => client.session(usecase, scope))

type Op = "post" | "put" | "get" | "head" | "delete"
const OPS: ReadonlyArray<Op> = ["post", "put", "get", "head", "delete"]
const operationOf = (op: Op): Faults.OperationMatch => op === "post" ? "put" : op

const run = (session: Session.Service, op: Op): Effect.Effect<unknown, ObjectstoreError.ObjectstoreError> => {
  switch (op) {
    case "post":
      return session.put(PAYLOAD)
    case "put":
      return session.put(PAYLOAD, { key: "given" })
    case "get":
      return session.getText("existing")
    case "head":
      return session.head("existing")
    case "delete":
      return session.delete("existing")
  }
}

/** Seeds `existing`, installs `fault` for the operation, runs it; returns the outcome and the stored keys. */
const attempt = (op: Op, fault: Faults.Fault | ReadonlyArray<Faults.Fault>, usecase: Usecase.Usecase = files) =>
  Effect.gen(function*() {
    const session = yield* sessionOf(usecase)
    yield* session.put(PAYLOAD, { key: "existing" })
    const faults = yield* Faults.Faults
    yield* faults.set([{ operation: operationOf(op), method: op === "post" ? "POST" : undefined, fault }])
    const result = yield* Effect.either(run(session, op))
    const store = yield* ObjectstoreTest.Store
    const keys = (yield* store.objects).map((object) => object.key)
    const injected = yield* faults.injected
    return { result, keys, injected }
  }).pipe(Effect.provide(ObjectstoreTest.layer({ client: { retry: false } })))

const errorOf = <A>(result: Either.Either<A, ObjectstoreError.ObjectstoreError>) => {
  assert.isTrue(Either.isLeft(result), `expected a failure, got ${JSON.stringify(result)}`)
  return (result as Either.Left<ObjectstoreError.ObjectstoreError, A>).left
}

/** What the store holds when the server never saw the request. */
const untouched = ["existing"]

describe("Faults: reset and refuse (before the request)", () => {
  for (const [name, fault] of [["reset", Faults.reset], ["refuse", Faults.refuse]] as const) {
    for (const op of OPS) {
      it.effect(`${name} × ${op}: NetworkError Transport, retryable; the server never saw the request`, () =>
        Effect.gen(function*() {
          const { injected, keys, result } = yield* attempt(op, fault)
          const error = errorOf(result)
          assert.strictEqual(error._tag, "NetworkError")
          if (error._tag !== "NetworkError") return
          assert.strictEqual(error.reason, "Transport")
          assert.isTrue(error.retryable)
          assert.include(error.detail, name === "reset" ? "ECONNRESET" : "ECONNREFUSED")
          assert.deepStrictEqual(keys, untouched)
          assert.deepStrictEqual(injected.map((i) => [i.rule, i.faults]), [["rule 1", ["Reset"]]])
        }))
    }
  }
})

describe("Faults: status answers", () => {
  const cases: ReadonlyArray<readonly [number, string, string, boolean]> = [
    [429, "ResponseError", "RateLimited", true],
    [503, "ResponseError", "Overloaded", true],
    [502, "ResponseError", "Overloaded", true],
    [500, "ResponseError", "ServerError", false],
    [401, "AuthError", "InvalidToken", false]
  ]
  for (const [status, tag, reason, retryable] of cases) {
    for (const op of OPS) {
      it.effect(`${status} × ${op}: ${tag} ${reason}; the server never saw the request`, () =>
        Effect.gen(function*() {
          const { keys, result } = yield* attempt(op, Faults.status(status, { retryAfter: 1, detail: "injected!" }))
          const error = errorOf(result)
          assert.strictEqual(error._tag, tag)
          assert.deepStrictEqual(keys, untouched)
          if (error._tag === "ResponseError") {
            assert.strictEqual(error.reason, reason)
            assert.strictEqual(error.status, status)
            assert.strictEqual(error.retryable, retryable)
            if (op !== "head") assert.strictEqual(error.detail, "injected!") // HEAD answers carry no body
          } else if (error._tag === "AuthError") {
            assert.strictEqual(error.reason, reason)
            assert.strictEqual(error.status, status)
          }
        }))
    }
  }

  it.effect("403 with a text body is a killswitch; 404 is NotFound for get/head and success for delete", () =>
    Effect.gen(function*() {
      const killed = errorOf((yield* attempt("get", Faults.status(403, { body: "usecase killswitched" }))).result)
      assert.strictEqual(killed._tag === "ResponseError" && killed.reason, "Killswitched")
      const forbidden = errorOf((yield* attempt("get", Faults.status(403))).result)
      assert.strictEqual(forbidden._tag === "AuthError" && forbidden.reason, "Forbidden")
      assert.strictEqual(errorOf((yield* attempt("get", Faults.status(404))).result)._tag, "NotFoundError")
      assert.strictEqual(errorOf((yield* attempt("head", Faults.status(404))).result)._tag, "NotFoundError")
      const deleted = yield* attempt("delete", Faults.status(404))
      assert.isTrue(Either.isRight(deleted.result))
      assert.deepStrictEqual(deleted.keys, ["existing"]) // the server never deleted it
    }))

  it.effect("afterProcessing: the server did the work, the client still sees the status", () =>
    Effect.gen(function*() {
      const { keys, result } = yield* attempt("put", Faults.status(502, { afterProcessing: true }))
      assert.strictEqual(errorOf(result)._tag, "ResponseError")
      assert.deepStrictEqual(keys, ["existing", "given"])
    }))
})

describe("Faults: latency (TestClock)", () => {
  for (const op of OPS) {
    it.effect(`latency past the client timeout × ${op}: NetworkError Timeout`, () =>
      Effect.gen(function*() {
        const session = yield* sessionOf()
        yield* session.put(PAYLOAD, { key: "existing" })
        const faults = yield* Faults.Faults
        yield* faults.set([{ operation: operationOf(op), fault: Faults.latency("5 seconds") }])
        const fiber = yield* Effect.fork(Effect.either(run(session, op)))
        yield* ObjectstoreTest.awaitSleep("5 seconds")
        yield* TestClock.adjust("1 second")
        const error = errorOf(yield* Fiber.join(fiber))
        assert.strictEqual(error._tag === "NetworkError" && error.reason, "Timeout")
        assert.isTrue(error._tag === "NetworkError" && error.retryable)
      }).pipe(Effect.provide(ObjectstoreTest.layer({ client: { retry: false, timeout: "1 second" } }))))
  }

  it.effect("latency below the timeout delays the request by exactly that much, then it succeeds", () =>
    Effect.gen(function*() {
      const session = yield* sessionOf()
      const faults = yield* Faults.Faults
      yield* faults.set([{ fault: Faults.latency("500 millis") }])
      const fiber = yield* Effect.fork(session.put("x", { key: "k" }))
      yield* ObjectstoreTest.advance("500 millis")
      assert.strictEqual(yield* Fiber.join(fiber), "k")
      assert.strictEqual(yield* TestClock.currentTimeMillis, 500)
    }).pipe(Effect.provide(ObjectstoreTest.layer({ client: { retry: false, timeout: "1 second" } }))))
})

describe("Faults: reset during the response body", () => {
  it.effect("get: the body stream fails midway with NetworkError Transport after the first bytes", () =>
    Effect.gen(function*() {
      const session = yield* sessionOf(plain)
      yield* session.put(PAYLOAD, { key: "existing" })
      const faults = yield* Faults.Faults
      yield* faults.set([{ operation: "get", fault: Faults.resetDuringBody({ afterBytes: 300 }) }])
      const received: Array<number> = []
      const error = yield* Effect.scoped(Effect.flatMap(session.get("existing"), (response) =>
        response.stream.pipe(
          Stream.runForEach((chunk) => Effect.sync(() => received.push(...chunk))),
          Effect.flip
        )))
      assert.strictEqual(error._tag === "NetworkError" && error.reason, "Transport")
      assert.strictEqual(new TextDecoder().decode(new Uint8Array(received)), PAYLOAD.slice(0, 300))
      // the default cut is half the Content-Length
      yield* faults.set([{ operation: "get", fault: Faults.resetDuringBody() }])
      const chunks = yield* Effect.scoped(
        Effect.flatMap(session.get("existing"), (response) => Effect.either(Stream.runCollect(response.stream)))
      )
      assert.isTrue(Either.isLeft(chunks))
    }).pipe(Effect.provide(ObjectstoreTest.layer({ client: { retry: false } }))))

  for (const op of ["get", "post", "put"] as const) {
    it.effect(`${op}: NetworkError Transport${op === "get" ? "" : "; the object was stored (the server processed it)"}`, () =>
      Effect.gen(function*() {
        const { keys, result } = yield* attempt(op, Faults.resetDuringBody())
        const error = errorOf(result)
        assert.strictEqual(error._tag === "NetworkError" && error.reason, "Transport")
        if (op === "put") assert.deepStrictEqual(keys, ["existing", "given"])
        if (op === "post") assert.strictEqual(keys.length, 2)
      }))
  }

  for (const op of ["head", "delete"] as const) {
    it.effect(`${op}: no body, no effect`, () =>
      Effect.gen(function*() {
        const { result } = yield* attempt(op, Faults.resetDuringBody())
        assert.isTrue(Either.isRight(result))
      }))
  }
})

describe("Faults: truncated response body", () => {
  it.effect("get of a zstd object: CompressionError (the frame ends early)", () =>
    Effect.gen(function*() {
      const error = errorOf((yield* attempt("get", Faults.truncate())).result)
      assert.strictEqual(error._tag, "CompressionError")
    }))

  it.effect("get of an uncompressed object: the body ends early, silently (nothing on the wire says so)", () =>
    Effect.gen(function*() {
      const { result } = yield* attempt("get", Faults.truncate({ afterBytes: 10 }), plain)
      assert.deepStrictEqual(result, Either.right(PAYLOAD.slice(0, 10)))
    }))

  for (const op of ["post", "put"] as const) {
    it.effect(`${op}: the key cannot be read (NetworkError), though the object was stored`, () =>
      Effect.gen(function*() {
        const { keys, result } = yield* attempt(op, Faults.truncate())
        assert.strictEqual(errorOf(result)._tag, "NetworkError")
        assert.strictEqual(keys.length, 2)
      }))
  }

  for (const op of ["head", "delete"] as const) {
    it.effect(`${op}: no body, no effect`, () =>
      Effect.gen(function*() {
        assert.isTrue(Either.isRight((yield* attempt(op, Faults.truncate())).result))
      }))
  }
})

describe("Faults: corrupt zstd", () => {
  it.effect("get of a zstd object: CompressionError; with decompress: false the flipped bytes come through", () =>
    Effect.gen(function*() {
      const session = yield* sessionOf()
      yield* session.put(PAYLOAD, { key: "existing" })
      const faults = yield* Faults.Faults
      yield* faults.set([{ operation: "get", fault: Faults.corruptZstd }])
      const error = yield* Effect.flip(session.getText("existing"))
      assert.strictEqual(error._tag, "CompressionError")
      assert.strictEqual(error._tag === "CompressionError" && error.operation, "decompress")
      const raw = yield* session.getBytes("existing", { decompress: false })
      assert.deepStrictEqual([...raw.subarray(0, 4)], [0x28 ^ 0xff, 0xb5 ^ 0xff, 0x2f ^ 0xff, 0xfd ^ 0xff])
    }).pipe(Effect.provide(ObjectstoreTest.layer({ client: { retry: false } }))))

  it.effect("uncompressed bodies and the other operations are unaffected", () =>
    Effect.gen(function*() {
      assert.deepStrictEqual((yield* attempt("get", Faults.corruptZstd, plain)).result, Either.right(PAYLOAD))
      for (const op of ["post", "put", "head", "delete"] as const) {
        assert.isTrue(Either.isRight((yield* attempt(op, Faults.corruptZstd)).result), op)
      }
    }))
})

describe("Faults: matching and runtime control", () => {
  const kit = ObjectstoreTest.layer({ client: { retry: false } })
  const tagOf = (exit: Exit.Exit<unknown, ObjectstoreError.ObjectstoreError>) =>
    Exit.isSuccess(exit) ? "ok" : Option.getOrElse(
      Option.map(
        Chunk.head(Chunk.fromIterable(
          Exit.isFailure(exit) && exit.cause._tag === "Fail" ? [exit.cause.error._tag] : ["defect"]
        )),
        (tag) => tag
      ),
      () => "?"
    )

  it.effect("nth and times: only the chosen matching requests fail, then the rule heals", () =>
    Effect.gen(function*() {
      const session = yield* sessionOf()
      yield* session.put("x", { key: "k" })
      const faults = yield* Faults.Faults
      yield* faults.set([{ operation: "head", nth: [2, 4], fault: Faults.status(500) }])
      const outcomes: Array<string> = []
      for (let i = 0; i < 5; i++) outcomes.push(tagOf(yield* Effect.exit(session.head("k"))))
      assert.deepStrictEqual(outcomes, ["ok", "ResponseError", "ok", "ResponseError", "ok"])
      yield* faults.set([{ operation: "head", times: 2, fault: Faults.reset }])
      const healed: Array<string> = []
      for (let i = 0; i < 4; i++) healed.push(tagOf(yield* Effect.exit(session.head("k"))))
      assert.deepStrictEqual(healed, ["NetworkError", "NetworkError", "ok", "ok"])
    }).pipe(Effect.provide(kit)))

  it.effect("key, usecase, method, path and `when` predicates select requests", () =>
    Effect.gen(function*() {
      const session = yield* sessionOf()
      const other = yield* sessionOf(plain)
      const faults = yield* Faults.Faults
      yield* faults.set([
        { key: (key) => key.startsWith("bad/"), fault: Faults.status(500), name: "bad keys" },
        { usecase: "plain", method: "DELETE", fault: Faults.status(503), name: "plain deletes" },
        { path: /;tenant=blocked\//, fault: Faults.status(429), name: "blocked tenant" },
        { when: (request) => request.headers["content-type"] === "application/x-poison", fault: Faults.reset }
      ])
      assert.strictEqual(tagOf(yield* Effect.exit(session.put("x", { key: "bad/one" }))), "ResponseError")
      assert.strictEqual(tagOf(yield* Effect.exit(session.put("x", { key: "good/one" }))), "ok")
      assert.strictEqual(tagOf(yield* Effect.exit(session.delete("good/one"))), "ok")
      assert.strictEqual(tagOf(yield* Effect.exit(other.put("x", { key: "k" }))), "ok")
      assert.strictEqual(tagOf(yield* Effect.exit(other.delete("k"))), "ResponseError")
      const blocked = yield* Effect.flatMap(
        ObjectstoreClient.ObjectstoreClient,
        (client) => client.session(files, Scope.make({ org: 1, tenant: "blocked" }))
      )
      assert.strictEqual(tagOf(yield* Effect.exit(blocked.put("x", { key: "k" }))), "ResponseError")
      assert.strictEqual(
        tagOf(yield* Effect.exit(session.put("x", { key: "p", contentType: "application/x-poison" }))),
        "NetworkError"
      )
      const injected = yield* faults.injected
      assert.deepStrictEqual(injected.map((i) => [i.rule, i.operation, i.key]), [
        ["bad keys", "put", "bad/one"],
        ["plain deletes", "delete", "k"],
        ["blocked tenant", "put", "k"],
        ["rule 4", "put", "p"]
      ])
    }).pipe(Effect.provide(kit)))

  it.effect("probability with a seed is reproducible", () =>
    Effect.gen(function*() {
      const session = yield* sessionOf()
      yield* session.put("x", { key: "k" })
      const faults = yield* Faults.Faults
      const pattern = Effect.gen(function*() {
        const outcomes: Array<string> = []
        for (let i = 0; i < 40; i++) outcomes.push(tagOf(yield* Effect.exit(session.head("k"))))
        return outcomes
      })
      yield* faults.set([{ operation: "head", probability: 0.3, seed: 42, fault: Faults.status(503) }])
      const first = yield* pattern
      yield* faults.set([{ operation: "head", probability: 0.3, seed: 42, fault: Faults.status(503) }])
      const second = yield* pattern
      assert.deepStrictEqual(first, second)
      const failures = first.filter((outcome) => outcome !== "ok").length
      assert.isAbove(failures, 3)
      assert.isBelow(failures, 25)
    }).pipe(Effect.provide(kit)))

  it.effect("inject one failure, then heal with clear; add appends rules", () =>
    Effect.gen(function*() {
      const session = yield* sessionOf()
      const faults = yield* Faults.Faults
      yield* faults.add({ fault: Faults.status(503) })
      assert.strictEqual(tagOf(yield* Effect.exit(session.put("x", { key: "k" }))), "ResponseError")
      yield* faults.clear
      assert.strictEqual(tagOf(yield* Effect.exit(session.put("x", { key: "k" }))), "ok")
      assert.strictEqual((yield* faults.injected).length, 1)
    }).pipe(Effect.provide(kit)))

  it.effect("a rule can combine latency with a status", () =>
    Effect.gen(function*() {
      const session = yield* sessionOf()
      const faults = yield* Faults.Faults
      yield* faults.set([{ fault: [Faults.latency("2 seconds"), Faults.status(429)] }])
      const fiber = yield* Effect.fork(Effect.flip(session.put("x", { key: "k" })))
      yield* ObjectstoreTest.advance("2 seconds")
      const error = yield* Fiber.join(fiber)
      assert.strictEqual(error._tag === "ResponseError" && error.reason, "RateLimited")
    }).pipe(Effect.provide(kit)))
})
