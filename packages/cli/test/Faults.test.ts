/**
 * The bulk commands under network faults: `get-many` and `put-dir` in-process against the fault server of the client's
 * fault suite (`packages/client/test/support/faultServer.ts`), in front of the real local server, with short
 * deadlines (`OBJECTSTORE_TIMEOUT`, `OBJECTSTORE_IDLE_TIMEOUT`). For each fault the job must end in bounded time
 * with the documented exit code, report the object that failed, keep every result that succeeded, and leave nothing
 * half-written: no partial or temporary file in the download folder, no unfinished multipart upload on the server.
 */
import * as HttpServer from "@effect/platform/HttpServer"
import { assert, layer } from "@effect/vitest"
import * as Server from "@objectstore/server/Server"
import * as Effect from "effect/Effect"
import * as fs from "node:fs"
import * as path from "node:path"
import * as FaultServer from "../../client/test/support/faultServer.js"
import { cli, randomBytes, sha256, tempDir } from "./helpers.js"

const ServerLive = Server.layer({ port: 0 })

/** Every file under `dir`, relative, sorted (temporary files included). */
const listTree = (dir: string): Array<string> =>
  (fs.readdirSync(dir, { recursive: true, withFileTypes: true }) as Array<fs.Dirent>)
    .filter((entry) => entry.isFile())
    .map((entry) => path.relative(dir, path.join(entry.parentPath, entry.name)))
    .sort()

const deadlines = { OBJECTSTORE_TIMEOUT: "400ms", OBJECTSTORE_IDLE_TIMEOUT: "300ms", OBJECTSTORE_USECASE: "files" }

/** Sanity bound of a faulted job: the deadlines and retries it goes through, many times over. */
const BOUND_MS = 30_000

const MiB = 1024 * 1024

layer(ServerLive, { excludeTestServices: true, timeout: 60_000 })("bulk commands under faults", (it) => {
  it.scoped(
    "get-many: a download that stalls, truncates, resets or arrives corrupt fails alone, nothing partial",
    () =>
      Effect.gen(function*() {
        const upstream = yield* HttpServer.addressFormattedWith(Effect.succeed)
        const src = tempDir("faults-src")
        const files: Record<string, Uint8Array> = {
          "a.txt": new TextEncoder().encode("alpha\n".repeat(100)),
          "b.txt": new TextEncoder().encode("beta"),
          "good.bin": randomBytes(1.5 * MiB),
          "bad.bin": new Uint8Array(Buffer.from("compressible ".repeat(150_000)))
        }
        for (const [name, bytes] of Object.entries(files)) fs.writeFileSync(path.join(src, name), bytes)
        const manifest = path.join(tempDir("faults-manifest"), "list.tsv")
        const scope = ["-s", "org=51"]
        const put = yield* cli(["put-dir", src, ...scope, "--write-manifest", manifest], {
          env: { ...deadlines, OBJECTSTORE_URL: upstream }
        })
        assert.strictEqual(put.code, 0, put.stderr)

        const faults: ReadonlyArray<[string, FaultServer.Fault]> = [
          ["stall mid-download", { _tag: "StallBody" }],
          ["truncate", { _tag: "Truncate" }],
          ["reset during download", { _tag: "ResetDuringDownload" }],
          ["corrupt zstd", { _tag: "CorruptZstd" }]
        ]
        for (const [name, fault] of faults) {
          const server = yield* FaultServer.make({
            fault,
            upstream,
            when: (request) => request.method === "GET" && request.url.endsWith("/bad.bin")
          })
          const out = tempDir("faults-out")
          const started = performance.now()
          const run = yield* cli(["get-many", manifest, "--dir", out, ...scope, "--json"], {
            env: { ...deadlines, OBJECTSTORE_URL: server.url }
          })
          const took = performance.now() - started
          assert.strictEqual(run.code, 5, `${name}: exit 5 (some failed): ${run.stderr}`)
          assert.isBelow(took, BOUND_MS, name)
          assert.isAtLeast(server.faulted(), 1, `${name}: the fault was applied`)
          const lines = run.stdout.trim().split("\n").map((line) => JSON.parse(line))
          const failures = lines.filter((line) => line.status === "failed")
          assert.deepStrictEqual(failures.map((f) => f.key), ["bad.bin"], `${name}: the one failure is reported`)
          assert.strictEqual(failures[0].exitCode, 1, `${name}: a network or data failure`)
          assert.deepInclude(lines.at(-1), { type: "summary", objects: 3, failed: 1 }, name)
          assert.deepStrictEqual(listTree(out), ["a.txt", "b.txt", "good.bin"], `${name}: no partial or temporary file`)
          for (const file of ["a.txt", "b.txt", "good.bin"]) {
            assert.strictEqual(sha256(fs.readFileSync(path.join(out, file))), sha256(files[file]!), `${name}: ${file}`)
          }
        }
      }),
    { timeout: 60_000 }
  )

  it.scoped(
    "put-dir: a part upload that stalls or is refused fails its file alone; the upload is aborted",
    () =>
      Effect.gen(function*() {
        const upstream = yield* HttpServer.addressFormattedWith(Effect.succeed)
        const control = yield* Server.ServerControl
        const faults: ReadonlyArray<[string, FaultServer.Fault, detail: string]> = [
          ["stall before headers", { _tag: "StallHeaders" }, "(Timeout)"],
          // the socket buffers take the whole 1 MiB part: then no answer comes
          ["stop reading the upload", { _tag: "StopReading", after: 64 * 1024 }, "(Timeout)"],
          ["early 503", { _tag: "Early", status: 503 }, "503 (Overloaded): early 503 (4 attempts, retries exhausted)"],
          ["early 413", { _tag: "Early", status: 413 }, "413 (BadRequest): early 413 (1 attempt, not retried"]
        ]
        for (const [index, [name, fault, detail]] of faults.entries()) {
          const src = tempDir("faults-tree")
          fs.writeFileSync(path.join(src, "small.txt"), "small")
          fs.writeFileSync(path.join(src, "big.bin"), randomBytes(3 * MiB))
          const manifest = path.join(tempDir("faults-written"), "manifest.tsv")
          const server = yield* FaultServer.make({
            fault,
            upstream,
            // the part uploads of big.bin, not the requests that create, complete or abort the upload
            when: (request) => request.method === "PUT" && request.url.includes("/big.bin?")
          })
          const scope = ["-s", `org=${60 + index}`]
          const started = performance.now()
          const run = yield* cli(
            ["put-dir", src, ...scope, "--part-size", "1MiB", "--write-manifest", manifest],
            { env: { ...deadlines, OBJECTSTORE_URL: server.url } }
          )
          const took = performance.now() - started
          assert.strictEqual(run.code, 5, `${name}: exit 5 (some failed): ${run.stderr}`)
          assert.isBelow(took, BOUND_MS, name)
          assert.isAtLeast(server.faulted(), 1, `${name}: the fault was applied`)
          assert.include(run.stderr, "failed: big.bin: ", name)
          assert.include(run.stderr, detail, name)
          assert.include(run.stdout, "uploaded 1 object", name)
          assert.strictEqual(
            fs.readFileSync(manifest, "utf8"),
            "small.txt\tsmall.txt\n",
            `${name}: only what succeeded`
          )
          const stored = (yield* control.storage.list).filter((entry) => entry.id.scopes[0]?.[1] === `${60 + index}`)
          assert.deepStrictEqual(stored.map((entry) => entry.id.key), ["small.txt"], name)
          // the client aborts the upload it gave up; give the abort a moment to reach the server
          const pending = yield* Effect.gen(function*() {
            for (let i = 0; i < 100; i++) {
              const uploads = (yield* control.storage.listUploads).filter((u) => u.id.key === "big.bin")
              if (uploads.length === 0) return uploads
              yield* Effect.promise(() => new Promise((resolve) => setTimeout(resolve, 20)))
            }
            return (yield* control.storage.listUploads).filter((u) => u.id.key === "big.bin")
          })
          assert.deepStrictEqual(pending.map((u) => u.id.key), [], `${name}: no unfinished upload left`)
        }
      }),
    { timeout: 60_000 }
  )
})
