import { assert, describe, it } from "@effect/vitest"
import * as Auth from "@objectstore/client/Auth"
import * as jwt from "@objectstore/client/internal/jwt"
import * as Config from "effect/Config"
import * as ConfigProvider from "effect/ConfigProvider"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as Redacted from "effect/Redacted"
import * as TestClock from "effect/TestClock"
import { jwtVerify } from "jose"
import { createPublicKey, generateKeyPairSync, verify } from "node:crypto"

// PROTOCOL Appendix A.1 (test key, seed 0x42 × 32) and §12.3 (example token).
const PRIVATE_KEY = `-----BEGIN PRIVATE KEY-----
MC4CAQAwBQYDK2VwBCIEIEJCQkJCQkJCQkJCQkJCQkJCQkJCQkJCQkJCQkJCQkJC
-----END PRIVATE KEY-----
`
const PUBLIC_KEY = `-----BEGIN PUBLIC KEY-----
MCowBQYDK2VwAyEAIVL40Zt5HSRFMkLhXy6rbLfP+ntqXtMAl5YOBpiB2xI=
-----END PUBLIC KEY-----
`
const EXAMPLE_TOKEN = "eyJhbGciOiJFZERTQSIsImtpZCI6Im15LXNlcnZpY2UiLCJ0eXAiOiJKV1QifQ" +
  ".eyJyZXMiOnsib3M6dXNlY2FzZSI6ImF0dGFjaG1lbnRzIiwib3JnIjoiNDIiLCJwcm9qZWN0IjoiMTMzNyJ9LCJwZXJtaXNzaW9ucyI6WyJvYmplY3QucmVhZCIsIm9iamVjdC53cml0ZSIsIm9iamVjdC5kZWxldGUiXSwiZXhwIjoxNzc2NjkyMjgwfQ" +
  ".PIwQ1RW8PsdLyvrVT6TnrJTgQ509teNM4m8jL_jEw70LAPOpNkjfrgHl5hx4nDtALkvNkwTKdVg5yJ3q_DEaDg"
const EXAMPLE_EXP = 1776692280

const grant: Auth.Grant = { usecase: "attachments", scope: [["org", "42"], ["project", "1337"]] }
const options: Auth.SecretKeyOptions = { kid: "my-service", privateKey: Redacted.make(PRIVATE_KEY) }

const decodePart = (token: string, index: number): string =>
  Buffer.from(token.split(".")[index]!, "base64url").toString("utf8")
const claimsOf = (token: Redacted.Redacted<string>) => JSON.parse(decodePart(Redacted.value(token), 1))

/** The clock such that `now + 60 s` is the example's `exp`. */
/** Tokens the Python client 0.2.0 makes for these grants (PyJWT payload via json.dumps; see PROTOCOL Appendix A.2). */
const SCOPE_ORDER_VECTORS: ReadonlyArray<readonly [Auth.Grant["scope"], string]> = [
  [
    [["2", "x"], ["org", "1"]],
    "eyJhbGciOiJFZERTQSIsImtpZCI6Im15LXNlcnZpY2UiLCJ0eXAiOiJKV1QifQ.eyJyZXMiOnsib3M6dXNlY2FzZSI6ImF0dGFjaG1lbnRzIiwiMiI6IngiLCJvcmciOiIxIn0sInBlcm1pc3Npb25zIjpbIm9iamVjdC5yZWFkIl0sImV4cCI6MTc3NjY5MjI4MH0.uFQ0eGv8EfLtROeJ2VpCFNhxFIHOP-uc5RgCIyB7BTBFfVJq-k4MxrqkQDc6XzKldH3o88e3EaBHo1pJWYBtCA"
  ],
  [
    [["10", "a"], ["2", "b"]],
    "eyJhbGciOiJFZERTQSIsImtpZCI6Im15LXNlcnZpY2UiLCJ0eXAiOiJKV1QifQ.eyJyZXMiOnsib3M6dXNlY2FzZSI6ImF0dGFjaG1lbnRzIiwiMTAiOiJhIiwiMiI6ImIifSwicGVybWlzc2lvbnMiOlsib2JqZWN0LnJlYWQiXSwiZXhwIjoxNzc2NjkyMjgwfQ.2zQFgLkNLDlWLjRka0cNKDgA_lYWMGE4caWD94fZN-8fTUhlK8uW0Z7GCzi8eV1v151U92gViowOtAbdmVAaAA"
  ]
]

const setExampleTime = TestClock.setTime((EXAMPLE_EXP - 60) * 1000)

const getToken = (service: Auth.Service, g: Auth.Grant) =>
  Effect.flatMap(service.token(g), (token) =>
    Option.match(token, {
      onNone: () => Effect.dieMessage("expected a token"),
      onSome: Effect.succeed
    }))

/** A secret-key service that counts signatures. */
const counted = (opts: Auth.SecretKeyOptions = options) =>
  Effect.gen(function*() {
    const counter = { signed: 0 }
    const { service, signer } = yield* jwt.makeSecretKey(opts, { onSign: () => counter.signed++ })
    return { counter, service, signer }
  })

describe("Auth.layerSecretKey", () => {
  it.effect("reproduces the PROTOCOL §12.3 example token byte for byte", () =>
    Effect.gen(function*() {
      yield* setExampleTime
      const auth = yield* Auth.Auth
      const token = yield* getToken(auth, grant)
      assert.strictEqual(Redacted.value(token), EXAMPLE_TOKEN)
      assert.strictEqual(decodePart(EXAMPLE_TOKEN, 0), `{"alg":"EdDSA","kid":"my-service","typ":"JWT"}`)
      // mint with the same grant and the default expiry gives the same bytes.
      const signer = Option.getOrThrow(auth.signer)
      assert.strictEqual(Redacted.value(yield* signer.mint(grant)), EXAMPLE_TOKEN)
      assert.strictEqual(signer.kid, "my-service")
      assert.deepStrictEqual(signer.permissions, ["object.read", "object.write", "object.delete"])
    }).pipe(Effect.provide(Auth.layerSecretKey(options))))

  it.effect("scopes with integer-like names keep their order: the Python client's bytes (Appendix A.2 vectors)", () =>
    Effect.gen(function*() {
      yield* setExampleTime
      const signer = Option.getOrThrow((yield* Auth.Auth).signer)
      for (const [scope, expected] of SCOPE_ORDER_VECTORS) {
        const token = yield* signer.mint({ usecase: "attachments", scope, permissions: ["object.read"] })
        assert.strictEqual(Redacted.value(token), expected, JSON.stringify(scope))
      }
    }).pipe(Effect.provide(Auth.layerSecretKey(options))))

  it.effect("tokens verify with the public key (jose) and carry the grant", () =>
    Effect.gen(function*() {
      yield* setExampleTime
      const auth = yield* Auth.Auth
      const token = yield* getToken(auth, { ...grant, permissions: ["object.read"] })
      const { payload, protectedHeader } = yield* Effect.promise(() =>
        jwtVerify(Redacted.value(token), createPublicKey(PUBLIC_KEY), {
          currentDate: new Date((EXAMPLE_EXP - 30) * 1000),
          algorithms: ["EdDSA"]
        })
      )
      assert.deepStrictEqual(protectedHeader, { alg: "EdDSA", kid: "my-service", typ: "JWT" })
      assert.deepStrictEqual(payload, {
        res: { "os:usecase": "attachments", org: "42", project: "1337" },
        permissions: ["object.read"],
        exp: EXAMPLE_EXP
      })
    }).pipe(Effect.provide(Auth.layerSecretKey(options))))

  it.effect("exp is now + expiry in whole seconds (configurable expiry)", () =>
    Effect.gen(function*() {
      yield* TestClock.setTime(1_000_000_500) // 1_000_000.5 s
      const auth = yield* Auth.makeSecretKey({ ...options, expiry: "5 minutes" })
      const token = yield* getToken(auth, grant)
      assert.strictEqual(claimsOf(token).exp, 1_000_000 + 300)
    }))

  it.effect("caches a token per grant while fresh, then signs a new one", () =>
    Effect.gen(function*() {
      yield* setExampleTime
      const { counter, service } = yield* counted()
      const first = yield* getToken(service, grant)
      yield* TestClock.adjust("30 seconds")
      const second = yield* getToken(service, grant)
      assert.strictEqual(Redacted.value(second), Redacted.value(first))
      assert.strictEqual(counter.signed, 1)
      // 45 s after signing only 15 s of the 60 s remain: that is the refresh margin (max(60/4, 10) s).
      yield* TestClock.adjust("14 seconds")
      assert.strictEqual(Redacted.value(yield* getToken(service, grant)), Redacted.value(first))
      yield* TestClock.adjust("1 second")
      const refreshed = yield* getToken(service, grant)
      assert.notStrictEqual(Redacted.value(refreshed), Redacted.value(first))
      assert.strictEqual(claimsOf(refreshed).exp, EXAMPLE_EXP + 45)
      assert.strictEqual(counter.signed, 2)
    }))

  it.effect("a short expiry is refreshed with a 10 s margin", () =>
    Effect.gen(function*() {
      yield* TestClock.setTime(0)
      const { counter, service } = yield* counted({ ...options, expiry: "20 seconds" })
      yield* getToken(service, grant)
      yield* TestClock.adjust("9 seconds")
      yield* getToken(service, grant)
      assert.strictEqual(counter.signed, 1)
      yield* TestClock.adjust("1 second")
      yield* getToken(service, grant)
      assert.strictEqual(counter.signed, 2)
    }))

  it.effect("concurrent requests for the same grant sign once", () =>
    Effect.gen(function*() {
      yield* setExampleTime
      const { counter, service } = yield* counted()
      const tokens = yield* Effect.all(Array.from({ length: 50 }, () => getToken(service, grant)), {
        concurrency: "unbounded"
      })
      assert.strictEqual(counter.signed, 1)
      assert.strictEqual(new Set(tokens.map(Redacted.value)).size, 1)
    }))

  it.effect("different grants get different tokens", () =>
    Effect.gen(function*() {
      yield* setExampleTime
      const { counter, service } = yield* counted()
      const grants: ReadonlyArray<Auth.Grant> = [
        grant,
        { ...grant, usecase: "debug-files" },
        { usecase: "attachments", scope: [["org", "42"]] },
        { usecase: "attachments", scope: [["org", "42"], ["project", "1338"]] },
        { usecase: "attachments", scope: [["project", "1337"], ["org", "42"]] },
        { usecase: "attachments", scope: [] },
        { ...grant, permissions: ["object.read"] },
        { ...grant, permissions: ["object.write", "object.read"] }
      ]
      const tokens = yield* Effect.forEach(grants, (g) => getToken(service, g))
      assert.strictEqual(new Set(tokens.map(Redacted.value)).size, grants.length)
      assert.strictEqual(counter.signed, grants.length)
      assert.deepStrictEqual(claimsOf(tokens[4]!).res, { "os:usecase": "attachments", project: "1337", org: "42" })
      assert.deepStrictEqual(claimsOf(tokens[5]!).res, { "os:usecase": "attachments" })
      assert.deepStrictEqual(claimsOf(tokens[7]!).permissions, ["object.write", "object.read"])
      // and each is cached on its own
      yield* Effect.forEach(grants, (g) => getToken(service, g))
      assert.strictEqual(counter.signed, grants.length)
    }))

  it.effect("the cache is bounded (least recently used grants are signed again)", () =>
    Effect.gen(function*() {
      yield* setExampleTime
      const { counter, service } = yield* counted()
      const nth = (i: number): Auth.Grant => ({ usecase: "attachments", scope: [["org", String(i)]] })
      yield* Effect.forEach(Array.from({ length: jwt.CACHE_SIZE + 1 }, (_, i) => i), (i) => getToken(service, nth(i)))
      assert.strictEqual(counter.signed, jwt.CACHE_SIZE + 1)
      yield* getToken(service, nth(jwt.CACHE_SIZE)) // most recent: cached
      assert.strictEqual(counter.signed, jwt.CACHE_SIZE + 1)
      yield* getToken(service, nth(0)) // evicted: signed again
      assert.strictEqual(counter.signed, jwt.CACHE_SIZE + 2)
    }))

  it.effect("token and mint reject permissions the key does not hold", () =>
    Effect.gen(function*() {
      yield* setExampleTime
      const { counter, service, signer } = yield* counted({ ...options, permissions: ["object.read"] })
      const readOnly = yield* getToken(service, grant)
      assert.deepStrictEqual(claimsOf(readOnly).permissions, ["object.read"])
      const tokenError = yield* Effect.flip(service.token({ ...grant, permissions: ["object.write"] }))
      assert.strictEqual(tokenError.reason, "Signing")
      const mintError = yield* Effect.flip(signer.mint({ ...grant, permissions: ["object.read", "object.delete"] }))
      assert.strictEqual(mintError._tag, "AuthError")
      assert.strictEqual(mintError.reason, "Signing")
      assert.include(mintError.message, "object.delete")
      assert.strictEqual(counter.signed, 1)
    }))

  it.effect("mint honours expiresIn and is never cached", () =>
    Effect.gen(function*() {
      yield* setExampleTime
      const { counter, signer } = yield* counted()
      const minted = yield* signer.mint({ ...grant, permissions: ["object.read"], expiresIn: "10 minutes" })
      assert.deepStrictEqual(claimsOf(minted), {
        res: { "os:usecase": "attachments", org: "42", project: "1337" },
        permissions: ["object.read"],
        exp: EXAMPLE_EXP - 60 + 600
      })
      // Fractions of a second round up.
      const short = yield* signer.mint({ ...grant, expiresIn: "1500 millis" })
      assert.strictEqual(claimsOf(short).exp, EXAMPLE_EXP - 60 + 2)
      yield* signer.mint(grant)
      yield* signer.mint(grant)
      assert.strictEqual(counter.signed, 4)
      const error = yield* Effect.flip(signer.mint({ ...grant, expiresIn: 0 }))
      assert.strictEqual(error.reason, "Signing")
    }))

  it.effect("sign produces raw Ed25519 signatures that verify with the public key", () =>
    Effect.gen(function*() {
      const auth = yield* Auth.Auth
      const signer = Option.getOrThrow(auth.signer)
      // PROTOCOL §13.5: the canonical form of the worked pre-signed URL and its signature.
      const canonical = "GET\n/v1/objects/attachments/org=42;project=1337/reports/2024%20Q1.pdf\n" +
        "os_duration=3600&os_kid=my-service&os_timestamp=2026-04-20T13:37:00Z"
      const signature = yield* signer.sign(new TextEncoder().encode(canonical))
      assert.strictEqual(signature.length, 64)
      assert.strictEqual(
        Buffer.from(signature).toString("base64url"),
        "dq4AntczDf_2SBkT3GKrZaCb1tuLFJWpxevGC82yxberiTpAH_XVwkxxZtiTQrT1nQRyO2Ll6fOpJncCki_WAQ"
      )
      assert.isTrue(verify(null, Buffer.from(canonical), PUBLIC_KEY, signature))
      assert.isFalse(verify(null, Buffer.from(canonical + "x"), PUBLIC_KEY, signature))
    }).pipe(Effect.provide(Auth.layerSecretKey(options))))

  it.effect("a bad key fails with AuthError (Signing) that never shows the key", () =>
    Effect.gen(function*() {
      const secret = "c2VjcmV0LWtleS1tYXRlcmlhbC10aGF0LW11c3Qtbm90LWxlYWs"
      const rsa = generateKeyPairSync("rsa", { modulusLength: 1024 }).privateKey.export({
        type: "pkcs8",
        format: "pem"
      }) as string
      const bad = [
        `-----BEGIN PRIVATE KEY-----\n${secret}\n-----END PRIVATE KEY-----\n`,
        secret,
        "",
        rsa,
        PUBLIC_KEY
      ]
      for (const pem of bad) {
        const exit = yield* Effect.exit(
          Layer.build(Auth.layerSecretKey({ ...options, privateKey: Redacted.make(pem) }))
        )
        assert.isTrue(Exit.isFailure(exit))
        const error = yield* Effect.flip(exit)
        assert.strictEqual(error._tag, "AuthError")
        assert.strictEqual(error.reason, "Signing")
        for (const text of [error.message, String(error), JSON.stringify(error), String(exit)]) {
          assert.notInclude(text, secret)
          assert.notInclude(text, "MC4CAQAw")
          const body = pem.split("\n").filter((line) => !line.startsWith("-----")).join("")
          if (body.length > 0) assert.notInclude(text, body.slice(0, 40))
        }
      }
    }).pipe(Effect.scoped))

  it.effect("rejects an empty kid and a non-positive expiry", () =>
    Effect.gen(function*() {
      const noKid = yield* Effect.flip(Auth.makeSecretKey({ ...options, kid: "" }))
      assert.strictEqual(noKid.reason, "Signing")
      const zero = yield* Effect.flip(Auth.makeSecretKey({ ...options, expiry: 0 }))
      assert.strictEqual(zero.reason, "Signing")
    }))

  it.effect("tokens are Redacted", () =>
    Effect.gen(function*() {
      yield* setExampleTime
      const auth = yield* Auth.Auth
      const token = yield* getToken(auth, grant)
      assert.notInclude(String(token), "eyJ")
      assert.notInclude(JSON.stringify({ token }), "eyJ")
    }).pipe(Effect.provide(Auth.layerSecretKey(options))))
})

describe("Auth.layerSecretKeyConfig", () => {
  it.effect("reads kid, a redacted key, permissions and expiry from Config", () =>
    Effect.gen(function*() {
      yield* setExampleTime
      const auth = yield* Auth.Auth
      const token = yield* getToken(auth, grant)
      assert.deepStrictEqual(claimsOf(token).permissions, ["object.read", "object.write"])
      assert.strictEqual(claimsOf(token).exp, EXAMPLE_EXP - 60 + 120)
    }).pipe(
      Effect.provide(
        Auth.layerSecretKeyConfig({
          kid: Config.string("KID"),
          privateKey: Config.redacted("PRIVATE_KEY"),
          permissions: Config.array(Config.literal("object.read", "object.write", "object.delete")(), "PERMISSIONS"),
          expiry: Config.duration("EXPIRY")
        }).pipe(
          Layer.provide(Layer.setConfigProvider(ConfigProvider.fromMap(
            new Map([
              ["KID", "my-service"],
              ["PRIVATE_KEY", PRIVATE_KEY],
              ["PERMISSIONS", "object.read,object.write"],
              ["EXPIRY", "2 minutes"]
            ])
          )))
        )
      )
    ))

  it.effect("a missing key is a ConfigError", () =>
    Effect.gen(function*() {
      const exit = yield* Effect.exit(
        Layer.build(Auth.layerSecretKeyConfig({ kid: Config.string("KID"), privateKey: Config.redacted("NOPE") })).pipe(
          Effect.withConfigProvider(ConfigProvider.fromMap(new Map([["KID", "k"]])))
        )
      )
      const error = yield* Effect.flip(exit)
      assert.notStrictEqual(error._tag, "AuthError")
    }).pipe(Effect.scoped))
})

describe("Auth.layerToken, layerTokenConfig, layerNone", () => {
  it.effect("layerToken sends the same token for every grant and has no signer", () =>
    Effect.gen(function*() {
      const auth = yield* Auth.Auth
      const a = yield* getToken(auth, grant)
      const b = yield* getToken(auth, { usecase: "other", scope: [], permissions: ["object.read"] })
      assert.strictEqual(Redacted.value(a), "static.jwt.token")
      assert.strictEqual(Redacted.value(b), "static.jwt.token")
      assert.isTrue(Option.isNone(auth.signer))
    }).pipe(Effect.provide(Auth.layerToken(Redacted.make("static.jwt.token")))))

  it.effect("layerTokenConfig reads the token from Config", () =>
    Effect.gen(function*() {
      const auth = yield* Auth.Auth
      assert.strictEqual(Redacted.value(yield* getToken(auth, grant)), "from-config")
    }).pipe(
      Effect.provide(Auth.layerTokenConfig(Config.redacted("TOKEN"))),
      Effect.withConfigProvider(ConfigProvider.fromMap(new Map([["TOKEN", "from-config"]])))
    ))

  it.effect("layerNone sends no token", () =>
    Effect.gen(function*() {
      const auth = yield* Auth.Auth
      assert.isTrue(Option.isNone(yield* auth.token(grant)))
      assert.isTrue(Option.isNone(auth.signer))
    }).pipe(Effect.provide(Auth.layerNone)))
})
