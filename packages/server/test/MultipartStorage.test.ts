/**
 * Multipart uploads at the `Storage` level, for both stores: parts checked against length and MD5, replaced
 * atomically, interrupted part uploads leave nothing, completion is atomic and removes the upload, abandoned
 * uploads are reaped; the filesystem store keeps uploads across a restart and drops leftovers of interrupted parts.
 */
import { assert, describe, it } from "@effect/vitest"
import * as ExpirationPolicy from "@objectstore/protocol/ExpirationPolicy"
import type * as Metadata from "@objectstore/protocol/Metadata"
import * as Storage from "@objectstore/server/Storage"
import * as Deferred from "effect/Deferred"
import * as Effect from "effect/Effect"
import * as Fiber from "effect/Fiber"
import type * as Scope from "effect/Scope"
import * as Stream from "effect/Stream"
import * as crypto from "node:crypto"
import * as Fs from "node:fs/promises"
import * as NodePath from "node:path"
import { tempDir as makeTempDir } from "../../../test/support.js"

const encoder = new TextEncoder()

const metadata: Metadata.Metadata = {
  contentType: "text/plain",
  compression: undefined,
  expirationPolicy: ExpirationPolicy.manual,
  timeCreated: 1_000_000n,
  timeExpires: undefined,
  origin: undefined,
  filename: undefined,
  custom: { a: "b" }
}

const id = (key: string): Storage.ObjectId => ({ usecase: "test", scopes: [["org", "1"]], key })
const body = (text: string) => Stream.make(encoder.encode(text))
const expect = (text: string, now = 5_000_000_000n, md5?: Uint8Array) => ({
  contentLength: encoder.encode(text).length,
  contentMd5: md5,
  now
})

const readText = (storage: Storage.Service, objectId: Storage.ObjectId) =>
  Effect.map(
    Storage.readAll(storage, objectId),
    (read) => read === undefined ? undefined : new TextDecoder().decode(read.bytes)
  )

const tempDir = makeTempDir("mp-storage")

const stores: ReadonlyArray<readonly [string, Effect.Effect<Storage.Service, Storage.StorageError, Scope.Scope>]> = [
  ["memory", Storage.makeMemory],
  ["filesystem", Effect.flatMap(tempDir, (path) => Storage.makeFilesystem({ path }))]
]

for (const [name, make] of stores) {
  describe(`multipart storage (${name})`, () => {
    it.scoped("parts, replacement, listing, completion in the given order, then the upload is gone", () =>
      Effect.gen(function*() {
        const storage = yield* make
        const uploadId = yield* storage.initiateUpload(id("k"), metadata, 1_000_000n)
        const p2 = yield* storage.putPart(id("k"), uploadId, 2, body("world"), expect("world"))
        yield* storage.putPart(id("k"), uploadId, 1, body("HELLO "), expect("HELLO "))
        const p1 = yield* storage.putPart(id("k"), uploadId, 1, body("hello "), expect("hello "))
        assert.strictEqual(p1.etag, `"${crypto.createHash("md5").update("hello ").digest("hex")}"`)
        const listed = yield* storage.listParts(id("k"), uploadId)
        assert.deepStrictEqual(listed.map((p) => [p.partNumber, p.size, p.etag]), [[1, 6, p1.etag], [2, 5, p2.etag]])
        const uploads = yield* storage.listUploads
        assert.deepStrictEqual(uploads.map((u) => [u.id.key, u.uploadId, u.parts, u.size]), [["k", uploadId, 2, 11]])
        const info = yield* storage.completeUpload(id("k"), uploadId, [
          { partNumber: 1, etag: p1.etag },
          { partNumber: 2, etag: p2.etag }
        ])
        assert.strictEqual(info.size, 11)
        assert.deepStrictEqual(info.metadata, metadata)
        assert.strictEqual(yield* readText(storage, id("k")), "hello world")
        assert.lengthOf(yield* storage.listUploads, 0)
        const again = yield* Effect.flip(storage.completeUpload(id("k"), uploadId, []))
        assert.deepInclude(again, { _tag: "MultipartError", reason: "NoSuchUpload" })
      }))

    it.scoped("a part that is too short, too long or fails its MD5 is not stored", () =>
      Effect.gen(function*() {
        const storage = yield* make
        const uploadId = yield* storage.initiateUpload(id("checks"), metadata, 1_000_000n)
        const short = yield* Effect.flip(
          storage.putPart(id("checks"), uploadId, 1, body("abc"), { contentLength: 4, now: 1n })
        )
        assert.deepInclude(short, { _tag: "MultipartError", reason: "IncompleteBody" })
        const long = yield* Effect.flip(
          storage.putPart(id("checks"), uploadId, 1, body("abcde"), { contentLength: 4, now: 1n })
        )
        assert.deepInclude(long, { _tag: "MultipartError", reason: "IncompleteBody" })
        const digest = yield* Effect.flip(
          storage.putPart(id("checks"), uploadId, 1, body("abcd"), expect("abcd", 1n, new Uint8Array(16)))
        )
        assert.deepInclude(digest, { _tag: "MultipartError", reason: "BadDigest" })
        assert.lengthOf(yield* storage.listParts(id("checks"), uploadId), 0)
      }))

    it.scoped("an interrupted part upload leaves no part (and no temp file) and the old part stays", () =>
      Effect.gen(function*() {
        const storage = yield* make
        const uploadId = yield* storage.initiateUpload(id("cut"), metadata, 1_000_000n)
        const old = yield* storage.putPart(id("cut"), uploadId, 1, body("old"), expect("old"))
        const sent = yield* Deferred.make<void>()
        const hanging = Stream.concat(
          Stream.fromEffect(Effect.as(Deferred.succeed(sent, undefined), encoder.encode("partial"))),
          Stream.never
        )
        const fiber = yield* Effect.fork(
          storage.putPart(id("cut"), uploadId, 1, hanging, { contentLength: 100, now: 2n })
        )
        yield* Deferred.await(sent)
        yield* Fiber.interrupt(fiber)
        const listed = yield* storage.listParts(id("cut"), uploadId)
        assert.deepStrictEqual(listed.map((p) => [p.partNumber, p.etag]), [[1, old.etag]])
      }))

    it.scoped("abort and unknown uploads; uploads are bound to their object", () =>
      Effect.gen(function*() {
        const storage = yield* make
        const uploadId = yield* storage.initiateUpload(id("a"), metadata, 1_000_000n)
        const wrongKey = yield* Effect.flip(storage.putPart(id("b"), uploadId, 1, body("x"), expect("x")))
        assert.deepInclude(wrongKey, { _tag: "MultipartError", reason: "NoSuchUpload" })
        assert.isTrue(yield* storage.abortUpload(id("a"), uploadId))
        assert.isFalse(yield* storage.abortUpload(id("a"), uploadId))
        const gone = yield* Effect.flip(storage.listParts(id("a"), uploadId))
        assert.deepInclude(gone, { _tag: "MultipartError", reason: "NoSuchUpload" })
      }))

    it.scoped("reapUploads removes uploads whose last activity is before the cutoff", () =>
      Effect.gen(function*() {
        const storage = yield* make
        const idle = yield* storage.initiateUpload(id("idle"), metadata, 1_000n)
        const busy = yield* storage.initiateUpload(id("busy"), metadata, 1_000n)
        yield* storage.putPart(id("busy"), busy, 1, body("x"), expect("x", 9_000_000n)) // 9_000 µs
        assert.strictEqual(yield* storage.reapUploads(5_000n), 1)
        const left = yield* storage.listUploads
        assert.deepStrictEqual(left.map((u) => [u.id.key, u.lastActivity]), [["busy", 9_000n]])
        assert.deepInclude(yield* Effect.flip(storage.listParts(id("idle"), idle)), { reason: "NoSuchUpload" })
      }))
  })
}

describe("multipart storage (filesystem restart)", () => {
  it.scoped("uploads survive a restart; leftovers of interrupted parts are removed at start", () =>
    Effect.gen(function*() {
      const path = yield* tempDir
      const first = yield* Storage.makeFilesystem({ path })
      const uploadId = yield* first.initiateUpload(id("restart"), metadata, 1_000_000n)
      const part = yield* first.putPart(id("restart"), uploadId, 1, body("kept"), expect("kept"))
      // a crash in the middle of a part upload leaves a temp file behind
      const [dir] = yield* Effect.promise(() => Fs.readdir(NodePath.join(path, "uploads")))
      yield* Effect.promise(() => Fs.writeFile(NodePath.join(path, "uploads", dir!, "tmp-crashed"), "partial"))
      const second = yield* Storage.makeFilesystem({ path })
      const files = yield* Effect.promise(() => Fs.readdir(NodePath.join(path, "uploads", dir!)))
      assert.isFalse(files.some((file) => file.startsWith("tmp-")))
      assert.deepStrictEqual((yield* second.listParts(id("restart"), uploadId)).map((p) => p.etag), [part.etag])
      yield* second.completeUpload(id("restart"), uploadId, [{ partNumber: 1, etag: part.etag }])
      assert.strictEqual(yield* readText(second, id("restart")), "kept")
      assert.deepStrictEqual(yield* Effect.promise(() => Fs.readdir(NodePath.join(path, "uploads"))), [])
    }))
})
