/**
 * The command in pipes and on terminals, in-process against the local server over loopback: a reader that goes
 * away ends the command quietly with 141 and the usual cleanup, Ctrl-C ends it with 130 (and `serve` with 0), escape
 * codes only on terminals, `--json` failures as JSON lines, failure lines that say each thing once.
 */
import * as HttpServer from "@effect/platform/HttpServer"
import { assert, layer } from "@effect/vitest"
import * as Stdio from "@objectstore/cli/Stdio"
import * as Server from "@objectstore/server/Server"
import * as Effect from "effect/Effect"
import * as Fiber from "effect/Fiber"
import * as Stream from "effect/Stream"
import * as fs from "node:fs"
import * as path from "node:path"
import { eventually } from "../../../test/support.js"
import { cli, randomBytes, tempDir } from "./helpers.js"

const setup = (usecase: string) =>
  Effect.gen(function*() {
    const url = yield* HttpServer.addressFormattedWith(Effect.succeed)
    const control = yield* Server.ServerControl
    return { url, control, env: { OBJECTSTORE_URL: url, OBJECTSTORE_USECASE: usecase } }
  })

const partialFiles = (dir: string): ReadonlyArray<string> =>
  fs.readdirSync(dir, { recursive: true, encoding: "utf8" }).filter((name) => name.includes(".partial-"))

/**
 * `put -` of three MiB on standard input that then never ends, forked: a multipart upload that stays in flight.
 * Returns the running command once the server has its first part, and the server's control.
 */
const stalledPut = (usecase: string, capture: (stdin: Stream.Stream<Uint8Array>) => Stdio.Capture) =>
  Effect.gen(function*() {
    const { control, env } = yield* setup(usecase)
    const streams = capture(Stream.concat(Stream.make(randomBytes(3 * 1024 * 1024)), Stream.never))
    const fiber = yield* Effect.fork(
      cli(["put", "-", "-k", "stalled", "--part-size", "1MiB", "--compression", "none"], { env, capture: streams })
    )
    yield* eventually(Effect.orDie(control.storage.listUploads), (uploads) => uploads.some((u) => u.parts > 0))
    return { fiber, control, streams }
  })

layer(Server.layer({ port: 0 }), { excludeTestServices: true })("objectstore in pipes", (it) => {
  it.effect("a reader that goes away (| head) ends get-many quietly with 141, leaving no partial file", () =>
    Effect.gen(function*() {
      const { env } = yield* setup("pipes")
      const src = tempDir("pipe-src")
      for (let i = 0; i < 3; i++) fs.writeFileSync(path.join(src, `large-${i}.bin`), randomBytes(1536 * 1024))
      for (let i = 0; i < 5; i++) fs.writeFileSync(path.join(src, `small-${i}.txt`), `small ${i}`)
      const manifest = path.join(tempDir("pipe-manifest"), "manifest.tsv")
      const seeded = yield* cli(["put-dir", src, "-s", "org=1", "--write-manifest", manifest], { env })
      assert.strictEqual(seeded.code, 0, seeded.stderr)

      const out = tempDir("pipe-out")
      const capture = Stdio.makeCapture({ stdoutLimit: 10 })
      const result = yield* cli(["get-many", manifest, "-d", out, "-s", "org=1", "--json", "--concurrency", "2"], {
        env,
        capture
      })
      assert.strictEqual(result.code, 141)
      assert.strictEqual(result.stderr, "", "nothing printed: no stack trace, no message")
      assert.strictEqual(result.stdout, "{\"type\":\"o", "what the reader took before it left")
      assert.deepStrictEqual(partialFiles(out), [])

      // the same when the reader leaves after a line of text output
      const rm = yield* cli(["rm", "--from", manifest, "-s", "org=1", "--json"], {
        env,
        capture: Stdio.makeCapture({ stdoutLimit: 0 })
      })
      assert.strictEqual(rm.code, 141)
      assert.strictEqual(rm.stderr, "")
    }))

  it.effect("standard error closed during a multipart upload: the upload is aborted, exit code 141", () =>
    Effect.gen(function*() {
      // a terminal, so that the progress line is drawn on standard error every 200 ms
      const { control, fiber, streams } = yield* stalledPut(
        "pipes-stderr",
        (stdin) => Stdio.makeCapture({ tty: true, stdin })
      )
      streams.close("stderr")
      const result = yield* Fiber.join(fiber)
      assert.strictEqual(result.code, 141)
      assert.deepStrictEqual(yield* control.storage.listUploads, [], "the multipart upload was aborted")
    }))

  it.effect("Ctrl-C during a multipart upload: aborted, exit code 130, one line", () =>
    Effect.gen(function*() {
      const { control, fiber, streams } = yield* stalledPut("pipes-sigint", (stdin) => Stdio.makeCapture({ stdin }))
      streams.signal("SIGINT")
      const result = yield* Fiber.join(fiber)
      assert.strictEqual(result.code, 130)
      assert.match(result.stderr, /objectstore: interrupted\n$/)
      assert.deepStrictEqual(yield* control.storage.listUploads, [])
    }))

  it.effect("serve stops on Ctrl-C with exit code 0 and says so", () =>
    Effect.gen(function*() {
      const capture = Stdio.makeCapture()
      const fiber = yield* Effect.fork(cli(["serve", "--port", "0"], { capture }))
      const url = (yield* eventually(Effect.sync(() => capture.stdout()), (out) => out.endsWith("\n"))).trim()
      const health = yield* Effect.promise(() => fetch(`${url}/health`).then((r) => r.status))
      assert.strictEqual(health, 200)
      capture.signal("SIGINT")
      const result = yield* Fiber.join(fiber)
      assert.strictEqual(result.code, 0)
      assert.match(result.stderr, /^objectstore: serving in memory on http:\/\/127\.0\.0\.1:\d+; Ctrl-C stops\n/)
      assert.isTrue(result.stderr.endsWith("; Ctrl-C stops\nobjectstore: stopped\n"), result.stderr)
      assert.notInclude(result.stderr, "interrupted")
    }))

  it.effect("bulk failure lines say each thing once, with escape codes only on a terminal", () =>
    Effect.gen(function*() {
      const { env } = yield* setup("pipes-lines")
      yield* cli(["put", "-", "-k", "p/ok.txt", "-s", "org=2"], { env, stdin: "ok" })
      const out = tempDir("lines-out")
      const list = "p/ok.txt\np/missing1\n"
      const plain = yield* cli(["get-many", "-", "-d", out, "-s", "org=2"], { env, stdin: list })
      assert.strictEqual(plain.code, 5)
      assert.strictEqual(plain.stderr, "objectstore: failed: p/missing1: object not found\n")
      assert.match(plain.stdout, /^get-many: downloaded 1 object .* 1 failed\n$/)

      const json = yield* cli(["get-many", "-", "-d", out, "-s", "org=2", "--json", "--force"], { env, stdin: list })
      const records = json.stdout.trim().split("\n").map((line) => JSON.parse(line))
      assert.deepInclude(records, {
        type: "object",
        path: "p/missing1",
        key: "p/missing1",
        status: "failed",
        bytes: 0,
        error: "object not found",
        exitCode: 3
      })
      assert.strictEqual(json.stderr, "", "--json: each failure is a record; the summary counts them")

      // on a terminal the progress line is erased before the failure line, which arrives whole
      const tty = yield* cli(["get-many", "-", "-d", out, "-s", "org=2", "--force"], { env, stdin: list, tty: true })
      assert.include(tty.stderr, "objectstore: failed: p/missing1: object not found\n")
      assert.notMatch(tty.stderr.replace(/\r\x1b\[K|\r[^\r\n]*\x1b\[K\r/g, ""), /[\r\x1b]/)

      const badUsecase = yield* cli(["put", "-", "-u", "no/slashes"], { env, stdin: "x" })
      assert.strictEqual(badUsecase.code, 2)
      assert.strictEqual(
        badUsecase.stderr,
        "objectstore: usecase \"no/slashes\" must not contain '/' (it is one path segment)\n"
      )
    }))

  it.effect("--json: failures and warnings are JSON lines on standard error, nothing on standard output", () =>
    Effect.gen(function*() {
      const { env } = yield* setup("pipes-json")
      const missing = yield* cli(["head", "nope", "-s", "org=3", "--json"], { env })
      assert.strictEqual(missing.code, 3)
      assert.strictEqual(missing.stdout, "")
      assert.deepStrictEqual(JSON.parse(missing.stderr), {
        type: "error",
        error: "object not found: nope (usecase pipes-json, scope org=3)",
        exitCode: 3,
        kind: "notFound"
      })

      const usage = yield* cli(["head", "k", "--bogus", "--json"], { env })
      assert.strictEqual(usage.code, 2)
      assert.deepStrictEqual(JSON.parse(usage.stderr), {
        type: "error",
        error: "received unknown argument: '--bogus'",
        exitCode: 2,
        kind: "usage",
        hint: "see objectstore head --help"
      })

      const unreachable = yield* cli(["head", "k", "--json"], {
        env: { ...env, OBJECTSTORE_URL: "http://127.0.0.1:1" }
      })
      assert.strictEqual(unreachable.code, 1)
      assert.deepInclude(JSON.parse(unreachable.stderr), { type: "error", kind: "failure", exitCode: 1 })

      const warned = yield* cli(["put", "-", "-k", "w", "--part-size", "1MiB", "--json"], {
        env,
        stdin: randomBytes(1536 * 1024)
      })
      assert.strictEqual(warned.code, 0, warned.stderr)
      const lines = warned.stderr.trim().split("\n").map((line) => JSON.parse(line))
      assert.isAbove(lines.length, 0)
      for (const line of lines) {
        assert.strictEqual(line.type, "log")
        assert.strictEqual(line.level, "warning")
        assert.include(line.message, "part size")
      }
      assert.deepInclude(JSON.parse(warned.stdout), { key: "w", bytes: 1536 * 1024, multipart: true })
    }))
})
