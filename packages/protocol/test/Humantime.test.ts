import { assert, describe, it } from "@effect/vitest"
import * as Humantime from "@objectstore/protocol/Humantime"
import * as Duration from "effect/Duration"
import * as Either from "effect/Either"
import * as fc from "fast-check"

const seconds = (n: number | bigint) => Duration.nanos(BigInt(n) * 1_000_000_000n)
const parseNanos = (text: string): bigint | string =>
  Either.match(Humantime.parse(text), {
    onLeft: (reason) => `error: ${reason}`,
    onRight: (d) => Duration.unsafeToNanos(d)
  })

describe("Humantime", () => {
  const day = 86_400
  // §6.2 canonical form table (duration in seconds, or nanoseconds for 1.5 s)
  const table: ReadonlyArray<readonly [Duration.Duration, string]> = [
    [seconds(30), "30s"],
    [seconds(90), "1m 30s"],
    [seconds(3600), "1h"],
    [seconds(5400), "1h 30m"],
    [seconds(day), "1day"],
    [seconds(2 * day), "2days"],
    [seconds(7 * day), "7days"],
    [seconds(30 * day), "30days"],
    [seconds(31 * day), "1month 13h 26m 24s"],
    [seconds(90 * day), "2months 29days 2h 52m 48s"],
    [seconds(365 * day), "11months 30days 3h 50m 24s"],
    [seconds(31_557_600), "1year"],
    [seconds(day + 1), "1day 1s"],
    [Duration.millis(1500), "1s 500ms"],
    [Duration.zero, "0s"],
    [seconds(2 * 31_557_600 + 2 * 2_630_016), "2years 2months"],
    [Duration.nanos(1_001_001n), "1ms 1us 1ns"]
  ]

  it("format produces the canonical form of every §6.2 table row", () => {
    for (const [duration, text] of table) assert.strictEqual(Humantime.format(duration), text)
  })

  it("parse reads every canonical form back", () => {
    for (const [duration, text] of table) {
      assert.strictEqual(parseNanos(text), Duration.unsafeToNanos(duration), text)
    }
  })

  it("parse handles the §6.2 parsing examples", () => {
    const examples: ReadonlyArray<readonly [string, number]> = [
      ["30s", 30],
      ["5m", 300],
      ["1h 30m", 5400],
      ["1h30m", 5400],
      ["7d", 604800],
      ["1 days 3600 seconds", 90000],
      ["2months 29days 2h 52m 48s", 7_776_000],
      ["1.5h", 5400],
      ["0", 0],
      [" 30s", 30],
      ["30s ", 30],
      ["1w", 604800],
      ["1M", 2_630_016],
      ["1y", 31_557_600],
      ["0s", 0],
      ["1.5 h", 5400],
      ["1 0s", 10] // humantime skips whitespace between digits
    ]
    for (const [text, secs] of examples) assert.strictEqual(parseNanos(text), BigInt(secs) * 1_000_000_000n, text)
  })

  it("parse knows every unit spelling", () => {
    const spellings: ReadonlyArray<readonly [ReadonlyArray<string>, bigint]> = [
      [["ns", "nsec", "nanos"], 1n],
      [["us", "µs", "usec"], 1_000n],
      [["ms", "msec", "millis"], 1_000_000n],
      [["s", "sec", "secs", "second", "seconds"], 1_000_000_000n],
      [["m", "min", "mins", "minute", "minutes"], 60_000_000_000n],
      [["h", "hr", "hrs", "hour", "hours"], 3_600_000_000_000n],
      [["d", "day", "days"], 86_400_000_000_000n],
      [["w", "wk", "wks", "week", "weeks"], 604_800_000_000_000n],
      [["M", "month", "months"], 2_630_016_000_000_000n],
      [["y", "yr", "yrs", "year", "years"], 31_557_600_000_000_000n]
    ]
    for (const [names, nanos] of spellings) {
      for (const name of names) {
        assert.strictEqual(parseNanos(`2${name}`), 2n * nanos, name)
        assert.strictEqual(parseNanos(`2 ${name}`), 2n * nanos, name)
      }
    }
  })

  it("parse keeps nanosecond precision for fractions", () => {
    assert.strictEqual(parseNanos("1.5s"), 1_500_000_000n)
    assert.strictEqual(parseNanos("0.000000001s"), 1n)
    assert.strictEqual(parseNanos("1.25ms 3ns"), 1_250_003n)
    assert.strictEqual(parseNanos("0.5M"), 1_315_008_000_000_000n)
  })

  it("parse rejects invalid input", () => {
    for (
      const bad of ["", "   ", "5", "5 ", "5x", "garbage", "-5s", "5S", "5Sec", "1h,30m", "1.h", ".5h", "1h 30", "s"]
    ) {
      assert.isTrue(Either.isLeft(Humantime.parse(bad)), JSON.stringify(bad))
    }
  })

  it("parse(format(d)) is exact for random nanosecond durations (property)", () => {
    fc.assert(
      fc.property(fc.bigInt({ min: 0n, max: 2n ** 80n }), (nanos) => {
        const text = Humantime.format(Duration.nanos(nanos))
        assert.strictEqual(parseNanos(text), nanos, text)
      }),
      { numRuns: 500 }
    )
  })
})
