/**
 * End to end against the local server, over loopback TCP (undici) and in-process (`Server.layerHttpClient`).
 */
import * as HttpClient from "@effect/platform/HttpClient"
import * as HttpClientRequest from "@effect/platform/HttpClientRequest"
import * as HttpServer from "@effect/platform/HttpServer"
import { assert, describe, layer } from "@effect/vitest"
import * as Auth from "@objectstore/client/Auth"
import * as Compression from "@objectstore/client/Compression"
import * as Expiration from "@objectstore/client/Expiration"
import * as Metrics from "@objectstore/client/Metrics"
import * as NodeClient from "@objectstore/client/NodeClient"
import * as ObjectstoreClient from "@objectstore/client/ObjectstoreClient"
import * as Scope from "@objectstore/client/Scope"
import * as Session from "@objectstore/client/Session"
import * as Usecase from "@objectstore/client/Usecase"
import * as Path from "@objectstore/protocol/Path"
import type * as ServerConfig from "@objectstore/server/Config"
import * as Server from "@objectstore/server/Server"
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Redacted from "effect/Redacted"
import * as TestClock from "effect/TestClock"
import * as crypto from "node:crypto"

/** Where the client under test points, and a raw HttpClient to the same server. */
class Target extends Context.Tag("test/Target")<Target, { readonly baseUrl: string }>() {}

const Services = Layer.mergeAll(Compression.layer, Auth.layerNone, Metrics.layerNoop)

const tcp = (options: Partial<ServerConfig.ServerConfig> = {}) =>
  Layer.unwrapEffect(
    HttpServer.addressFormattedWith((baseUrl) =>
      Effect.succeed(
        Layer.mergeAll(
          ObjectstoreClient.layer({ baseUrl, retry: false }).pipe(Layer.provide(Services)),
          Layer.succeed(Target, { baseUrl })
        )
      )
    )
  ).pipe(
    Layer.provideMerge(NodeClient.layerHttpClient({ connectTimeout: "2 seconds" })),
    Layer.provide(Server.layer({ port: 0, ...options }))
  )

const inProcess = (options: Partial<ServerConfig.ServerConfig> = {}) =>
  Layer.mergeAll(
    ObjectstoreClient.layer({ baseUrl: "http://objectstore.test/", retry: false }).pipe(Layer.provide(Services)),
    Layer.succeed(Target, { baseUrl: "http://objectstore.test" })
  ).pipe(Layer.provideMerge(Server.layerHttpClient(options)))

const session = (scope: Scope.Scope = Scope.make({ org: 42, project: 1337 }), usecase = Usecase.make("attachments")) =>
  Effect.flatMap(ObjectstoreClient.ObjectstoreClient, (client) => client.session(usecase, scope))

/** A raw GET of an object, bypassing the client's decompression. */
const rawGet = (usecase: string, scope: string, key: string) =>
  Effect.gen(function*() {
    const { baseUrl } = yield* Target
    const http = yield* HttpClient.HttpClient
    const path = Path.objectPath({ basePath: new URL(baseUrl).pathname, resource: "objects", usecase, scope, key })
    const response = yield* http.execute(HttpClientRequest.get(new URL(baseUrl).origin + path))
    const body = new Uint8Array(yield* response.arrayBuffer)
    return { status: response.status, headers: response.headers, body }
  }).pipe(Effect.scoped)

const unique = (prefix: string) => `${prefix}-${crypto.randomUUID()}`
const encoder = new TextEncoder()

const AWKWARD_KEYS = [
  "with space",
  "100%literal",
  "looks%20encoded",
  "tilde~dot.key",
  "nested/path/segments",
  "quote'key",
  "at@sign:colon",
  "amp&semi;eq=",
  "café-😀-ключ",
  "a[b]^c|d",
  "q?x#y",
  "back\\slash",
  "sub!$'()*+,=delims"
]

const suite = (name: string, make: (options?: Partial<ServerConfig.ServerConfig>) => Layer.Layer<any, any, never>) =>
  layer(make(), { timeout: 60_000 })(`${name}`, (it) => {
    it.effect("round trip with every metadata field (get and head)", () =>
      Effect.gen(function*() {
        const s = yield* session()
        const key = unique("meta")
        const put = yield* s.put("hello metadata", {
          key,
          contentType: "text/plain; charset=utf-8",
          metadata: { BuildId: "abc-123", empty: "" },
          origin: "203.0.113.42",
          filename: "report.pdf",
          expirationPolicy: Expiration.timeToLive("1 hour")
        })
        assert.strictEqual(put, key)
        const got = yield* Effect.scoped(Effect.flatMap(s.get(key), (response) =>
          Effect.map(Session.collectText(response), (text) => ({ text, metadata: response.metadata }))))
        assert.strictEqual(got.text, "hello metadata")
        const head = yield* s.head(key)
        assert.strictEqual(got.metadata.compression, "none") // decompressed
        assert.strictEqual(head.compression, "zstd") // as stored
        for (const metadata of [got.metadata, head]) {
          assert.strictEqual(metadata.contentType, "text/plain; charset=utf-8")
          assert.deepStrictEqual(metadata.custom, { buildid: "abc-123", empty: "" })
          assert.strictEqual(metadata.origin, "203.0.113.42")
          assert.strictEqual(metadata.filename, "report.pdf")
          assert.strictEqual(Expiration.format(metadata.expirationPolicy), "ttl:1h")
          assert.match(metadata.timeCreatedText!, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z$/)
          assert.match(metadata.timeExpiresText!, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z$/)
          assert.strictEqual(metadata.timeExpires!.getTime() - metadata.timeCreated!.getTime(), 3_600_000)
        }
      }))

    it.effect("an empty origin is no origin (as the Python client); an empty filename is kept", () =>
      Effect.gen(function*() {
        const s = yield* session()
        const key = yield* s.put("x", { key: unique("empty-origin"), origin: "", filename: "" })
        const head = yield* s.head(key)
        assert.isUndefined(head.origin)
        assert.strictEqual(head.filename, "")
      }))

    it.effect("compressed uploads are stored as zstd and decompressed transparently", () =>
      Effect.gen(function*() {
        const s = yield* session()
        const payload = "compress me ".repeat(1000)
        const zstdKey = yield* s.put(payload, { key: unique("zstd") })
        const plainKey = yield* s.put(payload, { key: unique("plain"), compression: "none" })
        const rawZstd = yield* rawGet("attachments", s.scope, zstdKey)
        assert.strictEqual(rawZstd.headers["content-encoding"], "zstd")
        assert.isBelow(rawZstd.body.length, payload.length / 10)
        assert.deepStrictEqual(Array.from(rawZstd.body.subarray(0, 4)), [0x28, 0xb5, 0x2f, 0xfd])
        const rawPlain = yield* rawGet("attachments", s.scope, plainKey)
        assert.strictEqual(rawPlain.headers["content-encoding"], undefined)
        assert.strictEqual(new TextDecoder().decode(rawPlain.body), payload)
        assert.strictEqual(yield* s.getText(zstdKey), payload)
        assert.strictEqual(yield* s.getText(plainKey), payload)
        const raw = yield* s.getBytes(zstdKey, { decompress: false })
        assert.deepStrictEqual(raw, rawZstd.body)
        assert.strictEqual((yield* s.head(zstdKey)).compression, "zstd")
      }))

    it.effect("server-generated keys", () =>
      Effect.gen(function*() {
        const s = yield* session()
        const key = yield* s.put(new Uint8Array([1, 2, 3]))
        assert.match(key, /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/)
        assert.deepStrictEqual(yield* s.getBytes(key), new Uint8Array([1, 2, 3]))
      }))

    it.effect("overwrite replaces payload and metadata", () =>
      Effect.gen(function*() {
        const s = yield* session()
        const key = unique("over")
        yield* s.put("first", { key, metadata: { a: "1" }, expirationPolicy: Expiration.timeToIdle("1 day") })
        yield* s.put("second", { key, contentType: "text/plain" })
        assert.strictEqual(yield* s.getText(key), "second")
        const head = yield* s.head(key)
        assert.deepStrictEqual(head.custom, {})
        assert.isTrue(Expiration.isManual(head.expirationPolicy))
        assert.strictEqual(head.contentType, "text/plain")
      }))

    it.effect("scope isolation: the same key in another scope (or order) is not found", () =>
      Effect.gen(function*() {
        const a = yield* session(Scope.make({ org: 1, project: 2 }))
        const key = yield* a.put("scoped", { key: unique("iso") })
        for (
          const scope of [
            Scope.make({ org: 1, project: 3 }),
            Scope.make({ project: 2, org: 1 }),
            Scope.make({ org: 1 }),
            Scope.empty
          ]
        ) {
          const other = yield* session(scope)
          const error = yield* Effect.flip(other.getBytes(key))
          assert.strictEqual(error._tag, "NotFoundError")
        }
        const otherUsecase = yield* session(Scope.make({ org: 1, project: 2 }), Usecase.make("other"))
        assert.strictEqual((yield* Effect.flip(otherUsecase.head(key)))._tag, "NotFoundError")
      }))

    it.effect("delete twice succeeds; the object is gone", () =>
      Effect.gen(function*() {
        const s = yield* session()
        const key = yield* s.put("bye", { key: unique("del") })
        yield* s.delete(key)
        yield* s.delete(key)
        assert.strictEqual((yield* Effect.flip(s.getBytes(key)))._tag, "NotFoundError")
        assert.strictEqual((yield* Effect.flip(s.head(key)))._tag, "NotFoundError")
      }))

    it.effect("keys with awkward characters round-trip", () =>
      Effect.gen(function*() {
        const s = yield* session(Scope.empty)
        for (const awkward of AWKWARD_KEYS) {
          const key = `${awkward}/${crypto.randomUUID()}`
          assert.strictEqual(yield* s.put(encoder.encode(awkward), { key }), key, awkward)
          assert.strictEqual(yield* s.getText(key), awkward, awkward)
          yield* s.head(key)
          yield* s.delete(key)
          assert.strictEqual((yield* Effect.flip(s.head(key)))._tag, "NotFoundError", awkward)
        }
        // `looks%20encoded` is a literal key, distinct from `looks encoded`.
        const literal = `looks%20encoded-${crypto.randomUUID()}`
        yield* s.put("literal", { key: literal })
        assert.strictEqual((yield* Effect.flip(s.head(literal.replace("%20", " "))))._tag, "NotFoundError")
      }))

    it.effect("expiration policies round-trip in canonical form", () =>
      Effect.gen(function*() {
        const s = yield* session()
        for (
          const policy of [
            Expiration.manual,
            Expiration.timeToLive("30 seconds"),
            Expiration.timeToIdle("2 days"),
            Expiration.timeToLive("31 days"),
            Expiration.timeToLive("1500 millis")
          ]
        ) {
          const key = yield* s.put("p", { expirationPolicy: policy })
          const head = yield* s.head(key)
          assert.isTrue(Expiration.equals(head.expirationPolicy, policy), Expiration.format(policy))
        }
        const withDefault = yield* session(
          Scope.empty,
          Usecase.make("defaults", { expirationPolicy: Expiration.timeToIdle("1 hour"), compression: "none" })
        )
        const key = yield* withDefault.put("d")
        const head = yield* withDefault.head(key)
        assert.strictEqual(Expiration.format(head.expirationPolicy), "tti:1h")
        assert.strictEqual(head.compression, "none")
      }))

    it.effect("streams and empty bodies", () =>
      Effect.gen(function*() {
        const s = yield* session()
        const empty = yield* s.put(new Uint8Array(0), { key: unique("empty") })
        assert.strictEqual((yield* s.getBytes(empty)).length, 0)
        const emptyZ = yield* s.put("", { key: unique("emptyz") })
        assert.strictEqual(yield* s.getText(emptyZ), "")
      }))
  })

suite("Integration over loopback TCP (undici)", tcp)
suite("Integration in-process (Server.layerHttpClient)", inProcess)

describe("Integration: expiry", () => {
  // The in-process server reads time from the TestClock, so the object expires when the test says so.
  layer(inProcess())("expired objects", (it) => {
    it.effect("an expired object is NotFoundError", () =>
      Effect.gen(function*() {
        const s = yield* session()
        const key = yield* s.put("short", { expirationPolicy: Expiration.timeToLive("1 second") })
        yield* TestClock.adjust("999 millis")
        assert.strictEqual(yield* s.getText(key), "short")
        yield* TestClock.adjust("2 millis")
        assert.strictEqual((yield* Effect.flip(s.getText(key)))._tag, "NotFoundError")
      }))
  })
})

// --- auth ----------------------------------------------------------------------------------------------------

const keyPair = crypto.generateKeyPairSync("ed25519")
const privatePem = keyPair.privateKey.export({ format: "pem", type: "pkcs8" }).toString()
const publicPem = keyPair.publicKey.export({ format: "pem", type: "spki" }).toString()
const otherPrivatePem = crypto.generateKeyPairSync("ed25519").privateKey.export({ format: "pem", type: "pkcs8" })
  .toString()

const authServer: Partial<ServerConfig.ServerConfig> = {
  auth: {
    enforce: true,
    keys: {
      "test-kid": { publicKeys: [publicPem], maxPermissions: ["object.read", "object.write", "object.delete"] }
    }
  }
}

const authClient = (auth: Layer.Layer<Auth.Auth, any>) =>
  Layer.unwrapEffect(
    HttpServer.addressFormattedWith((baseUrl) =>
      Effect.succeed(
        ObjectstoreClient.layer({ baseUrl, retry: false }).pipe(
          Layer.provide(Layer.mergeAll(Compression.layer, auth, Metrics.layerNoop))
        )
      )
    )
  )

layer(
  Layer.mergeAll(
    Layer.effect(Target, HttpServer.addressFormattedWith((baseUrl) => Effect.succeed({ baseUrl })))
  ).pipe(
    Layer.provideMerge(NodeClient.layerHttpClient({ connectTimeout: "2 seconds" })),
    Layer.provideMerge(Server.layer({ port: 0, ...authServer }))
  ),
  { timeout: 60_000 }
)("Integration: auth (enforced, Ed25519)", (it) => {
  const withAuth = <A, E>(
    auth: Layer.Layer<Auth.Auth, any>,
    f: (session: Session.Service) => Effect.Effect<A, E>
  ) =>
    Effect.gen(function*() {
      const context = yield* Layer.build(authClient(auth))
      const client = yield* Effect.provide(ObjectstoreClient.ObjectstoreClient, context)
      return yield* f(yield* client.session(Usecase.make("attachments"), Scope.make({ org: 42, project: 1337 })))
    }).pipe(Effect.scoped)

  it.effect("a secret key signs per-request tokens that the server accepts", () =>
    withAuth(
      Auth.layerSecretKey({ kid: "test-kid", privateKey: Redacted.make(privatePem) }),
      (s) =>
        Effect.gen(function*() {
          const key = yield* s.put("authorized")
          assert.strictEqual(yield* s.getText(key), "authorized")
          yield* s.delete(key)
        })
    ))

  it.effect("no token → AuthError MissingToken (400)", () =>
    withAuth(Auth.layerNone, (s) =>
      Effect.gen(function*() {
        const error = yield* Effect.flip(s.put("x"))
        assert.strictEqual(error._tag, "AuthError")
        if (error._tag === "AuthError") {
          assert.strictEqual(error.reason, "MissingToken")
          assert.strictEqual(error.status, 400)
        }
      })))

  it.effect("garbage token, unknown key, wrong key → AuthError InvalidToken (401)", () =>
    Effect.gen(function*() {
      for (
        const auth of [
          Auth.layerToken(Redacted.make("not-a-jwt")),
          Auth.layerSecretKey({ kid: "unknown-kid", privateKey: Redacted.make(privatePem) }),
          Auth.layerSecretKey({ kid: "test-kid", privateKey: Redacted.make(otherPrivatePem) })
        ]
      ) {
        const error = yield* withAuth(auth, (s) => Effect.flip(s.head("k")))
        assert.strictEqual(error._tag, "AuthError")
        if (error._tag === "AuthError") {
          assert.strictEqual(error.reason, "InvalidToken")
          assert.strictEqual(error.status, 401)
        }
        assert.notInclude(String(error), "not-a-jwt")
      }
    }))

  it.effect("a read-only key cannot write → AuthError Forbidden (403)", () =>
    withAuth(
      Auth.layerSecretKey({ kid: "test-kid", privateKey: Redacted.make(privatePem), permissions: ["object.read"] }),
      (s) =>
        Effect.gen(function*() {
          const error = yield* Effect.flip(s.put("x"))
          assert.strictEqual(error._tag, "AuthError")
          if (error._tag === "AuthError") {
            assert.strictEqual(error.reason, "Forbidden")
            assert.strictEqual(error.status, 403)
          }
          assert.strictEqual((yield* Effect.flip(s.head("missing")))._tag, "NotFoundError")
        })
    ))
})
