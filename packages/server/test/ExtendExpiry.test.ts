/**
 * `PATCH` extend expiry over loopback TCP (PROTOCOL §23), on the server's clock.
 */
import { assert, describe, layer } from "@effect/vitest"
import * as ExpirationPolicy from "@objectstore/protocol/ExpirationPolicy"
import * as Server from "@objectstore/server/Server"
import * as Storage from "@objectstore/server/Storage"
import * as Effect from "effect/Effect"
import * as Stream from "effect/Stream"
import * as TestClock from "effect/TestClock"
import * as crypto from "node:crypto"
import { enforced, signToken } from "./support/auth.js"
import { http, json } from "./support/http.js"

const T0 = 1_700_000_000_000 // 2023-11-14T22:13:20Z
const unique = (prefix: string) => `${prefix}-${crypto.randomUUID()}`
const path = (key: string) => `/v1/objects/test/org=1/${key}`

const put = (key: string, expiration?: string) =>
  Effect.map(
    http({
      method: "PUT",
      path: path(key),
      headers: expiration === undefined ? {} : { "x-sn-expiration": expiration },
      body: `payload of ${key}`
    }),
    (response) => assert.strictEqual(response.status, 200)
  )

const patch = (key: string, body: unknown, headers: Record<string, string> = {}) =>
  http({
    method: "PATCH",
    path: path(key),
    headers: { "content-type": "application/json", ...headers },
    body: typeof body === "string" ? body : JSON.stringify(body)
  })

const head = (key: string) => http({ method: "HEAD", path: path(key) })

describe("Extend expiry", () => {
  layer(Server.layer({ port: 0 }), { timeout: "30 seconds" })("PATCH", (it) => {
    it.effect("at, after from now, after from creation: 204 and the deadline moves; policy and payload kept", () =>
      Effect.gen(function*() {
        yield* TestClock.setTime(T0)
        const key = unique("ttl")
        yield* put(key, "ttl:1h")
        const at = yield* patch(key, { extend_expiry: { at: "2023-11-15T00:00:00+00:30" } })
        assert.strictEqual(at.status, 204, at.text)
        assert.strictEqual(at.body.length, 0)
        let meta = yield* head(key)
        assert.strictEqual(meta.headers["x-sn-time-expires"], "2023-11-14T23:30:00.000000Z")
        assert.strictEqual(meta.headers["x-sn-expiration"], "ttl:1h")
        yield* TestClock.adjust("30 minutes")
        assert.strictEqual((yield* patch(key, { extend_expiry: { after: "1d", from: "now" } })).status, 204)
        meta = yield* head(key)
        assert.strictEqual(meta.headers["x-sn-time-expires"], "2023-11-15T22:43:20.000000Z")
        assert.strictEqual((yield* patch(key, { extend_expiry: { after: "2d 1s", from: "creation" } })).status, 204)
        meta = yield* head(key)
        assert.strictEqual(meta.headers["x-sn-time-expires"], "2023-11-16T22:13:21.000000Z")
        assert.strictEqual(meta.headers["x-sn-time-created"], "2023-11-14T22:13:20.000000Z")
        assert.strictEqual((yield* http({ method: "GET", path: path(key) })).text, `payload of ${key}`)
        // the object now outlives its ttl
        yield* TestClock.adjust("1 day")
        assert.strictEqual((yield* head(key)).status, 204)
      }))

    it.effect("never shortens: an earlier deadline is 204 and changes nothing; manual objects stay manual", () =>
      Effect.gen(function*() {
        yield* TestClock.setTime(T0)
        const key = unique("long")
        yield* put(key, "ttl:30d")
        const before = (yield* head(key)).headers["x-sn-time-expires"]
        for (
          const body of [
            { extend_expiry: { after: "1d", from: "now" } },
            { extend_expiry: { after: "0s", from: "creation" } },
            { extend_expiry: { at: "2000-01-01T00:00:00Z" } }
          ]
        ) {
          assert.strictEqual((yield* patch(key, body)).status, 204)
          assert.strictEqual((yield* head(key)).headers["x-sn-time-expires"], before)
        }
        const manual = unique("manual")
        yield* put(manual)
        assert.strictEqual((yield* patch(manual, { extend_expiry: { after: "1d", from: "now" } })).status, 204)
        const meta = yield* head(manual)
        assert.isUndefined(meta.headers["x-sn-time-expires"])
        assert.isUndefined(meta.headers["x-sn-expiration"])
      }))

    it.effect("404 with an empty body for a missing or expired object", () =>
      Effect.gen(function*() {
        yield* TestClock.setTime(T0)
        const missing = yield* patch(unique("missing"), { extend_expiry: { after: "1d", from: "now" } })
        assert.strictEqual(missing.status, 404)
        assert.strictEqual(missing.body.length, 0)
        const key = unique("expired")
        yield* put(key, "ttl:1s")
        yield* TestClock.adjust("2 seconds")
        const expired = yield* patch(key, { extend_expiry: { after: "1d", from: "now" } })
        assert.strictEqual(expired.status, 404)
        assert.strictEqual(expired.body.length, 0)
        assert.strictEqual((yield* head(key)).status, 404) // not revived
      }))

    it.effect("409 when the object has no creation time to count from", () =>
      Effect.gen(function*() {
        yield* TestClock.setTime(T0)
        const storage = yield* Storage.Storage
        const key = unique("no-created")
        yield* storage.put({ usecase: "test", scopes: [["org", "1"]], key }, {
          contentType: "application/octet-stream",
          compression: undefined,
          expirationPolicy: ExpirationPolicy.timeToLive("1 hour"),
          timeCreated: undefined,
          timeExpires: BigInt(T0 + 3_600_000) * 1000n,
          origin: undefined,
          filename: undefined,
          custom: {}
        }, Stream.make(new Uint8Array([1])))
        const response = yield* patch(key, { extend_expiry: { after: "1d", from: "creation" } })
        assert.strictEqual(response.status, 409)
        assert.match(json(response).detail, /no creation time/)
        assert.strictEqual((yield* patch(key, { extend_expiry: { after: "1d", from: "now" } })).status, 204)
      }))

    it.effect("422 for bad timestamps, durations, shapes and unknown fields; 400 bad JSON; 415 not JSON", () =>
      Effect.gen(function*() {
        const key = unique("bad")
        yield* put(key, "ttl:1h")
        for (
          const body of [
            { extend_expiry: { at: "tomorrow" } },
            { extend_expiry: { after: "30 days", from: "now" } },
            { extend_expiry: { after: "1h 1d", from: "now" } },
            { extend_expiry: { after: "1d", from: "yesterday" } },
            { extend_expiry: { after: "1d" } },
            { extend_expiry: { after: "1d", from: "now", why: "x" } },
            { extend_expiry: { at: "2030-01-01T00:00:00Z" }, also: 1 },
            { extend_expiry: { at: "2030-01-01T00:00:00Z", after: "1d", from: "now" } },
            { extend_expiry: { after: "99999999999d", from: "now" } },
            {},
            []
          ]
        ) {
          const response = yield* patch(key, body)
          assert.strictEqual(response.status, 422, JSON.stringify(body))
          assert.match(response.text, /^Failed to deserialize the JSON body into the target type: /)
        }
        assert.strictEqual((yield* patch(key, "{not json")).status, 400)
        assert.strictEqual((yield* patch(key, "{}", { "content-type": "text/plain" })).status, 415)
        assert.strictEqual((yield* patch(key, "x".repeat(70 * 1024))).status, 413)
      }))
  })

  layer(
    Server.layer({
      port: 0,
      auth: enforced
    }),
    { timeout: "30 seconds", excludeTestServices: true }
  )("auth", (it) => {
    it.effect("needs object.write", () =>
      Effect.gen(function*() {
        const key = unique("guarded")
        const writer = { "x-os-auth": `Bearer ${signToken(["object.read", "object.write"])}` }
        const reader = { "x-os-auth": `Bearer ${signToken(["object.read"])}` }
        const stored = yield* http({
          method: "PUT",
          path: path(key),
          headers: { ...writer, "x-sn-expiration": "ttl:1h" },
          body: "x"
        })
        assert.strictEqual(stored.status, 200)
        const body = { extend_expiry: { after: "1d", from: "now" } }
        assert.strictEqual((yield* patch(key, body, reader)).status, 403)
        assert.strictEqual((yield* patch(key, body, writer)).status, 204)
      }))
  })
})
