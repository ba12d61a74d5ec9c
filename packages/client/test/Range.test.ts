/**
 * Ranged reads end to end (PROTOCOL §9, §18 items 25–33): every form, clamping, 416 with the stored size, and
 * ranges of zstd objects (raw compressed bytes), over loopback TCP (undici) and in-process.
 */
import * as HttpClient from "@effect/platform/HttpClient"
import * as HttpClientRequest from "@effect/platform/HttpClientRequest"
import * as HttpClientResponse from "@effect/platform/HttpClientResponse"
import * as HttpServer from "@effect/platform/HttpServer"
import { assert, describe, it, layer } from "@effect/vitest"
import * as Auth from "@objectstore/client/Auth"
import * as Compression from "@objectstore/client/Compression"
import * as Metrics from "@objectstore/client/Metrics"
import * as NodeClient from "@objectstore/client/NodeClient"
import * as ObjectstoreClient from "@objectstore/client/ObjectstoreClient"
import * as Range from "@objectstore/client/Range"
import * as Scope from "@objectstore/client/Scope"
import * as Session from "@objectstore/client/Session"
import * as Usecase from "@objectstore/client/Usecase"
import * as Server from "@objectstore/server/Server"
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Stream from "effect/Stream"
import * as crypto from "node:crypto"

class Target extends Context.Tag("test/Target")<Target, { readonly baseUrl: string }>() {}

const Services = Layer.mergeAll(Compression.layer, Auth.layerNone, Metrics.layerNoop)

const tcp = Layer.unwrapEffect(
  HttpServer.addressFormattedWith((baseUrl) =>
    Effect.succeed(
      Layer.mergeAll(
        ObjectstoreClient.layer({ baseUrl, retry: false }).pipe(Layer.provide(Services)),
        Layer.succeed(Target, { baseUrl })
      )
    )
  )
).pipe(
  Layer.provideMerge(NodeClient.layerHttpClient({ connectTimeout: "2 seconds" })),
  Layer.provide(Server.layer({ port: 0 }))
)

const inProcess = Layer.mergeAll(
  ObjectstoreClient.layer({ baseUrl: "http://objectstore.test/", retry: false }).pipe(Layer.provide(Services)),
  Layer.succeed(Target, { baseUrl: "http://objectstore.test" })
).pipe(Layer.provideMerge(Server.layerHttpClient()))

const session = (compression: Usecase.Compression = "none") =>
  Effect.flatMap(
    ObjectstoreClient.ObjectstoreClient,
    (client) => client.session(Usecase.make("ranges", { compression }), Scope.make({ org: 1 }))
  )

/** The stored bytes, read without the client. */
const rawGet = (key: string) =>
  Effect.gen(function*() {
    const { baseUrl } = yield* Target
    const http = yield* HttpClient.HttpClient
    const response = yield* http.execute(HttpClientRequest.get(`${baseUrl}/v1/objects/ranges/org=1/${key}`))
    return new Uint8Array(yield* response.arrayBuffer)
  }).pipe(Effect.scoped)

const read = (s: Session.Service, key: string, options: Session.GetOptions) =>
  Effect.scoped(Effect.gen(function*() {
    const response = yield* s.get(key, options)
    const bytes = yield* Session.collectBytes(response)
    return { response, bytes, text: new TextDecoder().decode(bytes) }
  }))

const TEXT = "Hello, Range Requests!"
const unique = (prefix: string) => `${prefix}-${crypto.randomUUID()}`

const suite = (name: string, environment: Layer.Layer<any, any, never>) =>
  layer(environment, { timeout: 60_000 })(name, (it) => {
    it.effect("every form on the 22-byte object: bytes, from, suffix, clamped end, long suffix", () =>
      Effect.gen(function*() {
        const s = yield* session()
        const key = yield* s.put(TEXT, { key: unique("hello") })
        const cases: ReadonlyArray<readonly [Range.ByteRange, string, Range.RangeInfo]> = [
          [Range.bytes(0, 4), "Hello", { start: 0, end: 4, size: 22 }],
          [Range.suffix(9), "Requests!", { start: 13, end: 21, size: 22 }],
          [Range.from(7), "Range Requests!", { start: 7, end: 21, size: 22 }],
          [Range.bytes(21, 21), "!", { start: 21, end: 21, size: 22 }],
          [Range.bytes(0, 9999), TEXT, { start: 0, end: 21, size: 22 }],
          [Range.suffix(2000), TEXT, { start: 0, end: 21, size: 22 }],
          [Range.from(0), TEXT, { start: 0, end: 21, size: 22 }]
        ]
        for (const [range, text, info] of cases) {
          const got = yield* read(s, key, { range })
          assert.strictEqual(got.text, text, Range.format(range))
          assert.deepStrictEqual(got.response.range, info, Range.format(range))
          assert.strictEqual(got.response.size, 22)
          assert.strictEqual(got.response.metadata.compression, "none")
        }
        assert.strictEqual(yield* s.getText(key, { range: Range.bytes(7, 11) }), "Range")
        // without a range: the whole object, no range info
        const whole = yield* read(s, key, {})
        assert.strictEqual(whole.text, TEXT)
        assert.isUndefined(whole.response.range)
      }))

    it.effect("unsatisfiable ranges → RangeNotSatisfiableError with the stored size (416), empty objects too", () =>
      Effect.gen(function*() {
        const s = yield* session()
        const key = yield* s.put(TEXT, { key: unique("416") })
        for (const range of [Range.bytes(100, 200), Range.from(22), Range.bytes(22, 22)]) {
          const error = yield* Effect.flip(s.getBytes(key, { range }))
          assert.strictEqual(error._tag, "RangeNotSatisfiableError", Range.format(range))
          if (error._tag === "RangeNotSatisfiableError") {
            assert.strictEqual(error.size, 22)
            assert.strictEqual(error.key, key)
            assert.strictEqual(error.range, Range.format(range))
          }
        }
        const empty = yield* s.put(new Uint8Array(0), { key: unique("empty") })
        for (const range of [Range.bytes(0, 0), Range.from(0), Range.suffix(1)]) {
          const error = yield* Effect.flip(s.getBytes(empty, { range }))
          assert.strictEqual(error._tag, "RangeNotSatisfiableError")
          if (error._tag === "RangeNotSatisfiableError") assert.strictEqual(error.size, 0)
        }
        // a missing object is NotFoundError, whatever the range
        assert.strictEqual(
          (yield* Effect.flip(s.getBytes(unique("missing"), { range: Range.from(0) })))._tag,
          "NotFoundError"
        )
      }))

    it.effect("invalid ranges fail with InvalidInputError before any request", () =>
      Effect.gen(function*() {
        const s = yield* session()
        const invalid = [
          Range.bytes(5, 2),
          Range.bytes(-1, 2),
          Range.from(-1),
          Range.from(1.5),
          Range.suffix(0),
          Range.bytes(0, Number.MAX_SAFE_INTEGER + 2),
          { _tag: "Other" } as unknown as Range.ByteRange
        ]
        for (const range of invalid) {
          // the key does not exist: a request would answer 404
          const error = yield* Effect.flip(s.getBytes(unique("never"), { range }))
          assert.strictEqual(error._tag, "InvalidInputError")
          if (error._tag === "InvalidInputError") assert.strictEqual(error.field, "range")
        }
      }))

    it.effect("a zstd object: ranges address the compressed bytes, returned raw with compression zstd", () =>
      Effect.gen(function*() {
        const s = yield* session("zstd")
        const payload = "compressible payload ".repeat(200)
        const key = yield* s.put(payload, { key: unique("zstd") })
        const stored = yield* rawGet(key)
        assert.isBelow(stored.length, payload.length)
        const head = yield* read(s, key, { range: Range.bytes(0, 3) })
        assert.deepStrictEqual([...head.bytes], [0x28, 0xb5, 0x2f, 0xfd])
        assert.strictEqual(head.response.metadata.compression, "zstd")
        assert.deepStrictEqual(head.response.range, { start: 0, end: 3, size: stored.length })
        // the pieces put together are the stored stream, which decompresses to the payload
        const middle = yield* read(s, key, { range: Range.bytes(4, stored.length - 11), decompress: false })
        const tail = yield* read(s, key, { range: Range.suffix(10) })
        const joined = new Uint8Array([...head.bytes, ...middle.bytes, ...tail.bytes])
        assert.deepStrictEqual(joined, stored)
        const zstd = yield* Compression.Compression
        assert.strictEqual(yield* Session.collectText({ stream: zstd.decompress(Stream.make(joined)) }), payload)
        // a whole-object range is still raw: no decompression with a range
        const all = yield* read(s, key, { range: Range.from(0) })
        assert.deepStrictEqual(all.bytes, stored)
        assert.strictEqual(all.response.metadata.compression, "zstd")
        // insisting on decompression is a clear error
        const error = yield* Effect.flip(read(s, key, { range: Range.bytes(0, 10), decompress: true }))
        assert.strictEqual(error._tag, "InvalidInputError")
        if (error._tag === "InvalidInputError") assert.strictEqual(error.field, "decompress")
        // 416 reports the compressed size
        const unsatisfied = yield* Effect.flip(s.getBytes(key, { range: Range.from(stored.length) }))
        assert.strictEqual(unsatisfied._tag, "RangeNotSatisfiableError")
        if (unsatisfied._tag === "RangeNotSatisfiableError") assert.strictEqual(unsatisfied.size, stored.length)
      }).pipe(Effect.provide(Compression.layer)))
  })

suite("ranges over loopback TCP (undici)", tcp)
suite("ranges in-process", inProcess)

/** A client whose server answers every request with `respond`, recording the Range header sent. */
const mocked = (respond: (range: string | undefined) => Response) => {
  const seen: Array<string | undefined> = []
  const http = Layer.succeed(
    HttpClient.HttpClient,
    HttpClient.make((request) =>
      Effect.sync(() => {
        seen.push(request.headers["range"])
        return HttpClientResponse.fromWeb(request, respond(request.headers["range"]))
      })
    )
  )
  const layer = ObjectstoreClient.layer({ baseUrl: "http://objectstore.test", retry: false }).pipe(
    Layer.provide(Layer.mergeAll(http, Services))
  )
  return { seen, layer }
}

describe("ranges against odd servers (mock HttpClient)", () => {
  it.effect("the Range header is the formatted range; a server that ignores it yields the whole body", () =>
    Effect.gen(function*() {
      const { layer, seen } = mocked(() => new Response("whole body", { status: 200 }))
      const got = yield* Effect.scoped(Effect.gen(function*() {
        const s = yield* session()
        const response = yield* s.get("k", { range: Range.suffix(4) })
        return { text: yield* Session.collectText(response), range: response.range }
      })).pipe(Effect.provide(layer))
      assert.deepStrictEqual(seen, ["bytes=-4"])
      assert.strictEqual(got.text, "whole body")
      assert.isUndefined(got.range)
    }))

  it.effect("a 206 without a usable content-range is a NetworkError (Decode); a 416 without one has no size", () =>
    Effect.gen(function*() {
      for (const contentRange of [undefined, "bytes 0-4/*", "bytes 5-1/10", "garbage"]) {
        const { layer } = mocked(() =>
          new Response("Hello", {
            status: 206,
            headers: contentRange === undefined ? {} : { "content-range": contentRange }
          })
        )
        const error = yield* Effect.flip(
          Effect.flatMap(session(), (s) => s.getBytes("k", { range: Range.bytes(0, 4) })).pipe(Effect.provide(layer))
        )
        assert.strictEqual(error._tag, "NetworkError", String(contentRange))
        if (error._tag === "NetworkError") assert.strictEqual(error.reason, "Decode")
      }
      const { layer } = mocked(() => new Response(null, { status: 416 }))
      const error = yield* Effect.flip(
        Effect.flatMap(session(), (s) => s.getBytes("k", { range: Range.from(3) })).pipe(Effect.provide(layer))
      )
      assert.strictEqual(error._tag, "RangeNotSatisfiableError")
      if (error._tag === "RangeNotSatisfiableError") assert.isUndefined(error.size)
      // without a range, 206 and 416 are unexpected statuses
      const stray = mocked(() => new Response(null, { status: 416 }))
      const unexpected = yield* Effect.flip(
        Effect.flatMap(session(), (s) => s.getBytes("k")).pipe(Effect.provide(stray.layer))
      )
      assert.strictEqual(unexpected._tag, "ResponseError")
    }))
})
