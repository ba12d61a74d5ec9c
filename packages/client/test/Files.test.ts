/**
 * Files the caller names (upload sources, `Batch.putFile`, upload state files) go through `@effect/platform`'s
 * `FileSystem`: a file that cannot be used fails with `FileError`, naming the file and the reason, before anything
 * is sent for it; without a file system, a file path fails with `NoFileSystem`.
 */
import * as NodeFileSystem from "@effect/platform-node/NodeFileSystem"
import * as HttpClient from "@effect/platform/HttpClient"
import * as HttpServer from "@effect/platform/HttpServer"
import { assert, describe, it, layer } from "@effect/vitest"
import * as Auth from "@objectstore/client/Auth"
import * as Batch from "@objectstore/client/Batch"
import * as Compression from "@objectstore/client/Compression"
import * as Metrics from "@objectstore/client/Metrics"
import * as NodeClient from "@objectstore/client/NodeClient"
import * as ObjectstoreClient from "@objectstore/client/ObjectstoreClient"
import type { FileError } from "@objectstore/client/ObjectstoreError"
import * as Scope from "@objectstore/client/Scope"
import * as Usecase from "@objectstore/client/Usecase"
import * as Server from "@objectstore/server/Server"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Layer from "effect/Layer"
import * as Logger from "effect/Logger"
import * as LogLevel from "effect/LogLevel"
import * as Stream from "effect/Stream"
import * as crypto from "node:crypto"
import * as fs from "node:fs"
import * as path from "node:path"
import { tempDirSync } from "../../../test/support.js"

/** The requests the client sent, as `METHOD path`. */
const sent: Array<string> = []

const counting = Layer.effect(
  HttpClient.HttpClient,
  Effect.map(
    HttpClient.HttpClient,
    HttpClient.tapRequest((request) =>
      Effect.sync(() => sent.push(`${request.method} ${new URL(request.url).pathname}`))
    )
  )
)

const tcp = Layer.unwrapEffect(
  HttpServer.addressFormattedWith((baseUrl) =>
    Effect.succeed(
      ObjectstoreClient.layer({ baseUrl, retry: false }).pipe(
        Layer.provide(Layer.mergeAll(Compression.layer, Auth.layerNone, Metrics.layerNoop, NodeFileSystem.layer)),
        Layer.provide(counting)
      )
    )
  )
).pipe(
  Layer.provide(NodeClient.layerHttpClient({ connectTimeout: "2 seconds" })),
  Layer.provideMerge(Server.layer({ port: 0 })),
  // small parts are deliberate here: silence the "below 5 MiB" warning
  Layer.provideMerge(Logger.minimumLogLevel(LogLevel.Error))
)

const session = (compression: "zstd" | "none" = "none") =>
  Effect.flatMap(
    ObjectstoreClient.ObjectstoreClient,
    (client) => client.session(Usecase.make("files", { compression }), Scope.make({ org: 1 }))
  )

const unique = (prefix: string) => `${prefix}-${crypto.randomUUID()}`

/** A folder with a regular file, a subfolder, and paths that cannot be read as files. */
const fixtures = () => {
  const dir = tempDirSync("files")
  const file = path.join(dir, "regular.txt")
  fs.writeFileSync(file, "a regular file")
  const folder = path.join(dir, "folder")
  fs.mkdirSync(folder)
  return {
    dir,
    cases: [
      { what: "a missing file", path: path.join(dir, "missing.bin"), reason: "NotFound" },
      { what: "a directory", path: folder, reason: "NotAFile" },
      { what: "a path through a regular file", path: path.join(file, "inside.bin"), reason: "NotFound" }
    ] as const
  }
}

const assertFileError = (error: unknown, expected: { readonly path: string; readonly reason: string }) => {
  const fileError = error as FileError
  assert.strictEqual(fileError._tag, "FileError")
  assert.strictEqual(fileError.path, expected.path)
  assert.strictEqual(fileError.reason, expected.reason)
  // the message names the file, for a caller that only prints it
  assert.include(fileError.message, expected.path)
}

layer(tcp)("files over TCP", (it) => {
  it.effect("upload (single put and multipart sizes) fails with FileError naming the file and the reason", () =>
    Effect.gen(function*() {
      const s = yield* session()
      const { cases } = fixtures()
      for (const file of cases) {
        for (const threshold of [1024 * 1024, 0]) {
          sent.length = 0
          const key = unique("upload")
          const error = yield* Effect.flip(s.upload({ path: file.path }, { key, threshold, partSize: 64 * 1024 }))
          assertFileError(error, file)
          assert.deepStrictEqual(sent, [], `${file.what}: nothing is sent`)
        }
      }
    }))

  it.effect("many: a putFile that cannot be read fails alone, with FileError; the other operations succeed", () =>
    Effect.gen(function*() {
      const s = yield* session("zstd")
      const { cases, dir } = fixtures()
      const good = path.join(dir, "good.txt")
      fs.writeFileSync(good, "good")
      const outcomes = yield* Batch.collectAll(s.many([
        ...cases.map((file) => Batch.putFile(file.path, { key: unique("bad") })),
        Batch.putFile(good, { key: unique("good") })
      ]))
      cases.forEach((file, i) => {
        const result = outcomes[i]!.result as Either.Either<unknown, Batch.ManyError>
        assert.isTrue(Either.isLeft(result), file.what)
        if (Either.isLeft(result)) assertFileError(result.left, file)
      })
      assert.isTrue(Either.isRight(outcomes[cases.length]!.result as Either.Either<unknown, Batch.ManyError>))
    }))

  it.effect("an unreadable state file fails with FileError on the state file, before the upload starts", () =>
    Effect.gen(function*() {
      const s = yield* session()
      const { dir } = fixtures()
      const stateFile = path.join(dir, "state-is-a-folder")
      fs.mkdirSync(stateFile)
      sent.length = 0
      const error = yield* Effect.flip(
        s.upload(Stream.make(new Uint8Array(200_000)), { key: unique("state"), stateFile, partSize: 64 * 1024 })
      )
      assertFileError(error, { path: stateFile, reason: "NotAFile" })
      assert.deepStrictEqual(sent, [])
    }))

  it.effect("a file that becomes shorter during a multipart upload fails with Changed and the upload is aborted", () =>
    Effect.gen(function*() {
      const s = yield* session()
      const { dir } = fixtures()
      const file = path.join(dir, "shrinks.bin")
      fs.writeFileSync(file, crypto.randomBytes(4 * 64 * 1024))
      sent.length = 0
      const key = unique("shrinks")
      const error = yield* Effect.flip(s.upload({ path: file }, {
        key,
        partSize: 64 * 1024,
        concurrency: 1,
        method: "multipart",
        onProgress: () => Effect.sync(() => fs.truncateSync(file, 64 * 1024))
      }))
      assertFileError(error, { path: file, reason: "Changed" })
      assert.isTrue(sent.some((line) => line.startsWith("DELETE ")), "the multipart upload is aborted")
      assert.strictEqual((yield* Effect.flip(s.head(key)))._tag, "NotFoundError")
    }))

  const root = process.getuid?.() === 0
  it.effect.skipIf(root)(
    "a file without read permission fails with PermissionDenied (not as root)",
    () =>
      Effect.gen(function*() {
        const s = yield* session()
        const { dir } = fixtures()
        const file = path.join(dir, "secret.bin")
        fs.writeFileSync(file, "secret")
        fs.chmodSync(file, 0o000)
        const error = yield* Effect.flip(s.upload({ path: file }))
        assertFileError(error, { path: file, reason: "PermissionDenied" })
      })
  )
})

describe("files without a file system", () => {
  // A client built with no FileSystem in context, as in a browser.
  const bare = ObjectstoreClient.layer({ baseUrl: "http://objectstore.test/", retry: false }).pipe(
    Layer.provide(Layer.mergeAll(Compression.layer, Auth.layerNone, Metrics.layerNoop)),
    Layer.provide(Server.layerHttpClient())
  )

  it.effect("a file path fails with NoFileSystem; with a FileSystem in the caller's context it works", () =>
    Effect.gen(function*() {
      const s = yield* session()
      const { dir } = fixtures()
      const file = path.join(dir, "present.txt")
      fs.writeFileSync(file, "present")
      const error = yield* Effect.flip(s.upload({ path: file }))
      assertFileError(error, { path: file, reason: "NoFileSystem" })
      const outcomes = yield* Batch.collectAll(s.many([Batch.putFile(file, { key: unique("bare") })]))
      const result = outcomes[0]!.result as Either.Either<unknown, Batch.ManyError>
      assert.isTrue(Either.isLeft(result))
      if (Either.isLeft(result)) assertFileError(result.left, { path: file, reason: "NoFileSystem" })
      // the caller's FileSystem is used when the client has none
      const done = yield* s.upload({ path: file }, { key: unique("caller") }).pipe(Effect.provide(NodeFileSystem.layer))
      assert.strictEqual(new TextDecoder().decode(yield* s.getBytes(done.key)), "present")
    }).pipe(Effect.provide(bare)))
})
