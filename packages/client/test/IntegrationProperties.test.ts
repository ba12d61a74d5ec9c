/**
 * Property tests: random valid scopes and keys round-trip through the in-process server; random invalid ones fail
 * with InvalidInputError before any request is made.
 */
import * as HttpClient from "@effect/platform/HttpClient"
import { assert, describe, layer } from "@effect/vitest"
import * as Auth from "@objectstore/client/Auth"
import * as Compression from "@objectstore/client/Compression"
import * as Metrics from "@objectstore/client/Metrics"
import * as ObjectstoreClient from "@objectstore/client/ObjectstoreClient"
import type * as ObjectstoreError from "@objectstore/client/ObjectstoreError"
import * as Scope from "@objectstore/client/Scope"
import * as Usecase from "@objectstore/client/Usecase"
import * as Server from "@objectstore/server/Server"
import * as Effect from "effect/Effect"
import * as FastCheck from "effect/FastCheck"
import * as Layer from "effect/Layer"

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

const encoder = new TextEncoder()
/** A key segment: any Unicode except `/` and ASCII controls, never `.` or `..`. */
const segment = FastCheck.string({ unit: "grapheme", minLength: 1, maxLength: 16 })
  .map((s) => s.replace(/[\u0000-\u001f\u007f/]/g, "_"))
  .filter((s) => s !== "" && s !== "." && s !== "..")
const validKey = FastCheck.array(segment, { minLength: 1, maxLength: 4 }).map((segments) => segments.join("/"))
  .filter((key) => encoder.encode(key).length <= 512)

const invalidKey = FastCheck.oneof(
  FastCheck.constant(""),
  validKey.map((key) => `/${key}`),
  validKey.map((key) => `${key}/`),
  FastCheck.tuple(validKey, validKey).map(([a, b]) => `${a}//${b}`),
  FastCheck.tuple(validKey, FastCheck.constantFrom(".", "..")).map(([a, dot]) => `${a}/${dot}`),
  FastCheck.tuple(validKey, FastCheck.integer({ min: 0, max: 0x1f }), validKey).map(([a, c, b]) =>
    `${a}${String.fromCharCode(c)}${b}`
  ),
  validKey.map((key) => `${key}\u007f`),
  FastCheck.string({ minLength: 171, maxLength: 300 }).map((s) => `${s.replace(/[^a-z]/g, "é")}${"é".repeat(171)}`)
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

layer(
  ObjectstoreClient.layer({ baseUrl: "http://objectstore.test", retry: false }).pipe(
    Layer.provide(Services),
    Layer.provide(Server.layerHttpClient())
  ),
  { timeout: 120_000 }
)("Properties against the in-process server", (it) => {
  it.effect.prop(
    "random valid scopes and keys round-trip through put/get/head/delete",
    [validScope, validKey, FastCheck.uint8Array({ maxLength: 64 })],
    ([scope, key, payload]) =>
      Effect.gen(function*() {
        const client = yield* ObjectstoreClient.ObjectstoreClient
        const session = yield* client.session(Usecase.make("props"), scope)
        assert.strictEqual(yield* session.put(payload, { key }), key)
        assert.deepStrictEqual(yield* session.getBytes(key), payload)
        yield* session.head(key)
        yield* session.delete(key)
        assert.strictEqual((yield* Effect.flip(session.head(key)))._tag, "NotFoundError")
      }),
    { fastCheck: { numRuns: 60 } }
  )
})

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
