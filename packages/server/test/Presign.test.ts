/**
 * Server-side verification of pre-signed URLs (PROTOCOL §12.1, §13.1, §13.4, §13.5) in-process under TestClock:
 * the §13.5 worked example (and the §12.3 token) accepted inside the exact window and refused outside it, the
 * order of the checks, strict parameter parsing, and what makes a request pre-signed.
 */
import * as HttpClient from "@effect/platform/HttpClient"
import * as HttpClientRequest from "@effect/platform/HttpClientRequest"
import { assert, describe, it } from "@effect/vitest"
import * as Base64Url from "@objectstore/protocol/Base64Url"
import * as Presign from "@objectstore/protocol/Presign"
import type * as ServerConfig from "@objectstore/server/Config"
import * as Server from "@objectstore/server/Server"
import * as Effect from "effect/Effect"
import * as TestClock from "effect/TestClock"
import * as crypto from "node:crypto"

// Appendix A.1
const PRIVATE_KEY = crypto.createPrivateKey(`-----BEGIN PRIVATE KEY-----
MC4CAQAwBQYDK2VwBCIEIEJCQkJCQkJCQkJCQkJCQkJCQkJCQkJCQkJCQkJCQkJC
-----END PRIVATE KEY-----
`)
const PUBLIC_PEM = `-----BEGIN PUBLIC KEY-----
MCowBQYDK2VwAyEAIVL40Zt5HSRFMkLhXy6rbLfP+ntqXtMAl5YOBpiB2xI=
-----END PUBLIC KEY-----
`
const other = crypto.generateKeyPairSync("ed25519")
const OTHER_PUBLIC_PEM = other.publicKey.export({ type: "spki", format: "pem" }).toString()
const unregistered = crypto.generateKeyPairSync("ed25519").privateKey

// §13.5 and §12.3
const SIGNING_TIME = Date.UTC(2026, 3, 20, 13, 37, 0)
const PATH = "/v1/objects/attachments/org=42;project=1337/reports/2024%20Q1.pdf"
const QUERY = "os_kid=my-service&os_timestamp=2026-04-20T13:37:00Z&os_duration=3600"
const SIGNATURE = "dq4AntczDf_2SBkT3GKrZaCb1tuLFJWpxevGC82yxberiTpAH_XVwkxxZtiTQrT1nQRyO2Ll6fOpJncCki_WAQ"
const VECTOR_TARGET = `${PATH}?${QUERY}&os_sig=${SIGNATURE}`
const TOKEN =
  "eyJhbGciOiJFZERTQSIsImtpZCI6Im15LXNlcnZpY2UiLCJ0eXAiOiJKV1QifQ.eyJyZXMiOnsib3M6dXNlY2FzZSI6ImF0dGFjaG1lbnRzIiwib3JnIjoiNDIiLCJwcm9qZWN0IjoiMTMzNyJ9LCJwZXJtaXNzaW9ucyI6WyJvYmplY3QucmVhZCIsIm9iamVjdC53cml0ZSIsIm9iamVjdC5kZWxldGUiXSwiZXhwIjoxNzc2NjkyMjgwfQ.PIwQ1RW8PsdLyvrVT6TnrJTgQ509teNM4m8jL_jEw70LAPOpNkjfrgHl5hx4nDtALkvNkwTKdVg5yJ3q_DEaDg"

const ALL = ["object.read", "object.write", "object.delete"] as const

const config = (overrides: Partial<ServerConfig.ServerConfig["auth"]> = {}): Partial<ServerConfig.ServerConfig> => ({
  auth: {
    enforce: true,
    keys: {
      "my-service": { publicKeys: [OTHER_PUBLIC_PEM, PUBLIC_PEM], maxPermissions: [...ALL] },
      "no-read": { publicKeys: [PUBLIC_PEM], maxPermissions: ["object.write"] }
    },
    ...overrides
  }
})

interface Answer {
  readonly status: number
  readonly body: string
}

/** Sends a raw target (path and query verbatim) to the in-process server. */
const send = (target: string, method: "GET" | "HEAD" | "PUT" | "DELETE" | "POST" = "GET", init: {
  readonly body?: string
  readonly headers?: Record<string, string>
} = {}) =>
  Effect.gen(function*() {
    const http = yield* HttpClient.HttpClient
    let request = HttpClientRequest.make(method)(`http://objectstore.test${target}`)
    if (init.body !== undefined) request = HttpClientRequest.bodyText(request, init.body)
    if (init.headers !== undefined) request = HttpClientRequest.setHeaders(request, init.headers)
    const response = yield* http.execute(request)
    return { status: response.status, body: method === "HEAD" ? "" : yield* response.text } satisfies Answer
  }).pipe(Effect.scoped)

const sign = (method: string, path: string, query: string, kid = "my-service", key = PRIVATE_KEY) => {
  void kid
  return Base64Url.encode(crypto.sign(null, Buffer.from(Presign.canonicalForm(method, path, query)), key))
}

const signed = (options: {
  readonly method?: string
  readonly path?: string
  readonly kid?: string
  readonly timestamp?: string
  readonly duration?: string
  readonly key?: crypto.KeyObject
}) => {
  const path = options.path ?? PATH
  const query = `os_kid=${options.kid ?? "my-service"}&os_timestamp=${
    options.timestamp ?? "2026-04-20T13:37:00Z"
  }&os_duration=${options.duration ?? "3600"}`
  return `${path}?${query}&os_sig=${sign(options.method ?? "GET", path, query, options.kid, options.key)}`
}

const auth = (answer: Answer, status: number, message: string) => {
  assert.strictEqual(answer.status, status, answer.body)
  assert.deepStrictEqual(JSON.parse(answer.body), { detail: `auth error: ${message}`, causes: [message] })
}

/** Stores the §13.5 object with the §12.3 token (valid until 13:38:00Z plus 60 s leeway). */
const seed = Effect.gen(function*() {
  yield* TestClock.setTime(SIGNING_TIME)
  const put = yield* send(PATH, "PUT", { body: "the report", headers: { "x-os-auth": `Bearer ${TOKEN}` } })
  assert.strictEqual(put.status, 200, put.body)
})

describe("pre-signed URLs: server verification", () => {
  it.scoped("the §13.5 URL: 200 (GET) / 204 (HEAD) from 13:36:00Z to 14:37:00Z inclusive, 401 outside", () =>
    Effect.gen(function*() {
      yield* seed
      const at = (millis: number) => TestClock.setTime(millis)
      for (const offset of [-60_000, 0, 30_000, 3_600_000]) {
        yield* at(SIGNING_TIME + offset)
        assert.deepStrictEqual(yield* send(VECTOR_TARGET), { status: 200, body: "the report" }, `offset ${offset}`)
        assert.strictEqual((yield* send(VECTOR_TARGET, "HEAD")).status, 204)
      }
      for (const offset of [-61_000, 3_601_000]) {
        yield* at(SIGNING_TIME + offset)
        auth(yield* send(VECTOR_TARGET), 401, "presigned URL is expired or not yet valid")
      }
    }).pipe(Effect.provide(Server.layerHttpClient(config()))))

  it.scoped("order of checks (§13.4): method, parameters, kid, duration, window, signature, permission", () =>
    Effect.gen(function*() {
      yield* seed
      const presignMethod = "presigned URLs are not supported for this method"
      const params = "bad request: presigned URL has missing or invalid parameters"
      // 1. method: before anything else, even with broken parameters
      auth(yield* send(signed({ method: "PUT" }), "PUT", { body: "x" }), 403, presignMethod)
      auth(yield* send(signed({ method: "DELETE" }), "DELETE"), 403, presignMethod)
      auth(yield* send(`${PATH}?os_sig=x`, "PUT", { body: "x" }), 403, presignMethod)
      auth(yield* send(`${VECTOR_TARGET}`, "DELETE"), 403, presignMethod)
      auth(
        yield* send("/v1/objects/attachments/org=42;project=1337/?os_sig=x", "POST", { body: "x" }),
        403,
        presignMethod
      )
      // 2. parameters: missing, repeated, unparsable
      for (
        const target of [
          `${PATH}?os_sig=${SIGNATURE}`,
          `${PATH}?${QUERY}&os_kid=my-service&os_sig=${SIGNATURE}`,
          `${VECTOR_TARGET}&os_sig=${SIGNATURE}`,
          `${PATH}?os_kid=my-service&os_timestamp=yesterday&os_duration=3600&os_sig=${SIGNATURE}`,
          `${PATH}?os_kid=my-service&os_timestamp=2026-04-20T13:37:00Z&os_duration=-1&os_sig=${SIGNATURE}`,
          `${PATH}?os_kid=my-service&os_timestamp=2026-04-20T13:37:00Z&os_duration=1h&os_sig=${SIGNATURE}`,
          `${PATH}?os_kid=my-service&os_timestamp=2026-02-30T13:37:00Z&os_duration=3600&os_sig=${SIGNATURE}`
        ]
      ) {
        auth(yield* send(target), 400, params)
      }
      // 3. unknown kid is 401 even when the duration is too long
      auth(yield* send(signed({ kid: "nobody", duration: "691200" })), 401, "unknown key")
      // 4. over 7 days
      auth(
        yield* send(signed({ duration: "604801" })),
        400,
        "bad request: presigned URL validity exceeds the maximum of 1 week"
      )
      // 5. window before the signature: an expired URL with a bad signature is "expired"
      auth(
        yield* send(`${PATH}?os_kid=my-service&os_timestamp=2026-04-20T11:00:00Z&os_duration=3600&os_sig=AAAA`),
        401,
        "presigned URL is expired or not yet valid"
      )
      // 6. signature: any key version may verify (the first version is another key); a wrong key fails
      assert.strictEqual((yield* send(signed({ duration: "604800" }))).status, 200)
      assert.strictEqual((yield* send(signed({ key: other.privateKey, duration: "60" }))).status, 200)
      auth(
        yield* send(signed({ key: unregistered })),
        401,
        "failed to verify presigned URL signature"
      )
      // 7. the key may not read: 403 only once the signature verified
      auth(yield* send(signed({ kid: "no-read" })), 403, "operation not allowed")
      auth(yield* send(signed({ kid: "no-read" }).slice(0, -2) + "AA"), 401, "failed to verify presigned URL signature")
    }).pipe(Effect.provide(Server.layerHttpClient(config()))))

  it.scoped("strict signatures: padded, foreign characters, wrong length, non-zero unused bits → 401", () =>
    Effect.gen(function*() {
      yield* seed
      const bad = "failed to verify presigned URL signature"
      const base = `${PATH}?${QUERY}&os_sig=`
      for (
        const signature of [
          `${SIGNATURE}==`,
          SIGNATURE.replace("_", "/"),
          SIGNATURE.replace("_", "+"), // form-decoded to a space
          SIGNATURE.replace("_", "%5F"), // decodes to the same text: accepted below
          SIGNATURE.slice(0, -2),
          `${SIGNATURE}AA`,
          SIGNATURE.slice(0, -1) + "B", // same decoded bytes as ...A for a lenient decoder
          SIGNATURE.slice(0, -1) + "R",
          ""
        ]
      ) {
        if (signature.includes("%5F")) assert.strictEqual((yield* send(base + signature)).status, 200)
        else auth(yield* send(base + signature), 401, bad)
      }
      assert.strictEqual((yield* send(base + SIGNATURE)).status, 200)
    }).pipe(Effect.provide(Server.layerHttpClient(config()))))

  it.scoped("timestamps: space separator, fractions and an encoded +00:00 are accepted (and signed raw)", () =>
    Effect.gen(function*() {
      yield* seed
      for (const timestamp of ["2026-04-20%2013:37:00", "2026-04-20T13:37:00.52Z", "2026-04-20T13:37:00%2B00:00"]) {
        const answer = yield* send(signed({ timestamp }))
        assert.strictEqual(answer.status, 200, `${timestamp}: ${answer.body}`)
      }
      // a raw "+" is form-decoded to a space: "13:37:00 00:00" is not a timestamp
      auth(
        yield* send(signed({ timestamp: "2026-04-20T13:37:00+00:00" })),
        400,
        "bad request: presigned URL has missing or invalid parameters"
      )
    }).pipe(Effect.provide(Server.layerHttpClient(config()))))

  it.scoped("what is pre-signed (§12.1): exactly os_sig; then tokens are ignored; other names are just signed", () =>
    Effect.gen(function*() {
      yield* seed
      // a valid token does not rescue a broken pre-signed request
      auth(
        yield* send(`${VECTOR_TARGET.slice(0, -1)}A`, "GET", { headers: { "x-os-auth": `Bearer ${TOKEN}` } }),
        401,
        "failed to verify presigned URL signature"
      )
      // OS_SIG or an encoded name does not make a request pre-signed: it needs a token
      auth(yield* send(`${PATH}?${QUERY}&OS_SIG=${SIGNATURE}`), 400, "bad request: No authorization token provided")
      auth(yield* send(`${PATH}?${QUERY}&os%5Fsig=${SIGNATURE}`), 400, "bad request: No authorization token provided")
      // extra parameters are covered by the signature, in any order and case
      const query = `${QUERY}&Download=1&a=b`
      const target = `${PATH}?a=b&${query.replace("&a=b", "")}&os_sig=${sign("GET", PATH, query)}`
      assert.strictEqual((yield* send(target)).status, 200)
      auth(yield* send(target.replace("Download=1", "Download=2")), 401, "failed to verify presigned URL signature")
      // the scope is bound by the path only: the same signature for another object fails
      auth(
        yield* send(VECTOR_TARGET.replace("project=1337", "project=1338")),
        401,
        "failed to verify presigned URL signature"
      )
    }).pipe(Effect.provide(Server.layerHttpClient(config()))))

  it.scoped("auth disabled: pre-sign parameters are ignored; evaluated-not-enforced: refusals are allowed", () =>
    Effect.gen(function*() {
      yield* TestClock.setTime(SIGNING_TIME)
      const disabled = yield* Effect.gen(function*() {
        assert.strictEqual((yield* send(PATH, "PUT", { body: "open" })).status, 200)
        return yield* send(`${PATH}?os_sig=garbage`)
      }).pipe(Effect.provide(Server.layerHttpClient({ auth: { enforce: false, keys: {} } })))
      assert.deepStrictEqual(disabled, { status: 200, body: "open" })
      const evaluated = yield* Effect.gen(function*() {
        assert.strictEqual((yield* send(PATH, "PUT", { body: "lenient" })).status, 200)
        return yield* send(`${PATH}?${QUERY}&os_sig=AAAA`)
      }).pipe(Effect.provide(Server.layerHttpClient(config({ enforce: false }))))
      assert.deepStrictEqual(evaluated, { status: 200, body: "lenient" })
    }))
})
