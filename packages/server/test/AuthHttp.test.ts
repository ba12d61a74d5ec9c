/**
 * Auth end to end: a real `Server.layer` on loopback (port 0) with an enforced key directory, exercised with plain
 * `fetch` (tokens in headers and `os_auth`, pre-signed URLs).
 */
import * as HttpServer from "@effect/platform/HttpServer"
import { assert, describe, layer } from "@effect/vitest"
import * as Base64Url from "@objectstore/protocol/Base64Url"
import * as Presign from "@objectstore/protocol/Presign"
import * as Server from "@objectstore/server/Server"
import * as Clock from "effect/Clock"
import * as Effect from "effect/Effect"
import { SignJWT } from "jose"
import * as crypto from "node:crypto"

const keyPair = () => {
  const { privateKey, publicKey } = crypto.generateKeyPairSync("ed25519")
  return { privateKey, publicPem: publicKey.export({ type: "spki", format: "pem" }).toString() }
}
const main = keyPair()
const readOnly = keyPair()
const writeOnly = keyPair()
const unregistered = keyPair()

const ServerLive = Server.layer({
  port: 0,
  auth: {
    enforce: true,
    keys: {
      main: { publicKeys: [main.publicPem], maxPermissions: ["object.read", "object.write", "object.delete"] },
      ro: { publicKeys: [readOnly.publicPem], maxPermissions: ["object.read"] },
      wo: { publicKeys: [writeOnly.publicPem], maxPermissions: ["object.write"] }
    }
  }
})

const KEY_PATH = "/v1/objects/attachments/org=42;project=1337/reports/2024%20Q1.pdf"

const baseUrl = Effect.map(
  HttpServer.HttpServer,
  (server) => `http://127.0.0.1:${(server.address as HttpServer.TcpAddress).port}`
)

const token = (
  signer: { privateKey: crypto.KeyObject },
  kid: string,
  permissions: ReadonlyArray<string> = ["object.read", "object.write", "object.delete"],
  scopes: Record<string, string> = { org: "42", project: "1337" }
) =>
  Effect.flatMap(
    Clock.currentTimeMillis,
    (now) =>
      Effect.promise(() =>
        new SignJWT({ res: { "os:usecase": "attachments", ...scopes }, permissions, exp: Math.floor(now / 1000) + 60 })
          .setProtectedHeader({ alg: "EdDSA", kid, typ: "JWT" })
          .sign(signer.privateKey)
      )
  )

const presign = (signer: { privateKey: crypto.KeyObject }, kid: string, method = "GET", path = KEY_PATH) =>
  Effect.map(Clock.currentTimeMillis, (now) => {
    const query = Presign.signedQuery({ kid, epochSeconds: Math.floor(now / 1000), durationSeconds: 3600 })
    const canonical = Presign.canonicalForm(method, path, query)
    const signature = Base64Url.encode(crypto.sign(null, Buffer.from(canonical), signer.privateKey))
    return `${path}?${query}&os_sig=${signature}`
  })

interface Answer {
  readonly status: number
  readonly body: string
}
const request = (target: string, init: RequestInit = {}) =>
  Effect.flatMap(baseUrl, (base) =>
    Effect.promise(async (): Promise<Answer> => {
      const response = await fetch(`${base}${target}`, init)
      return { status: response.status, body: await response.text() }
    }))

const authError = (answer: Answer, status: number, message: string) => {
  assert.strictEqual(answer.status, status, answer.body)
  assert.deepStrictEqual(JSON.parse(answer.body), { detail: `auth error: ${message}`, causes: [message] })
}

describe("auth over HTTP", () => {
  layer(ServerLive, { timeout: "30 seconds", excludeTestServices: true })((it) => {
    it.effect("tokens: 400 without, 401 bad, 403 not allowed, 200 with a good one (header or os_auth)", () =>
      Effect.gen(function*() {
        authError(yield* request(KEY_PATH), 400, "bad request: No authorization token provided")
        authError(
          yield* request(KEY_PATH, { headers: { "x-os-auth": "Bearer abcdef" } }),
          401,
          "failed to decode token: InvalidToken"
        )
        authError(
          yield* request(KEY_PATH, { headers: { "x-os-auth": `Bearer ${yield* token(unregistered, "main")}` } }),
          401,
          "failed to verify token"
        )
        authError(
          yield* request(KEY_PATH, { headers: { "x-os-auth": `Bearer ${yield* token(unregistered, "nobody")}` } }),
          401,
          "unknown key"
        )
        const ro = yield* token(readOnly, "ro")
        authError(
          yield* request(KEY_PATH, { method: "PUT", body: "x", headers: { "x-os-auth": `Bearer ${ro}` } }),
          403,
          "operation not allowed"
        )
        const other = yield* token(main, "main", ["object.write"], { org: "43" })
        authError(
          yield* request(KEY_PATH, { method: "PUT", body: "x", headers: { authorization: `Bearer ${other}` } }),
          403,
          "operation not allowed"
        )

        const full = yield* token(main, "main")
        const put = yield* request(KEY_PATH, {
          method: "PUT",
          body: "quarterly",
          headers: { authorization: `bearer ${full}` }
        })
        assert.strictEqual(put.status, 200, put.body)
        const get = yield* request(KEY_PATH, { headers: { "x-os-auth": `Bearer ${ro}` } })
        assert.deepStrictEqual(get, { status: 200, body: "quarterly" })
        const viaQuery = yield* request(`${KEY_PATH}?os_auth=${ro}`)
        assert.deepStrictEqual(viaQuery, { status: 200, body: "quarterly" })
        const headerWins = yield* request(`${KEY_PATH}?os_auth=garbage`, { headers: { "x-os-auth": `Bearer ${ro}` } })
        assert.strictEqual(headerWins.status, 200)
        const tampered = ro.slice(0, -10) + (ro.at(-10) === "A" ? "B" : "A") + ro.slice(-9)
        authError(yield* request(`${KEY_PATH}?os_auth=${tampered}`), 401, "failed to verify token")
        authError(yield* request(`${KEY_PATH}?os_auth=a&os_auth=b`), 400, "bad request: invalid query string")

        const health = yield* request("/health")
        assert.deepStrictEqual(health, { status: 200, body: "OK" })
      }))

    it.effect("pre-signed URLs: GET 200 and HEAD 204 with plain fetch; PUT 403; tampered 401; no read 403", () =>
      Effect.gen(function*() {
        const put = yield* request(KEY_PATH, {
          method: "PUT",
          body: "signed body",
          headers: { "x-os-auth": `Bearer ${yield* token(main, "main")}` }
        })
        assert.strictEqual(put.status, 200, put.body)

        const url = yield* presign(main, "main")
        assert.deepStrictEqual(yield* request(url), { status: 200, body: "signed body" })
        const head = yield* request(url, { method: "HEAD" })
        assert.strictEqual(head.status, 204)

        authError(
          yield* request(yield* presign(main, "main", "PUT"), { method: "PUT", body: "x" }),
          403,
          "presigned URLs are not supported for this method"
        )
        authError(
          yield* request(yield* presign(main, "main", "DELETE"), { method: "DELETE" }),
          403,
          "presigned URLs are not supported for this method"
        )
        authError(yield* request(yield* presign(unregistered, "main")), 401, "failed to verify presigned URL signature")
        const last = url[url.length - 1]!
        const flipped = url.slice(0, -1) + (last === "A" ? "B" : "A")
        authError(yield* request(flipped), 401, "failed to verify presigned URL signature")
        authError(yield* request(yield* presign(writeOnly, "wo")), 403, "operation not allowed")
        // the signature binds the path
        const elsewhere = (yield* presign(main, "main")).replace("2024%20Q1", "2025%20Q1")
        authError(yield* request(elsewhere), 401, "failed to verify presigned URL signature")
      }))
  })
})
