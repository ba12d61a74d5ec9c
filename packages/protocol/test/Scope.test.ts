import { assert, describe, it } from "@effect/vitest"
import * as Scope from "@objectstore/protocol/Scope"
import * as Either from "effect/Either"

describe("Scope", () => {
  it("isValidPart accepts the 70-character alphabet and nothing else", () => {
    assert.isTrue(Scope.isValidPart("AZaz09_-()$!+'"))
    for (const bad of ["", ".", "/", "=", ";", " ", "*", ":", "@", "~", "é", "a b"]) {
      assert.isFalse(Scope.isValidPart(bad), bad)
    }
  })

  it("render joins pairs with ';' and uses '_' for none (§18 item 36)", () => {
    assert.strictEqual(Scope.render([["org", "12345"]]), "org=12345")
    assert.strictEqual(Scope.render([["org", "12345"], ["project", "1337"]]), "org=12345;project=1337")
    assert.strictEqual(Scope.render([]), "_")
  })

  it("validate applies the client rules", () => {
    assert.deepStrictEqual(Scope.validate([]), Either.right([]))
    assert.isTrue(Either.isRight(Scope.validate([["org", "1"], ["project", "2"]])))
    assert.isTrue(Either.isRight(Scope.validate([["key", "0"]])))
    assert.isTrue(Either.isLeft(Scope.validate([["org", ""]])))
    assert.isTrue(Either.isLeft(Scope.validate([["", "1"]])))
    assert.isTrue(Either.isLeft(Scope.validate([["org", "a/b"]])))
    assert.isTrue(Either.isLeft(Scope.validate([["o/rg", "1"]])))
    const duplicate = Scope.validate([["org", "1"], ["org", "2"]])
    assert.isTrue(Either.isLeft(duplicate))
    assert.include(Either.getLeft(duplicate).pipe((o) => (o._tag === "Some" ? o.value : "")), "duplicate")
  })

  it("parse applies the server rules (§18 item 34)", () => {
    assert.deepStrictEqual(Scope.parse("org=123;project=456"), Either.right([["org", "123"], ["project", "456"]]))
    assert.deepStrictEqual(Scope.parse("_"), Either.right([]))
    assert.deepStrictEqual(Scope.parse("org=1;org=2"), Either.right([["org", "1"], ["org", "2"]]))
    assert.deepStrictEqual(Scope.parse("a=b=c"), Either.left("invalid scope \"a=b=c\": invalid character"))
    for (const bad of ["org123", "org=hello world", "=value", "key=", "org=1;", "", "org=1;;project=2", "__=x y"]) {
      assert.isTrue(Either.isLeft(Scope.parse(bad)), bad)
    }
  })

  it("parse inverts render for valid components", () => {
    const components: Scope.Components = [["org", "12345"], ["project", "1337"], ["app_slug", "email_app"]]
    assert.deepStrictEqual(Scope.parse(Scope.render(components)), Either.right(components))
  })

  it("formatValue prints integers in plain decimal", () => {
    assert.deepStrictEqual(Scope.formatValue(0), Either.right("0"))
    assert.deepStrictEqual(Scope.formatValue(12345), Either.right("12345"))
    assert.deepStrictEqual(Scope.formatValue(1e21), Either.right("1000000000000000000000"))
    assert.deepStrictEqual(Scope.formatValue(-7), Either.right("-7"))
    assert.deepStrictEqual(Scope.formatValue(2n ** 70n), Either.right("1180591620717411303424"))
    assert.deepStrictEqual(Scope.formatValue("email_app"), Either.right("email_app"))
    assert.isTrue(Either.isLeft(Scope.formatValue(1.5)))
    assert.isTrue(Either.isLeft(Scope.formatValue(Number.NaN)))
    assert.isTrue(Either.isLeft(Scope.formatValue(Number.POSITIVE_INFINITY)))
  })
})
