/**
 * Resumable uploads (PROTOCOL §22), extending an expiry (§23) and percent-encoded metadata (§6.8) from the client's
 * side, against the local server over loopback TCP and in-process; and `session.upload` choosing resumable uploads.
 */
import * as NodeFileSystem from "@effect/platform-node/NodeFileSystem"
import * as HttpServer from "@effect/platform/HttpServer"
import { assert, describe, layer } from "@effect/vitest"
import * as Auth from "@objectstore/client/Auth"
import * as Body from "@objectstore/client/Body"
import * as Compression from "@objectstore/client/Compression"
import * as Metrics from "@objectstore/client/Metrics"
import type * as Multipart from "@objectstore/client/Multipart"
import * as NodeClient from "@objectstore/client/NodeClient"
import * as ObjectstoreClient from "@objectstore/client/ObjectstoreClient"
import * as Resumable from "@objectstore/client/Resumable"
import * as Scope from "@objectstore/client/Scope"
import * as Usecase from "@objectstore/client/Usecase"
import * as ExpirationPolicy from "@objectstore/protocol/ExpirationPolicy"
import type * as ServerConfig from "@objectstore/server/Config"
import * as Server from "@objectstore/server/Server"
import * as Storage from "@objectstore/server/Storage"
import * as Deferred from "effect/Deferred"
import * as Effect from "effect/Effect"
import * as Fiber from "effect/Fiber"
import * as Layer from "effect/Layer"
import * as Logger from "effect/Logger"
import * as LogLevel from "effect/LogLevel"
import * as Stream from "effect/Stream"
import * as crypto from "node:crypto"
import * as fs from "node:fs"
import * as path from "node:path"
import { tempDirSync } from "../../../test/support.js"

const Services = Layer.mergeAll(Compression.layer, Auth.layerNone, Metrics.layerNoop, NodeFileSystem.layer)

const tcp = (options: Partial<ServerConfig.ServerConfig> = {}) =>
  Layer.unwrapEffect(
    HttpServer.addressFormattedWith((baseUrl) =>
      Effect.succeed(ObjectstoreClient.layer({ baseUrl, retry: false }).pipe(Layer.provide(Services)))
    )
  ).pipe(
    Layer.provide(NodeClient.layerHttpClient({ connectTimeout: "2 seconds" })),
    Layer.provideMerge(Server.layer({ port: 0, ...options })),
    Layer.provideMerge(Logger.minimumLogLevel(LogLevel.Error))
  )

const inProcess = ObjectstoreClient.layer({ baseUrl: "http://objectstore.test/", retry: false }).pipe(
  Layer.provide(Services),
  Layer.provideMerge(Server.layerHttpClient())
)

const session = (compression: "zstd" | "none" = "none") =>
  Effect.flatMap(
    ObjectstoreClient.ObjectstoreClient,
    (client) => client.session(Usecase.make("test", { compression }), Scope.make({ org: 1 }))
  )

const unique = (prefix: string) => `${prefix}-${crypto.randomUUID()}`
const text = (value: string) => new TextEncoder().encode(value)
const root = tempDirSync("resumable-client")
const bytesOf = (size: number, seed: number) => {
  const out = new Uint8Array(size)
  for (let i = 0; i < size; i++) out[i] = (i * 31 + seed + (i >> 9)) & 0xff
  return out
}
const writeFile = (bytes: Uint8Array) => {
  const file = path.join(root, `${crypto.randomUUID()}.bin`)
  fs.writeFileSync(file, bytes)
  return file
}
const MiB = 1024 * 1024

const suite = (name: string, live: Layer.Layer<ObjectstoreClient.ObjectstoreClient | Storage.Storage, unknown>) =>
  layer(live, { timeout: "60 seconds", excludeTestServices: true })(name, (it) => {
    it.effect("create, put chunks (Pending with the server's offset), Complete with the key; metadata from create", () =>
      Effect.gen(function*() {
        const s = yield* session()
        const key = unique("manual")
        const upload = yield* s.resumable.create({
          key,
          length: 11,
          contentType: "text/plain",
          filename: "résumé.txt",
          metadata: { note: "ünicode ✓" }
        })
        assert.strictEqual(upload.key, key)
        assert.match(upload.session, /^[A-Za-z0-9_-]+$/)
        assert.deepStrictEqual(yield* upload.offset(), { _tag: "Pending", offset: 0 })
        assert.deepStrictEqual(yield* upload.put(0, text("hello")), { _tag: "Pending", offset: 5 })
        assert.strictEqual((yield* Effect.flip(s.head(key)))._tag, "NotFoundError")
        assert.deepStrictEqual(
          yield* upload.put(5, Stream.make(text(" wor"), text("ld")), { contentLength: 6 }),
          { _tag: "Complete", key }
        )
        assert.strictEqual(yield* s.getText(key), "hello world")
        const meta = yield* s.head(key)
        assert.strictEqual(meta.contentType, "text/plain")
        assert.strictEqual(meta.filename, "résumé.txt")
        assert.deepStrictEqual(meta.custom, { note: "ünicode ✓" })
        assert.deepStrictEqual(yield* upload.offset(), { _tag: "Complete", key })
        // the server stores what the newer Python client would have sent (§6.8)
        const stored = (yield* (yield* Storage.Storage).list).find((entry) => entry.id.key === key)!
        assert.strictEqual(stored.metadata.filename, "r%C3%A9sum%C3%A9.txt")
      }))

    it.effect("create without a key: the server generates one; a replayable chunk body", () =>
      Effect.gen(function*() {
        const s = yield* session()
        const upload = yield* s.resumable.create({ length: 3 })
        assert.match(upload.key, /^[0-9a-f-]{36}$/)
        const status = yield* upload.put(0, Body.replayable(() => Stream.make(text("abc")), { contentLength: 3 }))
        assert.deepStrictEqual(status, { _tag: "Complete", key: upload.key })
        assert.strictEqual(yield* s.getText(upload.key), "abc")
      }))

    it.effect("an offset the server does not agree with fails with its authoritative offset; resume continues", () =>
      Effect.gen(function*() {
        const s = yield* session()
        const key = unique("mismatch")
        const upload = yield* s.resumable.create({ key, length: 6 })
        yield* upload.put(0, text("abc"))
        const error = yield* Effect.flip(upload.put(0, text("abc")))
        assert.strictEqual(error._tag, "ResumableOffsetError")
        assert.deepInclude(error, { key, offset: 3, sent: 0 })
        const resumed = yield* s.resumable.resume(key, upload.session)
        assert.deepStrictEqual(yield* resumed.offset(), { _tag: "Pending", offset: 3 })
        assert.deepStrictEqual(yield* resumed.put(3, text("def")), { _tag: "Complete", key })
        assert.strictEqual(yield* s.getText(key), "abcdef")
      }))

    it.effect("cancel: later requests fail with ResumableSessionGoneError (410); unknown sessions too (404)", () =>
      Effect.gen(function*() {
        const s = yield* session()
        const key = unique("cancel")
        const upload = yield* s.resumable.create({ key, length: 10 })
        yield* upload.put(0, text("ab"))
        yield* upload.cancel()
        yield* upload.cancel() // twice is fine
        const gone = yield* Effect.flip(upload.put(2, text("cd")))
        assert.strictEqual(gone._tag, "ResumableSessionGoneError")
        assert.deepInclude(gone, { key, status: 410 })
        const stranger = yield* s.resumable.resume(key, Buffer.from(crypto.randomUUID()).toString("base64url"))
        const unknown = yield* Effect.flip(stranger.offset())
        assert.deepInclude(unknown, { _tag: "ResumableSessionGoneError", status: 404 })
        assert.strictEqual((yield* Effect.flip(s.head(key)))._tag, "NotFoundError")
      }))

    it.effect("invalid input fails before any request", () =>
      Effect.gen(function*() {
        const s = yield* session()
        for (const length of [-1, 1.5, Number.NaN]) {
          assert.deepInclude(yield* Effect.flip(s.resumable.create({ key: "k", length })), { field: "length" })
        }
        assert.deepInclude(yield* Effect.flip(s.resumable.create({ key: "..", length: 1 })), { field: "key" })
        assert.deepInclude(yield* Effect.flip(s.resumable.resume("k", "not base64url!")), { field: "session" })
        const upload = yield* s.resumable.resume("k", "AAAA")
        assert.deepInclude(yield* Effect.flip(upload.put(-1, text("x"))), { field: "offset" })
        assert.deepInclude(yield* Effect.flip(upload.put(0, Stream.make(text("x")))), { field: "contentLength" })
        assert.deepInclude(yield* Effect.flip(upload.put(0, text("xy"), { contentLength: 1 })), {
          field: "contentLength"
        })
      }))

    it.effect("extendExpiry: at, fromNow, fromCreation move the deadline; never shorter; typed errors", () =>
      Effect.gen(function*() {
        const s = yield* session()
        const key = unique("expiry")
        yield* s.put("x", { key, expirationPolicy: ExpirationPolicy.timeToLive("1 hour") })
        const before = (yield* s.head(key)).timeExpires!.getTime()
        yield* s.extendExpiry(key, { fromNow: "2 days" })
        const later = (yield* s.head(key)).timeExpires!.getTime()
        assert.isAtLeast(later - before, 47 * 3_600_000)
        yield* s.extendExpiry(key, { fromNow: "1 minute" }) // already later: nothing changes
        assert.strictEqual((yield* s.head(key)).timeExpires!.getTime(), later)
        const at = new Date(later + 86_400_000)
        yield* s.extendExpiry(key, { at })
        assert.strictEqual((yield* s.head(key)).timeExpires!.getTime(), at.getTime())
        yield* s.extendExpiry(key, { at: "2999-01-01T00:00:00Z" })
        assert.strictEqual((yield* s.head(key)).timeExpiresText, "2999-01-01T00:00:00.000000Z")
        yield* s.extendExpiry(key, { fromCreation: "1 day" })
        assert.strictEqual((yield* s.head(key)).expirationPolicy._tag, "TimeToLive") // the policy is kept
        const missing = yield* Effect.flip(s.extendExpiry(unique("missing"), { fromNow: "1 day" }))
        assert.strictEqual(missing._tag, "NotFoundError")
        for (
          const request of [
            {},
            { at: "soon" },
            { at: new Date(Number.NaN) },
            { fromNow: "1 day", fromCreation: "1 day" },
            { fromNow: "-1 seconds" as never },
            { fromNow: Infinity }
          ]
        ) {
          const error = yield* Effect.flip(s.extendExpiry(key, request as never))
          assert.strictEqual(error._tag, "InvalidInputError", JSON.stringify(request))
        }
        // an object without a creation time is not eligible for fromCreation: 409
        const storage = yield* Storage.Storage
        const bare = unique("bare")
        yield* storage.put({ usecase: "test", scopes: [["org", "1"]], key: bare }, {
          contentType: "application/octet-stream",
          compression: undefined,
          expirationPolicy: ExpirationPolicy.timeToLive("1 hour"),
          timeCreated: undefined,
          timeExpires: BigInt(Date.now() + 3_600_000) * 1000n,
          origin: undefined,
          filename: undefined,
          custom: {}
        }, Stream.make(new Uint8Array([1])))
        const rejected = yield* Effect.flip(s.extendExpiry(bare, { fromCreation: "1 day" }))
        assert.strictEqual(rejected._tag, "ExpiryRejectedError")
        assert.deepInclude(rejected, { key: bare, status: 409 })
      }))
  })

describe("Resumable", () => {
  suite("loopback TCP", tcp())
  suite("in-process", inProcess)

  layer(tcp(), { timeout: "60 seconds", excludeTestServices: true })("session.upload", (it) => {
    it.effect("auto: a 33 MiB file without compression on the fly goes resumable; zstd on the fly stays multipart", () =>
      Effect.gen(function*() {
        const s = yield* session("none")
        const bytes = bytesOf(33 * MiB, 1)
        const file = writeFile(bytes)
        const key = unique("auto")
        const result = yield* s.upload({ path: file }, { key })
        assert.strictEqual(result.method, "resumable")
        assert.isString(result.session)
        assert.strictEqual(result.bytes, bytes.length)
        assert.strictEqual(result.parts, Math.ceil(bytes.length / (8 * MiB)))
        assert.isTrue(Buffer.from(yield* s.getBytes(key)).equals(Buffer.from(bytes)))
        const zstd = yield* s.upload({ path: file }, { key: unique("zstd"), compression: "zstd" })
        assert.strictEqual(zstd.method, "multipart")
        const forced = yield* s.upload({ path: file }, { key: unique("forced"), method: "multipart" })
        assert.strictEqual(forced.method, "multipart")
        fs.rmSync(file)
      }))

    it.effect("method resumable: a rerun with the same state file resumes the same session", () =>
      Effect.gen(function*() {
        const s = yield* session("none")
        const bytes = bytesOf(640 * 1024 + 3, 2)
        const file = writeFile(bytes)
        const stateFile = `${file}.upload.json`
        const key = unique("rerun")
        const options = { key, method: "resumable", partSize: 64 * 1024, threshold: 0, stateFile } as const
        const cut = yield* Deferred.make<void>()
        const fiber = yield* Effect.fork(s.upload({ path: file }, {
          ...options,
          onProgress: (p: Multipart.Progress) => p.parts >= 3 ? Deferred.succeed(cut, undefined) : Effect.void
        }))
        yield* Deferred.await(cut)
        yield* Fiber.interrupt(fiber) // "the process died"
        const saved = JSON.parse(fs.readFileSync(stateFile, "utf8")) as Multipart.ResumableState
        assert.strictEqual(saved.kind, "resumable")
        assert.isAtLeast(saved.offset, 3 * 64 * 1024)
        const result = yield* s.upload({ path: file }, options)
        assert.strictEqual(result.method, "resumable")
        assert.strictEqual(result.session, saved.session)
        assert.isAtMost(result.sentBytes, bytes.length - saved.offset)
        assert.isTrue(Buffer.from(yield* s.getBytes(key)).equals(Buffer.from(bytes)))
        assert.isFalse(fs.existsSync(stateFile))
      }))

    it.effect("invalid combinations: resumable needs a file and no compression on the fly", () =>
      Effect.gen(function*() {
        const s = yield* session("zstd")
        const file = writeFile(bytesOf(10, 3))
        const stream = yield* Effect.flip(s.upload(Stream.make(text("x")), { method: "resumable" }))
        assert.deepInclude(stream, { _tag: "InvalidInputError", field: "method" })
        const zstd = yield* Effect.flip(s.upload({ path: file }, { method: "resumable" }))
        assert.deepInclude(zstd, { _tag: "InvalidInputError", field: "method" })
      }))
  })

  layer(tcp({ resumableChunkLimit: 10_000 }), { timeout: "60 seconds", excludeTestServices: true })(
    "short acknowledgements",
    (it) => {
      it.effect("session.upload continues from the offset each answer acknowledges", () =>
        Effect.gen(function*() {
          const s = yield* session("none")
          const bytes = bytesOf(100_003, 4)
          const key = unique("short")
          const result = yield* s.upload({ path: writeFile(bytes) }, {
            key,
            method: "resumable",
            partSize: 32 * 1024,
            threshold: 0
          })
          assert.strictEqual(result.method, "resumable")
          assert.strictEqual(result.parts, Math.ceil(bytes.length / 10_000))
          assert.isTrue(Buffer.from(yield* s.getBytes(key)).equals(Buffer.from(bytes)))
        }))
    }
  )

  layer(tcp({ resumable: false }), { timeout: "60 seconds", excludeTestServices: true })(
    "a server without them",
    (it) => {
      it.effect("create fails with NotSupportedError; auto falls back to multipart, explicit resumable fails", () =>
        Effect.gen(function*() {
          const s = yield* session("none")
          const error = yield* Effect.flip(s.resumable.create({ key: unique("k"), length: 1 }))
          assert.strictEqual(error._tag, "NotSupportedError")
          const bytes = bytesOf(Resumable.AUTOMATIC_THRESHOLD + 1, 5)
          const file = writeFile(bytes)
          const key = unique("fallback")
          const result = yield* s.upload({ path: file }, { key })
          assert.strictEqual(result.method, "multipart")
          assert.isTrue(Buffer.from(yield* s.getBytes(key)).equals(Buffer.from(bytes)))
          const forced = yield* Effect.flip(s.upload({ path: file }, { method: "resumable" }))
          assert.strictEqual(forced._tag, "NotSupportedError")
          fs.rmSync(file)
        }))
    }
  )
})
