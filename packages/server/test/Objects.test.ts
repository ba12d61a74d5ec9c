import { assert, layer } from "@effect/vitest"
import * as Server from "@objectstore/server/Server"
import * as Storage from "@objectstore/server/Storage"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import * as TestClock from "effect/TestClock"
import * as Zlib from "node:zlib"
import { http, json } from "./support/http.js"

const T0 = 1_700_000_000_000 // 2023-11-14T22:13:20Z
const T0_TEXT = "2023-11-14T22:13:20.000000Z"

const listKeys = Effect.map(
  Effect.flatMap(Storage.Storage, (storage) => storage.list),
  (entries) =>
    entries.map((entry) =>
      `${entry.id.usecase}/${entry.id.scopes.map(([n, v]) => `${n}=${v}`).join(";")}/${entry.id.key}`
    ).sort()
)

layer(Server.layer({ port: 0 }))("Objects over TCP", (it) => {
  it.effect("1-3: POST 201 with a uuid key, GET 200 streams the body, HEAD 204; both with accept-ranges", () =>
    Effect.gen(function*() {
      yield* TestClock.setTime(T0)
      const created = yield* http({
        method: "POST",
        path: "/v1/objects/test/org=1/",
        headers: { "content-type": "text/plain" },
        body: "Hello, Range Requests!"
      })
      assert.strictEqual(created.status, 201)
      assert.strictEqual(created.headers["content-type"], "application/json")
      assert.strictEqual(created.headers["server"], "objectstore/0.1.0")
      const key = json(created).key as string
      assert.match(key, /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/)

      const got = yield* http({ method: "GET", path: `/v1/objects/test/org=1/${key}` })
      assert.strictEqual(got.status, 200)
      assert.strictEqual(got.text, "Hello, Range Requests!")
      assert.strictEqual(got.headers["accept-ranges"], "bytes")
      assert.isUndefined(got.headers["content-range"])
      assert.strictEqual(got.headers["content-type"], "text/plain")
      assert.strictEqual(got.headers["x-sn-time-created"], T0_TEXT)
      assert.isUndefined(got.headers["x-sn-time-expires"])
      assert.isUndefined(got.headers["x-sn-expiration"])
      assert.isUndefined(got.headers["content-encoding"])
      assert.isUndefined(got.headers["x-sn-filename"])

      const head = yield* http({ method: "HEAD", path: `/v1/objects/test/org=1/${key}` })
      assert.strictEqual(head.status, 204)
      assert.strictEqual(head.headers["accept-ranges"], "bytes")
      assert.strictEqual(head.headers["content-type"], "text/plain")
      assert.strictEqual(head.headers["x-sn-time-created"], T0_TEXT)
      assert.strictEqual(head.body.length, 0)
    }))

  it.effect("POST also works without the trailing slash; default content type is octet-stream", () =>
    Effect.gen(function*() {
      const created = yield* http({ method: "POST", path: "/v1/objects/test/_", body: "x" })
      assert.strictEqual(created.status, 201)
      const got = yield* http({ method: "GET", path: `/v1/objects/test/_/${json(created).key}` })
      assert.strictEqual(got.status, 200)
      assert.strictEqual(got.headers["content-type"], "application/octet-stream")
    }))

  it.effect("4-7: filename and content-disposition on GET and HEAD", () =>
    Effect.gen(function*() {
      const cases: ReadonlyArray<readonly [string, string]> = [
        ["report.pdf", "attachment; filename=\"report.pdf\""],
        ["has\"quote.txt", "attachment; filename=\"has\\\"quote.txt\""],
        ["path/to/file.txt", "attachment; filename=\"path-to-file.txt\""],
        [".", "attachment; filename=\"-\""],
        ["..", "attachment; filename=\"--\""]
      ]
      for (const [filename, disposition] of cases) {
        const put = yield* http({
          method: "PUT",
          path: "/v1/objects/test/org=1/cd-key",
          headers: { "x-sn-filename": filename },
          body: "data"
        })
        assert.strictEqual(put.status, 200)
        assert.deepStrictEqual(json(put), { key: "cd-key" })
        for (const method of ["GET", "HEAD"]) {
          const response = yield* http({ method, path: "/v1/objects/test/org=1/cd-key" })
          assert.strictEqual(response.status, method === "GET" ? 200 : 204)
          assert.strictEqual(response.headers["x-sn-filename"], filename)
          assert.strictEqual(response.headers["content-disposition"], disposition)
        }
      }
    }))

  it.effect("9-10: PUT overwrites a POSTed key; DELETE 204, then GET 404 empty; DELETE of a missing key 204", () =>
    Effect.gen(function*() {
      const created = yield* http({ method: "POST", path: "/v1/objects/test/org=1/", body: "first" })
      const key = json(created).key as string
      const put = yield* http({ method: "PUT", path: `/v1/objects/test/org=1/${key}`, body: "second" })
      assert.strictEqual(put.status, 200)
      assert.deepStrictEqual(json(put), { key })
      assert.strictEqual((yield* http({ method: "GET", path: `/v1/objects/test/org=1/${key}` })).text, "second")
      const deleted = yield* http({ method: "DELETE", path: `/v1/objects/test/org=1/${key}` })
      assert.strictEqual(deleted.status, 204)
      assert.strictEqual(deleted.body.length, 0)
      const missing = yield* http({ method: "GET", path: `/v1/objects/test/org=1/${key}` })
      assert.strictEqual(missing.status, 404)
      assert.strictEqual(missing.body.length, 0)
      assert.isUndefined(missing.headers["accept-ranges"])
      assert.isUndefined(missing.headers["content-type"])
      assert.isUndefined(missing.headers["x-sn-time-created"])
      const headMissing = yield* http({ method: "HEAD", path: `/v1/objects/test/org=1/${key}` })
      assert.strictEqual(headMissing.status, 404)
      assert.isUndefined(headMissing.headers["accept-ranges"])
      assert.strictEqual((yield* http({ method: "DELETE", path: `/v1/objects/test/org=1/${key}` })).status, 204)
    }))

  it.effect("11-12, 19-20: keys are percent-decoded and stored literally", () =>
    Effect.gen(function*() {
      const keys: ReadonlyArray<readonly [string, string]> = [
        ["test-key123!!", "test-key123!!"],
        ["1/shard-0.json", "1/shard-0.json"],
        ["looks%2520encoded", "looks%20encoded"],
        ["with%20space", "with space"],
        ["caf%C3%A9-unicode", "café-unicode"],
        ["emoji-%F0%9F%98%80", "emoji-😀"],
        ["plus+sign", "plus+sign"],
        ["sub!$'()*+,=delims", "sub!$'()*+,=delims"],
        ["tilde~dot.key", "tilde~dot.key"],
        ["100%25literal-percent", "100%literal-percent"],
        ["nested/path/segments", "nested/path/segments"],
        ["quote'apostrophe", "quote'apostrophe"],
        ["at@sign", "at@sign"],
        ["colon:separated", "colon:separated"],
        ["ampersand&inside", "ampersand&inside"],
        ["semi;colon", "semi;colon"],
        ["equals=sign", "equals=sign"],
        ["a%2Fb", "a/b"],
        ["q%3Fx%23y", "q?x#y"]
      ]
      for (const [encoded, key] of keys) {
        const put = yield* http({ method: "PUT", path: `/v1/objects/keys/_/${encoded}`, body: `body of ${key}` })
        assert.strictEqual(put.status, 200, encoded)
        assert.deepStrictEqual(json(put), { key }, encoded)
        const got = yield* http({ method: "GET", path: `/v1/objects/keys/_/${encoded}` })
        assert.strictEqual(got.text, `body of ${key}`, encoded)
      }
      // `%2F` and `/` address the same object
      assert.strictEqual((yield* http({ method: "GET", path: "/v1/objects/keys/_/a/b" })).text, "body of a/b")
      const stored = (yield* listKeys).filter((entry) => entry.startsWith("keys/"))
      assert.includeMembers(stored, ["keys//looks%20encoded", "keys//café-unicode", "keys//a/b", "keys//q?x#y"])
    }))

  it.effect("13: scopes are part of the identity", () =>
    Effect.gen(function*() {
      yield* http({ method: "PUT", path: "/v1/objects/test/org=12345;project=1337/scoped", body: "x" })
      assert.strictEqual(
        (yield* http({ method: "GET", path: "/v1/objects/test/org=12345;project=9999/scoped" })).status,
        404
      )
      assert.strictEqual(
        (yield* http({ method: "GET", path: "/v1/objects/test/project=1337;org=12345/scoped" })).status,
        404
      )
      assert.strictEqual(
        (yield* http({ method: "GET", path: "/v1/objects/test/org=12345;project=1337/scoped" })).status,
        200
      )
    }))

  it.effect("14-16, 21-23: metadata headers round-trip; forged time headers are ignored", () =>
    Effect.gen(function*() {
      yield* TestClock.setTime(T0)
      const put = yield* http({
        method: "PUT",
        path: "/v1/objects/test/org=1/meta",
        headers: {
          "content-type": "text/html",
          "content-encoding": "zstd",
          "x-sn-expiration": "ttl: 1 minutes",
          "x-sn-origin": "10.0.0.1",
          "x-sn-filename": "report.pdf",
          "x-snme-foo": "bar",
          "X-Snme-BuildId": "B42",
          "x-snme-empty": "",
          "x-sn-time-created": "garbage",
          "x-sn-time-expires": "2000-01-01T00:00:00Z"
        },
        body: "payload"
      })
      assert.strictEqual(put.status, 200)
      for (const method of ["GET", "HEAD"]) {
        const response = yield* http({ method, path: "/v1/objects/test/org=1/meta" })
        const h = response.headers
        assert.strictEqual(h["content-type"], "text/html")
        assert.strictEqual(h["content-encoding"], "zstd")
        assert.strictEqual(h["x-sn-expiration"], "ttl:1m")
        assert.strictEqual(h["x-sn-time-created"], T0_TEXT)
        assert.strictEqual(h["x-sn-time-expires"], "2023-11-14T22:14:20.000000Z")
        assert.strictEqual(h["x-sn-origin"], "10.0.0.1")
        assert.strictEqual(h["x-sn-filename"], "report.pdf")
        assert.strictEqual(h["x-snme-foo"], "bar")
        assert.strictEqual(h["x-snme-buildid"], "B42")
        assert.strictEqual(h["x-snme-empty"], "")
        assert.strictEqual(h["content-disposition"], "attachment; filename=\"report.pdf\"")
      }
      const manual = yield* http({
        method: "PUT",
        path: "/v1/objects/test/org=1/manual",
        headers: { "x-sn-time-created": "2000-01-01T00:00:00.000000Z", "x-sn-time-expires": "nope" },
        body: "x"
      })
      assert.strictEqual(manual.status, 200)
      const head = yield* http({ method: "HEAD", path: "/v1/objects/test/org=1/manual" })
      assert.strictEqual(head.headers["x-sn-time-created"], T0_TEXT)
      assert.isUndefined(head.headers["x-sn-time-expires"])
      assert.isUndefined(head.headers["x-sn-origin"])

      yield* http({
        method: "PUT",
        path: "/v1/objects/test/org=1/tti",
        headers: { "x-sn-expiration": "tti:1h" },
        body: "x"
      })
      const tti = yield* http({ method: "HEAD", path: "/v1/objects/test/org=1/tti" })
      assert.strictEqual(tti.headers["x-sn-expiration"], "tti:1h")
      assert.strictEqual(tti.headers["x-sn-time-expires"], "2023-11-14T23:13:20.000000Z")
      // Python's form is echoed canonically
      yield* http({ method: "PUT", path: "/v1/objects/test/org=1/py", headers: { "x-sn-expiration": "ttl:1 days" } })
      const py = yield* http({ method: "HEAD", path: "/v1/objects/test/org=1/py" })
      assert.strictEqual(py.headers["x-sn-expiration"], "ttl:1day")
    }))

  it.effect("7, 17-18: payload bytes are stored and returned verbatim, never (de)compressed", () =>
    Effect.gen(function*() {
      const original = Buffer.from("hello hello hello hello hello hello")
      const gzipped = Zlib.gzipSync(original)
      const put = yield* http({
        method: "PUT",
        path: "/v1/objects/test/org=1/gz",
        headers: { "content-type": "application/gzip" },
        body: gzipped
      })
      assert.strictEqual(put.status, 200)
      const got = yield* http({
        method: "GET",
        path: "/v1/objects/test/org=1/gz",
        headers: { "accept-encoding": "gzip, br, zstd" }
      })
      assert.deepStrictEqual(got.body, gzipped)
      assert.isUndefined(got.headers["content-encoding"])
      const zstdLike = Buffer.from([0x28, 0xb5, 0x2f, 0xfd, 1, 2, 3, 4, 5])
      yield* http({
        method: "PUT",
        path: "/v1/objects/test/org=1/zst",
        headers: { "content-encoding": "zstd" },
        body: zstdLike
      })
      const zst = yield* http({ method: "GET", path: "/v1/objects/test/org=1/zst" })
      assert.strictEqual(zst.headers["content-encoding"], "zstd")
      assert.deepStrictEqual(zst.body, zstdLike)
    }))

  it.effect("empty bodies are objects too; large chunked bodies stream through", () =>
    Effect.gen(function*() {
      assert.strictEqual((yield* http({ method: "PUT", path: "/v1/objects/test/org=1/empty" })).status, 200)
      const empty = yield* http({ method: "GET", path: "/v1/objects/test/org=1/empty" })
      assert.strictEqual(empty.status, 200)
      assert.strictEqual(empty.body.length, 0)
      const chunks = Array.from({ length: 40 }, (_, i) => Buffer.alloc(50_000, i))
      const put = yield* http({ method: "PUT", path: "/v1/objects/test/org=1/big", body: chunks })
      assert.strictEqual(put.status, 200)
      const big = yield* http({ method: "GET", path: "/v1/objects/test/org=1/big" })
      assert.deepStrictEqual(big.body, Buffer.concat(chunks))
      const storage = yield* Storage.Storage
      const info = yield* storage.head({ usecase: "test", scopes: [["org", "1"]], key: "big" })
      assert.strictEqual(Option.getOrThrow(info).size, 2_000_000)
    }))
})
