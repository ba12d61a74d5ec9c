/**
 * The README's code runs: examples/quickstart.ts against a local server over loopback.
 */
import * as HttpServer from "@effect/platform/HttpServer"
import { assert, describe, it } from "@effect/vitest"
import * as Server from "@objectstore/server/Server"
import * as Effect from "effect/Effect"
import { execFile } from "node:child_process"
import * as path from "node:path"
import { fileURLToPath } from "node:url"

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../../..")

const runExample = (file: string, env: Record<string, string>) =>
  Effect.async<{ stdout: string; stderr: string; code: number }>((resume) => {
    const child = execFile(
      process.execPath,
      ["--import", "tsx", path.join(root, file)],
      { cwd: root, env: { ...process.env, ...env }, timeout: 30_000 },
      (error, stdout, stderr) =>
        resume(Effect.succeed({ stdout, stderr, code: error ? (typeof error.code === "number" ? error.code : 1) : 0 }))
    )
    return Effect.sync(() => child.kill())
  })

describe("examples", () => {
  it.scoped("quickstart.ts uploads, reads back and deletes through a real server", () =>
    Effect.gen(function*() {
      const baseUrl = yield* HttpServer.addressFormattedWith(Effect.succeed)
      const control = yield* Server.ServerControl
      const result = yield* runExample("examples/quickstart.ts", { OBJECTSTORE_URL: baseUrl })
      assert.strictEqual(result.code, 0, result.stderr)
      assert.strictEqual(result.stdout.trim(), "Hello, world!")
      // it deleted what it wrote
      assert.strictEqual((yield* control.storage.list).length, 0)
    }).pipe(Effect.provide(Server.layer({ port: 0 }))))
})
