/**
 * Batch (`session.many`) and multipart requests are recognised by the request log and by fault rules.
 */
import { assert, describe, it } from "@effect/vitest"
import * as Batch from "@objectstore/client/Batch"
import * as ObjectstoreClient from "@objectstore/client/ObjectstoreClient"
import * as Scope from "@objectstore/client/Scope"
import * as Usecase from "@objectstore/client/Usecase"
import * as Faults from "@objectstore/testing/Faults"
import * as ObjectstoreTest from "@objectstore/testing/ObjectstoreTest"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Option from "effect/Option"

const files = Usecase.make("files", { compression: "none" })
const session = Effect.flatMap(
  ObjectstoreClient.ObjectstoreClient,
  (client) => client.session(files, Scope.make({ org: 1 }))
)
const requests = Effect.flatMap(ObjectstoreTest.Store, (store) => store.requests)

describe("batch and multipart requests", () => {
  it.effect("many() goes out as `batch` requests; a batch fault fails each of its operations", () =>
    Effect.gen(function*() {
      const s = yield* session
      const stored = yield* Batch.collectAll(s.many([Batch.put("a", { key: "a" }), Batch.put("b", { key: "b" })]))
      assert.isTrue(stored.every((outcome) => Either.isRight(outcome.result as Either.Either<unknown, unknown>)))
      assert.deepStrictEqual((yield* requests).map((entry) => [entry.operation, entry.status]), [["batch", 200]])

      const faults = yield* Faults.Faults
      yield* faults.set([{ operation: "batch", fault: Faults.reset }])
      const outcomes = yield* Batch.collectAll(s.many([Batch.get("a"), Batch.head("b"), Batch.delete("a")]))
      assert.deepStrictEqual(
        outcomes.map((outcome) => {
          const result: Either.Either<unknown, Batch.ManyError> = outcome.result
          return Either.isLeft(result) ? result.left._tag : "ok"
        }),
        ["NetworkError", "NetworkError", "NetworkError"]
      )
      yield* faults.clear
      const [a] = yield* Batch.collectAll(s.many([Batch.get("a")]))
      const value = a?.kind === "get" && Either.isRight(a.result) ? a.result.right : Option.none()
      assert.strictEqual(Option.isSome(value) && new TextDecoder().decode(value.value.bytes), "a")
    }).pipe(Effect.provide(ObjectstoreTest.layer({ client: { retry: false } }))))

  it.effect("multipart steps are told apart; a fault on one step leaves the others alone", () =>
    Effect.gen(function*() {
      const s = yield* session
      const upload = yield* s.multipart.initiate({ key: "assembled" })
      const faults = yield* Faults.Faults
      yield* faults.set([{ operation: "multipart.put_part", nth: 2, fault: Faults.status(500) }])
      const one = yield* upload.putPart(1, new TextEncoder().encode("hello "))
      const failed = yield* Effect.flip(upload.putPart(2, new TextEncoder().encode("world")))
      assert.strictEqual(failed._tag, "ResponseError")
      const two = yield* upload.putPart(2, new TextEncoder().encode("world"))
      assert.strictEqual((yield* upload.listParts).length, 2)
      assert.strictEqual(yield* upload.complete([one, two]), "assembled")
      assert.strictEqual(yield* s.getText("assembled"), "hello world")
      const other = yield* s.multipart.initiate()
      yield* other.abort
      assert.deepStrictEqual((yield* requests).map((entry) => entry.operation), [
        "multipart.initiate",
        "multipart.put_part",
        "multipart.put_part",
        "multipart.put_part",
        "multipart.list_parts",
        "multipart.complete",
        "get",
        "multipart.initiate",
        "multipart.abort"
      ])
      const store = yield* ObjectstoreTest.Store
      assert.deepStrictEqual((yield* store.objects).map((object) => object.key), ["assembled"])
    }).pipe(Effect.provide(ObjectstoreTest.layer({ client: { retry: false } }))))
})
