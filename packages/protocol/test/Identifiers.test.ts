import { assert, describe, it } from "@effect/vitest"
import * as Identifiers from "@objectstore/protocol/Identifiers"
import * as Either from "effect/Either"

describe("Identifiers", () => {
  it("validateUsecase allows [A-Za-z0-9_-]+", () => {
    for (const good of ["attachments", "debug-files", "A_b-9"]) {
      assert.deepStrictEqual(Identifiers.validateUsecase(good), Either.right(good))
    }
    for (const bad of ["", "a b", "a/b", "a.b", "café", "objects:batch"]) {
      assert.isTrue(Either.isLeft(Identifiers.validateUsecase(bad)), bad)
    }
  })

  it("validateKey accepts ordinary and structured keys", () => {
    const keys = [
      "plain-key",
      "with space",
      "café-unicode",
      "emoji-😀",
      "100%literal-percent",
      "nested/path/segments",
      "1/shard-0.json",
      "test-key123!!",
      ".hidden",
      "a/..b/c.",
      "x".repeat(512)
    ]
    for (const key of keys) assert.deepStrictEqual(Identifiers.validateKey(key), Either.right(key))
  })

  it("validateKey rejects keys that cannot be addressed reliably (§4.3)", () => {
    const bad = ["", "/a", "a/", "a//b", ".", "..", "a/./b", "a/../b", "a\tb", "a\nb", "a\u0000b", "a\u007fb"]
    for (const key of bad) assert.isTrue(Either.isLeft(Identifiers.validateKey(key)), JSON.stringify(key))
  })

  it("validateKey limits keys to 512 UTF-8 bytes", () => {
    assert.isTrue(Either.isLeft(Identifiers.validateKey("x".repeat(513))))
    assert.isTrue(Either.isRight(Identifiers.validateKey("é".repeat(256))))
    assert.isTrue(Either.isLeft(Identifiers.validateKey("é".repeat(256) + "x")))
  })
})
