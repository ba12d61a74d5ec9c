/**
 * Property tests: random valid scopes and any key the server accepts round-trip through the in-process server; random
 * invalid ones fail
 * with InvalidInputError before any request is made.
 */
import * as HttpClient from "@effect/platform/HttpClient"
import * as HttpServer from "@effect/platform/HttpServer"
import { assert, describe, layer } from "@effect/vitest"
import * as Auth from "@objectstore/client/Auth"
import * as Batch from "@objectstore/client/Batch"
import * as Compression from "@objectstore/client/Compression"
import * as Metrics from "@objectstore/client/Metrics"
import * as NodeClient from "@objectstore/client/NodeClient"
import * as ObjectstoreClient from "@objectstore/client/ObjectstoreClient"
import type * as ObjectstoreError from "@objectstore/client/ObjectstoreError"
import * as Scope from "@objectstore/client/Scope"
import * as Usecase from "@objectstore/client/Usecase"
import * as Server from "@objectstore/server/Server"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as FastCheck from "effect/FastCheck"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"

const Services = Layer.mergeAll(Compression.layer, Auth.layerNone, Metrics.layerNoop)

const PART_CHARS = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-()$!+'".split("")
const part = FastCheck.array(FastCheck.constantFrom(...PART_CHARS), { minLength: 1, maxLength: 12 }).map((cs) =>
  cs.join("")
)
const value: FastCheck.Arbitrary<Scope.Value> = FastCheck.oneof(
  part,
  FastCheck.integer({ min: 0, max: Number.MAX_SAFE_INTEGER }),
  FastCheck.bigInt({ min: 0n, max: 2n ** 80n })
)
const validScope = FastCheck.uniqueArray(FastCheck.tuple(part, value), {
  maxLength: 4,
  selector: ([name]) => name
}).map((entries) => Scope.fromEntries(entries))

/**
 * Any key the server accepts and a URL can reach (PROTOCOL §4.3): segments of any Unicode text (controls included),
 * empty, `.` and `..` segments, leading, trailing and doubled `/`, any length; only the empty key, `.`, `..` and lone
 * surrogates (no UTF-8 form) are out.
 */
const segment = FastCheck.oneof(
  { weight: 3, arbitrary: FastCheck.string({ unit: "grapheme", maxLength: 16 }).map((s) => s.replaceAll("/", "_")) },
  { weight: 1, arbitrary: FastCheck.constantFrom("", ".", "..", "%2F", "%2E", "\t", " ", "+") }
)
const anyKey = FastCheck.oneof(
  { weight: 8, arbitrary: FastCheck.array(segment, { minLength: 1, maxLength: 5 }).map((parts) => parts.join("/")) },
  { weight: 1, arbitrary: FastCheck.string({ unit: "grapheme", minLength: 300, maxLength: 700 }) }
).filter((key) => key !== "" && key !== "." && key !== "..")

const invalidKey = FastCheck.oneof(
  FastCheck.constantFrom("", ".", ".."),
  FastCheck.tuple(FastCheck.string({ maxLength: 8 }), FastCheck.integer({ min: 0xd800, max: 0xdfff })).map((
    [text, unit]
  ) => `${text}${String.fromCharCode(unit)}`)
)

const invalidScope = FastCheck.oneof(
  FastCheck.tuple(part, FastCheck.constantFrom(".", "/", "=", ";", " ", "*", "é", "")).map(([name, bad]) =>
    Scope.fromEntries([[name, `a${bad}`.slice(bad === "" ? 1 : 0)]])
  ),
  FastCheck.tuple(part, FastCheck.constantFrom(".", "/", "=", ";", " ", ":", "ü")).map(([name, bad]) =>
    Scope.fromEntries([[`${name}${bad}`, "1"]])
  ),
  FastCheck.tuple(part, value, value).map(([name, a, b]) => Scope.fromEntries([[name, a], [name, b]])),
  FastCheck.double({ noInteger: true, noDefaultInfinity: false }).map((n) => Scope.fromEntries([["org", n]])),
  FastCheck.integer({ min: 0, max: 1_000_000 }).map((n) => Scope.make({ [String(n)]: "x" }))
)

const inProcess = ObjectstoreClient.layer({
  baseUrl: "http://objectstore.test",
  retry: false,
  nonPortableKeys: "allow"
})
  .pipe(Layer.provide(Services), Layer.provide(Server.layerHttpClient()))

const tcp = Layer.unwrapEffect(
  HttpServer.addressFormattedWith((baseUrl) =>
    Effect.succeed(
      ObjectstoreClient.layer({ baseUrl, retry: false, nonPortableKeys: "allow" }).pipe(Layer.provide(Services))
    )
  )
).pipe(
  Layer.provide(NodeClient.layerHttpClient({ connectTimeout: "2 seconds" })),
  Layer.provide(Server.layer({ port: 0 }))
)

for (const [name, env] of [["in-process", inProcess], ["loopback TCP", tcp]] as const) {
  layer(env, { timeout: 120_000 })(`Properties against the ${name} server`, (it) => {
    it.effect.prop(
      "random valid scopes and any key the server accepts round-trip through put/get/head/delete/many",
      [validScope, anyKey, FastCheck.uint8Array({ maxLength: 64 })],
      ([scope, key, payload]) =>
        Effect.gen(function*() {
          const client = yield* ObjectstoreClient.ObjectstoreClient
          const session = yield* client.session(Usecase.make("props"), scope)
          assert.strictEqual(yield* session.put(payload, { key }), key)
          assert.deepStrictEqual(yield* session.getBytes(key), payload)
          yield* session.head(key)
          yield* session.delete(key)
          assert.strictEqual((yield* Effect.flip(session.head(key)))._tag, "NotFoundError")
          const [put] = yield* Batch.collectAll(session.many([Batch.put(payload, { key })]))
          assert.deepStrictEqual(put!.result, Either.right(key))
          const [got, head] = yield* Batch.collectAll(session.many([Batch.get(key), Batch.head(key)]))
          const value = Either.getOrThrow(got!.result as Either.Either<Option.Option<Batch.GetValue>, unknown>)
          assert.deepStrictEqual(Option.map(value, (v) => [v.key, [...v.bytes]]), Option.some([key, [...payload]]))
          assert.isTrue(Either.isRight(head!.result as Either.Either<unknown, unknown>))
          const [deleted] = yield* Batch.collectAll(session.many([Batch.delete(key)]))
          assert.isTrue(Either.isRight(deleted!.result as Either.Either<unknown, unknown>))
          assert.strictEqual((yield* Effect.flip(session.head(key)))._tag, "NotFoundError")
        }),
      { fastCheck: { numRuns: 40 } }
    )
  })
}

const NeverCalled = Layer.succeed(
  HttpClient.HttpClient,
  HttpClient.make(() => Effect.dieMessage("no request may be made for invalid input"))
)

describe("Properties: invalid input", () => {
  layer(
    ObjectstoreClient.layer({ baseUrl: "http://objectstore.test" }).pipe(
      Layer.provide(Layer.mergeAll(Services, NeverCalled))
    )
  )((it) => {
    it.effect.prop(
      "invalid keys are InvalidInputError before any request",
      [invalidKey],
      ([key]) =>
        Effect.gen(function*() {
          const client = yield* ObjectstoreClient.ObjectstoreClient
          const session = yield* client.session(Usecase.make("props"), Scope.empty)
          const ops: Array<Effect.Effect<unknown, ObjectstoreError.ObjectstoreError>> = [
            session.getBytes(key),
            session.head(key),
            session.delete(key),
            session.objectUrl(key),
            ...(key === "" ? [] : [session.put("x", { key })])
          ]
          for (const op of ops) {
            const error = yield* Effect.flip(op)
            assert.strictEqual(error._tag, "InvalidInputError")
            if (error._tag === "InvalidInputError") assert.strictEqual(error.field, "key")
          }
        }),
      { fastCheck: { numRuns: 200 } }
    )

    it.effect.prop(
      "invalid scopes are InvalidInputError when the session is made",
      [invalidScope],
      ([scope]) =>
        Effect.gen(function*() {
          const client = yield* ObjectstoreClient.ObjectstoreClient
          const error = yield* Effect.flip(client.session(Usecase.make("props"), scope))
          assert.strictEqual(error.field, "scope")
        }),
      { fastCheck: { numRuns: 200 } }
    )
  })
})
