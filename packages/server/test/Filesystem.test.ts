import { assert, describe, it } from "@effect/vitest"
import * as Server from "@objectstore/server/Server"
import * as Storage from "@objectstore/server/Storage"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as TestClock from "effect/TestClock"
import * as Fs from "node:fs/promises"
import * as Net from "node:net"
import * as NodePath from "node:path"
import { eventually, tempDir as makeTempDir } from "../../../test/support.js"
import { http, serverPort } from "./support/http.js"

const T0 = 1_700_000_000_000

const tempDir = makeTempDir("fs")

const walk = async (dir: string): Promise<Array<string>> => {
  const out: Array<string> = []
  for (const entry of await Fs.readdir(dir, { withFileTypes: true })) {
    const full = NodePath.join(dir, entry.name)
    if (entry.isDirectory()) out.push(...(await walk(full)))
    else out.push(full)
  }
  return out
}

const files = (dir: string) => Effect.promise(() => walk(dir))

const serve = (path: string) => Server.layer({ port: 0, storage: { type: "filesystem", path } })
const withServer = <A, E, R>(path: string, effect: Effect.Effect<A, E, R>) =>
  Effect.scoped(Layer.build(serve(path)).pipe(Effect.flatMap((context) => Effect.provide(effect, context))))

describe("Filesystem storage over HTTP", () => {
  it.scoped("objects and their metadata survive a restart over the same folder", () =>
    Effect.gen(function*() {
      const root = yield* tempDir
      yield* TestClock.setTime(T0)
      yield* withServer(
        root,
        Effect.gen(function*() {
          const put = yield* http({
            method: "PUT",
            path: "/v1/objects/test/org=1;project=2/dir/file.txt",
            headers: {
              "content-type": "text/plain; charset=utf-8",
              "x-sn-expiration": "tti:2h",
              "x-sn-filename": "file.txt",
              "x-snme-build": "7"
            },
            body: "persistent"
          })
          assert.strictEqual(put.status, 200)
          yield* TestClock.adjust("31 minutes")
          yield* http({ method: "HEAD", path: "/v1/objects/test/org=1;project=2/dir/file.txt" }) // bumps
          yield* http({ method: "PUT", path: "/v1/objects/test/_/gone", body: "x" })
          yield* http({ method: "DELETE", path: "/v1/objects/test/_/gone" })
        })
      )
      yield* withServer(
        root,
        Effect.gen(function*() {
          const got = yield* http({ method: "GET", path: "/v1/objects/test/org=1;project=2/dir/file.txt" })
          assert.strictEqual(got.status, 200)
          assert.strictEqual(got.text, "persistent")
          assert.strictEqual(got.headers["content-type"], "text/plain; charset=utf-8")
          assert.strictEqual(got.headers["x-sn-filename"], "file.txt")
          assert.strictEqual(got.headers["x-snme-build"], "7")
          assert.strictEqual(got.headers["x-sn-expiration"], "tti:2h")
          assert.strictEqual(got.headers["x-sn-time-created"], "2023-11-14T22:13:20.000000Z")
          assert.strictEqual(got.headers["x-sn-time-expires"], "2023-11-15T00:44:20.000000Z") // bumped before restart
          assert.strictEqual((yield* http({ method: "GET", path: "/v1/objects/test/_/gone" })).status, 404)
          const entries = yield* Effect.flatMap(Storage.Storage, (storage) => storage.list)
          assert.deepStrictEqual(entries.map((entry) => [entry.id.usecase, entry.id.scopes, entry.id.key]), [
            ["test", [["org", "1"], ["project", "2"]], "dir/file.txt"]
          ])
        })
      )
    }))

  it.scoped("concurrent writers to one key leave exactly one whole object equal to one of the writes", () =>
    Effect.gen(function*() {
      const root = yield* tempDir
      yield* withServer(
        root,
        Effect.gen(function*() {
          const bodies = Array.from({ length: 8 }, (_, i) => Buffer.alloc(300_000 + i * 1000, 65 + i))
          const results = yield* Effect.forEach(
            bodies,
            (body) =>
              http({
                method: "PUT",
                path: "/v1/objects/test/_/contended",
                body: [body.subarray(0, 100_000), body.subarray(100_000)]
              }),
            { concurrency: "unbounded" }
          )
          assert.deepStrictEqual(results.map((r) => r.status), bodies.map(() => 200))
          const got = yield* http({ method: "GET", path: "/v1/objects/test/_/contended" })
          assert.isTrue(bodies.some((body) => body.equals(got.body)), "the body is one whole write")
          const all = (yield* files(root)).map((file) => NodePath.relative(root, file).split(NodePath.sep)[0])
          assert.deepStrictEqual(all.sort(), ["blobs", "objects"])
        })
      )
    }))

  it.scoped("keys are never paths: `../../x` stays inside the folder", () =>
    Effect.gen(function*() {
      const parent = yield* tempDir
      const root = NodePath.join(parent, "a", "b", "store")
      yield* withServer(
        root,
        Effect.gen(function*() {
          for (
            const path of ["/v1/objects/test/_/../../x", "/v1/objects/test/_/..%2F..%2Fy", "/v1/objects/../_/../z"]
          ) {
            assert.strictEqual((yield* http({ method: "PUT", path, body: "escape?" })).status, 200, path)
          }
          const entries = yield* Effect.flatMap(Storage.Storage, (storage) => storage.list)
          assert.sameMembers(entries.map((entry) => entry.id.key), ["../../x", "../../y", "../z"])
          assert.strictEqual((yield* http({ method: "GET", path: "/v1/objects/test/_/../../x" })).text, "escape?")
        })
      )
      const all = yield* files(parent)
      for (const file of all) {
        assert.isTrue(file.startsWith(root + NodePath.sep), file)
        assert.notMatch(NodePath.basename(file), /^[xyz]$/)
      }
      assert.sameMembers(yield* Effect.promise(() => Fs.readdir(root)), [
        "objects",
        "blobs",
        "tmp",
        "uploads",
        "resumable"
      ])
    }))

  it.scoped("leftover temp files and orphaned blobs are removed at start; aborted uploads leave nothing", () =>
    Effect.gen(function*() {
      const root = yield* tempDir
      yield* Effect.promise(async () => {
        await Fs.mkdir(NodePath.join(root, "tmp"), { recursive: true })
        await Fs.mkdir(NodePath.join(root, "blobs"), { recursive: true })
        await Fs.writeFile(NodePath.join(root, "tmp", "crashed-write.blob"), "half")
        await Fs.writeFile(NodePath.join(root, "blobs", `${"0".repeat(64)}.orphan`), "orphan")
      })
      yield* withServer(
        root,
        Effect.gen(function*() {
          assert.deepStrictEqual(yield* files(root), [])
          const port = yield* serverPort
          yield* Effect.async<void>((resume) => {
            const socket = Net.connect(port, "127.0.0.1", () => {
              socket.write(
                "PUT /v1/objects/test/_/torn HTTP/1.1\r\nhost: x\r\ntransfer-encoding: chunked\r\n\r\n"
                  + "3e8\r\n" + "a".repeat(1000) + "\r\n"
              )
              setTimeout(() => {
                socket.destroy()
                resume(Effect.void)
              }, 50)
            })
          })
          yield* eventually(files(root), (left) => left.length === 0)
        })
      )
    }))

  it.scoped("the reaper deletes expired objects' files", () =>
    Effect.gen(function*() {
      const root = yield* tempDir
      yield* TestClock.setTime(T0)
      yield* withServer(
        root,
        Effect.gen(function*() {
          yield* http({ method: "PUT", path: "/v1/objects/test/_/short", headers: { "x-sn-expiration": "ttl:1s" } })
          yield* http({ method: "PUT", path: "/v1/objects/test/_/manual", body: "m" })
          assert.lengthOf(yield* files(root), 4)
          yield* TestClock.adjust("2 minutes")
          yield* eventually(files(root), (left) => left.length === 2)
          const entries = yield* Effect.flatMap(Storage.Storage, (storage) => storage.list)
          assert.deepStrictEqual(entries.map((entry) => entry.id.key), ["manual"])
        })
      )
    }))
})
