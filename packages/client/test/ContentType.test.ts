/**
 * The opt-in content-type guess: magic numbers and text heuristics, and `put(…, { contentType: "guess" })` for
 * bytes, strings, streams (peeking only the first chunks, body intact) and replayable bodies.
 */
import { assert, describe, it, layer } from "@effect/vitest"
import * as Auth from "@objectstore/client/Auth"
import * as Body from "@objectstore/client/Body"
import * as Compression from "@objectstore/client/Compression"
import * as ContentType from "@objectstore/client/ContentType"
import * as Metrics from "@objectstore/client/Metrics"
import * as ObjectstoreClient from "@objectstore/client/ObjectstoreClient"
import * as Scope from "@objectstore/client/Scope"
import * as Usecase from "@objectstore/client/Usecase"
import * as Server from "@objectstore/server/Server"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Stream from "effect/Stream"
import * as crypto from "node:crypto"

const bytes = (...parts: ReadonlyArray<string | ReadonlyArray<number>>): Uint8Array =>
  new Uint8Array(parts.flatMap((part) => typeof part === "string" ? [...Buffer.from(part, "latin1")] : [...part]))

const PNG = bytes([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a], "\0\0\0\rIHDR")
const tar = () => {
  const block = new Uint8Array(1024)
  block.set(Buffer.from("file.txt"), 0)
  block.set(Buffer.from("ustar\u000000"), 257)
  return block
}

describe("ContentType.guess", () => {
  it("magic numbers", () => {
    const cases: ReadonlyArray<readonly [Uint8Array, string]> = [
      [PNG, "image/png"],
      [bytes([0xff, 0xd8, 0xff, 0xe0], "\0\x10JFIF"), "image/jpeg"],
      [bytes("GIF89a\x01\0\x01\0"), "image/gif"],
      [bytes("GIF87a"), "image/gif"],
      [bytes("RIFF\x24\0\0\0WEBPVP8 "), "image/webp"],
      [bytes("RIFF\x24\0\0\0WAVEfmt "), "audio/wav"],
      [bytes("BM", [0x46, 0, 0, 0, 0, 0, 0, 0, 0x36, 0, 0, 0]), "image/bmp"],
      [bytes("II*\0\x08\0\0\0"), "image/tiff"],
      [bytes("\0\0\0\x1cftypavif\0\0\0\0"), "image/avif"],
      [bytes("\0\0\0\x18ftypheic"), "image/heic"],
      [bytes("\0\0\0\x20ftypisom\0\0\x02\0"), "video/mp4"],
      [bytes("%PDF-1.7\n%\xe2\xe3"), "application/pdf"],
      [bytes("PK\x03\x04\x14\0\0\0"), "application/zip"],
      [bytes([0x1f, 0x8b, 0x08, 0x00]), "application/gzip"],
      [bytes([0x28, 0xb5, 0x2f, 0xfd, 0x20, 0x05]), "application/zstd"],
      [bytes("BZh91AY&SY"), "application/x-bzip2"],
      [bytes([0xfd, 0x37, 0x7a, 0x58, 0x5a, 0x00, 0x00]), "application/x-xz"],
      [bytes([0x37, 0x7a, 0xbc, 0xaf, 0x27, 0x1c, 0x00, 0x04]), "application/x-7z-compressed"],
      [tar(), "application/x-tar"],
      [bytes([0x00, 0x61, 0x73, 0x6d, 0x01, 0, 0, 0]), "application/wasm"],
      [bytes("SQLite format 3\0\x10\0"), "application/vnd.sqlite3"],
      [bytes("PAR1\x15\x04"), "application/vnd.apache.parquet"],
      [bytes("wOF2\0\x01\0\0"), "font/woff2"],
      [bytes("ID3\x04\0\0"), "audio/mpeg"],
      [bytes("OggS\0\x02"), "audio/ogg"],
      [bytes("fLaC\0\0\0\x22"), "audio/flac"]
    ]
    for (const [input, expected] of cases) assert.strictEqual(ContentType.guess(input), expected, expected)
  })

  it("text: JSON, HTML, XML, SVG, plain UTF-8; binary and empty input are no guess", () => {
    const text = (s: string) => new TextEncoder().encode(s)
    assert.strictEqual(ContentType.guess(text("{\"a\": [1, 2]}")), "application/json")
    assert.strictEqual(ContentType.guess(text("\ufeff \n [1, 2, 3]")), "application/json")
    assert.strictEqual(ContentType.guess(text("<!DOCTYPE html><html></html>")), "text/html; charset=utf-8")
    assert.strictEqual(ContentType.guess(text("  <HTML lang=en>")), "text/html; charset=utf-8")
    assert.strictEqual(ContentType.guess(text("<?xml version=\"1.0\"?><feed/>")), "application/xml")
    assert.strictEqual(ContentType.guess(text("<?xml version=\"1.0\"?>\n<svg xmlns=\"…\">")), "image/svg+xml")
    assert.strictEqual(ContentType.guess(text("<svg viewBox=\"0 0 1 1\"/>")), "image/svg+xml")
    assert.strictEqual(ContentType.guess(text("Grüße, ключ 😀\r\n\ttab")), "text/plain; charset=utf-8")
    // no false positive from a two-letter magic number
    assert.strictEqual(ContentType.guess(text("BMW is a car")), "text/plain; charset=utf-8")
    assert.strictEqual(ContentType.guess(text("BZh is not bzip2 here")), "text/plain; charset=utf-8")
    assert.isUndefined(ContentType.guess(new Uint8Array([0x00, 0x01, 0x02, 0xff, 0xfe])))
    assert.isUndefined(ContentType.guess(bytes("text with a NUL\0 byte")))
    assert.isUndefined(ContentType.guess(new Uint8Array(0)))
    assert.strictEqual(ContentType.guessOrDefault(new Uint8Array([0, 1, 2])), "application/octet-stream")
  })

  it("a multi-byte character cut at the end of a prefix does not make text binary", () => {
    const full = new TextEncoder().encode("é".repeat(400)) // 800 bytes: the 512-byte prefix ends cleanly
    assert.strictEqual(ContentType.guess(full), "text/plain; charset=utf-8")
    const cut = new TextEncoder().encode("aé".repeat(10)).subarray(0, 20) // ends inside "é"
    assert.strictEqual(ContentType.guess(cut, { truncated: true }), "text/plain; charset=utf-8")
    assert.isUndefined(ContentType.guess(cut)) // a complete object ending mid-character is not UTF-8
  })
})

const Environment = ObjectstoreClient.layer({ baseUrl: "http://objectstore.test/", retry: false }).pipe(
  Layer.provide(Layer.mergeAll(Compression.layer, Auth.layerNone, Metrics.layerNoop)),
  Layer.provideMerge(Server.layerHttpClient())
)

const session = (compression: Usecase.Compression = "zstd") =>
  Effect.flatMap(
    ObjectstoreClient.ObjectstoreClient,
    (client) => client.session(Usecase.make("sniff", { compression }), Scope.make({ org: 9 }))
  )

const unique = (prefix: string) => `${prefix}-${crypto.randomUUID()}`

layer(Environment, { timeout: 30_000 })("put with contentType: \"guess\"", (it) => {
  it.effect("bytes and strings are sniffed (compressed or not); without the option the default stays", () =>
    Effect.gen(function*() {
      for (const compression of ["zstd", "none"] as const) {
        const s = yield* session(compression)
        const png = yield* s.put(PNG, { key: unique("png"), contentType: "guess" })
        assert.strictEqual((yield* s.head(png)).contentType, "image/png")
        assert.deepStrictEqual(yield* s.getBytes(png), PNG)
        const json = yield* s.put("{\"hello\": \"world\"}", { key: unique("json"), contentType: "guess" })
        assert.strictEqual((yield* s.head(json)).contentType, "application/json")
        const unknown = yield* s.put(new Uint8Array([0, 1, 2, 3]), { key: unique("bin"), contentType: "guess" })
        assert.strictEqual((yield* s.head(unknown)).contentType, "application/octet-stream")
        // opt-in only
        const notGuessed = yield* s.put(PNG, { key: unique("png-default") })
        assert.strictEqual((yield* s.head(notGuessed)).contentType, "application/octet-stream")
        const explicit = yield* s.put(PNG, { key: unique("png-explicit"), contentType: "application/x-custom" })
        assert.strictEqual((yield* s.head(explicit)).contentType, "application/x-custom")
      }
    }))

  it.effect("a stream is peeked (first chunks only) and uploaded whole; tiny first chunks are combined", () =>
    Effect.gen(function*() {
      const s = yield* session()
      const pdf = new Uint8Array(200_000)
      pdf.set(Buffer.from("%PDF-1.4\n"))
      for (let i = 9; i < pdf.length; i++) pdf[i] = i % 251
      let pulled = 0
      const chunks = [pdf.subarray(0, 2), pdf.subarray(2, 5), pdf.subarray(5, 100_000), pdf.subarray(100_000)]
      const body = Stream.fromIterable(chunks).pipe(Stream.tap(() => Effect.sync(() => pulled++)))
      const key = yield* s.put(body, { key: unique("pdf"), contentType: "guess" })
      assert.strictEqual(pulled, 4)
      assert.strictEqual((yield* s.head(key)).contentType, "application/pdf")
      assert.deepStrictEqual(yield* s.getBytes(key), pdf)
      // a stream that is entirely shorter than the sniff length
      const short = yield* s.put(Stream.make(new TextEncoder().encode("[1,"), new TextEncoder().encode("2]")), {
        key: unique("short"),
        contentType: "guess"
      })
      assert.strictEqual((yield* s.head(short)).contentType, "application/json")
      assert.strictEqual(yield* s.getText(short), "[1,2]")
      // an empty stream: nothing to guess
      const empty = yield* s.put(Stream.empty, { key: unique("empty"), contentType: "guess" })
      assert.strictEqual((yield* s.head(empty)).contentType, "application/octet-stream")
    }))

  it.effect("a replayable body is sniffed from its own beginning and still uploaded whole", () =>
    Effect.gen(function*() {
      const s = yield* session("none")
      let made = 0
      const gif = new Uint8Array([...Buffer.from("GIF89a"), ...new Uint8Array(5000).fill(7)])
      const body = Body.replayable(() => {
        made++
        return Stream.make(gif.subarray(0, 1000), gif.subarray(1000))
      }, { contentLength: gif.length })
      const key = yield* s.put(body, { key: unique("gif"), contentType: "guess" })
      assert.strictEqual((yield* s.head(key)).contentType, "image/gif")
      assert.deepStrictEqual(yield* s.getBytes(key), gif)
      assert.strictEqual(made, 2) // once to sniff, once to upload
    }))

  it.effect("a failing stream fails the put with its own error, even while it is being sniffed", () =>
    Effect.gen(function*() {
      const s = yield* session()
      const error = yield* Effect.flip(
        s.put(Stream.fail("boom" as const), { key: unique("fail"), contentType: "guess" })
      )
      assert.strictEqual(error, "boom")
    }))
})
