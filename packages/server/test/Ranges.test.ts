import { assert, layer } from "@effect/vitest"
import * as Server from "@objectstore/server/Server"
import * as Effect from "effect/Effect"
import { http, json } from "./support/http.js"

const BODY = "Hello, Range Requests!" // 22 bytes
const PATH = "/v1/objects/test/org=1/range-object"

const setup = http({
  method: "PUT",
  path: PATH,
  headers: { "content-type": "text/plain", "x-sn-filename": "r.txt" },
  body: BODY
})

const get = (range: string, path = PATH) => http({ method: "GET", path, headers: { range } })

layer(Server.layer({ port: 0 }))("Ranges over TCP (22-byte object)", (it) => {
  it.effect("25-27: satisfiable single ranges are 206 with content-range, content-length and metadata", () =>
    Effect.gen(function*() {
      yield* setup
      const cases: ReadonlyArray<readonly [string, string, string]> = [
        ["bytes=0-4", "bytes 0-4/22", "Hello"],
        ["bytes=-9", "bytes 13-21/22", "Requests!"],
        ["bytes=7-", "bytes 7-21/22", "Range Requests!"],
        ["Bytes=0-4", "bytes 0-4/22", "Hello"],
        ["BYTES=20-", "bytes 20-21/22", "s!"],
        ["bytes=0-9999", "bytes 0-21/22", BODY],
        ["bytes=-2000", "bytes 0-21/22", BODY],
        ["bytes=21-21", "bytes 21-21/22", "!"]
      ]
      for (const [range, contentRange, body] of cases) {
        const response = yield* get(range)
        assert.strictEqual(response.status, 206, range)
        assert.strictEqual(response.headers["content-range"], contentRange, range)
        assert.strictEqual(response.headers["content-length"], String(body.length), range)
        assert.strictEqual(response.headers["accept-ranges"], "bytes")
        assert.strictEqual(response.headers["content-type"], "text/plain")
        assert.strictEqual(response.headers["x-sn-filename"], "r.txt")
        assert.strictEqual(response.headers["content-disposition"], "attachment; filename=\"r.txt\"")
        assert.isDefined(response.headers["x-sn-time-created"])
        assert.strictEqual(response.text, body, range)
      }
    }))

  it.effect("28-29: malformed ranges are 400 JSON `client error: invalid Range header: …`", () =>
    Effect.gen(function*() {
      yield* setup
      for (
        const range of ["items=0-10", "bytes=abc-def", "bytes=500-100", "bytes=-0", "bytes=-", "bytes= 0-4", "bytes"]
      ) {
        const response = yield* get(range)
        assert.strictEqual(response.status, 400, range)
        assert.strictEqual(response.headers["content-type"], "application/json")
        assert.match(json(response).detail, /^client error: invalid Range header: /, range)
      }
      // parsed before the object is looked up
      assert.strictEqual((yield* get("items=0-10", "/v1/objects/test/org=1/no-such-object")).status, 400)
    }))

  it.effect("30: several ranges are ignored (200, whole body)", () =>
    Effect.gen(function*() {
      yield* setup
      const response = yield* get("bytes=0-4, 10-14")
      assert.strictEqual(response.status, 200)
      assert.isUndefined(response.headers["content-range"])
      assert.strictEqual(response.text, BODY)
    }))

  it.effect("31: unsatisfiable ranges are 416 with `bytes */T` and no metadata; empty objects never satisfy", () =>
    Effect.gen(function*() {
      yield* setup
      for (const range of ["bytes=100-200", "bytes=22-", "bytes=22-30"]) {
        const response = yield* get(range)
        assert.strictEqual(response.status, 416, range)
        assert.strictEqual(response.headers["content-range"], "bytes */22")
        assert.strictEqual(response.headers["accept-ranges"], "bytes")
        assert.isUndefined(response.headers["x-sn-filename"])
        assert.strictEqual(response.body.length, 0)
      }
      yield* http({ method: "PUT", path: "/v1/objects/test/org=1/empty-range" })
      for (const range of ["bytes=0-0", "bytes=-1", "bytes=0-"]) {
        const response = yield* get(range, "/v1/objects/test/org=1/empty-range")
        assert.strictEqual(response.status, 416, range)
        assert.strictEqual(response.headers["content-range"], "bytes */0")
      }
    }))

  it.effect("32: a valid range on a missing key is 404; HEAD ignores Range", () =>
    Effect.gen(function*() {
      yield* setup
      const missing = yield* get("bytes=0-4", "/v1/objects/test/org=1/missing-range")
      assert.strictEqual(missing.status, 404)
      assert.isUndefined(missing.headers["content-range"])
      const head = yield* http({ method: "HEAD", path: PATH, headers: { range: "items=0-10" } })
      assert.strictEqual(head.status, 204)
      assert.isUndefined(head.headers["content-range"])
    }))

  it.effect("ranges address the stored (compressed) bytes", () =>
    Effect.gen(function*() {
      const stored = Buffer.from([0x28, 0xb5, 0x2f, 0xfd, 0x10, 0x11, 0x12, 0x13])
      yield* http({
        method: "PUT",
        path: "/v1/objects/test/org=1/zst-range",
        headers: { "content-encoding": "zstd" },
        body: stored
      })
      const response = yield* get("bytes=2-5", "/v1/objects/test/org=1/zst-range")
      assert.strictEqual(response.status, 206)
      assert.strictEqual(response.headers["content-encoding"], "zstd")
      assert.strictEqual(response.headers["content-range"], "bytes 2-5/8")
      assert.deepStrictEqual(response.body, stored.subarray(2, 6))
    }))
})

layer(Server.layer({ port: 0, storage: { type: "memory" } }))("Ranges over a large object", (it) => {
  it.effect("a range deep inside a multi-chunk object", () =>
    Effect.gen(function*() {
      const big = Buffer.alloc(1_000_000)
      for (let i = 0; i < big.length; i++) big[i] = (i * 7) % 256
      yield* http({ method: "PUT", path: "/v1/objects/test/_/big", body: big })
      const response = yield* get("bytes=123456-876543", "/v1/objects/test/_/big")
      assert.strictEqual(response.status, 206)
      assert.strictEqual(response.headers["content-length"], String(876543 - 123456 + 1))
      assert.deepStrictEqual(response.body, big.subarray(123456, 876544))
    }))
})
