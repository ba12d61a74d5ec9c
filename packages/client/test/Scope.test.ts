import { assert, describe, it } from "@effect/vitest"
import * as Scope from "@objectstore/client/Scope"
import * as ConfigProvider from "effect/ConfigProvider"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as fc from "effect/FastCheck"
import * as Option from "effect/Option"

const render = (scope: Scope.Scope) => Either.getOrThrowWith(Scope.render(scope), (e) => new Error(e.message))
const problem = (scope: Scope.Scope) => Either.flip(Scope.render(scope)).pipe(Either.getOrThrow)

describe("Scope", () => {
  it("keeps insertion order and formats numbers and bigints in plain decimal", () => {
    assert.strictEqual(render(Scope.make({ org: 42, project: 1337 })), "org=42;project=1337")
    assert.strictEqual(render(Scope.make({ project: 1337, org: 42 })), "project=1337;org=42")
    assert.strictEqual(
      render(Scope.fromEntries([["org", 12345678901234567890n], ["app", "email_app"]])),
      "org=12345678901234567890;app=email_app"
    )
    assert.strictEqual(render(Scope.make({ n: 1e21 })), "n=1000000000000000000000")
    assert.strictEqual(render(Scope.make({ zero: 0 })), "zero=0")
  })

  it("renders the empty scope as _", () => {
    assert.strictEqual(render(Scope.empty), "_")
    assert.strictEqual(render(Scope.make({})), "_")
    assert.strictEqual(render(Scope.fromEntries([])), "_")
  })

  it("append adds components after the existing ones", () => {
    assert.strictEqual(render(Scope.append(Scope.make({ org: 1 }), [["project", 2]])), "org=1;project=2")
  })

  it("rejects integer-like names in the record form, explaining why", () => {
    const error = problem(Scope.make({ org: 1, "7": "x" }))
    assert.strictEqual(error.field, "scope")
    assert.include(error.reason, "Scope.fromEntries")
    assert.include(error.reason, "reorders")
    assert.strictEqual(render(Scope.fromEntries([["org", 1], ["7", "x"]])), "org=1;7=x")
  })

  it("rejects invalid names and values, duplicates and non-integers", () => {
    for (
      const scope of [
        Scope.make({ org: "a.b" }),
        Scope.make({ org: "a/b" }),
        Scope.make({ org: "" }),
        Scope.make({ "a b": 1 }),
        Scope.make({ org: "é" }),
        Scope.make({ org: 1.5 }),
        Scope.make({ org: Number.NaN }),
        Scope.fromEntries([["org", 1], ["org", 2]]),
        Scope.fromEntries([["", 1]])
      ]
    ) {
      assert.strictEqual(problem(scope)._tag, "InvalidInputError", JSON.stringify(scope.entries))
    }
  })

  it("refuses booleans (Python sends True, Rust true), saying to pass the string", () => {
    // A JavaScript caller can pass one despite the type.
    const error = problem(Scope.make({ flag: true as unknown as string }))
    assert.include(error.reason, "boolean")
    assert.include(error.reason, "Python \"True\", Rust \"true\"")
    assert.strictEqual(render(Scope.make({ flag: "True" })), "flag=True")
  })

  it("accepts every allowed character", () => {
    assert.strictEqual(render(Scope.make({ "A-z_0()$!+'": "x-Y_9()$!+'" })), "A-z_0()$!+'=x-Y_9()$!+'")
  })
})

describe("Scope.parse and Scope.config (the written form of OBJECTSTORE_SCOPE and --scope)", () => {
  const part = fc.stringMatching(/^[A-Za-z0-9_\-()$!+']{1,8}$/)
  const separator = fc.constantFrom(";", ",", " ", "  ", "\t", " ; ", "\n")

  it.prop(
    "any mix of ';', ',' and whitespace between pairs gives the same ordered scope",
    [fc.uniqueArray(fc.tuple(part, part), { selector: ([name]) => name, maxLength: 6 }), fc.array(separator)],
    ([pairs, separators]) => {
      const text = pairs.map(([name, value]) => `${name}=${value}`)
        .reduce(
          (acc, pair, i) => i === 0 ? pair : acc + (separators[i % Math.max(1, separators.length)] ?? ";") + pair,
          ""
        )
      const parsed = Either.getOrThrowWith(Scope.parse(text), (e) => new Error(e.message))
      assert.deepStrictEqual(parsed.entries, pairs)
      assert.strictEqual(render(parsed), pairs.length === 0 ? "_" : pairs.map(([n, v]) => `${n}=${v}`).join(";"))
    }
  )

  it("'_', an empty text and stray separators are the empty scope; a value may contain '='", () => {
    for (const text of ["_", "", " ", ";;", " _ "]) {
      assert.strictEqual(render(Either.getOrThrow(Scope.parse(text))), "_")
    }
    assert.strictEqual(Either.flip(Scope.parse("org=a=b")).pipe(Either.getOrThrow).field, "scope")
  })

  it("errors quote what was given, and the pair that is wrong", () => {
    const error = (text: string) => Either.getOrThrow(Either.flip(Scope.parse(text))).reason
    assert.strictEqual(
      error("org:42"),
      "bad scope \"org:42\": expected name=value pairs, e.g. org=42;project=1337"
    )
    assert.include(error("org=42 project"), "bad scope \"project\" in \"org=42 project\"")
    assert.include(error("org=4.2"), "invalid value \"4.2\" for scope \"org\"")
    assert.include(error("org=1;org=2"), "duplicate scope name \"org\"")
  })

  it.effect("config reads a variable in either syntax; a bad value is a ConfigError that quotes it", () =>
    Effect.gen(function*() {
      const read = (value: string) =>
        Effect.withConfigProvider(
          Effect.either(Scope.config("OBJECTSTORE_SCOPE")),
          ConfigProvider.fromMap(new Map([["OBJECTSTORE_SCOPE", value]]))
        )
      for (const value of ["org=42 project=1337", "org=42;project=1337"]) {
        assert.strictEqual(render(Either.getOrThrow(yield* read(value))), "org=42;project=1337")
      }
      const bad = yield* read("org=42;project=13.37")
      assert.isTrue(Either.isLeft(bad))
      assert.include(
        String(Either.getLeft(bad).pipe(Option.getOrThrow)),
        "invalid value \"13.37\" for scope \"project\""
      )
      assert.include(String(Either.getLeft(bad).pipe(Option.getOrThrow)), "OBJECTSTORE_SCOPE")
    }))
})
