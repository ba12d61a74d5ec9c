import { assert, describe, it } from "@effect/vitest"
import * as Literal from "@objectstore/server/internal/literal"
import * as Either from "effect/Either"
import * as fc from "fast-check"

const ok = (text: string): Literal.LiteralValue => {
  const result = Literal.parse(text)
  if (Either.isLeft(result)) assert.fail(`${text}: ${Literal.formatError(result.left)}`)
  return result.right
}
const err = (text: string): Literal.LiteralError => {
  const result = Literal.parse(text)
  if (Either.isRight(result)) assert.fail(`${text} parsed as ${JSON.stringify(result.right)}`)
  return result.left
}

describe("literal (§16.2)", () => {
  it("parses the key directory example", () => {
    assert.deepStrictEqual(
      ok(
        "{test_kid={key_files=[\"keys/ed25519.public.pem\"],max_permissions=[\"object.read\",\"object.write\",\"object.delete\"]}}"
      ),
      {
        test_kid: {
          key_files: ["keys/ed25519.public.pem"],
          max_permissions: ["object.read", "object.write", "object.delete"]
        }
      }
    )
  })

  it("parses two kids with trailing commas and whitespace", () => {
    assert.deepStrictEqual(
      ok(
        "{kid1={key_files=[\"old.pem\",\"new.pem\"],max_permissions=[\"object.read\",\"object.write\"],}, kid2={key_files=[\"ro.pem\"],max_permissions=[\"object.read\"]}}"
      ),
      {
        kid1: { key_files: ["old.pem", "new.pem"], max_permissions: ["object.read", "object.write"] },
        kid2: { key_files: ["ro.pem"], max_permissions: ["object.read"] }
      }
    )
  })

  it("parses the usecase and killswitch examples", () => {
    assert.deepStrictEqual(
      ok("{attachments={expiration={manual={allowed=false},ttl={max=\"90d\"},tti={allowed=false}}}}"),
      {
        attachments: {
          expiration: { manual: { allowed: false }, ttl: { max: "90d" }, tti: { allowed: false } }
        }
      }
    )
    assert.deepStrictEqual(ok("[{usecase=\"blocked\",scopes={org=\"42\"},service=\"test-*\"}]"), [
      { usecase: "blocked", scopes: { org: "42" }, service: "test-*" }
    ])
  })

  it("reads scalars: booleans, integers, floats, bare and quoted strings", () => {
    assert.deepStrictEqual(ok("[true, false, 42, -7, 1.5, .5, 1e3, 90d, hello world , \"a\\\"b\", \"x\\ny\"]"), [
      true,
      false,
      42,
      -7,
      1.5,
      0.5,
      1000,
      "90d",
      "hello world",
      "a\"b",
      "x\ny"
    ])
    assert.strictEqual(ok("\"true\""), "true")
    assert.strictEqual(ok("  object.read  "), "object.read")
    assert.strictEqual(ok("\"\\u00e9\\u{1F600}\\t\\\\\""), "é😀\t\\")
  })

  it("accepts quoted keys, empty containers and repeated keys (last wins)", () => {
    assert.deepStrictEqual(ok("{\"My Kid\"=[], a={}, a=2,}"), { "My Kid": [], a: 2 })
    assert.deepStrictEqual(ok("{ }"), {})
    assert.deepStrictEqual(ok("[ , ]".replace(" , ", "")), [])
    assert.deepStrictEqual(Object.keys(ok("{\"__proto__\"=1}") as object), ["__proto__"])
  })

  it("reports errors with positions", () => {
    assert.deepStrictEqual(err("{a=1"), { message: "expected \",\" or \"}\", found end of input", position: 4 })
    assert.deepStrictEqual(err("{a 1}"), { message: "expected \"=\" after key \"a\", found \"1\"", position: 3 })
    assert.strictEqual(err("{=1}").position, 1)
    assert.strictEqual(err("[1,,2]").position, 3)
    assert.strictEqual(err("\"abc").message, "unterminated string")
    assert.strictEqual(err("\"a\\qb\"").message, "unknown escape \\q")
    assert.strictEqual(err("{a=1}}").message, "unexpected \"}\" after the value")
    assert.strictEqual(err("{a.b=1}").position, 2)
    assert.strictEqual(err("").message, "expected a value, found end of input")
    assert.strictEqual(Literal.formatError(err("[1 2")), "expected \",\" or \"]\", found end of input at position 4")
  })

  it("round-trips render/parse (property)", () => {
    const value: fc.Arbitrary<Literal.LiteralValue> = fc.letrec<{ value: Literal.LiteralValue }>((tie) => ({
      value: fc.oneof(
        { depthSize: "small", withCrossShrink: true },
        fc.string({ unit: "binary" }),
        fc.boolean(),
        fc.integer(),
        fc.double({ noNaN: true, noDefaultInfinity: true }).filter((n) => !Object.is(n, -0)),
        fc.array(tie("value"), { maxLength: 4 }),
        fc.dictionary(fc.string({ unit: "binary" }), tie("value"), { maxKeys: 4, noNullPrototype: true })
      )
    })).value
    fc.assert(
      fc.property(value, (v) => {
        assert.deepStrictEqual(ok(Literal.render(v)), v)
      }),
      { numRuns: 300 }
    )
  })
})
