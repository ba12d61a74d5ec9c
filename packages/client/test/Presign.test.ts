/**
 * Pre-signed URLs, object URLs and minted tokens on the client, without a server: the Appendix A / §12.3 / §13.5
 * vectors byte for byte under TestClock, the §18 item 35 URL forms, and every local refusal (§18 item 57).
 */
import * as HttpClient from "@effect/platform/HttpClient"
import { assert, describe, it } from "@effect/vitest"
import * as Auth from "@objectstore/client/Auth"
import * as Compression from "@objectstore/client/Compression"
import * as Metrics from "@objectstore/client/Metrics"
import * as ObjectstoreClient from "@objectstore/client/ObjectstoreClient"
import * as Scope from "@objectstore/client/Scope"
import type * as Session from "@objectstore/client/Session"
import * as Tokens from "@objectstore/client/Tokens"
import * as Usecase from "@objectstore/client/Usecase"
import * as Base64Url from "@objectstore/protocol/Base64Url"
import * as Presign from "@objectstore/protocol/Presign"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Redacted from "effect/Redacted"
import * as TestClock from "effect/TestClock"
import * as crypto from "node:crypto"

// Appendix A.1
const PRIVATE_PEM = `-----BEGIN PRIVATE KEY-----
MC4CAQAwBQYDK2VwBCIEIEJCQkJCQkJCQkJCQkJCQkJCQkJCQkJCQkJCQkJCQkJC
-----END PRIVATE KEY-----
`
const PUBLIC_PEM = `-----BEGIN PUBLIC KEY-----
MCowBQYDK2VwAyEAIVL40Zt5HSRFMkLhXy6rbLfP+ntqXtMAl5YOBpiB2xI=
-----END PUBLIC KEY-----
`
// §13.5
const SIGNING_TIME = Date.UTC(2026, 3, 20, 13, 37, 0)
const VECTOR_KEY = "reports/2024 Q1.pdf"
const VECTOR_PATH = "/v1/objects/attachments/org=42;project=1337/reports/2024%20Q1.pdf"
const VECTOR_QUERY = "os_kid=my-service&os_timestamp=2026-04-20T13:37:00Z&os_duration=3600"
const VECTOR_CANONICAL =
  "GET\n/v1/objects/attachments/org=42;project=1337/reports/2024%20Q1.pdf\nos_duration=3600&os_kid=my-service&os_timestamp=2026-04-20T13:37:00Z"
const VECTOR_SIGNATURE = "dq4AntczDf_2SBkT3GKrZaCb1tuLFJWpxevGC82yxberiTpAH_XVwkxxZtiTQrT1nQRyO2Ll6fOpJncCki_WAQ"
const VECTOR_URL =
  "http://localhost:8888/v1/objects/attachments/org=42;project=1337/reports/2024%20Q1.pdf?os_kid=my-service&os_timestamp=2026-04-20T13:37:00Z&os_duration=3600&os_sig=dq4AntczDf_2SBkT3GKrZaCb1tuLFJWpxevGC82yxberiTpAH_XVwkxxZtiTQrT1nQRyO2Ll6fOpJncCki_WAQ"
// §12.3
const VECTOR_TOKEN =
  "eyJhbGciOiJFZERTQSIsImtpZCI6Im15LXNlcnZpY2UiLCJ0eXAiOiJKV1QifQ.eyJyZXMiOnsib3M6dXNlY2FzZSI6ImF0dGFjaG1lbnRzIiwib3JnIjoiNDIiLCJwcm9qZWN0IjoiMTMzNyJ9LCJwZXJtaXNzaW9ucyI6WyJvYmplY3QucmVhZCIsIm9iamVjdC53cml0ZSIsIm9iamVjdC5kZWxldGUiXSwiZXhwIjoxNzc2NjkyMjgwfQ.PIwQ1RW8PsdLyvrVT6TnrJTgQ509teNM4m8jL_jEw70LAPOpNkjfrgHl5hx4nDtALkvNkwTKdVg5yJ3q_DEaDg"

/** No test here may reach the network: every request dies. */
const NoHttp = Layer.succeed(
  HttpClient.HttpClient,
  HttpClient.make((request) => Effect.dieMessage(`unexpected request ${request.method} ${request.url}`))
)

const secretKey = (permissions?: Auth.SecretKeyOptions["permissions"]) =>
  Auth.layerSecretKey({ kid: "my-service", privateKey: Redacted.make(PRIVATE_PEM), permissions })

const session = (
  options: {
    readonly baseUrl?: string
    readonly auth?: Layer.Layer<Auth.Auth, any>
    readonly scope?: Scope.Scope
    readonly usecase?: string
  } = {}
): Effect.Effect<Session.Service, any> =>
  Effect.gen(function*() {
    const client = yield* ObjectstoreClient.ObjectstoreClient
    return yield* client.session(
      Usecase.make(options.usecase ?? "attachments"),
      options.scope ?? Scope.make({ org: 42, project: 1337 })
    )
  }).pipe(
    Effect.provide(
      ObjectstoreClient.layer({ baseUrl: options.baseUrl ?? "http://localhost:8888" }).pipe(
        Layer.provide(Layer.mergeAll(NoHttp, Compression.layer, Metrics.layerNoop, options.auth ?? secretKey()))
      )
    )
  )

const decodeJwt = (token: string) => {
  const [header, claims, signature] = token.split(".")
  const json = (part: string) => JSON.parse(Buffer.from(part, "base64url").toString("utf8"))
  return { header: json(header!), claims: json(claims!), signature: signature! }
}

describe("pre-signed URLs: Appendix A vectors", () => {
  it.effect("§13.5: the URL (and so canonical form and signature) is byte for byte the vector", () =>
    Effect.gen(function*() {
      yield* TestClock.setTime(SIGNING_TIME)
      const s = yield* session()
      assert.strictEqual(yield* s.presignedUrl("GET", VECTOR_KEY, "3600 seconds"), VECTOR_URL)
      // default duration is 1 hour
      assert.strictEqual(yield* s.presignedUrl("GET", VECTOR_KEY), VECTOR_URL)
      // HEAD signs the GET canonical form: the same URL
      assert.strictEqual(yield* s.presignedUrl("HEAD", VECTOR_KEY, "1 hour"), VECTOR_URL)
    }))

  it.effect("the URL's parts are the vector's canonical form and a signature the public key verifies", () =>
    Effect.gen(function*() {
      yield* TestClock.setTime(SIGNING_TIME + 999) // fractions of a second are dropped
      const s = yield* session()
      const url = yield* s.presignedUrl("GET", VECTOR_KEY)
      const [target, query] = url.slice("http://localhost:8888".length).split("?") as [string, string]
      assert.strictEqual(target, VECTOR_PATH)
      assert.strictEqual(query, `${VECTOR_QUERY}&os_sig=${VECTOR_SIGNATURE}`)
      assert.strictEqual(Presign.canonicalForm("GET", target, query), VECTOR_CANONICAL)
      assert.strictEqual(Presign.canonicalForm("HEAD", target, query), VECTOR_CANONICAL)
      const signature = Base64Url.decodeStrict(VECTOR_SIGNATURE)
      assert.strictEqual(signature._tag, "Some")
      assert.isTrue(
        crypto.verify(
          null,
          Buffer.from(VECTOR_CANONICAL),
          crypto.createPublicKey(PUBLIC_PEM),
          signature._tag === "Some" ? signature.value : new Uint8Array()
        )
      )
      assert.strictEqual(signature._tag === "Some" ? signature.value.length : 0, 64)
      assert.strictEqual(VECTOR_SIGNATURE.length, 86)
    }))

  it.effect("§12.3: mintToken at 13:37:00Z with a 60 s expiry is the example token", () =>
    Effect.gen(function*() {
      yield* TestClock.setTime(SIGNING_TIME)
      const s = yield* session()
      assert.strictEqual(Redacted.value(yield* s.mintToken({ expiry: "60 seconds" })), VECTOR_TOKEN)
      // the key's default expiry is 60 s, the default permissions all three
      assert.strictEqual(Redacted.value(yield* s.mintToken()), VECTOR_TOKEN)
      const minted = yield* Tokens.mint({
        usecase: "attachments",
        scope: Scope.make({ org: "42", project: 1337n })
      }).pipe(Effect.provide(secretKey()))
      assert.strictEqual(Redacted.value(minted), VECTOR_TOKEN)
    }))
})

describe("pre-signed URLs: generation rules (§13.3)", () => {
  it.effect("durations are rounded up to whole seconds; 7 days is the most; the timestamp has no fraction", () =>
    Effect.gen(function*() {
      yield* TestClock.setTime(SIGNING_TIME + 250)
      const s = yield* session()
      const query = (url: string) => new URLSearchParams(url.split("?")[1])
      const short = query(yield* s.presignedUrl("GET", "k", "1200 millis"))
      assert.deepStrictEqual([...short.keys()], ["os_kid", "os_timestamp", "os_duration", "os_sig"])
      assert.strictEqual(short.get("os_duration"), "2")
      assert.strictEqual(short.get("os_timestamp"), "2026-04-20T13:37:00Z")
      assert.strictEqual(short.get("os_sig")!.length, 86)
      assert.strictEqual(query(yield* s.presignedUrl("HEAD", "k", "7 days")).get("os_duration"), "604800")
    }))

  it.effect("refusals before any request: lowercase or other methods, over 7 days, non-positive, no secret key", () =>
    Effect.gen(function*() {
      const s = yield* session()
      for (const method of ["get", "head", "PUT", "DELETE", "POST", "Get"]) {
        const error = yield* Effect.flip(s.presignedUrl(method as "GET", "k"))
        assert.strictEqual(error._tag, "InvalidInputError")
        if (error._tag === "InvalidInputError") assert.strictEqual(error.field, "method")
      }
      for (const duration of ["8 days", "604801 seconds", 604_800_001, "0 seconds", -5] as const) {
        const error = yield* Effect.flip(s.presignedUrl("GET", "k", duration))
        assert.strictEqual(error._tag, "InvalidInputError")
        if (error._tag === "InvalidInputError") assert.strictEqual(error.field, "duration")
      }
      const badKey = yield* Effect.flip(s.presignedUrl("GET", ""))
      assert.strictEqual(badKey._tag, "InvalidInputError")
      for (const auth of [Auth.layerNone, Auth.layerToken(Redacted.make("static-token-SECRET"))]) {
        const plain = yield* session({ auth })
        const error = yield* Effect.flip(plain.presignedUrl("GET", "k"))
        assert.strictEqual(error._tag, "AuthError")
        if (error._tag === "AuthError") assert.strictEqual(error.reason, "Signing")
        assert.notInclude(String(error), "static-token-SECRET")
        // the method is checked first, as in Python
        assert.strictEqual((yield* Effect.flip(plain.presignedUrl("get" as "GET", "k")))._tag, "InvalidInputError")
      }
    }))

  it.effect("the signed path keeps the base path, the scheme and a bracketed IPv6 host", () =>
    Effect.gen(function*() {
      yield* TestClock.setTime(SIGNING_TIME)
      for (
        const [baseUrl, prefix] of [
          ["https://objects.example.test/api/prefix/", "https://objects.example.test/api/prefix"],
          ["http://[::1]:8888", "http://[::1]:8888"]
        ] as const
      ) {
        const s = yield* session({ baseUrl })
        const url = yield* s.presignedUrl("GET", VECTOR_KEY)
        assert.isTrue(url.startsWith(`${prefix}${VECTOR_PATH}?${VECTOR_QUERY}&os_sig=`), url)
        const path = new URL(prefix).pathname.replace(/\/$/, "") + VECTOR_PATH
        const signature = Base64Url.decodeStrict(url.split("os_sig=")[1]!)
        assert.isTrue(crypto.verify(
          null,
          Buffer.from(Presign.canonicalForm("GET", path, VECTOR_QUERY)),
          crypto.createPublicKey(PUBLIC_PEM),
          signature._tag === "Some" ? signature.value : new Uint8Array()
        ))
      }
    }))
})

describe("object URLs (§18 item 35, §4.4)", () => {
  const scope = Scope.make({ org: 12345, project: 1337, app_slug: "email_app" })
  it.effect("base URL forms: plain, path prefix, https, IPv6, no scopes", () =>
    Effect.gen(function*() {
      const cases: ReadonlyArray<readonly [string, Scope.Scope, string]> = [
        [
          "http://127.0.0.1:8888/",
          scope,
          "http://127.0.0.1:8888/v1/objects/testing/org=12345;project=1337;app_slug=email_app/foo/bar"
        ],
        [
          "http://127.0.0.1:8888/api/prefix",
          scope,
          "http://127.0.0.1:8888/api/prefix/v1/objects/testing/org=12345;project=1337;app_slug=email_app/foo/bar"
        ],
        [
          "http://127.0.0.1:8888/api/prefix/",
          scope,
          "http://127.0.0.1:8888/api/prefix/v1/objects/testing/org=12345;project=1337;app_slug=email_app/foo/bar"
        ],
        [
          "https://objectstore.example.test",
          scope,
          "https://objectstore.example.test/v1/objects/testing/org=12345;project=1337;app_slug=email_app/foo/bar"
        ],
        [
          "http://[::1]:8888/",
          scope,
          "http://[::1]:8888/v1/objects/testing/org=12345;project=1337;app_slug=email_app/foo/bar"
        ],
        ["http://127.0.0.1:8888", Scope.empty, "http://127.0.0.1:8888/v1/objects/testing/_/foo/bar"]
      ]
      for (const [baseUrl, sc, expected] of cases) {
        const s = yield* session({ baseUrl, scope: sc, usecase: "testing", auth: Auth.layerNone })
        assert.strictEqual(yield* s.objectUrl("foo/bar"), expected)
      }
    }))

  it.effect("keys are percent-encoded exactly as the Python client (§4.4 table)", () =>
    Effect.gen(function*() {
      const s = yield* session({ baseUrl: "http://h.test", scope: Scope.empty, usecase: "u", auth: Auth.layerNone })
      const table: ReadonlyArray<readonly [string, string]> = [
        ["plain-key", "plain-key"],
        ["with space", "with%20space"],
        ["café-unicode", "caf%C3%A9-unicode"],
        ["emoji-😀", "emoji-%F0%9F%98%80"],
        ["100%literal-percent", "100%25literal-percent"],
        ["looks%20encoded", "looks%2520encoded"],
        ["a[b]^c|d", "a%5Bb%5D%5Ec%7Cd"],
        ["q?x#y", "q%3Fx%23y"],
        ["back\\slash", "back%5Cslash"],
        ["tilde~dot.key", "tilde~dot.key"],
        ["sub!$'()*+,=delims", "sub!$'()*+,=delims"],
        ["semi;colon", "semi;colon"],
        ["at@sign:colon", "at@sign:colon"],
        ["nested/path/segments", "nested/path/segments"]
      ]
      for (const [key, encoded] of table) {
        assert.strictEqual(yield* s.objectUrl(key), `http://h.test/v1/objects/u/_/${encoded}`)
      }
      assert.strictEqual(yield* s.objectUrl("a/../b"), "http://h.test/v1/objects/u/_/a%2F..%2Fb")
      assert.strictEqual((yield* Effect.flip(s.objectUrl("..")))._tag, "InvalidInputError")
    }))

  it.effect("with tokenValidity: exactly one os_auth parameter holding a read-only JWT for the session", () =>
    Effect.gen(function*() {
      yield* TestClock.setTime(SIGNING_TIME)
      const s = yield* session()
      const url = yield* s.objectUrl(VECTOR_KEY, { tokenValidity: "5 minutes" })
      const [base, query] = url.split("?") as [string, string]
      assert.strictEqual(base, `http://localhost:8888${VECTOR_PATH}`)
      const params = [...new URLSearchParams(query)]
      assert.strictEqual(params.length, 1)
      assert.strictEqual(params[0]![0], "os_auth")
      const jwt = params[0]![1]
      assert.strictEqual(jwt.split(".").length, 3)
      const { claims, header } = decodeJwt(jwt)
      assert.deepStrictEqual(header, { alg: "EdDSA", kid: "my-service", typ: "JWT" })
      assert.deepStrictEqual(claims, {
        res: { "os:usecase": "attachments", org: "42", project: "1337" },
        permissions: ["object.read"],
        exp: SIGNING_TIME / 1000 + 300
      })
      // validity is rounded up to whole seconds
      const rounded = decodeJwt(
        new URLSearchParams((yield* s.objectUrl("k", { tokenValidity: 1500 })).split("?")[1])
          .get("os_auth")!
      )
      assert.strictEqual(rounded.claims.exp, SIGNING_TIME / 1000 + 2)
    }))

  it.effect("a token URL needs a secret key that may grant object.read", () =>
    Effect.gen(function*() {
      const plain = yield* session({ auth: Auth.layerToken(Redacted.make("static-SECRET")) })
      const error = yield* Effect.flip(plain.objectUrl("k", { tokenValidity: "1 minute" }))
      assert.strictEqual(error._tag, "AuthError")
      if (error._tag === "AuthError") assert.strictEqual(error.reason, "Signing")
      assert.notInclude(String(error), "static-SECRET")
      const writeOnly = yield* session({ auth: secretKey(["object.write"]) })
      const denied = yield* Effect.flip(writeOnly.objectUrl("k", { tokenValidity: "1 minute" }))
      assert.strictEqual(denied._tag, "AuthError")
      if (denied._tag === "AuthError") assert.include(denied.detail ?? "", "object.read")
      const zero = yield* Effect.flip((yield* session()).objectUrl("k", { tokenValidity: 0 }))
      assert.strictEqual(zero._tag, "InvalidInputError")
    }))
})

describe("minted tokens", () => {
  it.effect("a subset of the key's permissions, with an expiry; a permission the key lacks is an AuthError", () =>
    Effect.gen(function*() {
      yield* TestClock.setTime(SIGNING_TIME)
      const s = yield* session({ auth: secretKey(["object.read", "object.write"]) })
      const token = Redacted.value(yield* s.mintToken({ permissions: ["object.read"], expiry: "10 minutes" }))
      assert.deepStrictEqual(decodeJwt(token).claims, {
        res: { "os:usecase": "attachments", org: "42", project: "1337" },
        permissions: ["object.read"],
        exp: SIGNING_TIME / 1000 + 600
      })
      // default: all of the key's permissions
      assert.deepStrictEqual(decodeJwt(Redacted.value(yield* s.mintToken())).claims.permissions, [
        "object.read",
        "object.write"
      ])
      const error = yield* Effect.flip(s.mintToken({ permissions: ["object.read", "object.delete"] }))
      assert.strictEqual(error._tag, "AuthError")
      if (error._tag === "AuthError") {
        assert.strictEqual(error.reason, "Signing")
        assert.include(error.detail ?? "", "object.delete")
      }
      assert.strictEqual((yield* Effect.flip(s.mintToken({ expiry: "-1 seconds" })))._tag, "InvalidInputError")
      const none = yield* session({ auth: Auth.layerNone })
      assert.strictEqual((yield* Effect.flip(none.mintToken()))._tag, "AuthError")
    }))

  it.effect("Tokens.mint signs for any usecase and scope, with * wildcards; invalid input is refused", () =>
    Effect.gen(function*() {
      yield* TestClock.setTime(SIGNING_TIME)
      const token = yield* Tokens.mint({
        usecase: Usecase.make("debug-files"),
        scope: Scope.fromEntries([["org", 7], ["project", Tokens.WILDCARD]]),
        permissions: ["object.write"],
        expiry: "1 hour"
      })
      assert.deepStrictEqual(decodeJwt(Redacted.value(token)).claims, {
        res: { "os:usecase": "debug-files", org: "7", project: "*" },
        permissions: ["object.write"],
        exp: SIGNING_TIME / 1000 + 3600
      })
      const badUsecase = yield* Effect.flip(Tokens.mint({ usecase: "no/slash", scope: Scope.empty }))
      assert.strictEqual(badUsecase._tag, "InvalidInputError")
      const badScope = yield* Effect.flip(Tokens.mint({ usecase: "u", scope: Scope.make({ org: "a b" }) }))
      assert.strictEqual(badScope._tag, "InvalidInputError")
    }).pipe(Effect.provide(secretKey())))
})
