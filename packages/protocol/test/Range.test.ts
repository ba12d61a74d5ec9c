import { assert, describe, it } from "@effect/vitest"
import * as Range from "@objectstore/protocol/Range"
import * as Either from "effect/Either"
import * as Option from "effect/Option"

const parsed = (header: string) => Either.getOrThrow(Range.parse(header))
const resolved = (header: string, size: number) =>
  Option.flatMap(parsed(header), (range) => Range.resolve(range, size)).pipe(
    Option.map(({ end, start }) => Range.contentRange(start, end, size)),
    Option.getOrElse(() => Range.unsatisfiedContentRange(size))
  )

describe("Range", () => {
  const size = "Hello, Range Requests!".length

  it("parses the three forms", () => {
    assert.deepStrictEqual(parsed("bytes=0-4"), Option.some(Range.fromTo(0, 4)))
    assert.deepStrictEqual(parsed("bytes=7-"), Option.some(Range.from(7)))
    assert.deepStrictEqual(parsed("bytes=-9"), Option.some(Range.suffix(9)))
    assert.deepStrictEqual(parsed("Bytes=0-499"), Option.some(Range.fromTo(0, 499)))
    assert.deepStrictEqual(parsed("BYTES=100-"), Option.some(Range.from(100)))
    assert.deepStrictEqual(parsed("bytes=5-5"), Option.some(Range.fromTo(5, 5)))
  })

  it("resolves the 22-byte examples (§18 items 25–27, 31)", () => {
    assert.strictEqual(resolved("bytes=0-4", size), "bytes 0-4/22")
    assert.strictEqual(resolved("bytes=-9", size), "bytes 13-21/22")
    assert.strictEqual(resolved("bytes=7-", size), "bytes 7-21/22")
    assert.strictEqual(resolved("bytes=100-200", size), "bytes */22")
  })

  it("ignores several ranges (§18 item 30)", () => {
    assert.deepStrictEqual(Range.parse("bytes=0-4, 10-14"), Either.right(Option.none()))
    assert.deepStrictEqual(Range.parse("bytes=0-4,10-14"), Either.right(Option.none()))
  })

  it("rejects malformed headers (§18 items 28, 29, 33)", () => {
    assert.deepStrictEqual(
      Range.parse("items=0-10"),
      Either.left("invalid Range header: invalid range unit: items, expected: bytes")
    )
    const bad = [
      "bytes=abc-def",
      "bytes=500-100",
      "bytes=-0",
      "bytes=-",
      "bytes=",
      "bytes",
      "",
      "bytes= 0-4",
      "bytes=0 -4",
      "bytes =0-4",
      "bytes=0-4 ",
      "bytes=1",
      "bytes=0-4-5",
      "bytes=+1-2",
      "bytes=99999999999999999999999-"
    ]
    for (const header of bad) {
      const result = Range.parse(header)
      assert.isTrue(Either.isLeft(result), JSON.stringify(header))
      assert.isTrue(Either.getLeft(result).pipe(Option.getOrThrow).startsWith("invalid Range header: "))
    }
  })

  it("resolves with clamping (§18 item 33)", () => {
    assert.strictEqual(resolved("bytes=0-9999", 500), "bytes 0-499/500")
    assert.strictEqual(resolved("bytes=-2000", 1000), "bytes 0-999/1000")
    assert.strictEqual(resolved("bytes=500-", 500), "bytes */500")
    assert.strictEqual(resolved("bytes=499-", 500), "bytes 499-499/500")
    for (const header of ["bytes=0-0", "bytes=0-", "bytes=-1"]) assert.strictEqual(resolved(header, 0), "bytes */0")
    assert.deepStrictEqual(Range.resolve(Range.suffix(0), 10), Option.none())
  })

  it("format inverts parse", () => {
    for (const range of [Range.fromTo(0, 4), Range.from(7), Range.suffix(9)]) {
      assert.deepStrictEqual(parsed(Range.format(range)), Option.some(range))
    }
  })

  it("parseContentRange reads 206 headers", () => {
    assert.deepStrictEqual(Range.parseContentRange("bytes 13-21/22"), Option.some({ start: 13, end: 21, size: 22 }))
    assert.deepStrictEqual(Range.parseContentRange("bytes 0-4/*"), Option.some({ start: 0, end: 4, size: undefined }))
    assert.deepStrictEqual(Range.parseContentRange("bytes */22"), Option.none())
    assert.deepStrictEqual(Range.parseContentRange("bytes 5-4/22"), Option.none())
  })
})
