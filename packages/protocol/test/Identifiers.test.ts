import { assert, describe, it } from "@effect/vitest"
import * as Identifiers from "@objectstore/protocol/Identifiers"
import * as Either from "effect/Either"
import * as Schema from "effect/Schema"

describe("Identifiers", () => {
  it("validateUsecase accepts every one-segment name the server accepts (§4.1)", () => {
    for (
      const good of ["attachments", "debug-files", "A_b-9", "my.usecase", "with space", "ü", "café", "a:b", "100%"]
    ) {
      assert.deepStrictEqual(Identifiers.validateUsecase(good), Either.right(good))
    }
  })

  it("validateUsecase refuses what no path segment carries, quoting the value and naming the rule", () => {
    const cases: ReadonlyArray<readonly [string, string]> = [
      ["", "usecase must not be empty"],
      ["a/b", "usecase \"a/b\" must not contain '/' (it is one path segment)"],
      [".", "usecase \".\" cannot be addressed: URL parsers remove a '.' path segment"],
      ["..", "usecase \"..\" cannot be addressed: URL parsers remove a '..' path segment"],
      ["tab\there", "usecase \"tab\\there\" must not contain ASCII control characters (0x00-0x1F, 0x7F)"],
      ["del\u007f", "usecase \"del\u007f\" must not contain ASCII control characters (0x00-0x1F, 0x7F)"],
      ["\ud800x", "usecase \"\\ud800x\" is not valid Unicode (lone surrogate)"]
    ]
    for (const [usecase, reason] of cases) {
      assert.deepStrictEqual(Identifiers.validateUsecase(usecase), Either.left(reason))
    }
  })

  it("validateKey accepts every key the server stores and a URL can reach (§4.3)", () => {
    const keys = [
      "plain-key",
      "with space",
      "café-unicode",
      "emoji-😀",
      "100%literal-percent",
      "nested/path/segments",
      ".hidden",
      "a/..b/c.",
      "/leading",
      "trailing/",
      "/both/",
      "a//b",
      "./dot",
      "a/../b",
      "a/.",
      "/",
      "//",
      "../..",
      "tab\there",
      "x".repeat(513),
      "é".repeat(2000)
    ]
    for (const key of keys) assert.deepStrictEqual(Identifiers.validateKey(key), Either.right(key), key)
  })

  it("validateKey refuses only the empty key, '.', '..' and lone surrogates, saying why", () => {
    assert.deepStrictEqual(Identifiers.validateKey(""), Either.left("key must not be empty"))
    assert.deepStrictEqual(
      Identifiers.validateKey(".."),
      Either.left(
        "key \"..\" cannot be addressed: URL parsers (fetch, browsers, WHATWG URL) remove a '..' path segment, even " +
          "percent-encoded"
      )
    )
    assert.isTrue(Either.isLeft(Identifiers.validateKey(".")))
    assert.deepStrictEqual(
      Identifiers.validateKey("a\udc00"),
      Either.left("key \"a\\udc00\" is not valid Unicode (lone surrogate)")
    )
  })

  it("validatePortableKey keeps §4.3's recommendations for new keys, quoting the key", () => {
    const cases: ReadonlyArray<readonly [string, string]> = [
      ["/a", "it starts with '/'"],
      ["a/", "it ends with '/'"],
      ["/both/", "it starts with '/'"],
      ["a//b", "it contains an empty path segment ('//')"],
      ["./dot", "it contains a '.' path segment"],
      ["a/../b", "it contains a '..' path segment"],
      ["a\tb", "it contains ASCII control characters (0x00-0x1F, 0x7F)"],
      ["a\u007fb", "it contains ASCII control characters (0x00-0x1F, 0x7F)"]
    ]
    for (const [key, rule] of cases) {
      assert.deepStrictEqual(
        Identifiers.validatePortableKey(key),
        Either.left(`key ${JSON.stringify(key)} is not portable (PROTOCOL §4.3): ${rule}`)
      )
      assert.isFalse(Identifiers.isPortableKey(key))
    }
    for (const key of ["plain-key", "nested/path/segments", ".hidden", "a/..b/c.", "x".repeat(512), "é".repeat(256)]) {
      assert.isTrue(Identifiers.isPortableKey(key), key)
    }
  })

  it("validatePortableKey recommends at most 512 UTF-8 bytes and shortens the key it quotes", () => {
    const long = "é".repeat(256) + "x"
    assert.deepStrictEqual(
      Identifiers.validatePortableKey(long),
      Either.left(
        `key ${JSON.stringify("é".repeat(80) + "…")} is not portable (PROTOCOL §4.3): it is 513 UTF-8 bytes long, ` +
          "the recommended maximum is 512"
      )
    )
  })

  it("Key, PortableKey and Usecase are schemas with the same rules", () => {
    assert.isTrue(Schema.is(Identifiers.Key)("/leading"))
    assert.isFalse(Schema.is(Identifiers.Key)(".."))
    assert.isFalse(Schema.is(Identifiers.PortableKey)("/leading"))
    assert.isTrue(Schema.is(Identifiers.Usecase)("my.usecase"))
    const decoded = Schema.decodeUnknownEither(Identifiers.Usecase)("a/b")
    assert.isTrue(Either.isLeft(decoded))
    assert.include(String(Either.isLeft(decoded) ? decoded.left : ""), "must not contain '/'")
  })
})
