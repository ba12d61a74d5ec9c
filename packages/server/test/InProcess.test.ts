import * as HttpClient from "@effect/platform/HttpClient"
import * as HttpClientRequest from "@effect/platform/HttpClientRequest"
import { assert, describe, it, layer } from "@effect/vitest"
import * as Server from "@objectstore/server/Server"
import * as Storage from "@objectstore/server/Storage"
import * as Chunk from "effect/Chunk"
import * as Effect from "effect/Effect"
import * as Fiber from "effect/Fiber"
import * as Layer from "effect/Layer"
import * as Stream from "effect/Stream"
import * as TestClock from "effect/TestClock"
import * as Fs from "node:fs/promises"
import * as NodePath from "node:path"
import { eventually, tempDir } from "../../../test/support.js"

const BASE = "http://objectstore.test"
const client = Effect.map(HttpClient.HttpClient, HttpClient.mapRequest(HttpClientRequest.prependUrl(BASE)))
const encoder = new TextEncoder()

const keys = Effect.map(
  Effect.flatMap(Storage.Storage, (storage) => storage.list),
  (entries) => entries.map((entry) => entry.id.key).sort()
)

layer(Server.layerHttpClient())("In-process HttpClient", (it) => {
  it.effect("PUT, GET, HEAD, DELETE without a socket; time comes from the TestClock", () =>
    Effect.gen(function*() {
      yield* TestClock.setTime(1_700_000_000_000)
      const http = yield* client
      const put = yield* http.execute(
        HttpClientRequest.put("/v1/objects/test/org=1/hello").pipe(
          HttpClientRequest.bodyUint8Array(encoder.encode("hello world"), "text/plain"),
          HttpClientRequest.setHeaders({ "x-sn-expiration": "ttl:30s", "x-sn-filename": "h.txt" })
        )
      )
      assert.strictEqual(put.status, 200)
      assert.deepStrictEqual(yield* put.json, { key: "hello" })
      assert.strictEqual(put.headers["server"], "objectstore/0.1.0")

      const got = yield* http.execute(HttpClientRequest.get("/v1/objects/test/org=1/hello"))
      assert.strictEqual(got.status, 200)
      assert.strictEqual(yield* got.text, "hello world")
      assert.strictEqual(got.headers["content-type"], "text/plain")
      assert.strictEqual(got.headers["x-sn-expiration"], "ttl:30s")
      assert.strictEqual(got.headers["x-sn-time-created"], "2023-11-14T22:13:20.000000Z")
      assert.strictEqual(got.headers["x-sn-time-expires"], "2023-11-14T22:13:50.000000Z")
      assert.strictEqual(got.headers["content-disposition"], "attachment; filename=\"h.txt\"")
      assert.strictEqual(got.headers["accept-ranges"], "bytes")

      const head = yield* http.execute(HttpClientRequest.head("/v1/objects/test/org=1/hello"))
      assert.strictEqual(head.status, 204)
      assert.strictEqual(head.headers["x-sn-filename"], "h.txt")

      const range = yield* http.execute(
        HttpClientRequest.get("/v1/objects/test/org=1/hello").pipe(HttpClientRequest.setHeader("range", "bytes=-5"))
      )
      assert.strictEqual(range.status, 206)
      assert.strictEqual(range.headers["content-range"], "bytes 6-10/11")
      assert.strictEqual(yield* range.text, "world")

      yield* TestClock.adjust("31 seconds")
      assert.strictEqual((yield* http.execute(HttpClientRequest.get("/v1/objects/test/org=1/hello"))).status, 404)
      const deleted = yield* http.execute(HttpClientRequest.del("/v1/objects/test/org=1/hello"))
      assert.strictEqual(deleted.status, 204)
    }))

  it.effect("POST generates a key; errors keep their status and body", () =>
    Effect.gen(function*() {
      const http = yield* client
      const post = yield* http.execute(
        HttpClientRequest.post("/v1/objects/test/_/").pipe(HttpClientRequest.bodyText("x"))
      )
      assert.strictEqual(post.status, 201)
      const { key } = (yield* post.json) as { key: string }
      assert.lengthOf(key, 36)
      const bad = yield* http.execute(
        HttpClientRequest.put("/v1/objects/test/_/k").pipe(
          HttpClientRequest.bodyText("x"),
          HttpClientRequest.setHeader("content-encoding", "gzip")
        )
      )
      assert.strictEqual(bad.status, 400)
      assert.strictEqual(
        ((yield* bad.json) as { detail: string }).detail,
        "service error: metadata error: invalid compression"
      )
      const scopes = yield* http.execute(HttpClientRequest.get("/v1/objects/test/org123/k"))
      assert.strictEqual(scopes.status, 400)
      assert.match(yield* scopes.text, /^Invalid URL: /)
      assert.strictEqual((yield* http.execute(HttpClientRequest.put("/v1/objects/test/_/"))).status, 405)
      assert.strictEqual((yield* http.execute(HttpClientRequest.get("/nope"))).status, 404)
    }))

  it.effect("the raw target reaches the app unnormalised; query parameters are kept", () =>
    Effect.gen(function*() {
      const http = yield* client
      for (
        const [path, key] of [
          ["/v1/objects/raw/_/a/./b", "a/./b"],
          ["/v1/objects/raw/_/looks%2520encoded", "looks%20encoded"],
          ["/v1/objects/raw/_/x%2Fy", "x/y"],
          ["/v1/objects/raw/_/caf%C3%A9", "café"]
        ] as const
      ) {
        const put = yield* http.execute(
          HttpClientRequest.put(path).pipe(
            HttpClientRequest.bodyText(key),
            HttpClientRequest.setUrlParam("ignored", "1")
          )
        )
        assert.strictEqual(put.status, 200, path)
        assert.deepStrictEqual(yield* put.json, { key }, path)
      }
      assert.includeMembers(yield* keys, ["a/./b", "looks%20encoded", "x/y", "café"])
    }))

  it.effect("bodies stream both ways", () =>
    Effect.gen(function*() {
      const http = yield* client
      const parts = Array.from({ length: 20 }, (_, i) => new Uint8Array(100_000).fill(i))
      const put = yield* http.execute(
        HttpClientRequest.put("/v1/objects/test/_/streamed").pipe(
          HttpClientRequest.bodyStream(Stream.fromIterable(parts), { contentType: "application/octet-stream" })
        )
      )
      assert.strictEqual(put.status, 200)
      const got = yield* http.execute(HttpClientRequest.get("/v1/objects/test/_/streamed"))
      const chunks = yield* Stream.runCollect(got.stream)
      assert.isAbove(Chunk.size(chunks), 1)
      assert.deepStrictEqual(Buffer.concat(Chunk.toReadonlyArray(chunks)), Buffer.concat(parts))
    }))

  it.effect("the Storage and the control of the in-process server are in context", () =>
    Effect.gen(function*() {
      const control = yield* Server.ServerControl
      const storage = yield* Storage.Storage
      assert.strictEqual(control.storage, storage)
      const http = yield* client
      yield* control.setShuttingDown(true)
      const ready = yield* http.execute(HttpClientRequest.get("/ready"))
      assert.strictEqual(ready.status, 503)
      assert.strictEqual(yield* ready.text, "Shutting down")
      yield* control.setShuttingDown(false)
      assert.strictEqual((yield* http.execute(HttpClientRequest.get("/ready"))).status, 200)
    }))
})

describe("In-process HttpClient over a filesystem store", () => {
  it.scoped("interrupting the client mid-upload stores nothing and leaves no temp file; 413 past maxBodySize", () =>
    Effect.gen(function*() {
      const root = yield* tempDir("inproc")
      const context = yield* Layer.build(
        Server.layerHttpClient({ storage: { type: "filesystem", path: root }, maxBodySize: 1000 })
      )
      return yield* Effect.gen(function*() {
        const http = yield* client
        const endless = Stream.concat(Stream.make(encoder.encode("partial")), Stream.never)
        const fiber = yield* Effect.fork(
          http.execute(
            HttpClientRequest.put("/v1/objects/test/_/interrupted").pipe(
              HttpClientRequest.bodyStream(endless)
            )
          )
        )
        const tmp = Effect.promise(() => Fs.readdir(NodePath.join(root, "tmp")))
        yield* eventually(tmp, (files) => files.length === 1) // the upload is in progress
        yield* Fiber.interrupt(fiber)
        yield* eventually(tmp, (files) => files.length === 0)
        assert.deepStrictEqual(yield* keys, [])

        const tooLarge = yield* http.execute(
          HttpClientRequest.put("/v1/objects/test/_/big").pipe(
            HttpClientRequest.bodyStream(Stream.make(new Uint8Array(600), new Uint8Array(600)))
          )
        )
        assert.strictEqual(tooLarge.status, 413)
        assert.deepStrictEqual(yield* keys, [])
      }).pipe(Effect.provide(context))
    }))
})
