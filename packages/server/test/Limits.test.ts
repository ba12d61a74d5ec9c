import { assert, describe, it } from "@effect/vitest"
import * as Humantime from "@objectstore/protocol/Humantime"
import * as Server from "@objectstore/server/Server"
import * as Storage from "@objectstore/server/Storage"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Fiber from "effect/Fiber"
import * as TestClock from "effect/TestClock"
import * as Http from "node:http"
import { eventually, realSleep } from "../../../test/support.js"
import { http, json, serverPort } from "./support/http.js"

const days = (n: number) => Either.getOrThrow(Humantime.parse(`${n}d`))
const stored = Effect.map(Effect.flatMap(Storage.Storage, (storage) => storage.list), (entries) => entries.length)
const settle = realSleep("50 millis")
/**
 * One more request waits in the admission queue than before: its `concurrencyTimeout` is a sleep on the TestClock
 * (beside the server's own, such as the reaper's).
 */
const queuedBeside = (sleepers: number) => eventually(TestClock.sleeps(), (sleeps) => sleeps.length > sleepers)
const sleepers = Effect.map(TestClock.sleeps(), (sleeps) => sleeps.length)

describe("Limits and admission", () => {
  it.effect("37: usecase expiration rules with the exact detail texts", () =>
    Effect.gen(function*() {
      const put = (usecase: string, expiration?: string) =>
        http({
          method: "PUT",
          path: `/v1/objects/${usecase}/org=1/key`,
          headers: expiration === undefined ? {} : { "x-sn-expiration": expiration },
          body: "x"
        })
      assert.strictEqual((yield* put("attachments", "ttl:30d")).status, 200)
      assert.strictEqual((yield* put("attachments", "ttl:90d")).status, 200) // equal to max is allowed
      assert.strictEqual((yield* put("debug-files", "tti:30d")).status, 200)
      assert.strictEqual((yield* put("avatars")).status, 200)
      assert.strictEqual((yield* put("uploads")).status, 200)
      assert.strictEqual((yield* put("uploads", "tti:1000d")).status, 200)
      const rejected: ReadonlyArray<readonly [string, string | undefined, string]> = [
        [
          "attachments",
          "ttl:100d",
          "client error: expiration duration 3months 8days 16h 19m 12s exceeds maximum of 2months 29days 2h 52m 48s for use case 'attachments'"
        ],
        [
          "debug-files",
          "tti:100d",
          "client error: expiration duration 3months 8days 16h 19m 12s exceeds maximum of 2months 29days 2h 52m 48s for use case 'debug-files'"
        ],
        [
          "attachments",
          undefined,
          "client error: expiration policy 'manual' is not allowed for use case 'attachments'"
        ],
        ["attachments", "manual", "client error: expiration policy 'manual' is not allowed for use case 'attachments'"],
        [
          "debug-files",
          "ttl:30d",
          "client error: expiration policy 'ttl:30days' is not allowed for use case 'debug-files'"
        ],
        ["avatars", "tti:30d", "client error: expiration policy 'tti:30days' is not allowed for use case 'avatars'"]
      ]
      const before = yield* stored
      for (const [usecase, expiration, detail] of rejected) {
        const response = yield* put(usecase, expiration)
        assert.strictEqual(response.status, 400, `${usecase} ${expiration}`)
        assert.deepStrictEqual(json(response), { detail })
        // keyless inserts follow the same rules
        const post = yield* http({
          method: "POST",
          path: `/v1/objects/${usecase}/org=1/`,
          headers: expiration === undefined ? {} : { "x-sn-expiration": expiration },
          body: "x"
        })
        assert.strictEqual(post.status, 400)
      }
      assert.strictEqual(yield* stored, before)
    }).pipe(Effect.provide(Server.layer({
      port: 0,
      usecases: {
        attachments: { manual: { allowed: false }, ttl: { allowed: true, max: days(90) }, tti: { allowed: false } },
        "debug-files": { manual: { allowed: false }, ttl: { allowed: false }, tti: { allowed: true, max: days(90) } },
        avatars: { ttl: { allowed: false }, tti: { allowed: false } }
      }
    }))))

  it.effect("87: killswitches answer 403 text; the service pattern needs the header", () =>
    Effect.gen(function*() {
      const blocked = "/v1/objects/blocked/org=42;project=4711/key"
      const service = { "x-downstream-service": "test-service" }
      for (const method of ["GET", "HEAD", "PUT", "DELETE"]) {
        const response = yield* http({ method, path: blocked, headers: service, body: "x" })
        assert.strictEqual(response.status, 403, method)
        if (method !== "HEAD") {
          assert.strictEqual(response.text, "Object access is disabled for this scope through killswitches")
        }
      }
      const post = yield* http({
        method: "POST",
        path: "/v1/objects/blocked/org=42;project=4711/",
        headers: service,
        body: "x"
      })
      assert.strictEqual(post.status, 403)
      // a Kubernetes pod suffix is stripped before matching
      const pod = yield* http({
        method: "GET",
        path: blocked,
        headers: { "x-downstream-service": "test-service-7d9f8c6b5d-x2k4p" }
      })
      assert.strictEqual(pod.status, 403)
      for (
        const [path, headers] of [
          ["/v1/objects/other/org=42;project=4711/key", service],
          ["/v1/objects/blocked/org=43;project=4711/key", service],
          ["/v1/objects/blocked/project=4711/key", service],
          [blocked, {}],
          [blocked, { "x-downstream-service": "relay" }]
        ] as const
      ) {
        assert.strictEqual(
          (yield* http({ method: "GET", path, headers })).status,
          404,
          `${path} ${JSON.stringify(headers)}`
        )
      }
      assert.strictEqual((yield* http({ method: "GET", path: "/v1/objects/all-off/_/key" })).status, 403)
      assert.strictEqual(yield* stored, 0)
    }).pipe(Effect.provide(Server.layer({
      port: 0,
      killswitches: [{ usecase: "blocked", scopes: { org: "42" }, service: "test-*" }, { usecase: "all-off" }]
    }))))

  it.effect("86: maxRequests = 0 answers 503 empty for /v1; health and ready are exempt", () =>
    Effect.gen(function*() {
      const response = yield* http({ method: "GET", path: "/v1/objects/u/_/key" })
      assert.strictEqual(response.status, 503)
      assert.strictEqual(response.body.length, 0)
      assert.strictEqual((yield* http({ method: "PUT", path: "/v1/objects/u/_/key", body: "x" })).status, 503)
      assert.strictEqual((yield* http({ method: "GET", path: "/health" })).status, 200)
      assert.strictEqual((yield* http({ method: "GET", path: "/ready" })).status, 200)
      assert.strictEqual(yield* stored, 0)
    }).pipe(Effect.provide(Server.layer({ port: 0, maxRequests: 0 }))))

  it.effect("maxConcurrency = 0: every backend operation is 429 JSON after validation", () =>
    Effect.gen(function*() {
      for (const method of ["GET", "HEAD", "PUT", "DELETE"]) {
        const response = yield* http({ method, path: "/v1/objects/u/_/key", body: "x" })
        assert.strictEqual(response.status, 429, method)
        if (method !== "HEAD") {
          assert.deepStrictEqual(json(response), {
            detail: "service error: concurrency limit reached",
            causes: ["concurrency limit reached"]
          })
        }
      }
      // validation comes first
      const bad = yield* http({
        method: "PUT",
        path: "/v1/objects/u/_/key",
        headers: { "x-sn-expiration": "garbage" },
        body: "x"
      })
      assert.strictEqual(bad.status, 400)
      assert.strictEqual(
        (yield* http({ method: "GET", path: "/v1/objects/u/_/key", headers: { range: "x" } })).status,
        400
      )
      assert.strictEqual((yield* http({ method: "GET", path: "/health" })).status, 200)
    }).pipe(Effect.provide(Server.layer({ port: 0, maxConcurrency: 0 }))))

  it.effect("concurrency queue: one waiter waits up to the timeout, further callers are rejected at once", () =>
    Effect.gen(function*() {
      const port = yield* serverPort
      // A holds the only permit with an upload that does not end yet
      const upload = Http.request({
        host: "127.0.0.1",
        port,
        method: "PUT",
        path: "/v1/objects/u/_/slow",
        agent: false
      })
      const uploadDone = new Promise<number>((resolve, reject) => {
        upload.on("response", (res) => {
          res.resume()
          res.on("end", () => resolve(res.statusCode!))
        })
        upload.on("error", reject)
      })
      upload.write("first part ")
      yield* settle // the upload holds the only permit
      const idle = yield* sleepers
      const waiter = yield* Effect.fork(http({ method: "GET", path: "/v1/objects/u/_/other" }))
      yield* queuedBeside(idle)
      const rejected = yield* http({ method: "GET", path: "/v1/objects/u/_/third" })
      assert.strictEqual(rejected.status, 429)
      yield* TestClock.adjust("1 seconds")
      const timedOut = yield* Fiber.join(waiter)
      assert.strictEqual(timedOut.status, 429)
      // a waiter that gets the permit in time proceeds
      const patient = yield* Effect.fork(http({ method: "GET", path: "/v1/objects/u/_/slow" }))
      yield* queuedBeside(idle)
      yield* TestClock.adjust("500 millis")
      upload.end("second part")
      assert.strictEqual(yield* Effect.promise(() => uploadDone), 200)
      const served = yield* Fiber.join(patient)
      assert.strictEqual(served.status, 200)
      assert.strictEqual(served.text, "first part second part")
    }).pipe(Effect.provide(
      Server.layer({ port: 0, maxConcurrency: 1, concurrencyQueue: 1, concurrencyTimeout: Duration.seconds(1) })
    )))

  it.effect("maxBodySize: larger bodies are 413 JSON and store nothing, declared or chunked", () =>
    Effect.gen(function*() {
      const exact = yield* http({ method: "PUT", path: "/v1/objects/u/_/exact", body: Buffer.alloc(100, 1) })
      assert.strictEqual(exact.status, 200)
      const declared = yield* http({ method: "PUT", path: "/v1/objects/u/_/declared", body: Buffer.alloc(101, 1) })
      assert.strictEqual(declared.status, 413)
      assert.strictEqual(declared.headers["content-type"], "application/json")
      assert.match(json(declared).detail, /^client error: request body exceeds the limit of 100 bytes/)
      const chunked = yield* http({
        method: "POST",
        path: "/v1/objects/u/_/",
        body: [Buffer.alloc(60, 1), Buffer.alloc(60, 2)]
      })
      assert.strictEqual(chunked.status, 413)
      const huge = yield* http({
        method: "PUT",
        path: "/v1/objects/u/_/huge",
        body: Array.from({ length: 50 }, () => Buffer.alloc(100_000, 3))
      })
      assert.strictEqual(huge.status, 413)
      // an overwrite that is too large keeps the previous object
      const overwrite = yield* http({ method: "PUT", path: "/v1/objects/u/_/exact", body: [Buffer.alloc(101, 9)] })
      assert.strictEqual(overwrite.status, 413)
      const kept = yield* http({ method: "GET", path: "/v1/objects/u/_/exact" })
      assert.deepStrictEqual(kept.body, Buffer.alloc(100, 1))
      assert.strictEqual(yield* stored, 1)
      assert.strictEqual((yield* http({ method: "GET", path: "/health" })).status, 200)
    }).pipe(Effect.provide(Server.layer({ port: 0, maxBodySize: 100 }))))

  it.effect("more than 100 request header lines: 431 before anything is stored or authorised; 100 are fine", () =>
    Effect.gen(function*() {
      // node:http adds host and connection (and content-length): 97 metadata headers make exactly 100 lines
      const metadata = (count: number) =>
        Object.fromEntries(Array.from({ length: count }, (_, i) => [`x-snme-m${i}`, String(i)]))
      const ok = yield* http({ method: "PUT", path: "/v1/objects/u/_/many", headers: metadata(97), body: "x" })
      assert.strictEqual(ok.status, 200, ok.text)
      const head = yield* http({ method: "HEAD", path: "/v1/objects/u/_/many" })
      assert.strictEqual(head.headers["x-snme-m96"], "96")
      const before = yield* stored
      for (const path of ["/v1/objects/u/_/too-many", "/health"]) {
        const refused = yield* http({
          method: "PUT",
          path,
          headers: { ...metadata(1000), "x-sn-expiration": "ttl:1s" },
          body: "x"
        })
        assert.strictEqual(refused.status, 431, path)
        assert.strictEqual(refused.headers.connection, "close")
      }
      assert.strictEqual(yield* stored, before)
      assert.strictEqual((yield* http({ method: "GET", path: "/v1/objects/u/_/too-many" })).status, 404)
    }).pipe(Effect.provide(Server.layer({ port: 0 }))))

  it.effect("an expiration past 9999-12-31T23:59:59.999999Z is refused (400); TTI bumps stop there", () =>
    Effect.gen(function*() {
      const metadataError = "service error: metadata error: expiration out of range: the object would expire " +
        "after 9999-12-31T23:59:59.999999Z"
      const putExpiring = (key: string, expiration: string) =>
        http({ method: "PUT", path: `/v1/objects/u/_/${key}`, headers: { "x-sn-expiration": expiration }, body: "x" })
      for (const expiration of ["ttl:300000y", "ttl:10000y", "tti:9000y"]) {
        const response = yield* putExpiring("far", expiration)
        assert.strictEqual(response.status, 400, expiration)
        assert.strictEqual(json(response).detail, metadataError)
      }
      assert.strictEqual(yield* stored, 0)
      // the largest accepted deadlines render as valid four-digit years
      assert.strictEqual((yield* putExpiring("far", "ttl:7000y")).status, 200)
      const expires = (yield* http({ method: "HEAD", path: "/v1/objects/u/_/far" })).headers["x-sn-time-expires"]
      assert.match(String(expires), /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{6}Z$/)

      // written in 9990 with tti:9y (deadline in 9999), read in 9992: the bump would pass year 9999
      yield* TestClock.setTime(Date.UTC(9990, 0, 1))
      assert.strictEqual((yield* putExpiring("tti", "tti:9y")).status, 200)
      yield* TestClock.setTime(Date.UTC(9992, 0, 1))
      yield* http({ method: "HEAD", path: "/v1/objects/u/_/tti" }) // bumps
      const bumped = yield* http({ method: "HEAD", path: "/v1/objects/u/_/tti" })
      assert.strictEqual(bumped.headers["x-sn-time-expires"], "9999-12-31T23:59:59.999999Z")
    }).pipe(Effect.provide(Server.layer({ port: 0 }))))
})
