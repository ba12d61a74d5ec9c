import { assert, describe, it } from "@effect/vitest"
import * as Scope from "@objectstore/client/Scope"
import * as Either from "effect/Either"

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

  it("accepts every allowed character", () => {
    assert.strictEqual(render(Scope.make({ "A-z_0()$!+'": "x-Y_9()$!+'" })), "A-z_0()$!+'=x-Y_9()$!+'")
  })
})
