/**
 * Accept-encoding passthrough (PROTOCOL §7), the `Accept-Encoding` parser, and pre-compressed uploads
 * (`encoding: "zstd"`), end to end in-process.
 */
import * as HttpClient from "@effect/platform/HttpClient"
import * as HttpClientRequest from "@effect/platform/HttpClientRequest"
import { assert, describe, it, layer } from "@effect/vitest"
import * as Auth from "@objectstore/client/Auth"
import * as Body from "@objectstore/client/Body"
import * as Compression from "@objectstore/client/Compression"
import * as Encoding from "@objectstore/client/Encoding"
import * as Metrics from "@objectstore/client/Metrics"
import * as ObjectstoreClient from "@objectstore/client/ObjectstoreClient"
import * as Scope from "@objectstore/client/Scope"
import * as Session from "@objectstore/client/Session"
import * as Usecase from "@objectstore/client/Usecase"
import * as Server from "@objectstore/server/Server"
import * as Chunk from "effect/Chunk"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Stream from "effect/Stream"
import * as crypto from "node:crypto"

describe("Encoding.parseAcceptEncoding (as Python's parse_accept_encoding)", () => {
  it("splits on commas, drops parameters and q-values, trims and lowercases", () => {
    assert.deepStrictEqual(Encoding.parseAcceptEncoding("gzip, deflate, br;q=0.9, zstd"), [
      "gzip",
      "deflate",
      "br",
      "zstd"
    ])
    assert.deepStrictEqual(Encoding.parseAcceptEncoding("  ZSTD ; q=0 "), ["zstd"])
    assert.deepStrictEqual(Encoding.parseAcceptEncoding("*"), ["*"])
    assert.deepStrictEqual(Encoding.parseAcceptEncoding("*;q=0.1, identity"), ["*", "identity"])
    assert.deepStrictEqual(Encoding.parseAcceptEncoding(""), [])
    assert.deepStrictEqual(Encoding.parseAcceptEncoding(" , ,gzip,, GZIP ;q=1,"), ["gzip"])
  })

  it("accepts: case-insensitive membership, * matches everything, none is always fine", () => {
    assert.isTrue(Encoding.accepts(["gzip", "ZSTD"], "zstd"))
    assert.isTrue(Encoding.accepts(["*"], "zstd"))
    assert.isFalse(Encoding.accepts(["gzip", "br"], "zstd"))
    assert.isFalse(Encoding.accepts([], "zstd"))
    assert.isTrue(Encoding.accepts([], "none"))
  })
})

const Environment = ObjectstoreClient.layer({ baseUrl: "http://objectstore.test/", retry: false }).pipe(
  Layer.provide(Layer.mergeAll(Compression.layer, Auth.layerNone, Metrics.layerNoop)),
  Layer.provideMerge(Compression.layer),
  Layer.provideMerge(Server.layerHttpClient())
)

const session = (compression: Usecase.Compression = "zstd") =>
  Effect.flatMap(
    ObjectstoreClient.ObjectstoreClient,
    (client) => client.session(Usecase.make("encodings", { compression }), Scope.make({ org: 5 }))
  )

const rawGet = (key: string) =>
  Effect.gen(function*() {
    const http = yield* HttpClient.HttpClient
    const response = yield* http.execute(
      HttpClientRequest.get(`http://objectstore.test/v1/objects/encodings/org=5/${key}`)
    )
    return { encoding: response.headers["content-encoding"], bytes: new Uint8Array(yield* response.arrayBuffer) }
  }).pipe(Effect.scoped)

const read = (s: Session.Service, key: string, options?: Session.GetOptions) =>
  Effect.scoped(Effect.gen(function*() {
    const response = yield* s.get(key, options)
    return { compression: response.metadata.compression, bytes: yield* Session.collectBytes(response) }
  }))

const compress = (bytes: Uint8Array) =>
  Effect.flatMap(Compression.Compression, (zstd) =>
    Effect.map(
      Stream.runCollect(zstd.compress(Stream.make(bytes))),
      (chunks) => new Uint8Array(Buffer.concat(Chunk.toReadonlyArray(chunks)))
    ))

const encoder = new TextEncoder()
const decoder = new TextDecoder()
const unique = (prefix: string) => `${prefix}-${crypto.randomUUID()}`
const ZSTD_MAGIC = [0x28, 0xb5, 0x2f, 0xfd]

layer(Environment, { timeout: 30_000 })("accept-encoding passthrough and pre-compressed uploads", (it) => {
  it.effect("acceptEncoding with zstd or * returns the stored bytes; anything else decompresses", () =>
    Effect.gen(function*() {
      const s = yield* session()
      const text = "passthrough ".repeat(50)
      const key = yield* s.put(text, { key: unique("pass") })
      const stored = yield* rawGet(key)
      assert.strictEqual(stored.encoding, "zstd")
      assert.deepStrictEqual([...stored.bytes.subarray(0, 4)], ZSTD_MAGIC)
      for (
        const acceptEncoding of [["zstd"], ["*"], ["gzip", "ZSTD"], Encoding.parseAcceptEncoding("br, zstd;q=0.5")]
      ) {
        const got = yield* read(s, key, { acceptEncoding })
        assert.strictEqual(got.compression, "zstd", acceptEncoding.join(","))
        assert.deepStrictEqual(got.bytes, stored.bytes)
      }
      for (const acceptEncoding of [[], ["gzip", "br"], Encoding.parseAcceptEncoding("identity")]) {
        const got = yield* read(s, key, { acceptEncoding })
        assert.strictEqual(got.compression, "none")
        assert.strictEqual(decoder.decode(got.bytes), text)
      }
      // decompress: false always returns the stored bytes; acceptEncoding does not force decompression
      const raw = yield* read(s, key, { decompress: false, acceptEncoding: ["gzip"] })
      assert.strictEqual(raw.compression, "zstd")
      assert.deepStrictEqual(raw.bytes, stored.bytes)
      // an uncompressed object is the same whatever is accepted
      const plainKey = yield* s.put("plain", { key: unique("plain"), compression: "none" })
      const plain = yield* read(s, plainKey, { acceptEncoding: ["zstd"] })
      assert.strictEqual(plain.compression, "none")
      assert.strictEqual(decoder.decode(plain.bytes), "plain")
    }))

  it.effect("encoding: zstd uploads the given frame as stored (not compressed again); reads decompress it", () =>
    Effect.gen(function*() {
      for (const usecaseCompression of ["zstd", "none"] as const) {
        const s = yield* session(usecaseCompression)
        const text = `already compressed ${usecaseCompression} `.repeat(40)
        const frame = yield* compress(encoder.encode(text))
        const key = yield* s.put(frame, { key: unique("pre"), encoding: "zstd" })
        const stored = yield* rawGet(key)
        assert.strictEqual(stored.encoding, "zstd")
        assert.deepStrictEqual(stored.bytes, frame) // byte for byte: no second compression
        const got = yield* read(s, key)
        assert.strictEqual(got.compression, "none")
        assert.strictEqual(decoder.decode(got.bytes), text)
        const raw = yield* read(s, key, { decompress: false })
        assert.strictEqual(raw.compression, "zstd")
        assert.deepStrictEqual(raw.bytes, frame)
        assert.strictEqual((yield* s.head(key)).compression, "zstd")
      }
    }))

  it.effect("pre-compressed streams and replayable bodies; several frames concatenated", () =>
    Effect.gen(function*() {
      const s = yield* session()
      const first = yield* compress(encoder.encode("first frame, "))
      const second = yield* compress(encoder.encode("second frame"))
      const streamKey = yield* s.put(Stream.make(first.subarray(0, 3), first.subarray(3), second), {
        key: unique("stream"),
        encoding: "zstd"
      })
      assert.deepStrictEqual((yield* rawGet(streamKey)).bytes, new Uint8Array([...first, ...second]))
      assert.strictEqual(yield* s.getText(streamKey), "first frame, second frame")
      const replayKey = yield* s.put(Body.replayable(() => Stream.make(first)), {
        key: unique("replay"),
        encoding: "zstd"
      })
      assert.strictEqual(yield* s.getText(replayKey), "first frame, ")
    }))

  it.effect("conflicting or wrong pre-compressed input fails before any request", () =>
    Effect.gen(function*() {
      const s = yield* session()
      const frame = yield* compress(encoder.encode("x"))
      const cases: ReadonlyArray<readonly [Body.Input, Session.PutOptions, string]> = [
        [frame, { encoding: "zstd", compression: "none" }, "encoding"],
        [frame, { encoding: "gzip" as "zstd" }, "encoding"],
        ["not zstd at all", { encoding: "zstd" }, "encoding"],
        [frame, { encoding: "zstd", contentType: "guess" }, "contentType"]
      ]
      for (const [body, options, field] of cases) {
        const key = unique("refused")
        const error = yield* Effect.flip(s.put(body, { ...options, key }))
        assert.strictEqual(error._tag, "InvalidInputError")
        if (error._tag === "InvalidInputError") assert.strictEqual(error.field, field)
        assert.strictEqual((yield* Effect.flip(s.head(key)))._tag, "NotFoundError")
      }
    }))
})
