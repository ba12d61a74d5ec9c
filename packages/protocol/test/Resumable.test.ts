/**
 * The resumable upload header grammars and the session token's query form (PROTOCOL §22.5), as properties.
 */
import { assert, describe, it } from "@effect/vitest"
import * as Resumable from "@objectstore/protocol/Resumable"
import * as Either from "effect/Either"
import * as Option from "effect/Option"
import * as fc from "fast-check"
import { Buffer } from "node:buffer"

const count = fc.maxSafeNat()

describe("Resumable", () => {
  it("Upload-Length and Upload-Offset: every safe count round-trips through its decimal form (property)", () => {
    fc.assert(
      fc.property(count, (n) => {
        const text = Resumable.formatCount(n)
        assert.match(text, /^(0|[1-9][0-9]*)$/)
        assert.deepStrictEqual(Resumable.parseLength(text), Either.right(n))
        assert.deepStrictEqual(Resumable.parseOffset(text), Either.right({ _tag: "At", offset: n }))
        // leading zeros are still plain digits
        assert.deepStrictEqual(Resumable.parseLength(`00${text}`), Either.right(n))
      }),
      { numRuns: 500 }
    )
  })

  it("anything but plain digits (or * for the offset) is refused (property)", () => {
    const decorated = fc.tuple(count, fc.constantFrom("+", "-", " ", "0x", "\t", "1e", ".0", ",", "_")).chain((
      [n, junk]
    ) => fc.constantFrom(`${junk}${n}`, `${n}${junk}`, `${String(n).slice(0, 1)}${junk}${String(n).slice(1)}`))
    fc.assert(
      fc.property(decorated, (text) => {
        assert.isTrue(Either.isLeft(Resumable.parseLength(text)), text)
        assert.isTrue(Either.isLeft(Resumable.parseOffset(text)), text)
      }),
      { numRuns: 500 }
    )
    fc.assert(
      fc.property(fc.string(), (text) => {
        const valid = /^[0-9]+$/.test(text) && Number.isSafeInteger(Number(text))
        assert.strictEqual(Either.isRight(Resumable.parseLength(text)), valid, text)
        assert.strictEqual(Either.isRight(Resumable.parseOffset(text)), valid || text === "*", text)
      }),
      { numRuns: 500 }
    )
    for (const text of ["", "*", " 1", "1 ", "+1", "-0", "0x10", "9007199254740992", "１"]) {
      assert.isTrue(Either.isLeft(Resumable.parseLength(text)), text)
    }
    assert.deepStrictEqual(Resumable.parseOffset("*"), Either.right({ _tag: "Query" }))
    assert.isTrue(Either.isLeft(Resumable.parseOffset("**")))
    assert.isTrue(Either.isLeft(Resumable.parseOffset(" *")))
  })

  it("session tokens travel as unpadded base64url of their UTF-8 bytes and decode back exactly (property)", () => {
    fc.assert(
      fc.property(fc.string({ unit: "grapheme", minLength: 1, maxLength: 60 }), (token) => {
        const query = Resumable.encodeSession(token)
        assert.match(query, /^[A-Za-z0-9_-]+$/)
        assert.strictEqual(query, Buffer.from(token, "utf8").toString("base64url"))
        assert.deepStrictEqual(Resumable.decodeSession(query), Option.some(token))
      }),
      { numRuns: 500 }
    )
  })

  it("session query values that are not strict base64url of non-empty UTF-8 are refused", () => {
    const valid = Resumable.encodeSession("0190f3a2-6c1e-7b3d-9f10-2a4c5e6f7a8b")
    for (
      const value of [
        "",
        `${valid}=`,
        valid.replace(/^./, "+"),
        `${valid.slice(0, -1)}/`,
        "A",
        Buffer.from([0xff, 0xfe]).toString("base64url"),
        // a last character with unused bits set (non-canonical)
        "QR"
      ]
    ) {
      assert.isTrue(Option.isNone(Resumable.decodeSession(value)), value)
    }
  })
})
