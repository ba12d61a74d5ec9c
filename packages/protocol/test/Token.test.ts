import { assert, describe, it } from "@effect/vitest"
import * as Base64Url from "@objectstore/protocol/Base64Url"
import * as Permission from "@objectstore/protocol/Permission"
import * as Token from "@objectstore/protocol/Token"
import * as Either from "effect/Either"
import * as Option from "effect/Option"
import { createPublicKey, verify } from "node:crypto"

const jwt =
  "eyJhbGciOiJFZERTQSIsImtpZCI6Im15LXNlcnZpY2UiLCJ0eXAiOiJKV1QifQ.eyJyZXMiOnsib3M6dXNlY2FzZSI6ImF0dGFjaG1lbnRzIiwib3JnIjoiNDIiLCJwcm9qZWN0IjoiMTMzNyJ9LCJwZXJtaXNzaW9ucyI6WyJvYmplY3QucmVhZCIsIm9iamVjdC53cml0ZSIsIm9iamVjdC5kZWxldGUiXSwiZXhwIjoxNzc2NjkyMjgwfQ.PIwQ1RW8PsdLyvrVT6TnrJTgQ509teNM4m8jL_jEw70LAPOpNkjfrgHl5hx4nDtALkvNkwTKdVg5yJ3q_DEaDg"
const publicKey = createPublicKey(
  "-----BEGIN PUBLIC KEY-----\nMCowBQYDK2VwAyEAIVL40Zt5HSRFMkLhXy6rbLfP+ntqXtMAl5YOBpiB2xI=\n-----END PUBLIC KEY-----\n"
)
const text = (segment: string) => new TextDecoder().decode(Option.getOrThrow(Base64Url.decodeStrict(segment)))

describe("Token", () => {
  it("claims serialise exactly like the §12.3 example token", () => {
    const [header, payload, signature] = jwt.split(".") as [string, string, string]
    const claims = Token.claims({
      usecase: "attachments",
      scopes: [["org", "42"], ["project", "1337"]],
      permissions: Permission.all,
      exp: 1776692280
    })
    const json = JSON.stringify(claims)
    assert.strictEqual(
      json,
      "{\"res\":{\"os:usecase\":\"attachments\",\"org\":\"42\",\"project\":\"1337\"},\"permissions\":[\"object.read\",\"object.write\",\"object.delete\"],\"exp\":1776692280}"
    )
    assert.strictEqual(text(payload), json)
    assert.strictEqual(Base64Url.encode(new TextEncoder().encode(json)), payload)
    assert.strictEqual(text(header), "{\"alg\":\"EdDSA\",\"kid\":\"my-service\",\"typ\":\"JWT\"}")
    const sig = Option.getOrThrow(Base64Url.decodeStrict(signature))
    assert.isTrue(verify(null, Buffer.from(`${header}.${payload}`), publicKey, sig))
    assert.deepStrictEqual(Token.validateClaims(JSON.parse(text(payload))), Either.right(claims))
  })

  it("encodeClaims writes the Python client's bytes: scope order kept for integer-like names, non-ASCII escaped", () => {
    const encode = (usecase: string, scopes: ReadonlyArray<readonly [string, string]>) =>
      Token.encodeClaims({ usecase, scopes, permissions: ["object.read"], exp: 1776692280 })
    // Each expected text is Python's json.dumps(claims, separators=(",", ":")), as PyJWT calls it.
    assert.strictEqual(
      encode("attachments", [["2", "x"], ["org", "1"]]),
      "{\"res\":{\"os:usecase\":\"attachments\",\"2\":\"x\",\"org\":\"1\"},\"permissions\":[\"object.read\"],\"exp\":1776692280}"
    )
    assert.strictEqual(
      encode("attachments", [["10", "a"], ["2", "b"]]),
      "{\"res\":{\"os:usecase\":\"attachments\",\"10\":\"a\",\"2\":\"b\"},\"permissions\":[\"object.read\"],\"exp\":1776692280}"
    )
    assert.strictEqual(
      encode("ü", [["org", "42"]]),
      "{\"res\":{\"os:usecase\":\"\\u00fc\",\"org\":\"42\"},\"permissions\":[\"object.read\"],\"exp\":1776692280}"
    )
    assert.strictEqual(
      encode("a\"b\\c\u007f\n😀", []),
      "{\"res\":{\"os:usecase\":\"a\\\"b\\\\c\\u007f\\n\\ud83d\\ude00\"},\"permissions\":[\"object.read\"],\"exp\":1776692280}"
    )
    // It is the same claims object once parsed.
    const scopes = [["org", "42"], ["project", "1337"]] as const
    assert.deepStrictEqual(
      JSON.parse(Token.encodeClaims({ usecase: "u", scopes, permissions: Permission.all, exp: 5 })),
      Token.claims({ usecase: "u", scopes, permissions: Permission.all, exp: 5 })
    )
  })

  it("resource puts the usecase first and keeps scope order", () => {
    assert.deepStrictEqual(Object.entries(Token.resource("u", [["project", "1"], ["org", "*"]])), [
      ["os:usecase", "u"],
      ["project", "1"],
      ["org", "*"]
    ])
    const tricky = Token.resource("u", [["__proto__", "x"]])
    assert.isTrue(Object.hasOwn(tricky, "__proto__"))
    assert.strictEqual(Object.getPrototypeOf(tricky), Object.prototype)
  })

  it("validateClaims enforces the §12.3 claim rules", () => {
    const base = { res: { "os:usecase": "u", org: "1" }, permissions: ["object.read"], exp: 100 }
    const ok = (payload: unknown) => Either.isRight(Token.validateClaims(payload))
    assert.isTrue(ok(base))
    assert.isTrue(ok({ ...base, permissions: [] }))
    assert.isTrue(ok({ ...base, aud: "objectstore", iss: "sentry" }))
    assert.isTrue(ok({ ...base, aud: ["other", "objectstore"], iss: ["x", "relay"] }))
    assert.isTrue(ok({ ...base, aud: 5, iss: { a: 1 }, iat: 1, sub: "x" }))
    assert.isFalse(ok(null))
    assert.isFalse(ok("x"))
    assert.isFalse(ok({ ...base, exp: undefined }))
    assert.isFalse(ok({ ...base, exp: "100" }))
    assert.isFalse(ok({ ...base, exp: 1.5 }))
    assert.isFalse(ok({ ...base, res: { org: "1" } }))
    assert.isFalse(ok({ ...base, res: { "os:usecase": "u", org: 1 } }))
    assert.isFalse(ok({ ...base, res: [] }))
    assert.isFalse(ok({ ...base, permissions: ["object.admin"] }))
    assert.isFalse(ok({ ...base, permissions: "object.read" }))
    assert.isFalse(ok({ ...base, aud: "other" }))
    assert.isFalse(ok({ ...base, aud: ["other"] }))
    assert.isFalse(ok({ ...base, iss: "someone" }))
    assert.isFalse(ok({ ...base, iss: [] }))
  })

  it("isExpired allows 60 s of leeway", () => {
    assert.isFalse(Token.isExpired({ exp: 1000 }, 1060))
    assert.isTrue(Token.isExpired({ exp: 1000 }, 1061))
    assert.isTrue(Token.isExpired({ exp: 1000 }, 1001, 0))
  })

  it("authorizes follows the §12.5 rule", () => {
    const claims = { res: { "os:usecase": "u", org: "123", project: "456" }, permissions: Permission.all }
    assert.isTrue(Token.authorizes(claims, "object.read", "u", [["org", "123"], ["project", "456"]]))
    assert.isTrue(Token.authorizes(claims, "object.read", "u", [["project", "456"], ["org", "123"]]))
    assert.isTrue(Token.authorizes(claims, "object.read", "u", [["org", "123"]]))
    assert.isTrue(Token.authorizes(claims, "object.read", "u", []))
    assert.isFalse(Token.authorizes(claims, "object.read", "v", []))
    assert.isFalse(Token.authorizes(claims, "object.read", "u", [["org", "124"]]))
    assert.isFalse(Token.authorizes(claims, "object.read", "u", [["app", "x"]]))
    assert.isFalse(Token.authorizes({ ...claims, permissions: ["object.read"] }, "object.write", "u", []))
    const wildcard = { res: { "os:usecase": "u", org: "123", project: "*" }, permissions: Permission.all }
    assert.isTrue(Token.authorizes(wildcard, "object.delete", "u", [["org", "123"], ["project", "999"]]))
    assert.isFalse(Token.authorizes({ ...wildcard, res: { "os:usecase": "*" } }, "object.read", "u", []))
    assert.isFalse(
      Token.authorizes({ ...wildcard, res: { "os:usecase": "u", org: "*abc" } }, "object.read", "u", [["org", "x"]])
    )
    assert.isFalse(Token.authorizes(claims, "object.read", "u", [["constructor", "x"]]))
  })
})
