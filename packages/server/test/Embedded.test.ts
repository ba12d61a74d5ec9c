/**
 * The server embedded in-process by URL (`memory:`, `file:<folder>`), as production code (the CLI) uses it.
 */
import * as HttpClient from "@effect/platform/HttpClient"
import * as HttpClientRequest from "@effect/platform/HttpClientRequest"
import { assert, describe, it } from "@effect/vitest"
import * as Embedded from "@objectstore/server/Embedded"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as fs from "node:fs"
import { pathToFileURL } from "node:url"
import { tempDir } from "../../../test/support.js"

const http = Effect.map(
  HttpClient.HttpClient,
  HttpClient.mapRequest(HttpClientRequest.prependUrl(Embedded.INTERNAL_BASE_URL))
)

const put = (key: string, body: string) =>
  Effect.flatMap(http, (client) =>
    client.execute(
      HttpClientRequest.put(`/v1/objects/files/org=1/${key}`).pipe(
        HttpClientRequest.bodyText(body, "text/plain")
      )
    )).pipe(Effect.map((response) => response.status), Effect.scoped)

const get = (key: string) =>
  Effect.flatMap(http, (client) => client.execute(HttpClientRequest.get(`/v1/objects/files/org=1/${key}`))).pipe(
    Effect.flatMap((response) => Effect.map(response.text, (text) => [response.status, text] as const)),
    Effect.scoped
  )

describe("Embedded", () => {
  it("parseUrl: memory, file paths, file URLs, and refusals that say why", () => {
    assert.deepStrictEqual(Embedded.parseUrl("memory:"), Either.right({ type: "memory" as const }))
    assert.deepStrictEqual(Embedded.parseUrl(" MEMORY: "), Either.right({ type: "memory" as const }))
    assert.deepStrictEqual(
      Embedded.parseUrl("file:./data"),
      Either.right({ type: "filesystem" as const, path: "./data" })
    )
    assert.deepStrictEqual(
      Embedded.parseUrl("file:///tmp/store"),
      Either.right({ type: "filesystem" as const, path: "/tmp/store" })
    )
    const reasons: Record<string, RegExp> = {
      "file:": /^file: needs a folder, e\.g\. file:\.\/data$/,
      "memory:x": /^not an embedded store URL/,
      "http://localhost:8888": /^not an embedded store URL \(memory: or file:<folder>\): "http:\/\/localhost:8888"$/,
      "file://host/x": /^not a usable file URL: "file:\/\/host\/x"$/
    }
    for (const [url, reason] of Object.entries(reasons)) {
      const parsed = Embedded.parseUrl(url)
      if (Either.isRight(parsed)) throw new Error(`${url} was accepted`)
      assert.strictEqual(parsed.left._tag, "EmbeddedUrlError")
      assert.strictEqual(parsed.left.url, url)
      assert.match(parsed.left.message, reason)
    }
    assert.isTrue(Embedded.isEmbeddedUrl("memory:"))
    assert.isTrue(Embedded.isEmbeddedUrl("FILE:/x"))
    assert.isFalse(Embedded.isEmbeddedUrl("http://localhost:8888"))
  })

  it.effect("memory: a fresh store per layer, served in-process", () =>
    Effect.gen(function*() {
      assert.strictEqual(yield* put("k", "in memory").pipe(Effect.provide(Embedded.layerHttpClient("memory:"))), 200)
      const [status] = yield* get("k").pipe(Effect.provide(Embedded.layerHttpClient("memory:")))
      assert.strictEqual(status, 404)
    }))

  it.scoped("file:<folder> keeps objects across layers (a path or a file:// URL)", () =>
    Effect.gen(function*() {
      const dir = yield* tempDir("embedded")
      const status = yield* put("durable", "on disk").pipe(Effect.provide(Embedded.layerHttpClient(`file:${dir}`)))
      assert.strictEqual(status, 200)
      const read = yield* get("durable").pipe(Effect.provide(Embedded.layerHttpClient(pathToFileURL(dir).href)))
      assert.deepStrictEqual(read, [200, "on disk"])
      assert.isAbove(fs.readdirSync(dir).length, 0)
    }))

  it.effect("server options apply (auth enforced with no keys refuses to start); a bad URL fails the layer", () =>
    Effect.gen(function*() {
      const auth = yield* Effect.flip(
        put("k", "x").pipe(Effect.provide(Embedded.layerHttpClient("memory:", { auth: { enforce: true, keys: {} } })))
      )
      assert.strictEqual(auth._tag, "AuthConfigError")
      const url = yield* Effect.flip(put("k", "x").pipe(Effect.provide(Embedded.layerHttpClient("file:"))))
      assert.strictEqual(url._tag, "EmbeddedUrlError")
    }))
})
