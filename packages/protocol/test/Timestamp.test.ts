import { assert, describe, it } from "@effect/vitest"
import * as Timestamp from "@objectstore/protocol/Timestamp"
import * as Option from "effect/Option"
import * as fc from "fast-check"

describe("Timestamp", () => {
  it("format prints six fractional digits and Z (§6.3)", () => {
    assert.strictEqual(Timestamp.format(1_700_000_000_000_000n), "2023-11-14T22:13:20.000000Z")
    assert.strictEqual(Timestamp.format(1_700_000_060_000_000n), "2023-11-14T22:14:20.000000Z")
    assert.strictEqual(Timestamp.format(1_700_000_000_123_456n), "2023-11-14T22:13:20.123456Z")
    assert.strictEqual(Timestamp.format(0n), "1970-01-01T00:00:00.000000Z")
    assert.strictEqual(Timestamp.format(-1n), "1969-12-31T23:59:59.999999Z")
  })

  it("formatSmart uses no fraction or nine digits", () => {
    const base = 1_776_692_220n * 1_000_000_000n
    assert.strictEqual(Timestamp.formatSmart(base), "2026-04-20T13:37:00Z")
    assert.strictEqual(Timestamp.formatSmart(base + 123_000_000n), "2026-04-20T13:37:00.123000000Z")
    assert.strictEqual(Timestamp.formatSmart(base + 1n), "2026-04-20T13:37:00.000000001Z")
  })

  it("parse reads RFC 3339 into epoch micros", () => {
    assert.deepStrictEqual(Timestamp.parse("2023-11-14T22:13:20.000000Z"), Option.some(1_700_000_000_000_000n))
    // the same second again (remembered), then its fraction malformed
    assert.deepStrictEqual(Timestamp.parse("2023-11-14T22:13:20.000042Z"), Option.some(1_700_000_000_000_042n))
    assert.deepStrictEqual(Timestamp.parse("2023-11-14T22:13:20.00004aZ"), Option.none())
    assert.deepStrictEqual(Timestamp.parse("2023-11-14T22:13:21.000001Z"), Option.some(1_700_000_001_000_001n))
    assert.deepStrictEqual(Timestamp.parse("2023-11-14T22:13:20Z"), Option.some(1_700_000_000_000_000n))
    assert.deepStrictEqual(Timestamp.parse("2023-11-14T22:13:20.5Z"), Option.some(1_700_000_000_500_000n))
    assert.deepStrictEqual(Timestamp.parse("2023-11-14T22:13:20.123456789Z"), Option.some(1_700_000_000_123_456n))
    assert.deepStrictEqual(Timestamp.parse("2023-11-14T22:13:20+00:00"), Option.some(1_700_000_000_000_000n))
    assert.deepStrictEqual(Timestamp.parse("2023-11-15T00:13:20+02:00"), Option.some(1_700_000_000_000_000n))
    assert.deepStrictEqual(Timestamp.parse("2023-11-14T21:13:20-01:00"), Option.some(1_700_000_000_000_000n))
    assert.deepStrictEqual(Timestamp.parse("2023-11-14 22:13:20z"), Option.some(1_700_000_000_000_000n))
    assert.deepStrictEqual(Timestamp.parse("2024-02-29T00:00:00Z"), Option.some(1_709_164_800_000_000n))
    assert.deepStrictEqual(Timestamp.parse("0001-01-01T00:00:00Z"), Option.some(-62_135_596_800_000_000n))
  })

  it("parse rejects malformed timestamps", () => {
    const bad = [
      "",
      "2023-11-14",
      "2023-11-14T22:13:20",
      "2023-13-14T22:13:20Z",
      "2023-02-29T00:00:00Z",
      "2023-11-14T24:00:00Z",
      "2023-11-14T22:60:00Z",
      "2023-11-14T22:13:20.Z",
      "2023-11-14T22:13:20ZZ",
      "garbage"
    ]
    for (const text of bad) assert.deepStrictEqual(Timestamp.parse(text), Option.none(), text)
  })

  it("parse inverts format and agrees with Date (property)", () => {
    fc.assert(
      fc.property(fc.bigInt({ min: -62_135_596_800_000_000n, max: 253_402_300_799_999_999n }), (micros) => {
        const text = Timestamp.format(micros)
        assert.deepStrictEqual(Timestamp.parse(text), Option.some(micros))
        assert.strictEqual(BigInt(Date.parse(text)) * 1000n, micros - (((micros % 1000n) + 1000n) % 1000n))
      }),
      { numRuns: 300 }
    )
  })

  it("fromDate and toDate convert at millisecond precision", () => {
    const date = new Date("2023-11-14T22:13:20.123Z")
    assert.strictEqual(Timestamp.fromDate(date), 1_700_000_000_123_000n)
    assert.strictEqual(Timestamp.toDate(1_700_000_000_123_999n).toISOString(), "2023-11-14T22:13:20.123Z")
  })
})
