import { assert, describe, it } from "@effect/vitest"
import * as Timestamp from "@objectstore/protocol/Timestamp"
import * as Server from "@objectstore/server/Server"
import * as Storage from "@objectstore/server/Storage"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as TestClock from "effect/TestClock"
import { eventually, realSleep } from "../../../test/support.js"
import { http } from "./support/http.js"

const T0 = 1_700_000_000_000 // 2023-11-14T22:13:20Z, in ms
const at = (offset: Duration.DurationInput) => TestClock.setTime(T0 + Duration.toMillis(offset))
const iso = (offset: Duration.DurationInput) => Timestamp.format(BigInt(T0 + Duration.toMillis(offset)) * 1000n)

const path = (key: string) => `/v1/objects/test/org=1/${key}`
const put = (key: string, expiration?: string) =>
  http({
    method: "PUT",
    path: path(key),
    headers: expiration === undefined ? {} : { "x-sn-expiration": expiration },
    body: `body of ${key}`
  })
const get = (key: string) => http({ method: "GET", path: path(key) })
const head = (key: string) => http({ method: "HEAD", path: path(key) })

const keys = Effect.map(
  Effect.flatMap(Storage.Storage, (storage) => storage.list),
  (entries) => entries.map((entry) => entry.id.key).sort()
)

/**
 * Real time for background fibers to catch up after the TestClock moved, before asserting that something did NOT
 * happen (on a slow machine the assertion still holds; it only catches a reaper that runs early less often).
 */
const settle = realSleep("60 millis")

/** The reaper fiber is asleep on the TestClock, so moving the clock wakes it. */
const reaperWaiting = eventually(TestClock.sleeps(), (sleeps) => sleeps.length > 0)

/** Waits until the reaper has left exactly `expected`. */
const reaped = (expected: ReadonlyArray<string>) =>
  eventually(keys, (now) => JSON.stringify(now) === JSON.stringify(expected))

describe("Expiration (production semantics, TestClock)", () => {
  it.effect("23, 93: ttl objects are 404 for GET/HEAD once `time_expires < now`; DELETE 204; PUT recreates", () =>
    Effect.gen(function*() {
      yield* at(0)
      assert.strictEqual((yield* put("ttl", "ttl:30s")).status, 200)
      const fresh = yield* head("ttl")
      assert.strictEqual(fresh.headers["x-sn-time-created"], iso(0))
      assert.strictEqual(fresh.headers["x-sn-time-expires"], iso("30 seconds"))
      yield* at("30 seconds") // equal is not expired
      assert.strictEqual((yield* get("ttl")).status, 200)
      assert.strictEqual((yield* head("ttl")).headers["x-sn-time-expires"], iso("30 seconds")) // ttl never bumps
      yield* at("30001 millis")
      const expired = yield* get("ttl")
      assert.strictEqual(expired.status, 404)
      assert.strictEqual(expired.body.length, 0)
      assert.isUndefined(expired.headers["accept-ranges"])
      assert.strictEqual((yield* head("ttl")).status, 404)
      assert.strictEqual((yield* http({ method: "DELETE", path: path("ttl") })).status, 204)
      assert.strictEqual((yield* put("ttl", "ttl:30s")).status, 200)
      const recreated = yield* head("ttl")
      assert.strictEqual(recreated.status, 204)
      assert.strictEqual(recreated.headers["x-sn-time-created"], iso("30001 millis"))
      // ttl:0s is expired as soon as the clock moves
      yield* put("zero", "ttl:0s")
      assert.strictEqual((yield* get("zero")).status, 200)
      yield* TestClock.adjust("1 millis")
      assert.strictEqual((yield* get("zero")).status, 404)
    }).pipe(Effect.provide(Server.layer({ port: 0 }))))

  it.effect("92: TTI bump with D = 2h uses a 30 min window; the response shows the previous deadline", () =>
    Effect.gen(function*() {
      yield* at(0)
      yield* put("tti", "tti:2h")
      yield* at("10 minutes")
      assert.strictEqual((yield* get("tti")).headers["x-sn-time-expires"], iso("2 hours"))
      yield* at("30 minutes") // deadline == now + D - 30 min: not older, not bumped
      assert.strictEqual((yield* head("tti")).headers["x-sn-time-expires"], iso("2 hours"))
      assert.strictEqual((yield* head("tti")).headers["x-sn-time-expires"], iso("2 hours"))
      yield* at(Duration.sum("30 minutes", "1 millis")) // now older than the window: bump
      const bumping = yield* head("tti")
      assert.strictEqual(bumping.headers["x-sn-time-expires"], iso("2 hours")) // previous deadline
      const bumpedDeadline = iso(Duration.sum("150 minutes", "1 millis"))
      assert.strictEqual((yield* head("tti")).headers["x-sn-time-expires"], bumpedDeadline)
      assert.strictEqual((yield* get("tti")).headers["x-sn-time-expires"], bumpedDeadline)
      // idle past the new deadline: gone
      yield* at(Duration.sum("150 minutes", "2 millis"))
      assert.strictEqual((yield* get("tti")).status, 404)
      assert.strictEqual((yield* head("tti")).status, 404)
    }).pipe(Effect.provide(Server.layer({ port: 0 }))))

  it.effect("92: D = 2 days uses a 12 h window, D = 30 days 24 h; GET bumps like HEAD", () =>
    Effect.gen(function*() {
      yield* at(0)
      yield* put("two-days", "tti:2days")
      yield* put("thirty-days", "tti:30days")
      yield* at("12 hours")
      yield* get("two-days")
      assert.strictEqual((yield* head("two-days")).headers["x-sn-time-expires"], iso("2 days"))
      yield* at(Duration.sum("12 hours", "1 seconds"))
      yield* get("two-days")
      assert.strictEqual(
        (yield* head("two-days")).headers["x-sn-time-expires"],
        iso(Duration.sum("60 hours", "1 seconds"))
      )
      yield* at("24 hours")
      yield* get("thirty-days")
      assert.strictEqual((yield* head("thirty-days")).headers["x-sn-time-expires"], iso("30 days"))
      yield* at(Duration.sum("24 hours", "1 seconds"))
      yield* get("thirty-days")
      assert.strictEqual(
        (yield* head("thirty-days")).headers["x-sn-time-expires"],
        iso(Duration.sum("31 days", "1 seconds"))
      )
    }).pipe(Effect.provide(Server.layer({ port: 0 }))))

  it.effect("overwrite resets time_created, policy and deadline (no header = manual)", () =>
    Effect.gen(function*() {
      yield* at(0)
      yield* put("over", "ttl:1m")
      yield* at("50 seconds")
      yield* put("over")
      const manual = yield* head("over")
      assert.strictEqual(manual.headers["x-sn-time-created"], iso("50 seconds"))
      assert.isUndefined(manual.headers["x-sn-time-expires"])
      assert.isUndefined(manual.headers["x-sn-expiration"])
      yield* at("10 days")
      assert.strictEqual((yield* get("over")).status, 200)
      yield* put("over", "tti:1h")
      const tti = yield* head("over")
      assert.strictEqual(tti.headers["x-sn-expiration"], "tti:1h")
      assert.strictEqual(tti.headers["x-sn-time-expires"], iso(Duration.sum("10 days", "1 hours")))
    }).pipe(Effect.provide(Server.layer({ port: 0 }))))

  it.effect("the reaper deletes expired objects every reapInterval; manual objects stay", () =>
    Effect.gen(function*() {
      yield* at(0)
      // the jump to T0 wakes the reaper's first sleep: wait until it sleeps again, a minute from T0, so that its late
      // run cannot read the clock after the moves below
      yield* eventually(TestClock.sleeps(), (sleeps) => Array.from(sleeps).some((t) => t >= T0 + 60_000))
      yield* put("short", "ttl:10s")
      yield* put("idle", "tti:20s")
      yield* put("long", "ttl:1h")
      yield* put("manual")
      yield* reaperWaiting
      assert.deepStrictEqual(yield* keys, ["idle", "long", "manual", "short"])
      yield* TestClock.adjust("30 seconds") // the reaper is not due yet
      yield* settle
      assert.deepStrictEqual(yield* keys, ["idle", "long", "manual", "short"])
      yield* TestClock.adjust("30 seconds") // 1 min: reaper runs
      yield* reaped(["long", "manual"])
      yield* reaperWaiting
      yield* at("2 hours")
      yield* reaped(["manual"])
    }).pipe(Effect.provide(Server.layer({ port: 0, reapInterval: Duration.minutes(1) }))))

  it.effect("a far TestClock jump runs the reaper once instead of hanging", () =>
    Effect.gen(function*() {
      yield* put("old", "ttl:1s")
      yield* reaperWaiting
      yield* TestClock.setTime(T0 + Duration.toMillis("3650 days"))
      yield* reaped([])
      // the reaper still runs on its interval after the jump (asking it with reapNow instead raced that run)
      yield* put("again", "ttl:1s")
      yield* reaperWaiting
      yield* TestClock.adjust("2 seconds")
      yield* reaped([])
    }).pipe(Effect.provide(Server.layer({ port: 0, reapInterval: Duration.seconds(1) }))))

  it.effect("enforceExpiration: false serves expired objects, never bumps and never reaps (upstream filesystem)", () =>
    Effect.gen(function*() {
      yield* at(0)
      yield* put("lazy-ttl", "ttl:1s")
      yield* put("lazy-tti", "tti:2h")
      yield* at("3 hours")
      yield* settle
      const ttl = yield* get("lazy-ttl")
      assert.strictEqual(ttl.status, 200)
      assert.strictEqual(ttl.headers["x-sn-time-expires"], iso("1 seconds"))
      yield* head("lazy-tti")
      assert.strictEqual((yield* head("lazy-tti")).headers["x-sn-time-expires"], iso("2 hours"))
      assert.deepStrictEqual(yield* keys, ["lazy-tti", "lazy-ttl"])
    }).pipe(Effect.provide(Server.layer({ port: 0, enforceExpiration: false, reapInterval: Duration.seconds(1) }))))
})
