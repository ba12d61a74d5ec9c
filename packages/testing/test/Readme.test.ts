/**
 * The README's snippets, verbatim (both styles in one file).
 */
import { assert, it } from "@effect/vitest"
import { ObjectstoreClient, Scope, Usecase } from "@objectstore/client"
import { Faults, ObjectstoreTest } from "@objectstore/testing"
import * as Effect from "effect/Effect"
import * as Fiber from "effect/Fiber"
import { afterAll, beforeAll, expect, it as vit } from "vitest"

const files = Usecase.make("files")

it.effect("uploads land in the store", () =>
  Effect.gen(function*() {
    const client = yield* ObjectstoreClient.ObjectstoreClient
    const session = yield* client.session(files, Scope.make({ org: 1 }))
    const key = yield* session.put("hello")
    const store = yield* ObjectstoreTest.Store
    assert.deepStrictEqual((yield* store.objects).map((o) => o.key), [key])
  }).pipe(Effect.provide(ObjectstoreTest.layer())))

it.effect("a 503 with Retry-After: 1 is retried after one second", () =>
  Effect.gen(function*() {
    const client = yield* ObjectstoreClient.ObjectstoreClient
    const session = yield* client.session(files, Scope.make({ org: 1 }))
    const fiber = yield* Effect.fork(session.put("hello", { key: "k" }))
    yield* ObjectstoreTest.advance("1 second") // waits for the retry to sleep, then moves the TestClock
    assert.strictEqual(yield* Fiber.join(fiber), "k")
  }).pipe(Effect.provide(ObjectstoreTest.layer({
    faults: [{ operation: "put", times: 1, fault: Faults.status(503, { retryAfter: 1 }) }]
  }))))

let kit: ObjectstoreTest.Running
beforeAll(async () => {
  kit = await ObjectstoreTest.start()
})
afterAll(() => kit.dispose())

vit("round-trips", async () => {
  const session = await kit.session(Usecase.make("files"), Scope.make({ org: 1 }))
  const key = await kit.run(session.put("hello"))
  expect(await kit.run(session.getText(key))).toBe("hello")
  await expect(kit.run(session.getText("missing"))).rejects.toMatchObject({ _tag: "NotFoundError" })
})
