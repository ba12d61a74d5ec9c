/**
 * Pre-signed URLs, token URLs and minted tokens end to end: the client signs, a plain HTTP client (`fetch`, no SDK)
 * uses the URL against the local server over loopback TCP with auth enforced (PROTOCOL §12, §13, §18 items 20,
 * 38, 41, 45, 50–58).
 */
import * as HttpServer from "@effect/platform/HttpServer"
import { assert, describe, layer } from "@effect/vitest"
import * as Auth from "@objectstore/client/Auth"
import * as Compression from "@objectstore/client/Compression"
import * as Metrics from "@objectstore/client/Metrics"
import * as NodeClient from "@objectstore/client/NodeClient"
import * as ObjectstoreClient from "@objectstore/client/ObjectstoreClient"
import * as Scope from "@objectstore/client/Scope"
import type * as Session from "@objectstore/client/Session"
import * as Tokens from "@objectstore/client/Tokens"
import * as Usecase from "@objectstore/client/Usecase"
import * as Base64Url from "@objectstore/protocol/Base64Url"
import * as Path from "@objectstore/protocol/Path"
import * as Presign from "@objectstore/protocol/Presign"
import * as Server from "@objectstore/server/Server"
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as Redacted from "effect/Redacted"
import * as Stream from "effect/Stream"
import * as TestClock from "effect/TestClock"
import * as TestContext from "effect/TestContext"
import * as crypto from "node:crypto"
import * as Http from "node:http"
import { pemKeyPair } from "./support/keyPair.js"

const main = pemKeyPair()
const writeOnly = pemKeyPair()
const unregistered = pemKeyPair()

class Target extends Context.Tag("test/Target")<Target, { readonly baseUrl: string }>() {}

const Env = Layer.effect(Target, HttpServer.addressFormattedWith((baseUrl) => Effect.succeed({ baseUrl }))).pipe(
  Layer.provideMerge(NodeClient.layerHttpClient({ connectTimeout: "2 seconds" })),
  Layer.provideMerge(Server.layer({
    port: 0,
    auth: {
      enforce: true,
      keys: {
        main: { publicKeys: [main.publicPem], maxPermissions: ["object.read", "object.write", "object.delete"] },
        wo: { publicKeys: [writeOnly.publicPem], maxPermissions: ["object.write"] }
      }
    }
  }))
)

const secretKey = (kid = "main", privatePem = main.privatePem) =>
  Auth.layerSecretKey({ kid, privateKey: Redacted.make(privatePem) })

/** A session of a fresh client with `auth`; uploads are uncompressed unless asked (so `fetch` sees the payload). */
const withSession = <A, E>(
  f: (session: Session.Service) => Effect.Effect<A, E>,
  auth: Layer.Layer<Auth.Auth, any> = secretKey(),
  usecase = Usecase.make("attachments", { compression: "none" })
) =>
  Effect.gen(function*() {
    const { baseUrl } = yield* Target
    const context = yield* Layer.build(
      ObjectstoreClient.layer({ baseUrl, retry: false }).pipe(
        Layer.provide(Layer.mergeAll(Compression.layer, auth, Metrics.layerNoop))
      )
    )
    const client = Context.get(context, ObjectstoreClient.ObjectstoreClient)
    return yield* f(yield* client.session(usecase, Scope.make({ org: 42, project: 1337 })))
  }).pipe(Effect.scoped)

interface Answer {
  readonly status: number
  readonly body: string
  readonly headers: Headers
}

/** A plain HTTP request, no SDK: the URL is used verbatim. */
const plain = (url: string, init: RequestInit = {}) =>
  Effect.promise(async (): Promise<Answer> => {
    const response = await fetch(url, init)
    return { status: response.status, body: await response.text(), headers: response.headers }
  })

/** Signs at a chosen time (a TestClock only for the signing). */
const signedAt = <A, E>(epochMillis: number, effect: Effect.Effect<A, E>) =>
  Effect.gen(function*() {
    yield* TestClock.setTime(epochMillis)
    return yield* effect
  }).pipe(Effect.provide(TestContext.TestContext))

/** A URL signed with raw parameters (for what the client refuses to produce). */
const rawPresign = (
  options: { readonly baseUrl: string; readonly path: string; readonly method: string; readonly duration: number }
) =>
  Effect.gen(function*() {
    const auth = yield* Auth.Auth
    const signer = Option.getOrThrow(auth.signer)
    const query = Presign.signedQuery({
      kid: signer.kid,
      epochSeconds: Math.floor(Date.now() / 1000),
      durationSeconds: options.duration
    })
    const canonical = Presign.canonicalForm(options.method, options.path, query)
    const signature = Base64Url.encode(yield* signer.sign(new TextEncoder().encode(canonical)))
    return `${options.baseUrl}${options.path}?${query}&os_sig=${signature}`
  }).pipe(Effect.provide(secretKey()))

const AWKWARD_KEYS = [
  "plain-key",
  "with space",
  "café-unicode",
  "emoji-😀",
  "plus+sign",
  "sub!$'()*+,=delims",
  "tilde~dot.key",
  "100%literal-percent",
  "looks%20encoded",
  "nested/path/segments",
  "quote'apostrophe",
  "at@sign",
  "colon:separated",
  "ampersand&inside",
  "semi;colon",
  "equals=sign",
  "all of ~ % / ' @ : & ; = ключ 😀"
]

const unique = (prefix: string) => `${prefix}-${crypto.randomUUID()}`

layer(Env, { timeout: 60_000, excludeTestServices: true })("pre-signed URLs over HTTP (plain fetch)", (it) => {
  it.effect("GET → 200 with the body, HEAD → 204 with the metadata, both from one URL signed for either", () =>
    withSession((s) =>
      Effect.gen(function*() {
        const key = unique("presigned")
        yield* s.put("pre-signed body", { key, contentType: "text/plain", filename: "a.txt" })
        const get = yield* plain(yield* s.presignedUrl("GET", key))
        assert.strictEqual(get.status, 200, get.body)
        assert.strictEqual(get.body, "pre-signed body")
        assert.strictEqual(get.headers.get("content-type"), "text/plain")
        for (const method of ["GET", "HEAD"] as const) {
          const head = yield* plain(yield* s.presignedUrl(method, key, "10 minutes"), { method: "HEAD" })
          assert.strictEqual(head.status, 204)
          assert.strictEqual(head.headers.get("x-sn-filename"), "a.txt")
        }
        // a missing object is a 404, not an auth failure
        assert.strictEqual((yield* plain(yield* s.presignedUrl("GET", unique("missing")))).status, 404)
      })
    ))

  it.effect("tampered URLs → 401: last signature character (incl. A→B), path, an added parameter, timestamp", () =>
    withSession((s) =>
      Effect.gen(function*() {
        const key = unique("tamper")
        yield* s.put("x", { key })
        const url = yield* s.presignedUrl("GET", key)
        assert.strictEqual((yield* plain(url)).status, 200)
        const last = url.at(-1)!
        const changed = url.slice(0, -1) + (last === "A" ? "Q" : "A")
        assert.strictEqual((yield* plain(changed)).status, 401)
        // A → B only flips unused low bits: a lenient decoder would accept it; the server must not (§13.1)
        let endsInA: string | undefined
        for (let i = 0; i < 64 && endsInA === undefined; i++) {
          const candidate = yield* s.presignedUrl("GET", `${key}-${i}`)
          if (candidate.endsWith("A")) endsInA = candidate
        }
        assert.isDefined(endsInA)
        assert.strictEqual((yield* plain(endsInA!)).status, 404) // valid: the object is just missing
        assert.strictEqual((yield* plain(endsInA!.slice(0, -1) + "B")).status, 401)
        assert.strictEqual((yield* plain(url.replace(`/${key}?`, `/${key}x?`))).status, 401)
        assert.strictEqual((yield* plain(url.replace("project=1337", "project=1338"))).status, 401)
        assert.strictEqual((yield* plain(`${url}&extra=1`)).status, 401)
        assert.strictEqual((yield* plain(url.replace("os_duration=3600", "os_duration=3601"))).status, 401)
      })
    ))

  it.effect("time window: 2 h old with 1 h validity → 401; 30 s ahead → 200; 2 min ahead → 401", () =>
    withSession((s) =>
      Effect.gen(function*() {
        const key = unique("window")
        yield* s.put("w", { key })
        const now = Date.now()
        const expired = yield* signedAt(now - 2 * 3_600_000, s.presignedUrl("GET", key, "1 hour"))
        assert.strictEqual((yield* plain(expired)).status, 401)
        const soon = yield* signedAt(now + 30_000, s.presignedUrl("GET", key, "1 hour"))
        assert.strictEqual((yield* plain(soon)).status, 200)
        const future = yield* signedAt(now + 120_000, s.presignedUrl("GET", key, "1 hour"))
        assert.strictEqual((yield* plain(future)).status, 401)
      })
    ))

  it.effect("over-long (8 days) → 400; signed for PUT/DELETE and sent so → 403; GET URL sent with PUT → 403", () =>
    Effect.gen(function*() {
      const { baseUrl } = yield* Target
      const path = Path.objectPath({
        basePath: "",
        resource: "objects",
        usecase: "attachments",
        scope: "org=42;project=1337",
        key: unique("methods")
      })
      const long = yield* rawPresign({ baseUrl, path, method: "GET", duration: 8 * 86_400 })
      const answer = yield* plain(long)
      assert.strictEqual(answer.status, 400)
      assert.include(answer.body, "exceeds the maximum of 1 week")
      for (const method of ["PUT", "DELETE"]) {
        const url = yield* rawPresign({ baseUrl, path, method, duration: 600 })
        assert.strictEqual((yield* plain(url, method === "PUT" ? { method, body: "x" } : { method })).status, 403)
      }
      const getUrl = yield* rawPresign({ baseUrl, path, method: "GET", duration: 600 })
      assert.strictEqual((yield* plain(getUrl, { method: "PUT", body: "x" })).status, 403)
      assert.strictEqual((yield* plain(getUrl, { method: "DELETE" })).status, 403)
    }))

  it.effect("keys that are unknown, unregistered, or without object.read", () =>
    Effect.gen(function*() {
      const key = unique("keys")
      yield* withSession((s) => s.put("k", { key }))
      const url = (auth: Layer.Layer<Auth.Auth, any>) => withSession((s) => s.presignedUrl("GET", key), auth)
      assert.strictEqual((yield* plain(yield* url(secretKey("nobody")))).status, 401)
      assert.strictEqual((yield* plain(yield* url(secretKey("main", unregistered.privatePem)))).status, 401)
      assert.strictEqual((yield* plain(yield* url(secretKey("wo", writeOnly.privatePem)))).status, 403)
      assert.strictEqual((yield* plain(yield* url(secretKey()))).status, 200)
    }))

  it.effect("awkward keys round-trip through put, get and a pre-signed get (§18 item 20)", () =>
    withSession((s) =>
      Effect.gen(function*() {
        const prefix = unique("awk")
        for (const suffix of AWKWARD_KEYS) {
          const key = `${prefix}/${suffix}`
          const body = `body of ${suffix}`
          assert.strictEqual(yield* s.put(body, { key }), key)
          assert.strictEqual(yield* s.getText(key), body)
          const answer = yield* plain(yield* s.presignedUrl("GET", key))
          assert.strictEqual(answer.status, 200, `${suffix}: ${answer.body}`)
          assert.strictEqual(answer.body, body, suffix)
          const head = yield* plain(yield* s.presignedUrl("HEAD", key), { method: "HEAD" })
          assert.strictEqual(head.status, 204, suffix)
        }
      })
    ))

  it.effect("object URLs: without a token → 400; with a read-only token → 200 but no writes", () =>
    withSession((s) =>
      Effect.gen(function*() {
        const key = unique("url with space")
        yield* s.put("via token", { key })
        const bare = yield* plain(yield* s.objectUrl(key))
        assert.strictEqual(bare.status, 400)
        const url = yield* s.objectUrl(key, { tokenValidity: "5 minutes" })
        const answer = yield* plain(url)
        assert.strictEqual(answer.status, 200)
        assert.strictEqual(answer.body, "via token")
        assert.strictEqual((yield* plain(url, { method: "PUT", body: "overwrite" })).status, 403)
        assert.strictEqual((yield* plain(url, { method: "DELETE" })).status, 403)
        assert.strictEqual(yield* s.getText(key), "via token")
      })
    ))

  it.effect("minted tokens work for another service; the key's limits and the grant apply", () =>
    withSession((s) =>
      Effect.gen(function*() {
        const key = unique("minted")
        const url = yield* s.objectUrl(key)
        const writer = Redacted.value(yield* s.mintToken({ permissions: ["object.write"], expiry: "1 minute" }))
        const put = yield* plain(url, {
          method: "PUT",
          body: "from elsewhere",
          headers: { "x-os-auth": `Bearer ${writer}` }
        })
        assert.strictEqual(put.status, 200, put.body)
        assert.strictEqual((yield* plain(url, { headers: { "x-os-auth": `Bearer ${writer}` } })).status, 403)
        // a wildcard grant for another project of the org, minted for any scope
        const reader = yield* Tokens.mint({
          usecase: "attachments",
          scope: Scope.make({ org: 42, project: Tokens.WILDCARD }),
          permissions: ["object.read"]
        }).pipe(Effect.provide(secretKey()))
        const read = yield* plain(url, { headers: { authorization: `Bearer ${Redacted.value(reader)}` } })
        assert.strictEqual(read.status, 200)
        assert.strictEqual(read.body, "from elsewhere")
      })
    ))
})

describe("pre-signed URLs of compressed objects", () => {
  layer(Env, { timeout: 60_000, excludeTestServices: true })("zstd", (it) => {
    it.effect("a pre-signed GET returns the stored zstd bytes with content-encoding: zstd", () =>
      withSession(
        (s) =>
          Effect.gen(function*() {
            const key = unique("zstd")
            yield* s.put("compressed ".repeat(100), { key })
            const url = yield* s.presignedUrl("GET", key)
            // Raw HTTP, as curl without --compressed sees it (Node 24's fetch would decode zstd itself).
            const response = yield* Effect.async<{ status: number; encoding: unknown; bytes: Uint8Array }>((resume) => {
              Http.get(url, (res) => {
                const chunks: Array<Buffer> = []
                res.on("data", (chunk: Buffer) => chunks.push(chunk))
                res.on("end", () =>
                  resume(Effect.succeed({
                    status: res.statusCode!,
                    encoding: res.headers["content-encoding"],
                    bytes: Buffer.concat(chunks)
                  })))
              })
            })
            assert.strictEqual(response.status, 200)
            assert.strictEqual(response.encoding, "zstd")
            const bytes = response.bytes
            assert.deepStrictEqual([...bytes.subarray(0, 4)], [0x28, 0xb5, 0x2f, 0xfd])
            const zstd = yield* Compression.Compression
            const decoded = yield* Stream.runCollect(zstd.decompress(Stream.make(bytes)))
            const text = new TextDecoder().decode(Buffer.concat([...decoded]))
            assert.strictEqual(text, "compressed ".repeat(100))
          }).pipe(Effect.provide(Compression.layer)),
        secretKey(),
        Usecase.make("attachments")
      ))
  })
})
