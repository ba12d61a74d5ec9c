/**
 * The root entry of `@objectstore/client` is usable in a browser: a bundle of `ObjectstoreClient.layer` over
 * `FetchHttpClient.layer` builds for the browser platform and contains no Node.js module (the Node transport is only
 * reached through `@objectstore/client/NodeClient`; built-ins are loaded lazily by the features that need them).
 */
import { assert, describe, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as esbuild from "esbuild"
import * as path from "node:path"
import { fileURLToPath } from "node:url"

const here = path.dirname(fileURLToPath(import.meta.url))
const root = path.resolve(here, "../../..")

const bundle = (contents: string, platform: esbuild.Platform) =>
  Effect.promise(() =>
    esbuild.build({
      stdin: { contents, resolveDir: here, loader: "ts", sourcefile: "entry.ts" },
      bundle: true,
      write: false,
      metafile: true,
      format: "esm",
      platform,
      logLevel: "silent",
      tsconfig: path.join(root, "tsconfig.json")
    }).then(
      (result) => ({ ok: true as const, result }),
      (error: esbuild.BuildFailure) => ({ ok: false as const, error })
    )
  )

/** Every module the bundle's inputs import that is a Node.js built-in. */
const nodeImports = (metafile: esbuild.Metafile): Array<string> =>
  Object.entries(metafile.inputs).flatMap(([file, input]) =>
    input.imports.filter((imported) => imported.path.startsWith("node:")).map((imported) =>
      `${file} → ${imported.path}`
    )
  )

const browserApp = `
import * as FetchHttpClient from "@effect/platform/FetchHttpClient"
import { Auth, Compression, Metrics, ObjectstoreClient } from "@objectstore/client"
import * as Layer from "effect/Layer"
export const live = ObjectstoreClient.layer({ baseUrl: "https://objectstore.example" }).pipe(
  Layer.provide(Layer.mergeAll(FetchHttpClient.layer, Compression.layer, Auth.layerNone, Metrics.layer))
)
`

const fetchApp = `
import * as FetchClient from "@objectstore/client/FetchClient"
export const live = FetchClient.layer({ baseUrl: "https://objectstore.example" })
`

describe("the root entry in a browser bundle", () => {
  it.live(
    "ObjectstoreClient.layer + FetchHttpClient.layer builds for the browser, without node: modules",
    () =>
      Effect.gen(function*() {
        const built = yield* bundle(browserApp, "browser")
        assert.isTrue(built.ok, built.ok ? "" : built.error.errors.map((error) => error.text).join("\n"))
        if (!built.ok) return
        assert.deepStrictEqual(nodeImports(built.result.metafile), [])
        const files = Object.keys(built.result.metafile.inputs)
        assert.isTrue(files.some((file) => file.endsWith("client/src/ObjectstoreClient.ts")), "the client is bundled")
        assert.isFalse(files.some((file) => file.includes("undiciClient")), "the Node transport is not bundled")
      }),
    30_000
  )

  it.live("FetchClient.layer builds for the browser, without node: modules", () =>
    Effect.gen(function*() {
      const built = yield* bundle(fetchApp, "browser")
      assert.isTrue(built.ok, built.ok ? "" : built.error.errors.map((error) => error.text).join("\n"))
      if (!built.ok) return
      assert.deepStrictEqual(nodeImports(built.result.metafile), [])
    }), 30_000)

  it.live("the check sees Node.js modules: NodeClient, bundled for Node, imports them", () =>
    Effect.gen(function*() {
      const built = yield* bundle(
        `export { layer } from "@objectstore/client/NodeClient"`,
        "node"
      )
      assert.isTrue(built.ok)
      if (!built.ok) return
      assert.isNotEmpty(nodeImports(built.result.metafile))
    }), 30_000)
})
