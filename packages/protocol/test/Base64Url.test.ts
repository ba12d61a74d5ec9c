import { assert, describe, it } from "@effect/vitest"
import * as Base64Url from "@objectstore/protocol/Base64Url"
import * as Option from "effect/Option"
import * as fc from "fast-check"
import { Buffer } from "node:buffer"

const signature = "dq4AntczDf_2SBkT3GKrZaCb1tuLFJWpxevGC82yxberiTpAH_XVwkxxZtiTQrT1nQRyO2Ll6fOpJncCki_WAQ"

describe("Base64Url", () => {
  it("encode matches Node's base64url (property)", () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 100 }), (bytes) => {
        const text = Base64Url.encode(bytes)
        assert.strictEqual(text, Buffer.from(bytes).toString("base64url"))
        assert.deepStrictEqual(
          Option.map(Base64Url.decodeStrict(text), (b) => Array.from(b)),
          Option.some(Array.from(bytes))
        )
      }),
      { numRuns: 300 }
    )
  })

  it("decodes a real 86-character Ed25519 signature to 64 bytes", () => {
    const decoded = Option.getOrThrow(Base64Url.decodeStrict(signature))
    assert.strictEqual(decoded.length, 64)
    assert.deepStrictEqual(Array.from(decoded), Array.from(Buffer.from(signature, "base64url")))
  })

  it("rejects non-canonical last characters (§13.1, §18 item 52)", () => {
    const stem = signature.slice(0, -1)
    for (const last of ["A", "Q", "g", "w"]) assert.isTrue(Option.isSome(Base64Url.decodeStrict(stem + last)), last)
    for (const last of ["B", "R", "h", "x", "_", "-"]) {
      assert.isTrue(Option.isNone(Base64Url.decodeStrict(stem + last)), last)
      // a lenient decoder would have accepted it
      assert.strictEqual(Buffer.from(stem + last, "base64url").length, 64)
    }
  })

  it("rejects padding, foreign characters and impossible lengths", () => {
    for (const text of ["QQ==", "QQ=", "a+b/", "ab cd", "abcde", "A", "é"]) {
      assert.isTrue(Option.isNone(Base64Url.decodeStrict(text)), text)
    }
    assert.deepStrictEqual(Option.map(Base64Url.decodeStrict(""), (b) => b.length), Option.some(0))
    assert.deepStrictEqual(Option.map(Base64Url.decodeStrict("QQ"), (b) => Array.from(b)), Option.some([65]))
    assert.isTrue(Option.isNone(Base64Url.decodeStrict("QR")))
  })
})
