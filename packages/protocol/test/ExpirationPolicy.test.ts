import { assert, describe, it } from "@effect/vitest"
import * as ExpirationPolicy from "@objectstore/protocol/ExpirationPolicy"
import * as Either from "effect/Either"
import * as util from "node:util"

describe("ExpirationPolicy", () => {
  it("format uses the canonical humantime form (§6.2 table)", () => {
    assert.strictEqual(ExpirationPolicy.format(ExpirationPolicy.manual), "manual")
    assert.strictEqual(ExpirationPolicy.format(ExpirationPolicy.timeToLive("30 seconds")), "ttl:30s")
    assert.strictEqual(ExpirationPolicy.format(ExpirationPolicy.timeToLive("90 seconds")), "ttl:1m 30s")
    assert.strictEqual(ExpirationPolicy.format(ExpirationPolicy.timeToIdle("1 hour")), "tti:1h")
    assert.strictEqual(ExpirationPolicy.format(ExpirationPolicy.timeToIdle("2 days")), "tti:2days")
    assert.strictEqual(ExpirationPolicy.format(ExpirationPolicy.timeToLive("31 days")), "ttl:1month 13h 26m 24s")
    assert.strictEqual(ExpirationPolicy.format(ExpirationPolicy.timeToLive(1500)), "ttl:1s 500ms")
  })

  it("parse accepts the three forms", () => {
    const parsed = (text: string) => Either.getOrThrow(ExpirationPolicy.parse(text))
    assert.isTrue(ExpirationPolicy.isManual(parsed("manual")))
    assert.isTrue(ExpirationPolicy.equals(parsed("ttl:30s"), ExpirationPolicy.timeToLive("30 seconds")))
    assert.isTrue(ExpirationPolicy.equals(parsed("ttl: 30s"), ExpirationPolicy.timeToLive("30 seconds")))
    assert.isTrue(ExpirationPolicy.equals(parsed("tti:1h"), ExpirationPolicy.timeToIdle("1 hour")))
    assert.isTrue(ExpirationPolicy.equals(parsed("ttl:1 days 7200 seconds"), ExpirationPolicy.timeToLive("26 hours")))
    assert.isTrue(ExpirationPolicy.equals(parsed("ttl:0s"), ExpirationPolicy.timeToLive(0)))
    assert.strictEqual(ExpirationPolicy.format(parsed("ttl:1 days")), "ttl:1day")
  })

  it("parse rejects malformed values (§6.2, §18 item 24)", () => {
    for (const bad of ["", "ttl:", "ttl:5x", "TTL:5s", "Manual", "garbage", "tti:", "ttl", "ttl:-1s", "manual "]) {
      assert.isTrue(Either.isLeft(ExpirationPolicy.parse(bad)), JSON.stringify(bad))
    }
  })

  it("equals compares kind and duration", () => {
    assert.isTrue(ExpirationPolicy.equals(ExpirationPolicy.manual, ExpirationPolicy.manual))
    assert.isFalse(ExpirationPolicy.equals(ExpirationPolicy.manual, ExpirationPolicy.timeToLive(0)))
    assert.isFalse(
      ExpirationPolicy.equals(ExpirationPolicy.timeToLive("1 hour"), ExpirationPolicy.timeToIdle("1 hour"))
    )
    assert.isFalse(
      ExpirationPolicy.equals(ExpirationPolicy.timeToLive("1 hour"), ExpirationPolicy.timeToLive("2 hours"))
    )
    assert.isTrue(
      ExpirationPolicy.equals(ExpirationPolicy.timeToLive("60 minutes"), ExpirationPolicy.timeToLive("1 hour"))
    )
  })
})

describe("ExpirationPolicy printing", () => {
  it("prints as the header value, serialises and inspects with a humantime duration", () => {
    const ttl = ExpirationPolicy.timeToLive("90 minutes")
    assert.strictEqual(String(ttl), "ttl:1h 30m")
    assert.strictEqual(`${ExpirationPolicy.timeToIdle("30 days")}`, "tti:30days")
    assert.strictEqual(String(ExpirationPolicy.manual), "manual")
    assert.strictEqual(
      JSON.stringify({ policy: ttl }),
      "{\"policy\":{\"_tag\":\"TimeToLive\",\"duration\":\"1h 30m\"}}"
    )
    assert.strictEqual(JSON.stringify(ExpirationPolicy.manual), "{\"_tag\":\"Manual\"}")
    assert.strictEqual(util.inspect({ ttl }), "{ ttl: { _tag: 'TimeToLive', duration: '1h 30m' } }")
    const parsed = Either.getOrThrow(ExpirationPolicy.parse("tti:2h"))
    assert.strictEqual(util.inspect(parsed), "{ _tag: 'TimeToIdle', duration: '2h' }")
    assert.isTrue(ExpirationPolicy.equals(parsed, ExpirationPolicy.timeToIdle("2 hours")))
  })
})
