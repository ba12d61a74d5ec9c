/**
 * Every command end to end, in-process (`Cli.main(argv)` with real layers and captured streams), against the local
 * server over loopback TCP with auth enforced and a usecase whose rules reject every upload.
 */
import * as HttpServer from "@effect/platform/HttpServer"
import { assert, describe, it, layer } from "@effect/vitest"
import * as Permission from "@objectstore/protocol/Permission"
import * as Server from "@objectstore/server/Server"
import * as Effect from "effect/Effect"
import * as fs from "node:fs"
import * as path from "node:path"
import { cli, keyPair, randomBytes, sha256, tempDir } from "./helpers.js"

const KID = "cli-test"
const keys = keyPair()

const ServerLive = Server.layer({
  port: 0,
  auth: { enforce: true, keys: { [KID]: { publicKeys: [keys.publicPem], maxPermissions: Permission.all } } },
  usecases: { locked: { manual: { allowed: false }, ttl: { allowed: false }, tti: { allowed: false } } }
})

const setup = Effect.gen(function*() {
  const url = yield* HttpServer.addressFormattedWith(Effect.succeed)
  const control = yield* Server.ServerControl
  const env = {
    OBJECTSTORE_URL: url,
    OBJECTSTORE_KEY_FILE: keys.privateFile,
    OBJECTSTORE_KEY_ID: KID,
    OBJECTSTORE_USECASE: "files"
  }
  return { url, control, env }
})

const noStack = (stderr: string) => {
  assert.notMatch(stderr, /\n\s+at /, "no stack trace")
  assert.notInclude(stderr, "PRIVATE KEY")
  assert.notInclude(stderr, "FiberFailure")
}

layer(ServerLive, { excludeTestServices: true })("objectstore (in-process, enforcing server)", (it) => {
  it.effect("put a file, get it to stdout and to a file, head, rm; then get is exit 3", () =>
    Effect.gen(function*() {
      const { env } = yield* setup
      const dir = tempDir("put")
      const file = path.join(dir, "report.txt")
      fs.writeFileSync(file, "hello from the shell\n".repeat(100))
      const scope = ["--scope", "org=42 project=1337"]
      const put = yield* cli(["put", file, ...scope, "--key", "reports/a.txt"], { env })
      assert.strictEqual(put.code, 0, put.stderr)
      assert.strictEqual(put.stdout, "reports/a.txt\n")

      const got = yield* cli(["get", "reports/a.txt", ...scope], { env })
      assert.strictEqual(got.code, 0, got.stderr)
      assert.strictEqual(got.stdout, fs.readFileSync(file, "utf8"))

      const out = path.join(dir, "copy", "a.txt")
      const toFile = yield* cli(["get", "reports/a.txt", "-s", "org=42;project=1337", "-o", out, "--json"], { env })
      assert.strictEqual(toFile.code, 0, toFile.stderr)
      assert.strictEqual(fs.readFileSync(out, "utf8"), fs.readFileSync(file, "utf8"))
      assert.strictEqual(JSON.parse(toFile.stdout).sha256, sha256(fs.readFileSync(file)))
      assert.deepStrictEqual(fs.readdirSync(path.dirname(out)), ["a.txt"], "no temporary files left")

      const head = yield* cli(["head", "reports/a.txt", ...scope], { env })
      assert.strictEqual(head.code, 0, head.stderr)
      assert.include(head.stdout, "key: reports/a.txt\n")
      assert.include(head.stdout, "compression: zstd\n")

      // the scope order matters: project first is another scope
      const other = yield* cli(["head", "reports/a.txt", "--scope", "project=1337 org=42"], { env })
      assert.strictEqual(other.code, 3)

      const rm = yield* cli(["rm", "reports/a.txt", ...scope], { env })
      assert.strictEqual(rm.code, 0, rm.stderr)
      const gone = yield* cli(["get", "reports/a.txt", ...scope], { env })
      assert.strictEqual(gone.code, 3)
      assert.strictEqual(gone.stdout, "")
      assert.match(
        gone.stderr,
        /^objectstore: object not found: reports\/a\.txt \(usecase files, scope org=42;project=1337\)\n$/
      )
    }))

  it.effect("put from stdin with metadata, expiration, content type; head --json; get --raw and --range", () =>
    Effect.gen(function*() {
      const { env } = yield* setup
      const text = "0123456789".repeat(1000)
      const put = yield* cli([
        "put",
        "-",
        "-k",
        "stdin.txt",
        "--ttl",
        "30d",
        "-m",
        "source=cron",
        "--meta",
        "Run=7",
        "--origin",
        "203.0.113.1",
        "--filename",
        "digits.txt",
        "--content-type",
        "text/plain",
        "--json"
      ], { env, stdin: text })
      assert.strictEqual(put.code, 0, put.stderr)
      assert.deepInclude(JSON.parse(put.stdout), { key: "stdin.txt", bytes: 10_000, multipart: false })

      const head = yield* cli(["head", "stdin.txt", "--json"], { env })
      const info = JSON.parse(head.stdout)
      assert.strictEqual(info.contentType, "text/plain")
      assert.strictEqual(info.expirationPolicy, "ttl:30days")
      assert.strictEqual(info.origin, "203.0.113.1")
      assert.strictEqual(info.filename, "digits.txt")
      assert.deepStrictEqual(info.custom, { run: "7", source: "cron" })

      const raw = yield* cli(["get", "stdin.txt", "--raw"], { env })
      assert.deepStrictEqual([...raw.bytes.slice(0, 4)], [0x28, 0xb5, 0x2f, 0xfd], "zstd frame as stored")
      assert.isBelow(raw.bytes.length, 1000)

      const plain = yield* cli(["put", "-", "-k", "plain.txt", "--compression", "none"], { env, stdin: text })
      assert.strictEqual(plain.code, 0, plain.stderr)
      const range = yield* cli(["get", "plain.txt", "--range", "10-14"], { env })
      assert.strictEqual(range.stdout, "01234")
      const suffix = yield* cli(["get", "plain.txt", "--range", "-3"], { env })
      assert.strictEqual(suffix.stdout, "789")
      const past = yield* cli(["get", "plain.txt", "--range", "20000-"], { env })
      assert.strictEqual(past.code, 2)
      yield* cli(["rm", "stdin.txt", "plain.txt"], { env })
    }))

  it.effect("a file above the part size goes through a multipart upload and reads back", () =>
    Effect.gen(function*() {
      const { control, env } = yield* setup
      const dir = tempDir("multipart")
      const file = path.join(dir, "big.bin")
      const data = randomBytes(3 * 1024 * 1024 + 17)
      fs.writeFileSync(file, data)
      const put = yield* cli(["put", file, "-k", "big.bin", "--part-size", "1MiB", "--json"], { env })
      assert.strictEqual(put.code, 0, put.stderr)
      assert.deepInclude(JSON.parse(put.stdout), { key: "big.bin", bytes: data.length, parts: 4, multipart: true })
      assert.include(put.stderr, "warning", "a part size under 5 MiB is warned about, on one line")
      const got = yield* cli(["get", "big.bin"], { env })
      assert.strictEqual(sha256(got.bytes), sha256(data))
      assert.strictEqual((yield* control.storage.listUploads).length, 0)
      yield* cli(["rm", "big.bin"], { env })
    }))

  it.effect("put-dir, re-run skips unchanged, get-many verifies and skips, rm --from the manifest", () =>
    Effect.gen(function*() {
      const { control, env } = yield* setup
      const src = tempDir("tree")
      fs.mkdirSync(path.join(src, "logs", "2026"), { recursive: true })
      fs.writeFileSync(path.join(src, "a.txt"), "alpha")
      fs.writeFileSync(path.join(src, "logs", "2026", "b.log"), "beta\n".repeat(5000))
      fs.writeFileSync(path.join(src, "empty"), "")
      fs.writeFileSync(path.join(src, "big.bin"), randomBytes(2 * 1024 * 1024 + 5))
      const work = tempDir("work")
      const manifest = path.join(work, "manifest.tsv")
      const scope = ["-s", "org=7"]
      const common = [...scope, "--prefix", "job/", "--part-size", "1MiB"]

      const first = yield* cli(["put-dir", src, ...common, "--write-manifest", manifest, "--json"], { env })
      assert.strictEqual(first.code, 0, first.stderr)
      const lines = first.stdout.trim().split("\n").map((line) => JSON.parse(line))
      const summary = lines.at(-1)
      assert.deepInclude(summary, { type: "summary", objects: 4, skipped: 0, failed: 0 })
      assert.strictEqual(summary.bytes, 5 + 25000 + 0 + 2 * 1024 * 1024 + 5)
      assert.deepStrictEqual(
        lines.filter((l) => l.type === "object").map((l) => `${l.path} ${l.key} ${l.status}`).sort(),
        [
          "a.txt job/a.txt uploaded",
          "big.bin job/big.bin uploaded",
          "empty job/empty uploaded",
          "logs/2026/b.log job/logs/2026/b.log uploaded"
        ]
      )
      assert.strictEqual(
        fs.readFileSync(manifest, "utf8"),
        "a.txt\tjob/a.txt\nbig.bin\tjob/big.bin\nempty\tjob/empty\nlogs/2026/b.log\tjob/logs/2026/b.log\n"
      )
      const stored = yield* control.storage.list
      const big = stored.find((entry) => entry.id.key === "job/big.bin")!
      assert.strictEqual(big.metadata.custom.sha256, sha256(fs.readFileSync(path.join(src, "big.bin"))))

      // unchanged: everything skipped; one file changed (same size): only it is uploaded
      const again = yield* cli(["put-dir", src, ...common], { env })
      assert.strictEqual(again.code, 0, again.stderr)
      assert.match(again.stdout, /put-dir: uploaded 0 objects .* 4 skipped \(unchanged\), 0 failed\n$/)
      fs.writeFileSync(path.join(src, "a.txt"), "ALPHA")
      const changed = yield* cli(["put-dir", src, ...common, "--json"], { env })
      const statuses = changed.stdout.trim().split("\n").map((l) => JSON.parse(l)).filter((l) => l.type === "object")
      assert.deepStrictEqual(statuses.filter((l) => l.status === "uploaded").map((l) => l.key), ["job/a.txt"])

      // download by manifest into another folder, verified; a re-run skips
      const out = tempDir("out")
      const down = yield* cli(["get-many", manifest, "--dir", out, ...scope], { env })
      assert.strictEqual(down.code, 0, down.stderr)
      assert.match(down.stdout, /get-many: downloaded 4 objects/)
      for (const rel of ["a.txt", "logs/2026/b.log", "empty", "big.bin"]) {
        assert.strictEqual(sha256(fs.readFileSync(path.join(out, rel))), sha256(fs.readFileSync(path.join(src, rel))))
      }
      assert.deepStrictEqual(fs.readdirSync(out).sort(), ["a.txt", "big.bin", "empty", "logs"], "no partial files")
      const downAgain = yield* cli(["get-many", manifest, "-d", out, ...scope], { env })
      assert.match(downAgain.stdout, /downloaded 0 objects .* 4 skipped/)

      // keys from standard input, one per line, into their own paths
      const byKey = tempDir("bykey")
      const stdinList = yield* cli(["get-many", "-", "-d", byKey, ...scope, "--json"], {
        env,
        stdin: "job/a.txt\n\n# a comment\njob/logs/2026/b.log\n"
      })
      assert.strictEqual(stdinList.code, 0, stdinList.stderr)
      assert.strictEqual(fs.readFileSync(path.join(byKey, "job/a.txt"), "utf8"), "ALPHA")

      const rm = yield* cli(["rm", "--from", manifest, ...scope], { env })
      assert.strictEqual(rm.code, 0, rm.stderr)
      assert.match(rm.stdout, /rm: deleted 4 objects/)
      assert.strictEqual((yield* control.storage.list).filter((e) => e.id.key.startsWith("job/")).length, 0)
    }))

  it.effect("bulk jobs report each failure and exit 5 (partial) or the failures' own code", () =>
    Effect.gen(function*() {
      const { env } = yield* setup
      const src = tempDir("partial")
      fs.writeFileSync(path.join(src, "ok.txt"), "fine")
      const manifest = path.join(src, "list.tsv")
      fs.writeFileSync(manifest, "ok.txt\tp/ok.txt\nmissing.txt\tp/missing.txt\n")
      const put = yield* cli(["put-dir", src, "--manifest", manifest, "-s", "org=8"], { env })
      assert.strictEqual(put.code, 5, put.stderr)
      assert.include(put.stderr, "objectstore: failed: missing.txt -> p/missing.txt: cannot read")
      assert.include(put.stdout, "uploaded 1 object")
      assert.include(put.stdout, "1 failed")
      noStack(put.stderr)

      const out = tempDir("partial-out")
      const some = yield* cli(["get-many", "-", "-d", out, "-s", "org=8"], { env, stdin: "p/ok.txt\np/nope.txt\n" })
      assert.strictEqual(some.code, 5)
      assert.include(some.stderr, "p/nope.txt")
      const none = yield* cli(["get-many", "-", "-d", out, "-s", "org=8"], { env, stdin: "p/nope.txt\n" })
      assert.strictEqual(none.code, 3, none.stderr)
      const unsafe = yield* cli(["get-many", "-", "-d", out, "-s", "org=8"], { env, stdin: "../escape\tp/ok.txt\n" })
      assert.strictEqual(unsafe.code, 2)
      assert.isFalse(fs.existsSync(path.join(out, "..", "escape")))
      yield* cli(["rm", "p/ok.txt", "-s", "org=8"], { env })
    }))

  it.effect("presign, url with a token and token: the URLs work with plain fetch, the token with the CLI", () =>
    Effect.gen(function*() {
      const { env, url } = yield* setup
      // stored uncompressed: plain fetch does not decode zstd
      yield* cli(["put", "-", "-k", "shared.txt", "-s", "org=9", "--compression", "none"], {
        env,
        stdin: "shared content"
      })
      const presigned = yield* cli(["presign", "shared.txt", "-s", "org=9", "--expires", "5m"], { env })
      assert.strictEqual(presigned.code, 0, presigned.stderr)
      assert.isTrue(presigned.stdout.startsWith(`${url}/v1/objects/files/org=9/shared.txt?os_kid=`))
      const fetched = yield* Effect.promise(() => fetch(presigned.stdout.trim()).then((r) => r.text()))
      assert.strictEqual(fetched, "shared content")

      const plainUrl = yield* cli(["url", "shared.txt", "-s", "org=9"], { env })
      assert.strictEqual(plainUrl.stdout, `${url}/v1/objects/files/org=9/shared.txt\n`)
      const withToken = yield* cli(["url", "shared.txt", "-s", "org=9", "--token-validity", "1m"], { env })
      const viaToken = yield* Effect.promise(() => fetch(withToken.stdout.trim()).then((r) => r.text()))
      assert.strictEqual(viaToken, "shared content")

      const minted = yield* cli(["token", "-s", "org=*", "-p", "object.read", "--expires", "2m"], { env })
      assert.strictEqual(minted.code, 0, minted.stderr)
      const tokenEnv = { OBJECTSTORE_URL: url, OBJECTSTORE_USECASE: "files", OBJECTSTORE_TOKEN: minted.stdout.trim() }
      const read = yield* cli(["get", "shared.txt", "-s", "org=9"], { env: tokenEnv })
      assert.strictEqual(read.stdout, "shared content")
      const write = yield* cli(["put", "-", "-k", "x", "-s", "org=9"], { env: tokenEnv, stdin: "x" })
      assert.strictEqual(write.code, 4, "a read-only token cannot write")
      assert.include(write.stderr, "Forbidden")
      assert.notInclude(write.stderr, minted.stdout.trim(), "the token is never printed")

      const noKey = yield* cli(["presign", "shared.txt", "-s", "org=9"], { env: tokenEnv })
      assert.strictEqual(noKey.code, 4)
      assert.include(noKey.stderr, "hint: this needs a secret key")
      const noKeyToken = yield* cli(["token"], { env: tokenEnv })
      assert.strictEqual(noKeyToken.code, 4)
      yield* cli(["rm", "shared.txt", "-s", "org=9"], { env })
    }))

  it.effect("bad input: missing file, bad scope, unknown usecase, missing token, no usecase, unknown flag", () =>
    Effect.gen(function*() {
      const { env, url } = yield* setup
      const missing = yield* cli(["put", "/nonexistent/file.bin"], { env })
      assert.strictEqual(missing.code, 2)
      assert.strictEqual(missing.stderr, "objectstore: cannot read /nonexistent/file.bin: no such file or directory\n")

      const badScope = yield* cli(["head", "k", "--scope", "org42"], { env })
      assert.strictEqual(badScope.code, 2)
      assert.match(
        badScope.stderr,
        /^objectstore: bad scope "org42": expected name=value.*\nhint: .*org=42 project=1337/
      )
      const badChars = yield* cli(["head", "k", "--scope", "org=4/2"], { env })
      assert.strictEqual(badChars.code, 2)
      const duplicate = yield* cli(["head", "k", "--scope", "org=1 org=2"], { env })
      assert.strictEqual(duplicate.code, 2)

      const locked = yield* cli(["put", "-", "-u", "locked"], { env, stdin: "data" })
      assert.strictEqual(locked.code, 2, locked.stderr)
      assert.include(locked.stderr, "not allowed for use case 'locked'")
      const badUsecase = yield* cli(["put", "-", "-u", "no/slashes"], { env, stdin: "data" })
      assert.strictEqual(badUsecase.code, 2)

      const noToken = yield* cli(["put", "-"], {
        env: { OBJECTSTORE_URL: url, OBJECTSTORE_USECASE: "files" },
        stdin: "d"
      })
      assert.strictEqual(noToken.code, 4)
      assert.match(
        noToken.stderr,
        /^objectstore: authorization failed: MissingToken.*\nhint: the server requires a token/
      )

      const badToken = yield* cli(["head", "k"], {
        env: { OBJECTSTORE_URL: url, OBJECTSTORE_USECASE: "files", OBJECTSTORE_TOKEN: "not.a.secret-token" }
      })
      assert.strictEqual(badToken.code, 4)
      assert.notInclude(badToken.stderr, "not.a.secret-token")

      const noUsecase = yield* cli(["head", "k"], { env: { OBJECTSTORE_URL: url } })
      assert.strictEqual(noUsecase.code, 2)
      assert.include(noUsecase.stderr, "hint: give --usecase")

      const unknownFlag = yield* cli(["head", "k", "--bogus"], { env })
      assert.strictEqual(unknownFlag.code, 2)
      const badTtl = yield* cli(["put", "-", "--ttl", "soon"], { env, stdin: "x" })
      assert.strictEqual(badTtl.code, 2)
      const noDir = yield* cli(["put-dir", "/nonexistent/dir"], { env })
      assert.strictEqual(noDir.code, 2)

      const unreachable = yield* cli(["head", "k"], { env: { ...env, OBJECTSTORE_URL: "http://127.0.0.1:1" } })
      assert.strictEqual(unreachable.code, 1)
      assert.include(unreachable.stderr, "hint: is the server running?")
      for (const r of [missing, badScope, locked, noToken, badToken, unreachable]) noStack(r.stderr)
    }))
})

describe("objectstore against the embedded server (--url memory: / file:DIR)", () => {
  it.effect("file:DIR keeps objects across runs with no server and no credentials; a bad embedded URL is exit 2", () =>
    Effect.gen(function*() {
      const dir = tempDir("embedded")
      const env = { OBJECTSTORE_URL: `file:${dir}`, OBJECTSTORE_USECASE: "files" }
      const put = yield* cli(["put", "-", "--key", "kept"], { env, stdin: "on disk" })
      assert.strictEqual(put.code, 0, put.stderr)
      const get = yield* cli(["get", "kept"], { env })
      assert.strictEqual(get.code, 0, get.stderr)
      assert.strictEqual(get.stdout, "on disk")
      assert.isAbove(fs.readdirSync(dir).length, 0)

      const memory = yield* cli(["put", "-", "--url", "memory:", "--key", "m"], { env, stdin: "x" })
      assert.strictEqual(memory.code, 0, memory.stderr)
      assert.strictEqual(memory.stdout, "m\n")

      const bad = yield* cli(["head", "kept", "--url", "file:"], { env })
      assert.strictEqual(bad.code, 2)
      assert.strictEqual(bad.stderr, "objectstore: invalid url: file: needs a folder, e.g. file:./data\n")
    }))
})
