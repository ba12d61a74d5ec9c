/**
 * `session.upload` against the local server over loopback TCP (filesystem store): single put below the threshold,
 * parallel multipart above it (compressed and not, streams and files), progress, abort on failure and
 * interruption, and resuming after an upload was cut off midway.
 */
import * as NodeFileSystem from "@effect/platform-node/NodeFileSystem"
import * as HttpServer from "@effect/platform/HttpServer"
import { assert, layer } from "@effect/vitest"
import * as Auth from "@objectstore/client/Auth"
import * as Compression from "@objectstore/client/Compression"
import * as Metrics from "@objectstore/client/Metrics"
import type * as Multipart from "@objectstore/client/Multipart"
import * as NodeClient from "@objectstore/client/NodeClient"
import * as ObjectstoreClient from "@objectstore/client/ObjectstoreClient"
import * as Scope from "@objectstore/client/Scope"
import * as Usecase from "@objectstore/client/Usecase"
import * as Server from "@objectstore/server/Server"
import * as Storage from "@objectstore/server/Storage"
import * as Chunk from "effect/Chunk"
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

const KiB = 1024
const PART = 64 * KiB

const root = tempDirSync("upload")

const TestLayer = Layer.unwrapEffect(
  HttpServer.addressFormattedWith((baseUrl) =>
    Effect.succeed(
      ObjectstoreClient.layer({ baseUrl, retry: false }).pipe(
        Layer.provide(Layer.mergeAll(Compression.layer, Auth.layerNone, Metrics.layerNoop, NodeFileSystem.layer))
      )
    )
  )
).pipe(
  Layer.provide(NodeClient.layerHttpClient({ connectTimeout: "2 seconds" })),
  Layer.provideMerge(Server.layer({ port: 0, storage: { type: "filesystem", path: path.join(root, "store") } })),
  // small parts are deliberate here: silence the "below 5 MiB" warning
  Layer.provideMerge(Logger.minimumLogLevel(LogLevel.Error)),
  Layer.merge(
    Layer.scopedDiscard(Effect.addFinalizer(() => Effect.sync(() => fs.rmSync(root, { recursive: true, force: true }))))
  )
)

const session = (compression: "zstd" | "none") =>
  Effect.flatMap(
    ObjectstoreClient.ObjectstoreClient,
    (client) => client.session(Usecase.make("upload", { compression }), Scope.make({ org: 1 }))
  )

const unique = (prefix: string) => `${prefix}-${crypto.randomUUID()}`

/** Semi-compressible bytes: random words repeated. */
const data = (size: number, seed = 1) => {
  const words = Array.from({ length: 64 }, (_, i) => crypto.createHash("sha1").update(`${seed}-${i}`).digest("hex"))
  const out = Buffer.alloc(size)
  let offset = 0
  let i = 0
  while (offset < size) {
    offset += out.write(`${words[(i * 7 + seed) % words.length]} `, offset)
    i++
  }
  return new Uint8Array(out)
}

/** `bytes` as a stream of uneven chunks. */
const chunked = (bytes: Uint8Array, size = 10_000) =>
  Stream.fromIterable(
    Array.from({ length: Math.ceil(bytes.length / size) }, (_, i) => bytes.slice(i * size, (i + 1) * size))
  )

const writeFile = (bytes: Uint8Array) => {
  const file = path.join(root, `${crypto.randomUUID()}.bin`)
  fs.writeFileSync(file, bytes)
  return file
}

const uploadsOf = (key: string) =>
  Effect.map(
    Effect.flatMap(Storage.Storage, (storage) => storage.listUploads),
    (uploads) => uploads.filter((upload) => upload.id.key === key)
  )

const allUploads = Effect.flatMap(Storage.Storage, (storage) => storage.listUploads)

const compressSlices = (bytes: Uint8Array, partSize: number) =>
  Effect.gen(function*() {
    const zstd = yield* Compression.make
    const frames: Array<Uint8Array> = []
    for (let offset = 0; offset < bytes.length; offset += partSize) {
      const chunks = yield* Stream.runCollect(zstd.compress(Stream.make(bytes.subarray(offset, offset + partSize))))
      frames.push(Buffer.concat(Chunk.toReadonlyArray(chunks)))
    }
    return Buffer.concat(frames)
  })

layer(TestLayer, { timeout: "120 seconds", excludeTestServices: true })("session.upload", (it) => {
  it.effect("a stream up to the threshold is one put (no multipart upload)", () =>
    Effect.gen(function*() {
      const s = yield* session("zstd")
      const bytes = data(PART)
      const key = unique("small")
      const progress: Array<Multipart.Progress> = []
      const result = yield* s.upload(chunked(bytes), {
        key,
        partSize: PART,
        onProgress: (p) => Effect.sync(() => progress.push(p))
      })
      assert.deepStrictEqual(result, {
        key,
        method: "put",
        uploadId: undefined,
        parts: 1,
        skippedParts: 0,
        bytes: PART,
        sentBytes: PART
      })
      assert.deepStrictEqual(Buffer.from(yield* s.getBytes(key)), Buffer.from(bytes))
      assert.strictEqual(progress.at(-1)?.bytes, PART)
    }))

  for (const compression of ["none", "zstd"] as const) {
    it.effect(`a stream above the threshold is a parallel multipart upload (compression ${compression})`, () =>
      Effect.gen(function*() {
        const s = yield* session(compression)
        const bytes = data(10 * PART + 1234, 2)
        const key = unique(`stream-${compression}`)
        const progress: Array<Multipart.Progress> = []
        const result = yield* s.upload(chunked(bytes, 7777), {
          key,
          partSize: PART,
          concurrency: 3,
          onProgress: (p) => Effect.sync(() => progress.push(p))
        })
        assert.strictEqual(result.key, key)
        assert.isString(result.uploadId)
        assert.strictEqual(result.parts, 11)
        assert.strictEqual(result.bytes, bytes.length)
        assert.deepStrictEqual(Buffer.from(yield* s.getBytes(key)), Buffer.from(bytes))
        const raw = yield* s.getBytes(key, { decompress: false })
        if (compression === "zstd") {
          // each part is its own frame: the stored object is the concatenation of the compressed slices
          assert.deepStrictEqual(Buffer.from(raw), yield* compressSlices(bytes, PART))
          assert.isBelow(raw.length, bytes.length)
          assert.strictEqual(result.sentBytes, raw.length)
          assert.strictEqual((yield* s.head(key)).compression, "zstd")
        } else {
          assert.strictEqual(result.sentBytes, bytes.length)
        }
        // progress: one report per part, monotonic, ending at the total
        assert.lengthOf(progress, 11)
        for (let i = 1; i < progress.length; i++) assert.isAbove(progress[i]!.bytes, progress[i - 1]!.bytes)
        assert.deepInclude(progress.at(-1)!, { bytes: bytes.length, parts: 11 })
        assert.lengthOf(yield* uploadsOf(key), 0)
      }))
  }

  it.effect("a file: single put up to the threshold, else ranged parts with known totals", () =>
    Effect.gen(function*() {
      const s = yield* session("none")
      const small = data(1000, 3)
      const smallKey = unique("small-file")
      const single = yield* s.upload({ path: writeFile(small) }, { key: smallKey, partSize: PART })
      assert.isUndefined(single.uploadId)
      assert.deepStrictEqual(Buffer.from(yield* s.getBytes(smallKey)), Buffer.from(small))

      const bytes = data(5 * PART + 99, 4)
      const key = unique("file")
      const progress: Array<Multipart.Progress> = []
      const result = yield* s.upload({ path: writeFile(bytes) }, {
        key,
        partSize: PART,
        concurrency: 2,
        onProgress: (p) => Effect.sync(() => progress.push(p))
      })
      assert.strictEqual(result.parts, 6)
      assert.deepStrictEqual(Buffer.from(yield* s.getBytes(key)), Buffer.from(bytes))
      assert.isTrue(progress.every((p) => p.totalBytes === bytes.length && p.totalParts === 6))
      assert.deepInclude(progress.at(-1)!, { bytes: bytes.length, parts: 6 })
    }))

  it.effect("empty sources and a missing file", () =>
    Effect.gen(function*() {
      const s = yield* session("zstd")
      const key = unique("empty")
      yield* s.upload(Stream.empty, { key })
      assert.strictEqual((yield* s.getBytes(key)).length, 0)
      const missing = yield* Effect.flip(s.upload({ path: path.join(root, "does-not-exist") }))
      assert.strictEqual(missing._tag, "FileError")
      assert.deepInclude(missing, { path: path.join(root, "does-not-exist"), reason: "NotFound" })
      const invalid = yield* Effect.flip(s.upload(Stream.empty, { concurrency: 0 }))
      assert.deepInclude(invalid, { _tag: "InvalidInputError", field: "concurrency" })
    }))

  it.effect("a failing source aborts the upload on the server and fails with the source's error", () =>
    Effect.gen(function*() {
      const s = yield* session("none")
      const key = unique("failing")
      const bytes = data(3 * PART, 5)
      const source = Stream.concat(chunked(bytes), Stream.fail("disk on fire" as const))
      const error = yield* Effect.flip(s.upload(source, { key, partSize: PART, concurrency: 2 }))
      assert.strictEqual(error, "disk on fire")
      assert.lengthOf(yield* uploadsOf(key), 0)
      assert.strictEqual((yield* Effect.flip(s.head(key)))._tag, "NotFoundError")
    }))

  it.effect("interruption aborts the upload: nothing is left on the server", () =>
    Effect.gen(function*() {
      const s = yield* session("zstd")
      const key = unique("interrupted")
      const started = yield* Deferred.make<void>()
      // two parts, then the source hangs forever
      const source = Stream.concat(chunked(data(2 * PART + 10, 6)), Stream.never)
      const fiber = yield* Effect.fork(s.upload(source, {
        key,
        partSize: PART,
        onProgress: (p) => p.parts >= 2 ? Deferred.succeed(started, undefined) : Effect.void
      }))
      yield* Deferred.await(started)
      const during = yield* uploadsOf(key)
      assert.lengthOf(during, 1)
      assert.strictEqual(during[0]!.parts, 2)
      yield* Fiber.interrupt(fiber)
      assert.lengthOf(yield* uploadsOf(key), 0)
      assert.strictEqual((yield* Effect.flip(s.head(key)))._tag, "NotFoundError")
    }))

  it.effect("resume after a cut-off midway: only the missing parts are sent, the object is whole", () =>
    Effect.gen(function*() {
      const s = yield* session("zstd")
      const bytes = data(8 * PART + 7, 7)
      const file = writeFile(bytes)
      const key = unique("resume")
      const states: Array<Multipart.MultipartState> = []
      const cut = yield* Deferred.make<void>()
      const fiber = yield* Effect.fork(s.upload({ path: file }, {
        key,
        partSize: PART,
        concurrency: 1,
        keepOnFailure: true,
        onState: (state) =>
          Effect.zipRight(
            Effect.sync(() => states.push(state as Multipart.MultipartState)),
            state.kind !== "resumable" && state.parts.length >= 3 ? Deferred.succeed(cut, undefined) : Effect.void
          )
      }))
      yield* Deferred.await(cut)
      yield* Fiber.interrupt(fiber) // "the process died"
      const saved = JSON.parse(JSON.stringify(states.at(-1)!)) as Multipart.MultipartState // as persisted
      assert.strictEqual(saved.key, key)
      assert.isAtLeast(saved.parts.length, 3)
      const kept = yield* uploadsOf(key)
      assert.lengthOf(kept, 1, "keepOnFailure leaves the upload for resuming")
      assert.isAtLeast(kept[0]!.parts, 3)

      const result = yield* s.upload({ path: file }, { resume: saved, partSize: PART })
      assert.strictEqual(result.key, key)
      assert.strictEqual(result.uploadId, saved.uploadId)
      assert.strictEqual(result.parts, 9)
      assert.strictEqual(result.skippedParts, kept[0]!.parts)
      assert.deepStrictEqual(Buffer.from(yield* s.getBytes(key)), Buffer.from(bytes))
      assert.lengthOf(yield* uploadsOf(key), 0)
    }))

  it.effect("resume verifies parts the state does not know by their MD5 etag, and re-sends changed ones", () =>
    Effect.gen(function*() {
      const s = yield* session("none")
      const bytes = data(4 * PART, 8)
      const key = unique("verify")
      const upload = yield* s.multipart.initiate({ key, compression: "none" })
      // part 1 as the crashed run sent it (not in the state), part 2 with other bytes (a stale part)
      yield* upload.putPart(1, bytes.slice(0, PART))
      yield* upload.putPart(2, data(PART, 99))
      const state: Multipart.State = {
        version: 1,
        key,
        uploadId: upload.uploadId,
        partSize: PART,
        compression: "none",
        source: undefined,
        parts: []
      }
      const result = yield* s.upload(chunked(bytes), { resume: state })
      assert.strictEqual(result.skippedParts, 1)
      assert.strictEqual(result.sentBytes, 3 * PART)
      assert.deepStrictEqual(Buffer.from(yield* s.getBytes(key)), Buffer.from(bytes))
    }))

  it.effect("stateFile: an interrupted upload is kept and the same call resumes it; the file is removed at the end", () =>
    Effect.gen(function*() {
      const s = yield* session("zstd")
      const bytes = data(6 * PART + 1, 9)
      const file = writeFile(bytes)
      const stateFile = `${file}.upload.json`
      const key = unique("state-file")
      const options = { key, partSize: PART, concurrency: 1, stateFile }
      const cut = yield* Deferred.make<void>()
      const fiber = yield* Effect.fork(s.upload({ path: file }, {
        ...options,
        onProgress: (p) => p.parts >= 2 ? Deferred.succeed(cut, undefined) : Effect.void
      }))
      yield* Deferred.await(cut)
      yield* Fiber.interrupt(fiber)
      assert.isTrue(fs.existsSync(stateFile))
      const persisted = JSON.parse(fs.readFileSync(stateFile, "utf8")) as Multipart.MultipartState
      assert.strictEqual(persisted.key, key)
      assert.isAtLeast(persisted.parts.length, 2)

      const result = yield* s.upload({ path: file }, options)
      assert.strictEqual(result.uploadId, persisted.uploadId)
      assert.isAtLeast(result.skippedParts, 2)
      assert.deepStrictEqual(Buffer.from(yield* s.getBytes(key)), Buffer.from(bytes))
      assert.isFalse(fs.existsSync(stateFile))

      // the file changed: resuming is refused
      const other = writeFile(data(3 * PART, 10))
      const otherState = `${other}.upload.json`
      const first = yield* Deferred.make<void>()
      const again = yield* Effect.fork(s.upload({ path: other }, {
        key: unique("changed"),
        partSize: PART,
        concurrency: 1,
        stateFile: otherState,
        onProgress: () => Deferred.succeed(first, undefined)
      }))
      yield* Deferred.await(first)
      yield* Fiber.interrupt(again)
      fs.appendFileSync(other, "more")
      const refused = yield* Effect.flip(s.upload({ path: other }, { partSize: PART, stateFile: otherState }))
      assert.deepInclude(refused, { _tag: "InvalidInputError", field: "resume" })
    }))

  it.effect("no upload is left behind by any of the tests above that did not keep one on purpose", () =>
    Effect.gen(function*() {
      const left = (yield* allUploads).filter((upload) => !upload.id.key.startsWith("changed-"))
      assert.deepStrictEqual(left.map((upload) => upload.id.key), [])
    }))
})
