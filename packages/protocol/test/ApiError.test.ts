import { assert, describe, it } from "@effect/vitest"
import * as ApiError from "@objectstore/protocol/ApiError"
import * as Option from "effect/Option"

describe("ApiError", () => {
  it("encode matches the §14.1 shape", () => {
    assert.strictEqual(
      ApiError.encode("client error: Content-Length header is required"),
      "{\"detail\":\"client error: Content-Length header is required\"}"
    )
    assert.strictEqual(ApiError.encode("x", []), "{\"detail\":\"x\"}")
    assert.strictEqual(
      ApiError.encode("auth error: unknown key", ["unknown key"]),
      "{\"detail\":\"auth error: unknown key\",\"causes\":[\"unknown key\"]}"
    )
  })

  it("parse reads server bodies and tolerates anything else", () => {
    assert.deepStrictEqual(
      ApiError.parse("{\"detail\":\"auth error: operation not allowed\",\"causes\":[\"operation not allowed\"]}"),
      Option.some({ detail: "auth error: operation not allowed", causes: ["operation not allowed"] })
    )
    assert.deepStrictEqual(ApiError.parse(ApiError.encode("d")), Option.some({ detail: "d" }))
    assert.deepStrictEqual(ApiError.parse("{}"), Option.some({}))
    assert.deepStrictEqual(ApiError.parse("{\"detail\":5}"), Option.some({}))
    assert.deepStrictEqual(ApiError.parse("Payload Too Large"), Option.none())
    assert.deepStrictEqual(ApiError.parse(""), Option.none())
    assert.deepStrictEqual(ApiError.parse("[1]"), Option.none())
    assert.deepStrictEqual(ApiError.parse("null"), Option.none())
  })
})
