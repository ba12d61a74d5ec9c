import { assert, layer } from "@effect/vitest"
import * as Server from "@objectstore/server/Server"
import * as Storage from "@objectstore/server/Storage"
import * as Effect from "effect/Effect"
import * as Net from "node:net"
import { http, json, serverPort } from "./support/http.js"

const stored = Effect.map(Effect.flatMap(Storage.Storage, (storage) => storage.list), (entries) => entries.length)

/** Bytes of `text` as UTF-8, spelled as a latin1 string so `node:http` sends them raw in a header. */
const rawUtf8 = (text: string) => Buffer.from(text, "utf8").toString("latin1")

layer(Server.layer({ port: 0 }))("Routing and bad input over TCP", (it) => {
  it.effect("unknown paths are 404 with an empty body", () =>
    Effect.gen(function*() {
      for (
        const path of [
          "/",
          "/v1",
          "/v1/objects/u",
          "/v2/objects/u/_/k",
          "/v1/things/u/_/k",
          "/v1/objects//_/k",
          "/v1/objects/u//k",
          "/v1/objects%3Abatch/u/_/",
          "/v1/objects:batch/u/_",
          "/v1/objects:batch/u/_/key",
          "/healthz"
        ]
      ) {
        const response = yield* http({ method: "GET", path })
        assert.strictEqual(response.status, 404, path)
        assert.strictEqual(response.body.length, 0, path)
      }
    }))

  it.effect("known paths with the wrong method are 405 with an empty body", () =>
    Effect.gen(function*() {
      const cases: ReadonlyArray<readonly [string, string]> = [
        ["PUT", "/v1/objects/u/s=1/"],
        ["GET", "/v1/objects/u/s=1/"],
        ["DELETE", "/v1/objects/u/s=1"],
        ["GET", "/v1/objects/u/_"],
        ["POST", "/v1/objects/u/s=1/some-key"],
        ["PATCH", "/v1/objects/u/s=1/"],
        ["POST", "/health"],
        ["GET", "/v1/objects:batch/u/_/"]
      ]
      for (const [method, path] of cases) {
        const response = yield* http({ method, path, body: "x" })
        assert.strictEqual(response.status, 405, `${method} ${path}`)
        assert.strictEqual(response.body.length, 0)
      }
      assert.strictEqual(yield* stored, 0)
    }))

  it.effect("34: invalid scopes are 400 plain text `Invalid URL: …`", () =>
    Effect.gen(function*() {
      for (
        const scopes of [
          "org123",
          "org=hello%20world",
          "=value",
          "key=",
          "org=1;",
          "org.x=1",
          "org=1;;project=2",
          "org=a%2Fb",
          "org=caf%C3%A9"
        ]
      ) {
        for (const method of ["PUT", "GET"]) {
          const response = yield* http({ method, path: `/v1/objects/test/${scopes}/key`, body: "x" })
          assert.strictEqual(response.status, 400, scopes)
          assert.match(response.text, /^Invalid URL: /, scopes)
          assert.match(String(response.headers["content-type"]), /^text\/plain/)
        }
      }
      // valid: the whole scope alphabet, duplicates (server rule), `_`
      for (const scopes of ["org=A-z_0-9()$!+'", "org=1;org=2", "_"]) {
        assert.strictEqual(
          (yield* http({ method: "PUT", path: `/v1/objects/test/${scopes}/key`, body: "x" })).status,
          200
        )
      }
      assert.strictEqual(yield* stored, 3)
    }))

  it.effect("captures that are not UTF-8 after percent-decoding are 400 plain text", () =>
    Effect.gen(function*() {
      for (const path of ["/v1/objects/test/_/bad%FF", "/v1/objects/bad%C3/_/k", "/v1/objects/test/org=%FF/k"]) {
        const response = yield* http({ method: "PUT", path, body: "x" })
        assert.strictEqual(response.status, 400, path)
        assert.match(String(response.headers["content-type"]), /^text\/plain/)
        assert.match(response.text, /^Invalid URL/)
      }
      // usecases are not validated by the server; a lone `%` stays literal
      const odd = yield* http({ method: "PUT", path: "/v1/objects/we%20ird.use%zz/_/100%", body: "x" })
      assert.strictEqual(odd.status, 200)
      assert.deepStrictEqual(json(odd), { key: "100%" })
      const entries = yield* Effect.flatMap(Storage.Storage, (storage) => storage.list)
      assert.isTrue(entries.some((entry) => entry.id.usecase === "we ird.use%zz" && entry.id.key === "100%"))
    }))

  it.effect("24: invalid metadata is 400 JSON, nothing is stored, the server keeps serving", () =>
    Effect.gen(function*() {
      const before = yield* stored
      const cases: ReadonlyArray<readonly [Record<string, string>, string]> = [
        [{ "content-type": "not a valid media type!" }, "invalid content type"],
        [{ "content-type": "text" }, "invalid content type"],
        [{ "content-type": "" }, "invalid content type"],
        [{ "content-encoding": "gzip" }, "invalid compression"],
        [{ "content-encoding": "br" }, "invalid compression"],
        [{ "content-encoding": "identity" }, "invalid compression"],
        [{ "content-encoding": "ZSTD" }, "invalid compression"],
        [{ "content-encoding": "" }, "invalid compression"],
        [{ "x-sn-expiration": "garbage" }, "invalid expiration policy value"],
        [{ "x-sn-expiration": "ttl:" }, "invalid expiration policy value"],
        [{ "x-sn-expiration": "" }, "invalid expiration policy value"],
        [{ "x-sn-expiration": "TTL:5s" }, "invalid expiration policy value"],
        [{ "x-sn-expiration": "ttl:5x" }, "invalid expiration policy value"],
        [{ "x-sn-filename": rawUtf8("résumé.pdf") }, "non-ASCII header value"],
        [{ "x-sn-origin": rawUtf8("hôte") }, "non-ASCII header value"],
        [{ "x-snme-note": rawUtf8("naïve") }, "non-ASCII header value"]
      ]
      for (const [headers, reason] of cases) {
        for (const method of ["PUT", "POST"]) {
          const path = method === "PUT" ? "/v1/objects/test/org=9/bad-meta" : "/v1/objects/test/org=9/"
          const response = yield* http({ method, path, headers, body: "payload" })
          assert.strictEqual(response.status, 400, JSON.stringify(headers))
          assert.strictEqual(response.headers["content-type"], "application/json")
          const body = json(response)
          assert.strictEqual(body.detail, `service error: metadata error: ${reason}`, JSON.stringify(headers))
          assert.isArray(body.causes)
        }
      }
      assert.strictEqual(yield* stored, before)
      assert.strictEqual((yield* http({ method: "GET", path: "/health" })).status, 200)
    }))

  it.effect("health and readiness; the ready switch", () =>
    Effect.gen(function*() {
      const health = yield* http({ method: "GET", path: "/health" })
      assert.strictEqual(health.status, 200)
      assert.strictEqual(health.text, "OK")
      assert.strictEqual(health.headers["content-type"], "text/plain; charset=utf-8")
      assert.strictEqual((yield* http({ method: "HEAD", path: "/health" })).status, 200)
      assert.strictEqual((yield* http({ method: "GET", path: "/ready" })).text, "OK")
      const control = yield* Server.ServerControl
      yield* control.setShuttingDown(true)
      const down = yield* http({ method: "GET", path: "/ready" })
      assert.strictEqual(down.status, 503)
      assert.strictEqual(down.text, "Shutting down")
      assert.strictEqual((yield* http({ method: "GET", path: "/health" })).status, 200)
      yield* control.setShuttingDown(false)
      assert.strictEqual((yield* http({ method: "GET", path: "/ready" })).status, 200)
    }))

  it.effect("batch and multipart routes are implemented: malformed calls get a 4xx (never 501 or 5xx)", () =>
    Effect.gen(function*() {
      for (
        const [method, path] of [
          ["POST", "/v1/objects:batch/u/_/"],
          ["POST", "/v1/objects:multipart/u/_/"],
          ["PUT", "/v1/objects:multipart/u/_/k"],
          ["PUT", "/v1/objects:multipart:parts/u/_/k?upload_id=x&part_number=1"],
          ["POST", "/v1/objects:multipart:complete/u/_/k?upload_id=x"]
        ] as const
      ) {
        const response = yield* http({ method, path, body: "x" })
        assert.isBelow(response.status, 500, path)
      }
      assert.strictEqual((yield* http({ method: "GET", path: "/health" })).status, 200)
    }))

  it.effect("a client that disconnects mid-upload stores nothing", () =>
    Effect.gen(function*() {
      const before = yield* stored
      const port = yield* serverPort
      yield* Effect.async<void>((resume) => {
        const socket = Net.connect(port, "127.0.0.1", () => {
          socket.write(
            "PUT /v1/objects/test/org=1/torn HTTP/1.1\r\nhost: x\r\ncontent-length: 100000\r\n\r\n" + "a".repeat(1000)
          )
          setTimeout(() => {
            socket.destroy()
            resume(Effect.void)
          }, 50)
        })
      })
      yield* Effect.promise(() => new Promise((resolve) => setTimeout(resolve, 100)))
      assert.strictEqual(yield* stored, before)
      assert.strictEqual((yield* http({ method: "GET", path: "/v1/objects/test/org=1/torn" })).status, 404)
    }))
})
