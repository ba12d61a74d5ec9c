/**
 * examples/batch-job.ts runs as a script: embedded (memory:) and against a real server over loopback.
 */
import * as HttpServer from "@effect/platform/HttpServer"
import { assert, describe, it } from "@effect/vitest"
import * as Server from "@objectstore/server/Server"
import * as Effect from "effect/Effect"
import { execFile } from "node:child_process"
import * as crypto from "node:crypto"
import * as fs from "node:fs"
import * as path from "node:path"
import { fileURLToPath } from "node:url"
import { tempDir } from "../../test/support.js"

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..")

const runJob = (folder: string, env: Record<string, string>) =>
  Effect.async<{ stdout: string; stderr: string; code: number }>((resume) => {
    const child = execFile(
      process.execPath,
      ["--import", "tsx", path.join(root, "examples/batch-job.ts"), folder],
      { cwd: root, env: { ...process.env, ...env }, timeout: 60_000 },
      (error, stdout, stderr) =>
        resume(Effect.succeed({ stdout, stderr, code: error ? (typeof error.code === "number" ? error.code : 1) : 0 }))
    )
    return Effect.sync(() => child.kill())
  })

/** A folder with 40 small files in nested folders and one 2 MiB file (which goes as a single request). */
const fixture = Effect.map(tempDir("batch-job"), (dir) => {
  fs.mkdirSync(path.join(dir, "nested/deeper"), { recursive: true })
  for (let i = 0; i < 40; i++) {
    fs.writeFileSync(path.join(dir, i % 2 === 0 ? "nested" : "nested/deeper", `file-${i}.txt`), `content ${i}\n`)
  }
  fs.writeFileSync(path.join(dir, "large.bin"), crypto.randomBytes(2 * 1024 * 1024))
  return dir
})

describe("examples/batch-job.ts", () => {
  it.scoped("uploads and verifies a folder with an embedded memory: store", () =>
    Effect.gen(function*() {
      const dir = yield* fixture
      const result = yield* runJob(dir, { OBJECTSTORE_URL: "memory:" })
      assert.strictEqual(result.code, 0, result.stderr)
      const summary = JSON.parse(result.stdout)
      assert.deepStrictEqual(summary, {
        files: 41,
        uploaded: 41,
        verified: 41,
        bytes: summary.bytes,
        failures: []
      })
      assert.isAbove(summary.bytes, 2 * 1024 * 1024)
    }))

  it.scoped("stores every file under its relative path on a real server", () =>
    Effect.gen(function*() {
      const dir = yield* fixture
      const baseUrl = yield* HttpServer.addressFormattedWith(Effect.succeed)
      const control = yield* Server.ServerControl
      const result = yield* runJob(dir, { OBJECTSTORE_URL: baseUrl, OBJECTSTORE_SCOPE: "org=9 run=ci" })
      assert.strictEqual(result.code, 0, result.stderr)
      const entries = yield* control.storage.list
      assert.strictEqual(entries.length, 41)
      const keys = entries.map((entry) => entry.id.key).sort()
      assert.include(keys, "large.bin")
      assert.include(keys, "nested/deeper/file-1.txt")
      assert.deepStrictEqual(entries[0]!.id.scopes, [["org", "9"], ["run", "ci"]])
      assert.strictEqual(entries[0]!.id.usecase, "batch-job")
    }).pipe(Effect.provide(Server.layer({ port: 0 }))))

  it.scoped("reports per-file failures and exits 1", () =>
    Effect.gen(function*() {
      const dir = yield* fixture
      const baseUrl = yield* HttpServer.addressFormattedWith(Effect.succeed)
      const result = yield* runJob(dir, { OBJECTSTORE_URL: baseUrl })
      assert.strictEqual(result.code, 1)
      const summary = JSON.parse(result.stdout)
      assert.strictEqual(summary.uploaded, 0)
      assert.strictEqual(summary.failures.length, 41 * 2) // every put refused, every get then missing
      assert.include(summary.failures[0], "not allowed")
    }).pipe(Effect.provide(Server.layer({ port: 0, usecases: { "batch-job": { manual: { allowed: false } } } }))))
})
