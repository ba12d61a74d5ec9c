/**
 * The extend-expiry body and its `d h m s` durations (PROTOCOL §23).
 */
import { assert, describe, it } from "@effect/vitest"
import * as ExtendExpiry from "@objectstore/protocol/ExtendExpiry"
import * as Either from "effect/Either"
import * as fc from "fast-check"

describe("ExtendExpiry", () => {
  it("formats durations largest unit first, zero as 0s, and parses them back (property)", () => {
    assert.strictEqual(ExtendExpiry.formatDuration(0), "0s")
    assert.strictEqual(ExtendExpiry.formatDuration(30 * 86_400), "30d")
    assert.strictEqual(ExtendExpiry.formatDuration(86_400 + 3_600 + 60 + 1), "1d 1h 1m 1s")
    assert.strictEqual(ExtendExpiry.formatDuration(5_400), "1h 30m")
    fc.assert(
      fc.property(fc.nat({ max: 2 ** 40 }), (seconds) => {
        const text = ExtendExpiry.formatDuration(seconds)
        assert.match(
          text,
          /^(0s|[1-9][0-9]*d( [1-9][0-9]?h)?( [1-9][0-9]?m)?( [1-9][0-9]?s)?|[1-9][0-9]?h.*|[1-9][0-9]?m.*|[1-9][0-9]?s)$/
        )
        assert.deepStrictEqual(ExtendExpiry.parseDuration(text), Either.right(seconds))
      }),
      { numRuns: 500 }
    )
  })

  it("accepts the grammar, refuses anything else", () => {
    for (const [text, seconds] of [["30d", 2_592_000], ["90m", 5_400], ["1d 0h", 86_400], ["2h 5s", 7_205]] as const) {
      assert.deepStrictEqual(ExtendExpiry.parseDuration(text), Either.right(seconds), text)
    }
    for (const text of ["", "30", "1h 1d", "1d  1h", " 1d", "1d ", "1w", "1.5h", "-1s", "1d1h", "1h 1h", "30 days"]) {
      assert.isTrue(Either.isLeft(ExtendExpiry.parseDuration(text)), text)
    }
  })

  it("parses the two body shapes and rejects unknown fields and mixtures", () => {
    assert.deepStrictEqual(
      ExtendExpiry.parse({ extend_expiry: { at: "2030-01-01T00:00:00Z" } }),
      Either.right({ _tag: "At", at: 1_893_456_000_000_000n, text: "2030-01-01T00:00:00Z" })
    )
    assert.deepStrictEqual(
      ExtendExpiry.parse({ extend_expiry: { after: "30d", from: "creation" } }),
      Either.right({ _tag: "After", seconds: 2_592_000, from: "creation" })
    )
    for (
      const body of [
        null,
        [],
        {},
        { extend_expiry: { at: "2030-01-01T00:00:00Z" }, extra: 1 },
        { extend_expiry: { at: "2030-01-01T00:00:00Z", after: "1d", from: "now" } },
        { extend_expiry: { at: "yesterday" } },
        { extend_expiry: { at: 5 } },
        { extend_expiry: { after: "1d" } },
        { extend_expiry: { after: "1d", from: "later" } },
        { extend_expiry: { after: "1 day", from: "now" } },
        { extend_expiry: { after: "1d", from: "now", until: "x" } },
        { extend_expiry: "1d" }
      ]
    ) {
      assert.isTrue(Either.isLeft(ExtendExpiry.parse(body)), JSON.stringify(body))
    }
  })

  it("encode writes what parse reads", () => {
    const requests: ReadonlyArray<ExtendExpiry.Request> = [
      { _tag: "At", at: 1_893_456_000_000_000n, text: "2030-01-01T00:00:00.000000Z" },
      { _tag: "After", seconds: 93_784, from: "now" }
    ]
    for (const request of requests) {
      assert.deepStrictEqual(ExtendExpiry.parse(JSON.parse(ExtendExpiry.encode(request))), Either.right(request))
    }
    assert.strictEqual(
      ExtendExpiry.encode({ _tag: "After", seconds: 93_784, from: "now" }),
      "{\"extend_expiry\":{\"after\":\"1d 2h 3m 4s\",\"from\":\"now\"}}"
    )
  })
})
