/**
 * The real executable in a child process: exit codes, one-line errors without stack traces, and Ctrl-C (SIGINT)
 * during bulk jobs: no multipart upload left on the server, no partial file left on disk, exit code 130.
 */
import * as HttpServer from "@effect/platform/HttpServer"
import { assert, beforeAll, layer } from "@effect/vitest"
import * as Stdio from "@objectstore/cli/Stdio"
import * as Server from "@objectstore/server/Server"
import * as Effect from "effect/Effect"
import { execFile } from "node:child_process"
import * as fs from "node:fs"
import * as path from "node:path"
import {
  bundleFile,
  bundleForTests,
  cli,
  cliRoot,
  keyPair,
  randomBytes,
  repoRoot,
  runProcess,
  spawnCli,
  tempDir
} from "./helpers.js"

// Child processes start from a bundle of the current sources (tsx would spend about a second loading them each time).
beforeAll(bundleForTests, 60_000)

const waitUntil = (condition: Effect.Effect<boolean>, timeoutMs: number) =>
  Effect.gen(function*() {
    const deadline = Date.now() + timeoutMs
    while (Date.now() < deadline) {
      if (yield* condition) return true
      yield* Effect.sleep("10 millis")
    }
    return false
  })

layer(Server.layer({ port: 0 }), { excludeTestServices: true })("objectstore (child process)", (it) => {
  it.effect("bin/objectstore.js starts and answers --version and --help", () =>
    Effect.gen(function*() {
      const version = yield* runProcess(["--version"], {}, "bin")
      assert.strictEqual(version.code, 0, version.stderr)
      assert.include(version.stdout, "0.1.0")
      const help = yield* runProcess(["--help"], {}, "bin")
      assert.strictEqual(help.code, 0)
      assert.include(help.stdout, "Exit codes:")
      assert.notInclude(help.stdout, "\x1b[", "no colours when standard output is not a terminal")
    }))

  it.effect("exit codes: 0, 3 not found, 2 usage, 1 unreachable; errors are one line with a hint, no stack", () =>
    Effect.gen(function*() {
      const url = yield* HttpServer.addressFormattedWith(Effect.succeed)
      const env = { OBJECTSTORE_URL: url, OBJECTSTORE_USECASE: "proc" }
      const dir = tempDir("proc")
      const file = path.join(dir, "x.txt")
      fs.writeFileSync(file, "x")
      const ok = yield* runProcess(["put", file, "-k", "x.txt", "-s", "org=1"], env)
      assert.strictEqual(ok.code, 0, ok.stderr)
      assert.strictEqual(ok.stdout, "x.txt\n")
      assert.strictEqual(ok.stderr, "")

      const missing = yield* runProcess(["get", "nope", "-s", "org=1"], env)
      assert.strictEqual(missing.code, 3)
      assert.strictEqual(missing.stderr, "objectstore: object not found: nope (usecase proc, scope org=1)\n")

      const badScope = yield* runProcess(["head", "x.txt", "-s", "org:1"], env)
      assert.strictEqual(badScope.code, 2)
      assert.deepStrictEqual(badScope.stderr.trim().split("\n").map((l) => l.split(":")[0]), ["objectstore", "hint"])

      const unknown = yield* runProcess(["frobnicate"], env)
      assert.strictEqual(unknown.code, 2)

      const down = yield* runProcess(["head", "x.txt"], { ...env, OBJECTSTORE_URL: "http://127.0.0.1:1" })
      assert.strictEqual(down.code, 1)
      for (const result of [missing, badScope, unknown, down]) {
        assert.notMatch(result.stderr, /\n\s+at /)
        assert.notInclude(result.stderr, "FiberFailure")
      }
    }))

  it.effect("Ctrl-C during a bulk upload cancels the upload in flight (a resumable session) and exits 130", () =>
    Effect.gen(function*() {
      const url = yield* HttpServer.addressFormattedWith(Effect.succeed)
      const control = yield* Server.ServerControl
      const src = tempDir("sigint-up")
      fs.writeFileSync(path.join(src, "small.txt"), "small")
      fs.writeFileSync(path.join(src, "zz-big.bin"), randomBytes(64 * 1024 * 1024))
      const { child, done } = spawnCli(
        ["put-dir", src, "-s", "org=2", "--part-size", "1MiB", "--concurrency", "1", "--compression", "none"],
        { OBJECTSTORE_URL: url, OBJECTSTORE_USECASE: "sigint" }
      )
      // 64 MiB without compression on the fly: the automatic choice is a resumable upload (PROTOCOL §22)
      const started = yield* waitUntil(
        Effect.map(
          Effect.orDie(control.storage.listSessions),
          (sessions) => sessions.some((s) => s.status._tag === "Open" && s.status.offset > 0)
        ),
        60_000
      )
      assert.isTrue(started, "the resumable upload started")
      child.kill("SIGINT")
      const result = yield* Effect.promise(() => done)
      assert.strictEqual(result.code, 130, result.stderr)
      assert.include(result.stderr, "objectstore: interrupted")
      assert.notMatch(result.stderr, /\n\s+at /)
      assert.deepStrictEqual(yield* control.storage.listUploads, [], "no multipart upload left on the server")
      const sessions = yield* control.storage.listSessions
      assert.isNotEmpty(sessions)
      assert.isTrue(sessions.every((s) => s.status._tag === "Cancelled"), "the session was cancelled")
      const stored = (yield* control.storage.list).filter((e) => e.id.usecase === "sigint").map((e) => e.id.key)
      assert.notInclude(stored, "zz-big.bin")
    }))

  it.effect("Ctrl-C during a bulk download leaves no partial files and exits 130", () =>
    Effect.gen(function*() {
      const url = yield* HttpServer.addressFormattedWith(Effect.succeed)
      const env = { OBJECTSTORE_URL: url, OBJECTSTORE_USECASE: "sigint-down" }
      const src = tempDir("sigint-src")
      const keys: Array<string> = []
      for (let i = 0; i < 4; i++) {
        fs.writeFileSync(path.join(src, `part-${i}.bin`), randomBytes(32 * 1024 * 1024))
        keys.push(`part-${i}.bin`)
      }
      const seeded = yield* cli([
        "put-dir",
        src,
        "-s",
        "org=3",
        "--compression",
        "none",
        "--multipart-threshold",
        "1GiB"
      ], {
        env
      })
      assert.strictEqual(seeded.code, 0, seeded.stderr)
      const list = path.join(src, "keys.txt")
      fs.writeFileSync(list, keys.join("\n"))
      const out = tempDir("sigint-out")
      const { child, done } = spawnCli(
        ["get-many", list, "-d", out, "-s", "org=3", "--concurrency", "1", "--force"],
        env
      )
      const writing = yield* waitUntil(
        Effect.sync(() => fs.readdirSync(out).some((name) => name.includes(".partial-"))),
        60_000
      )
      assert.isTrue(writing, "a download was in progress")
      child.kill("SIGINT")
      const result = yield* Effect.promise(() => done)
      assert.strictEqual(result.code, 130, result.stderr)
      const left = fs.readdirSync(out)
      assert.deepStrictEqual(left.filter((name) => name.includes(".partial-")), [], "no partial files")
      for (const name of left) {
        assert.strictEqual(fs.statSync(path.join(out, name)).size, 32 * 1024 * 1024, "only complete files")
      }
    }))

  it.effect("the README's demo job runs to the end and exits 0", () =>
    Effect.gen(function*() {
      const result = yield* Effect.async<{ code: number; stdout: string; stderr: string }>((resume) => {
        const child = execFile(
          process.execPath,
          ["--import", "tsx", path.join(cliRoot, "src/demo.ts")],
          { cwd: repoRoot, env: { PATH: process.env.PATH ?? "" }, timeout: 60_000 },
          (error, stdout, stderr) =>
            resume(
              Effect.succeed({ code: error ? (typeof error.code === "number" ? error.code : 1) : 0, stdout, stderr })
            )
        )
        return Effect.sync(() => child.kill())
      })
      assert.strictEqual(result.code, 0, result.stderr)
      assert.notInclude(result.stdout, "demo failed")
      assert.include(result.stdout, "the multipart object carries its sha256")
      assert.include(result.stdout, "all 29 files read back identical (sha256)")
      assert.match(result.stdout, /demo finished in .*: 29 objects/)
    }))

  it.effect("the installed command compresses with zstd (dist or bundle), and the esbuild bundle works", () =>
    Effect.gen(function*() {
      const url = yield* HttpServer.addressFormattedWith(Effect.succeed)
      const control = yield* Server.ServerControl
      const env = { OBJECTSTORE_URL: url, OBJECTSTORE_USECASE: "installed" }
      const dir = tempDir("installed")
      const file = path.join(dir, "zeros.bin")
      fs.writeFileSync(file, new Uint8Array(256 * 1024))
      const stored = (key: string) =>
        Effect.map(Effect.orDie(control.storage.list), (all) => all.find((e) => e.id.key === key))

      const viaBin = yield* runProcess(["put", file, "-k", "via-bin"], env, "bin")
      assert.strictEqual(viaBin.code, 0, viaBin.stderr)
      const binObject = yield* stored("via-bin")
      assert.strictEqual(binObject?.metadata.compression, "zstd")
      assert.isBelow(binObject!.size, 1024, "compressed for real")

      const outfile = path.join(cliRoot, "dist", `test-bundle-${process.pid}.mjs`)
      yield* Effect.gen(function*() {
        const built = yield* runBundle(outfile)
        assert.strictEqual(built, 0)
        const viaBundle = yield* Effect.promise(() =>
          new Promise<number | null>((resolve) => {
            const child = execFile(process.execPath, [outfile, "put", file, "-k", "via-bundle"], {
              env: { PATH: process.env.PATH ?? "", ...env }
            })
            child.on("close", (code) => resolve(code))
          })
        )
        assert.strictEqual(viaBundle, 0)
        const bundleObject = yield* stored("via-bundle")
        assert.strictEqual(bundleObject?.metadata.compression, "zstd")
        assert.isBelow(bundleObject!.size, 1024)
      }).pipe(Effect.ensuring(Effect.sync(() => fs.rmSync(outfile, { force: true }))))
    }))

  it.effect("serve: a folder-backed server with auth enforced until Ctrl-C, which stops it with exit code 0", () =>
    Effect.gen(function*() {
      const keys = keyPair()
      const dir = tempDir("serve")
      const { child, done } = spawnCli(
        ["serve", "--port", "0", "--dir", dir, "--auth-key", `k1=${keys.publicFile}`],
        {}
      )
      let stdout = ""
      child.stdout!.on("data", (chunk) => (stdout += chunk))
      const up = yield* waitUntil(Effect.sync(() => stdout.includes("\n")), 60_000)
      assert.isTrue(up, "the server printed its URL")
      const url = stdout.split("\n")[0]!
      assert.match(url, /^http:\/\/127\.0\.0\.1:\d+$/)
      const env = {
        OBJECTSTORE_URL: url,
        OBJECTSTORE_USECASE: "dev",
        OBJECTSTORE_KEY_FILE: keys.privateFile,
        OBJECTSTORE_KEY_ID: "k1"
      }
      const put = yield* cli(["put", "-", "-k", "hello"], { env, stdin: "hello" })
      assert.strictEqual(put.code, 0, put.stderr)
      const anonymous = yield* cli(["get", "hello"], { env: { OBJECTSTORE_URL: url, OBJECTSTORE_USECASE: "dev" } })
      assert.strictEqual(anonymous.code, 4)
      assert.isAbove(fs.readdirSync(dir).length, 0, "objects are kept in the folder")
      child.kill("SIGINT")
      const result = yield* Effect.promise(() => done)
      assert.strictEqual(result.code, 0)
      assert.strictEqual(
        result.stderr,
        `objectstore: serving ${dir} on ${url} (auth enforced); Ctrl-C stops\nobjectstore: stopped\n`
      )
    }))

  it.effect("progress is drawn on standard error only when it is a terminal", () =>
    Effect.gen(function*() {
      const url = yield* HttpServer.addressFormattedWith(Effect.succeed)
      const env = { OBJECTSTORE_URL: url, OBJECTSTORE_USECASE: "progress" }
      const src = tempDir("progress")
      for (let i = 0; i < 20; i++) fs.writeFileSync(path.join(src, `f${i}`), randomBytes(64 * 1024))
      const tty = yield* cli(["put-dir", src, "--force"], { env, tty: true })
      assert.strictEqual(tty.code, 0, tty.stderr)
      assert.match(tty.stderr, /\rupload {2}\d+\/\d+\+? objects {2}.*\/s/)
      assert.isTrue(tty.stderr.endsWith("\r\x1b[K"), "the line is erased at the end")
      const plain = yield* cli(["put-dir", src, "--force"], { env })
      assert.strictEqual(plain.stderr, "")
      // a terminal that reports 0 columns (as some do) gets the whole line, not 10 characters of it
      const zero = yield* cli(["put-dir", src, "--force"], {
        env,
        capture: Stdio.makeCapture({ tty: true, columns: 0 })
      })
      assert.match(zero.stderr, /\rupload {2}\d+\/\d+\+? objects {2}\S+ \S+\/\S+ \S+\+? {2}\S+ \S+\/s/)
    }))

  it.effect("piped into head: the real command stops quietly with 141 once head has its lines", () =>
    Effect.gen(function*() {
      const url = yield* HttpServer.addressFormattedWith(Effect.succeed)
      const env = { OBJECTSTORE_URL: url, OBJECTSTORE_USECASE: "epipe", OBJECTSTORE_SCOPE: "org=1" }
      const dir = tempDir("epipe")
      // more output than a pipe holds (64 KiB), so that the command is still writing when head leaves
      const big = path.join(dir, "big.bin")
      fs.writeFileSync(big, randomBytes(1024 * 1024))
      const put = yield* runProcess(["put", big, "-k", "big.bin"], env)
      assert.strictEqual(put.code, 0, put.stderr)
      const keys = path.join(dir, "keys.txt")
      fs.writeFileSync(keys, Array.from({ length: 3000 }, (_, i) => `gone/${i}`).join("\n"))

      const get = yield* pipeline(`OBJECTSTORE get big.bin 2>"$STDERR" | head -c 10 | wc -c`, env, dir)
      assert.deepStrictEqual(get, { status: 141, stdout: "10\n", stderr: "" })
      const rm = yield* pipeline(`OBJECTSTORE rm --from keys.txt --json 2>"$STDERR" | head -1`, env, dir)
      assert.strictEqual(rm.status, 141)
      assert.strictEqual(rm.stderr, "", "no EPIPE stack trace")
      assert.deepInclude(JSON.parse(rm.stdout), { type: "object", key: "gone/0", status: "deleted" })
    }))
})

/**
 * Runs a bash pipeline in `cwd` with `OBJECTSTORE` (a function running this file's bundle) and `$STDERR` (a file for
 * its standard error); the status is that of the pipeline's first command.
 */
const pipeline = (script: string, env: Record<string, string>, cwd: string) =>
  Effect.promise(() =>
    new Promise<{ status: number; stdout: string; stderr: string }>((resolve) => {
      const stderrFile = path.join(cwd, "stderr.txt")
      execFile(
        "bash",
        ["-c", `OBJECTSTORE() { "$NODE" "$BUNDLE" "$@"; }; ${script}; exit "\${PIPESTATUS[0]}"`],
        {
          cwd,
          env: {
            PATH: process.env.PATH ?? "",
            HOME: cwd,
            NODE: process.execPath,
            BUNDLE: bundleFile(),
            STDERR: stderrFile,
            ...env
          }
        },
        (error, stdout) =>
          resolve({
            status: error === null ? 0 : typeof error.code === "number" ? error.code : -1,
            stdout,
            stderr: fs.readFileSync(stderrFile, "utf8")
          })
      )
    })
  )

const runBundle = (outfile: string) =>
  Effect.promise(() =>
    new Promise<number | null>((resolve) => {
      const child = execFile(process.execPath, [path.join(cliRoot, "scripts/bundle.mjs"), "--outfile", outfile], {
        cwd: repoRoot
      })
      child.on("close", (code) => resolve(code))
    })
  )
