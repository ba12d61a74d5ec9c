import { assert, describe, it } from "@effect/vitest"
import * as Base64Url from "@objectstore/protocol/Base64Url"
import type * as Permission from "@objectstore/protocol/Permission"
import * as Presign from "@objectstore/protocol/Presign"
import type * as Scope from "@objectstore/protocol/Scope"
import * as Auth from "@objectstore/server/Auth"
import * as Effect from "effect/Effect"
import * as Logger from "effect/Logger"
import * as TestClock from "effect/TestClock"
import { SignJWT } from "jose"
import * as crypto from "node:crypto"

// ---------------------------------------------------------------------------------------------------------------
// Keys and tokens

const APPENDIX_PRIVATE = `-----BEGIN PRIVATE KEY-----
MC4CAQAwBQYDK2VwBCIEIEJCQkJCQkJCQkJCQkJCQkJCQkJCQkJCQkJCQkJCQkJC
-----END PRIVATE KEY-----
`
const APPENDIX_PUBLIC = `-----BEGIN PUBLIC KEY-----
MCowBQYDK2VwAyEAIVL40Zt5HSRFMkLhXy6rbLfP+ntqXtMAl5YOBpiB2xI=
-----END PUBLIC KEY-----
`
const APPENDIX_TOKEN =
  "eyJhbGciOiJFZERTQSIsImtpZCI6Im15LXNlcnZpY2UiLCJ0eXAiOiJKV1QifQ.eyJyZXMiOnsib3M6dXNlY2FzZSI6ImF0dGFjaG1lbnRzIiwib3JnIjoiNDIiLCJwcm9qZWN0IjoiMTMzNyJ9LCJwZXJtaXNzaW9ucyI6WyJvYmplY3QucmVhZCIsIm9iamVjdC53cml0ZSIsIm9iamVjdC5kZWxldGUiXSwiZXhwIjoxNzc2NjkyMjgwfQ.PIwQ1RW8PsdLyvrVT6TnrJTgQ509teNM4m8jL_jEw70LAPOpNkjfrgHl5hx4nDtALkvNkwTKdVg5yJ3q_DEaDg"

interface KeyPair {
  readonly privateKey: crypto.KeyObject
  readonly publicPem: string
}
const keyPair = (): KeyPair => {
  const { privateKey, publicKey } = crypto.generateKeyPairSync("ed25519")
  return { privateKey, publicPem: publicKey.export({ type: "spki", format: "pem" }).toString() }
}
const appendixKey: KeyPair = {
  privateKey: crypto.createPrivateKey(APPENDIX_PRIVATE),
  publicPem: APPENDIX_PUBLIC
}

const ALL: ReadonlyArray<Permission.Permission> = ["object.read", "object.write", "object.delete"]

/** 2026-04-20T13:37:00Z, the signing time of §13.5. */
const T0 = Date.UTC(2026, 3, 20, 13, 37, 0)
const T0_SECONDS = T0 / 1000

const b64json = (value: unknown) => Base64Url.encode(new TextEncoder().encode(JSON.stringify(value)))

interface Grant {
  readonly usecase?: string
  readonly scopes?: Record<string, string>
  readonly permissions?: ReadonlyArray<string>
  readonly exp?: number | undefined
  readonly extra?: Record<string, unknown>
}
const claimsOf = (grant: Grant = {}): Record<string, unknown> => {
  const claims: Record<string, unknown> = {
    res: { "os:usecase": grant.usecase ?? "attachments", ...(grant.scopes ?? { org: "123", project: "456" }) },
    permissions: grant.permissions ?? ALL,
    ...grant.extra
  }
  if (!("exp" in grant) || grant.exp !== undefined) claims.exp = grant.exp ?? T0_SECONDS + 60
  return claims
}

/** A token signed with jose (the library clients use). */
const sign = (key: KeyPair, kid: string, grant?: Grant) =>
  Effect.promise(() =>
    new SignJWT(claimsOf(grant)).setProtectedHeader({ alg: "EdDSA", kid, typ: "JWT" }).sign(key.privateKey)
  )

/** A hand-made token (any header), signed with Ed25519 over `header.payload`. */
const handMade = (key: KeyPair, header: Record<string, unknown>, claims: unknown = claimsOf()) => {
  const signingInput = `${b64json(header)}.${b64json(claims)}`
  const signature = crypto.sign(null, Buffer.from(signingInput), key.privateKey)
  return `${signingInput}.${Base64Url.encode(signature)}`
}

/** Changes the last character so that only the unused low bits differ (same bytes for a lenient decoder). */
const flipUnusedBit = (text: string): string => {
  const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
  const last = alphabet.indexOf(text[text.length - 1]!)
  return text.slice(0, -1) + alphabet[last ^ 1]
}

// ---------------------------------------------------------------------------------------------------------------
// Requests

const OBJECT_PATH = "/v1/objects/attachments/org=123;project=456/key"
const request = (overrides: Partial<Auth.RequestInfo> = {}): Auth.RequestInfo => ({
  method: "GET",
  rawPath: OBJECT_PATH,
  rawQuery: "",
  headers: {},
  ...overrides
})
const withHeader = (token: string, name = "x-os-auth", prefix = "Bearer ") =>
  request({ headers: { [name]: `${prefix}${token}` } })

const ORG_PROJECT: Scope.Components = [["org", "123"], ["project", "456"]]

const make = (keys: Record<string, Auth.KeyEntry>, enforce = true) => Auth.make({ enforce, keys })

const expectFailure = (
  effect: Effect.Effect<unknown, Auth.AuthFailure>,
  status: 400 | 401 | 403,
  message?: string | RegExp
) =>
  Effect.gen(function*() {
    const error = yield* Effect.flip(effect)
    assert.strictEqual(error._tag, "AuthFailure")
    assert.strictEqual(error.status, status, error.message)
    if (typeof message === "string") assert.strictEqual(error.message, message)
    else if (message !== undefined) assert.match(error.message, message)
    return error
  })

/** Authenticates and asks for `permission` on attachments/org=123;project=456. */
const access = (
  service: Auth.Service,
  info: Auth.RequestInfo,
  permission: Permission.Permission = "object.read",
  usecase = "attachments",
  scopes: Scope.Components = ORG_PROJECT
) => Effect.flatMap(service.authenticate(info), (context) => context.authorize(permission, usecase, scopes))

const M = Auth.messages

// ---------------------------------------------------------------------------------------------------------------

describe("Auth.make", () => {
  it.effect("enforce with no keys refuses to start; enforce=false without keys starts (§18 49)", () =>
    Effect.gen(function*() {
      const error = yield* Effect.flip(make({}))
      assert.strictEqual(error._tag, "AuthConfigError")
      assert.match(error.message, /^Auth enforcement is enabled but no keys are configured/)
      const service = yield* make({}, false)
      yield* access(service, withHeader("abcdef"), "object.write")
    }))

  it.effect("an unparsable or non-Ed25519 public key fails, naming the kid", () =>
    Effect.gen(function*() {
      const error = yield* Effect.flip(
        make({
          good: { publicKeys: [keyPair().publicPem], maxPermissions: ALL },
          "bad-kid": { publicKeys: ["nope"], maxPermissions: ALL }
        })
      )
      assert.strictEqual(error.message, "key \"bad-kid\": public key 1 is not an Ed25519 public key in PEM form")
      const rsa = crypto.generateKeyPairSync("rsa", { modulusLength: 1024 }).publicKey.export({
        type: "spki",
        format: "pem"
      }).toString()
      const rsaError = yield* Effect.flip(
        make({ r: { publicKeys: [keyPair().publicPem, rsa], maxPermissions: ALL } }, false)
      )
      assert.strictEqual(rsaError.message, "key \"r\": public key 2 is not an Ed25519 public key in PEM form")
    }))

  it.effect("disabled: tokens and pre-sign parameters are never looked at", () =>
    Effect.gen(function*() {
      const service = yield* make({}, false)
      yield* access(service, request(), "object.delete")
      yield* access(service, request({ rawQuery: "os_auth=a&os_auth=b" }), "object.write")
      yield* access(service, request({ method: "PUT", rawQuery: "os_sig=garbage" }), "object.write")
      const layered = yield* Effect.provide(Auth.Authenticator, Auth.layerDisabled)
      yield* access(layered, withHeader("garbage"), "object.delete", "other", [])
    }))
})

describe("token transport (§12.2)", () => {
  const key = keyPair()
  const keys = { k: { publicKeys: [key.publicPem], maxPermissions: ALL } }

  it.effect("no token → 400 (§18 38)", () =>
    Effect.gen(function*() {
      yield* TestClock.setTime(T0)
      const service = yield* make(keys)
      yield* expectFailure(service.authenticate(request()), 400, M.noToken)
      yield* expectFailure(service.authenticate(request({ rawQuery: "other=1&os_authx=2" })), 400, M.noToken)
    }))

  it.effect("x-os-auth and Authorization headers, Bearer prefix case-insensitive (§18 44)", () =>
    Effect.gen(function*() {
      yield* TestClock.setTime(T0)
      const service = yield* make(keys)
      const token = yield* sign(key, "k")
      for (const prefix of ["Bearer ", "bearer ", "BEARER ", "bEaReR "]) {
        yield* access(service, withHeader(token, "x-os-auth", prefix))
        yield* access(service, withHeader(token, "authorization", prefix))
      }
      // without the prefix (or with two spaces) a header counts as no header token
      yield* expectFailure(service.authenticate(withHeader(token, "x-os-auth", "")), 400, M.noToken)
      yield* expectFailure(service.authenticate(withHeader(token, "authorization", "Token ")), 400, M.noToken)
      yield* expectFailure(service.authenticate(withHeader(token, "authorization", "Bearer  ")), 401)
    }))

  it.effect("a present x-os-auth hides Authorization even when unusable; the query is then tried", () =>
    Effect.gen(function*() {
      yield* TestClock.setTime(T0)
      const service = yield* make(keys)
      const token = yield* sign(key, "k")
      const headers = { "x-os-auth": "Basic xyz", authorization: `Bearer ${token}` }
      yield* expectFailure(service.authenticate(request({ headers })), 400, M.noToken)
      yield* access(service, request({ headers, rawQuery: `os_auth=${token}` }))
      // an x-os-auth token wins over Authorization
      const garbage = { "x-os-auth": `Bearer ${token}`, authorization: "Bearer abcdef" }
      yield* access(service, request({ headers: garbage }))
      yield* expectFailure(
        service.authenticate(request({ headers: { "x-os-auth": "Bearer abcdef", authorization: `Bearer ${token}` } })),
        401
      )
    }))

  it.effect("os_auth query parameter, form-decoded (§18 41, 42)", () =>
    Effect.gen(function*() {
      yield* TestClock.setTime(T0)
      const service = yield* make(keys)
      const token = yield* sign(key, "k")
      yield* access(service, request({ rawQuery: `os_auth=${token}` }))
      yield* access(service, request({ rawQuery: `a=1&os_auth=${token.replaceAll(".", "%2E")}&b` }))
      yield* access(service, request({ rawQuery: `os%5Fauth=${token}` }))
      yield* expectFailure(service.authenticate(request({ rawQuery: `os_auth=${flipUnusedBit(token)}` })), 401)
      yield* expectFailure(service.authenticate(request({ rawQuery: `os_auth=${token}x` })), 401)
      yield* expectFailure(service.authenticate(request({ rawQuery: "os_auth=" })), 401)
    }))

  it.effect("a usable header wins over a garbage or duplicated os_auth (§18 43); duplicates alone → 400", () =>
    Effect.gen(function*() {
      yield* TestClock.setTime(T0)
      const service = yield* make(keys)
      const token = yield* sign(key, "k")
      yield* access(service, request({ headers: { authorization: `Bearer ${token}` }, rawQuery: "os_auth=abcdef" }))
      yield* access(service, request({ headers: { "x-os-auth": `Bearer ${token}` }, rawQuery: "os_auth=a&os_auth=b" }))
      yield* expectFailure(
        service.authenticate(request({ rawQuery: `os_auth=${token}&os_auth=${token}` })),
        400,
        M.invalidQuery
      )
    }))
})

describe("token verification (§12.4)", () => {
  const key = keyPair()
  const other = keyPair()
  const keys = { k: { publicKeys: [key.publicPem], maxPermissions: ALL } }

  it.effect("garbage, missing kid, unknown kid, wrong alg (§18 48)", () =>
    Effect.gen(function*() {
      yield* TestClock.setTime(T0)
      const service = yield* make(keys)
      const garbage = yield* expectFailure(service.authenticate(withHeader("abcdef")), 401)
      assert.match(garbage.message, /^failed to decode token: /)
      yield* expectFailure(service.authenticate(withHeader("a.b.c")), 401, /^failed to decode token: /)
      yield* expectFailure(service.authenticate(withHeader(`${b64json([1])}.e30.`)), 401, /^failed to decode token: /)
      yield* expectFailure(service.authenticate(withHeader(handMade(key, { alg: "EdDSA" }))), 400, M.missingKid)
      yield* expectFailure(
        service.authenticate(withHeader(handMade(key, { alg: "EdDSA", kid: null }))),
        400,
        M.missingKid
      )
      yield* expectFailure(
        service.authenticate(withHeader(handMade(key, { alg: "EdDSA", kid: "nope" }))),
        401,
        M.unknownKey
      )
      // kid is looked up before alg: an unknown kid with a wrong alg is "unknown key"
      yield* expectFailure(
        service.authenticate(withHeader(handMade(key, { alg: "none", kid: "nope" }))),
        401,
        M.unknownKey
      )
      const none = `${b64json({ alg: "none", kid: "k", typ: "JWT" })}.${b64json(claimsOf())}.`
      yield* expectFailure(service.authenticate(withHeader(none)), 401, M.invalidAlgorithm)
      yield* expectFailure(
        service.authenticate(withHeader(handMade(key, { alg: "Ed25519", kid: "k" }))),
        401,
        M.invalidAlgorithm
      )
      yield* expectFailure(service.authenticate(withHeader(handMade(key, { kid: "k" }))), 401, M.invalidAlgorithm)
      // a correctly hand-made EdDSA token passes
      yield* access(service, withHeader(handMade(key, { alg: "EdDSA", kid: "k" })))
    }))

  it.effect("signed by an unknown private key with the right kid, or tampered → 401 failed to verify", () =>
    Effect.gen(function*() {
      yield* TestClock.setTime(T0)
      const service = yield* make(keys)
      yield* expectFailure(service.authenticate(withHeader(yield* sign(other, "k"))), 401, M.verifyFailed)
      const token = yield* sign(key, "k", { permissions: ["object.read"] })
      const [h, , s] = token.split(".")
      const forged = `${h}.${b64json(claimsOf({ permissions: ALL }))}.${s}`
      yield* expectFailure(service.authenticate(withHeader(forged)), 401, M.verifyFailed)
    }))

  it.effect("the signature segment must be strict base64url (unused bits, padding, alphabet)", () =>
    Effect.gen(function*() {
      yield* TestClock.setTime(T0)
      const service = yield* make(keys)
      const token = yield* sign(key, "k")
      yield* access(service, withHeader(token))
      const flipped = flipUnusedBit(token)
      // a lenient decoder sees the same signature bytes...
      const lenient = (t: string) => Buffer.from(t.split(".")[2]!, "base64url").toString("hex")
      assert.strictEqual(lenient(flipped), lenient(token))
      // ...but the token is rejected
      yield* expectFailure(service.authenticate(withHeader(flipped)), 401, /^failed to decode token: /)
      yield* expectFailure(service.authenticate(withHeader(`${token}==`)), 401)
      yield* expectFailure(service.authenticate(withHeader(`${token.slice(0, -1)}+`)), 401)
      // header and claims segments are strict as well
      const [h, p, s] = token.split(".")
      yield* expectFailure(service.authenticate(withHeader(`${h}=.${p}.${s}`)), 401)
    }))

  it.effect("exp is required, with 60 s of leeway on the Effect clock", () =>
    Effect.gen(function*() {
      const service = yield* make(keys)
      const exp = T0_SECONDS
      const token = yield* sign(key, "k", { exp })
      yield* TestClock.setTime(T0 + 60_000)
      yield* access(service, withHeader(token))
      yield* TestClock.setTime(T0 + 60_999)
      yield* access(service, withHeader(token))
      yield* TestClock.setTime(T0 + 61_000)
      yield* expectFailure(service.authenticate(withHeader(token)), 401, /^failed to decode token: /)
      // 100 s in the past (§18 48)
      yield* TestClock.setTime(T0)
      yield* expectFailure(service.authenticate(withHeader(yield* sign(key, "k", { exp: T0_SECONDS - 100 }))), 401)
      yield* expectFailure(service.authenticate(withHeader(yield* sign(key, "k", { exp: undefined }))), 401)
    }))

  it.effect("aud/iss rules and malformed claims → 401", () =>
    Effect.gen(function*() {
      yield* TestClock.setTime(T0)
      const service = yield* make(keys)
      const ok = (extra: Record<string, unknown>) =>
        Effect.flatMap(sign(key, "k", { extra }), (t) => access(service, withHeader(t)))
      const bad = (extra: Record<string, unknown>) =>
        Effect.flatMap(sign(key, "k", { extra }), (t) => expectFailure(service.authenticate(withHeader(t)), 401))
      yield* ok({ aud: "objectstore" })
      yield* ok({ aud: ["x", "objectstore"] })
      yield* ok({ aud: 42 })
      yield* ok({ iss: "sentry" })
      yield* ok({ iss: ["foo", "relay"] })
      yield* ok({ iat: 1, nbf: T0_SECONDS + 3600, sub: "x" })
      yield* bad({ aud: "other" })
      yield* bad({ aud: ["other"] })
      yield* bad({ iss: "evil" })
      yield* bad({ iss: [] })
      yield* bad({ permissions: ["object.read", "object.admin"] })
      yield* bad({ res: { "os:usecase": "attachments", org: 123 } })
      yield* bad({ res: { org: "123" } })
      yield* bad({ permissions: "object.read" })
    }))

  it.effect("key rotation: any configured version verifies; an expired token fails even on the second version", () =>
    Effect.gen(function*() {
      yield* TestClock.setTime(T0)
      const v1 = keyPair()
      const v2 = keyPair()
      const service = yield* make({ rot: { publicKeys: [v1.publicPem, v2.publicPem], maxPermissions: ALL } })
      yield* access(service, withHeader(yield* sign(v1, "rot")))
      yield* access(service, withHeader(yield* sign(v2, "rot")))
      yield* expectFailure(service.authenticate(withHeader(yield* sign(other, "rot"))), 401, M.verifyFailed)
      yield* expectFailure(
        service.authenticate(withHeader(yield* sign(v2, "rot", { exp: T0_SECONDS - 100 }))),
        401,
        /^failed to decode token: /
      )
    }))

  it.effect("the Appendix A token verifies with the Appendix A key at its time, and expires", () =>
    Effect.gen(function*() {
      const service = yield* make({ "my-service": { publicKeys: [APPENDIX_PUBLIC], maxPermissions: ALL } })
      const scopes: Scope.Components = [["org", "42"], ["project", "1337"]]
      yield* TestClock.setTime(T0)
      yield* access(service, withHeader(APPENDIX_TOKEN), "object.delete", "attachments", scopes)
      yield* TestClock.setTime(Date.UTC(2026, 3, 20, 13, 39, 0))
      yield* access(service, withHeader(APPENDIX_TOKEN), "object.read", "attachments", scopes)
      yield* TestClock.setTime(Date.UTC(2026, 3, 20, 13, 39, 1))
      yield* expectFailure(service.authenticate(withHeader(APPENDIX_TOKEN)), 401)
    }))
})

describe("authorization (§12.5)", () => {
  const key = keyPair()

  it.effect("the matrix of §18 46", () =>
    Effect.gen(function*() {
      yield* TestClock.setTime(T0)
      const service = yield* make({ k: { publicKeys: [key.publicPem], maxPermissions: ALL } })
      const exact = withHeader(yield* sign(key, "k", { scopes: { org: "123", project: "456" } }))
      const wildcard = withHeader(yield* sign(key, "k", { scopes: { org: "123", project: "*" } }))
      const debugFiles = withHeader(yield* sign(key, "k", { usecase: "debug-files" }))
      const readOnly = withHeader(yield* sign(key, "k", { permissions: ["object.read"] }))
      const literalStar = withHeader(yield* sign(key, "k", { scopes: { org: "123", project: "*abc" } }))

      yield* access(service, exact)
      yield* access(service, wildcard)
      yield* access(service, exact, "object.read", "attachments", [["org", "123"]])
      yield* access(service, exact, "object.read", "attachments", [])
      yield* access(service, exact, "object.read", "attachments", [["project", "456"], ["org", "123"]])
      const denied = (
        info: Auth.RequestInfo,
        permission: Permission.Permission,
        usecase: string,
        scopes: Scope.Components
      ) => expectFailure(access(service, info, permission, usecase, scopes), 403, M.notAllowed)
      yield* denied(exact, "object.read", "attachments", [["org", "123"], ["project", "999"]])
      yield* denied(exact, "object.read", "attachments", [["org", "999"], ["project", "456"]])
      yield* denied(exact, "object.read", "attachments", [["org", "123"], ["project", "456"], ["extra", "1"]])
      yield* denied(wildcard, "object.read", "attachments", [["org", "999"], ["project", "456"]])
      yield* denied(debugFiles, "object.read", "attachments", ORG_PROJECT)
      yield* denied(exact, "object.read", "*", ORG_PROJECT)
      yield* denied(readOnly, "object.write", "attachments", ORG_PROJECT)
      yield* denied(readOnly, "object.delete", "attachments", ORG_PROJECT)
      yield* denied(literalStar, "object.read", "attachments", ORG_PROJECT)
      yield* access(service, literalStar, "object.read", "attachments", [["org", "123"], ["project", "*abc"]])
    }))

  it.effect("token permissions ∩ key max_permissions (§18 47); empty permissions (§18 39)", () =>
    Effect.gen(function*() {
      yield* TestClock.setTime(T0)
      const service = yield* make({
        ro: { publicKeys: [key.publicPem], maxPermissions: ["object.read"] },
        none: { publicKeys: [key.publicPem], maxPermissions: [] },
        full: { publicKeys: [key.publicPem], maxPermissions: ALL }
      })
      const full = withHeader(yield* sign(key, "ro"))
      yield* access(service, full, "object.read")
      yield* expectFailure(access(service, full, "object.write"), 403, M.notAllowed)
      yield* expectFailure(access(service, full, "object.delete"), 403, M.notAllowed)
      const noneKey = withHeader(yield* sign(key, "none"))
      yield* expectFailure(access(service, noneKey, "object.read"), 403, M.notAllowed)
      const empty = withHeader(yield* sign(key, "full", { permissions: [] }))
      yield* expectFailure(access(service, empty, "object.write"), 403, M.notAllowed)
      yield* expectFailure(access(service, empty, "object.delete"), 403, M.notAllowed)
    }))
})

describe("evaluated, not enforced", () => {
  const key = keyPair()

  it.effect("failures are logged (without the token) and the request proceeds", () =>
    Effect.gen(function*() {
      yield* TestClock.setTime(T0)
      const logs: Array<{ level: string; message: string; annotations: string }> = []
      const capture = Logger.make(({ annotations, logLevel, message }) => {
        logs.push({ level: logLevel.label, message: String(message), annotations: JSON.stringify([...annotations]) })
      })
      const service = yield* make({ k: { publicKeys: [key.publicPem], maxPermissions: ["object.read"] } }, false)
      const token = yield* sign(keyPair(), "k")
      const run = <A, E>(effect: Effect.Effect<A, E>) => Effect.provide(effect, Logger.add(capture))
      yield* run(access(service, request(), "object.write"))
      yield* run(access(service, withHeader(token), "object.delete"))
      const good = yield* sign(key, "k")
      yield* run(access(service, withHeader(good), "object.write", "elsewhere", []))
      yield* run(access(service, request({ method: "DELETE", rawQuery: "os_sig=x" }), "object.delete"))
      yield* run(access(service, withHeader(good), "object.read"))
      assert.strictEqual(logs.length, 4, JSON.stringify(logs))
      assert.isTrue(logs.every((log) => log.level === "WARN"))
      assert.match(logs[0]!.annotations, /No authorization token provided/)
      assert.match(logs[1]!.annotations, /failed to verify token/)
      assert.match(logs[2]!.annotations, /operation not allowed/)
      assert.match(logs[3]!.annotations, /not supported for this method/)
      for (const log of logs) {
        assert.notInclude(log.message + log.annotations, token.split(".")[2]!)
        assert.notInclude(log.message + log.annotations, good.split(".")[2]!)
      }
    }))
})

describe("pre-signed URLs (§13.4)", () => {
  const key = keyPair()
  const stranger = keyPair()
  const noRead = keyPair()
  const keys = {
    "my-service": { publicKeys: [appendixKey.publicPem], maxPermissions: ALL },
    rotating: { publicKeys: [stranger.publicPem, key.publicPem], maxPermissions: ALL },
    "write-only": { publicKeys: [noRead.publicPem], maxPermissions: ["object.write", "object.delete"] as const }
  }

  const EXAMPLE_PATH = "/v1/objects/attachments/org=42;project=1337/reports/2024%20Q1.pdf"
  const EXAMPLE_QUERY =
    "os_kid=my-service&os_timestamp=2026-04-20T13:37:00Z&os_duration=3600&os_sig=dq4AntczDf_2SBkT3GKrZaCb1tuLFJWpxevGC82yxberiTpAH_XVwkxxZtiTQrT1nQRyO2Ll6fOpJncCki_WAQ"

  const formatTimestamp = (millis: number) => new Date(millis).toISOString().replace(/\.\d{3}Z$/, "Z")

  /** Signs like a client (§13.3): `os_kid`, `os_timestamp`, `os_duration`, then `os_sig`. */
  const presign = (
    signer: KeyPair,
    options: { kid?: string; at?: number; duration?: number; method?: string; path?: string; extra?: string } = {}
  ) => {
    const path = options.path ?? OBJECT_PATH
    const query = `os_kid=${options.kid ?? "rotating"}&os_timestamp=${formatTimestamp(options.at ?? T0)}&os_duration=${
      options.duration ?? 3600
    }${options.extra ?? ""}`
    const canonical = Presign.canonicalForm(options.method ?? "GET", path, query)
    const signature = Base64Url.encode(crypto.sign(null, Buffer.from(canonical), signer.privateKey))
    return { path, query: `${query}&os_sig=${signature}`, signature }
  }

  const presigned = (url: { path: string; query: string }, method = "GET", headers: Record<string, string> = {}) =>
    request({ method, rawPath: url.path, rawQuery: url.query, headers })

  it.effect("the §13.5 worked example verifies for GET and HEAD within its window (§18 50, 59)", () =>
    Effect.gen(function*() {
      const service = yield* make(keys)
      const example = { path: EXAMPLE_PATH, query: EXAMPLE_QUERY }
      for (const at of [T0, T0 - 60_000, T0 + 3600_000]) {
        yield* TestClock.setTime(at)
        yield* access(service, presigned(example, "GET"), "object.read", "attachments", [["org", "42"]])
        yield* access(service, presigned(example, "HEAD"))
      }
      // authorized for read on whatever the path names (no scope check), nothing else
      yield* TestClock.setTime(T0)
      yield* access(service, presigned(example), "object.read", "other-usecase", [["org", "1"]])
      yield* expectFailure(access(service, presigned(example), "object.write"), 403, M.notAllowed)
      yield* expectFailure(access(service, presigned(example), "object.delete"), 403, M.notAllowed)
      for (const at of [T0 - 60_001, T0 + 3600_001]) {
        yield* TestClock.setTime(at)
        yield* expectFailure(service.authenticate(presigned(example)), 401, M.presignExpired)
      }
    }))

  it.effect("generated URLs verify with any key version; tokens are ignored for pre-signed requests", () =>
    Effect.gen(function*() {
      yield* TestClock.setTime(T0)
      const service = yield* make(keys)
      yield* access(service, presigned(presign(key)))
      yield* access(service, presigned(presign(key, { method: "HEAD" }), "GET"))
      yield* access(service, presigned(presign(stranger)))
      // a valid token does not rescue a bad pre-signed URL, and a garbage token does not spoil a good one
      const token = yield* Effect.promise(() =>
        new SignJWT(claimsOf()).setProtectedHeader({ alg: "EdDSA", kid: "rotating" }).sign(key.privateKey)
      )
      const bad = presign(key, { duration: 10 * 86400 })
      yield* expectFailure(service.authenticate(presigned(bad, "GET", { "x-os-auth": `Bearer ${token}` })), 400)
      yield* access(service, presigned(presign(key), "GET", { "x-os-auth": "Bearer garbage" }))
    }))

  it.effect("method other than GET/HEAD → 403 (§18 51)", () =>
    Effect.gen(function*() {
      yield* TestClock.setTime(T0)
      const service = yield* make(keys)
      for (const method of ["PUT", "DELETE", "POST"]) {
        yield* expectFailure(service.authenticate(presigned(presign(key, { method }), method)), 403, M.presignMethod)
      }
      // the method check comes first, even with broken parameters
      yield* expectFailure(service.authenticate(request({ method: "PUT", rawQuery: "os_sig=x" })), 403, M.presignMethod)
    }))

  it.effect("last character of os_sig changed → 401, including unused-bit-only changes like A→B (§18 52)", () =>
    Effect.gen(function*() {
      yield* TestClock.setTime(T0)
      const service = yield* make(keys)
      // the worked example ends in Q: Q→R only touches unused bits
      const example = { path: EXAMPLE_PATH, query: flipUnusedBit(EXAMPLE_QUERY) }
      assert.isTrue(example.query.endsWith("WAR"))
      yield* expectFailure(service.authenticate(presigned(example)), 401, M.presignSignature)
      // find a URL whose signature ends in A, and change it to B
      let url = presign(key)
      for (let duration = 1; !url.signature.endsWith("A"); duration++) url = presign(key, { duration })
      const toB = { path: url.path, query: url.query.slice(0, -1) + "B" }
      assert.strictEqual(
        Buffer.from(toB.query.split("os_sig=")[1]!, "base64url").toString("hex"),
        Buffer.from(url.signature, "base64url").toString("hex")
      )
      yield* access(service, presigned(url))
      yield* expectFailure(service.authenticate(presigned(toB)), 401, M.presignSignature)
      // a data-carrying change, padding, an empty signature
      yield* expectFailure(
        service.authenticate(presigned({ path: url.path, query: url.query.slice(0, -1) + "g" })),
        401
      )
      yield* expectFailure(service.authenticate(presigned({ path: url.path, query: `${url.query}==` })), 401)
      const empty = { path: url.path, query: url.query.replace(/os_sig=.*$/, "os_sig=") }
      yield* expectFailure(service.authenticate(presigned(empty)), 401, M.presignSignature)
    }))

  it.effect("unregistered key, tampered path or query → 401 (§18 53)", () =>
    Effect.gen(function*() {
      yield* TestClock.setTime(T0)
      const service = yield* make(keys)
      yield* expectFailure(service.authenticate(presigned(presign(keyPair()))), 401, M.presignSignature)
      yield* expectFailure(service.authenticate(presigned(presign(key, { kid: "nobody" }))), 401, M.unknownKey)
      const url = presign(key)
      yield* expectFailure(service.authenticate(presigned({ ...url, path: `${url.path}2` })), 401, M.presignSignature)
      yield* expectFailure(service.authenticate(presigned({ ...url, query: `${url.query}&x=1` })), 401)
      // extra parameters that were signed are fine
      yield* access(service, presigned(presign(key, { extra: "&x=1" })))
    }))

  it.effect("time window: 2 h ago with 1 h validity → 401, 30 s in the future → ok, 8 days → 400 (§18 54–56)", () =>
    Effect.gen(function*() {
      yield* TestClock.setTime(T0)
      const service = yield* make(keys)
      yield* expectFailure(
        service.authenticate(presigned(presign(key, { at: T0 - 7200_000, duration: 3600 }))),
        401,
        M.presignExpired
      )
      yield* access(service, presigned(presign(key, { at: T0 + 30_000 })))
      yield* expectFailure(service.authenticate(presigned(presign(key, { at: T0 + 61_000 }))), 401, M.presignExpired)
      yield* expectFailure(
        service.authenticate(presigned(presign(key, { duration: 8 * 86400 }))),
        400,
        M.presignDuration
      )
      yield* access(service, presigned(presign(key, { duration: 7 * 86400 })))
      // the duration check comes before the kid's signature is looked at
      yield* expectFailure(
        service.authenticate(presigned(presign(keyPair(), { duration: 8 * 86400 }))),
        400,
        M.presignDuration
      )
    }))

  it.effect("a key without object.read → 403 (§18 58)", () =>
    Effect.gen(function*() {
      yield* TestClock.setTime(T0)
      const service = yield* make(keys)
      yield* expectFailure(service.authenticate(presigned(presign(noRead, { kid: "write-only" }))), 403, M.notAllowed)
    }))

  it.effect("missing, repeated or unparsable parameters → 400; unknown kid → 401", () =>
    Effect.gen(function*() {
      yield* TestClock.setTime(T0)
      const service = yield* make(keys)
      const url = presign(key)
      for (
        const query of [
          "os_sig=abc",
          url.query.replace("os_kid=rotating&", ""),
          url.query.replace("os_duration=3600", "os_duration=abc"),
          url.query.replace("os_duration=3600", "os_duration=-1"),
          url.query.replace(/os_timestamp=[^&]*/, "os_timestamp=yesterday"),
          `${url.query}&os_kid=rotating`,
          `${url.query}&os_sig=abc`
        ]
      ) {
        yield* expectFailure(service.authenticate(presigned({ path: url.path, query })), 400, M.presignParams)
      }
      yield* expectFailure(
        service.authenticate(presigned({ path: url.path, query: url.query.replace("os_kid=rotating", "os_kid=x") })),
        401,
        M.unknownKey
      )
    }))

  it.effect("only a parameter named exactly os_sig makes a request pre-signed (§12.1)", () =>
    Effect.gen(function*() {
      yield* TestClock.setTime(T0)
      const service = yield* make(keys)
      yield* expectFailure(service.authenticate(request({ rawQuery: "OS_SIG=x" })), 400, M.noToken)
      yield* expectFailure(service.authenticate(request({ rawQuery: "os%5Fsig=x" })), 400, M.noToken)
      yield* expectFailure(service.authenticate(request({ rawQuery: "os_sig" })), 400, M.presignParams)
    }))
})
