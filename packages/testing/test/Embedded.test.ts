/**
 * Embedded base URLs (`memory:`, `file:<folder>`) and the URL-based choice between embedded and NodeClient.
 */
import * as HttpServer from "@effect/platform/HttpServer"
import { assert, describe, it } from "@effect/vitest"
import * as ObjectstoreClient from "@objectstore/client/ObjectstoreClient"
import * as Scope from "@objectstore/client/Scope"
import * as Usecase from "@objectstore/client/Usecase"
import * as ServerEmbedded from "@objectstore/server/Embedded"
import * as Server from "@objectstore/server/Server"
import * as Embedded from "@objectstore/testing/Embedded"
import * as Config from "effect/Config"
import * as ConfigProvider from "effect/ConfigProvider"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Layer from "effect/Layer"
import * as fs from "node:fs"
import { pathToFileURL } from "node:url"
import { tempDir as makeTempDir } from "../../../test/support.js"

const files = Usecase.make("files")
const scope = Scope.make({ org: 1 })
const session = Effect.flatMap(ObjectstoreClient.ObjectstoreClient, (client) => client.session(files, scope))

const tempDir = makeTempDir("embedded")

describe("Embedded", () => {
  it.effect("memory: a fresh in-process store per layer", () =>
    Effect.gen(function*() {
      const first = yield* Effect.provide(
        Effect.flatMap(session, (s) => Effect.flatMap(s.put("in memory", { key: "k" }), (key) => s.getText(key))),
        Embedded.layer("memory:")
      )
      assert.strictEqual(first, "in memory")
      const second = yield* Effect.provide(
        Effect.flatMap(session, (s) => Effect.flip(s.getText("k"))),
        Embedded.layer("memory:")
      )
      assert.strictEqual(second._tag, "NotFoundError")
    }))

  it.scoped("file:<folder> keeps objects across layers (relative or file:// URLs)", () =>
    Effect.gen(function*() {
      const dir = yield* tempDir
      yield* Effect.provide(
        Effect.flatMap(session, (s) => s.put("on disk", { key: "durable", contentType: "text/plain" })),
        Embedded.layer(`file:${dir}`)
      )
      const [text, head] = yield* Effect.provide(
        Effect.flatMap(session, (s) => Effect.all([s.getText("durable"), s.head("durable")])),
        Embedded.layer(pathToFileURL(dir).href)
      )
      assert.strictEqual(text, "on disk")
      assert.strictEqual(head.contentType, "text/plain")
      assert.isAbove(fs.readdirSync(dir).length, 0)
    }))

  it("parseUrl is the server's (memory:, file:), its refusals as InvalidInputError on baseUrl", () => {
    // the URL grammar itself is tested with @objectstore/server/Embedded
    assert.deepStrictEqual(
      Embedded.parseUrl("file:///tmp/store"),
      Either.right({ type: "filesystem" as const, path: "/tmp/store" })
    )
    for (const bad of ["file:", "memory:x", "http://localhost:8888", "s3://bucket"]) {
      const parsed = Embedded.parseUrl(bad)
      if (Either.isRight(parsed)) throw new Error(`${bad} was accepted`)
      assert.strictEqual(parsed.left.field, "baseUrl")
      assert.strictEqual(parsed.left.reason, Either.flip(ServerEmbedded.parseUrl(bad)).pipe(Either.getOrThrow).reason)
    }
    assert.isTrue(Embedded.isEmbeddedUrl("FILE:/x"))
    assert.isFalse(Embedded.isEmbeddedUrl("http://localhost:8888"))
  })

  it.effect("an invalid embedded URL fails the layer with InvalidInputError", () =>
    Effect.gen(function*() {
      const error = yield* Effect.flip(Effect.provide(session, Embedded.layer("file:")))
      assert.strictEqual(error._tag, "InvalidInputError")
    }))

  it.effect("layerFromUrl: memory: runs embedded", () =>
    Effect.gen(function*() {
      const s = yield* session
      assert.strictEqual(yield* s.getText(yield* s.put("picked embedded")), "picked embedded")
    }).pipe(Effect.provide(Embedded.layerFromUrl({ baseUrl: "memory:" }))))

  it.scoped("layerFromUrl: an http URL uses NodeClient against a real server (loopback TCP)", () =>
    Effect.gen(function*() {
      const control = yield* Server.ServerControl
      const baseUrl = yield* HttpServer.addressFormattedWith(Effect.succeed)
      const key = yield* Effect.provide(
        Effect.flatMap(session, (s) => s.put("over tcp")),
        Embedded.layerFromUrl({ baseUrl, connectTimeout: "2 seconds", metrics: false })
      )
      const entries = yield* control.storage.list
      assert.deepStrictEqual(entries.map((entry) => entry.id.key), [key])
    }).pipe(Effect.provide(Server.layer({ port: 0 }))))

  it.effect("layerFromUrlConfig reads OBJECTSTORE_URL", () =>
    Effect.gen(function*() {
      const s = yield* session
      yield* s.put("configured", { key: "c" })
      assert.strictEqual(yield* s.getText("c"), "configured")
    }).pipe(
      Effect.provide(
        Embedded.layerFromUrlConfig({ baseUrl: Config.string("OBJECTSTORE_URL") }).pipe(
          Layer.provide(Layer.setConfigProvider(ConfigProvider.fromMap(new Map([["OBJECTSTORE_URL", "memory:"]]))))
        )
      )
    ))
})
