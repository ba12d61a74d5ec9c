import { assert, describe, it } from "@effect/vitest"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Schedule from "effect/Schedule"
import type * as ChildProcess from "node:child_process"
import * as crypto from "node:crypto"
import * as fs from "node:fs"
import * as net from "node:net"
import * as path from "node:path"
import { fileURLToPath } from "node:url"
import { tempDirSync } from "../../../test/support.js"
import { bundledBin, spawnBin } from "./support/bin.js"

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../../..")

const work = tempDirSync("bin")

const freePort = Effect.async<number>((resume) => {
  const server = net.createServer()
  server.listen(0, "127.0.0.1", () => {
    const port = (server.address() as net.AddressInfo).port
    server.close(() => resume(Effect.succeed(port)))
  })
})

interface Output {
  readonly code: number | null
  readonly stdout: string
  readonly stderr: string
}

/** Spawns the command (bundled from the source once per file, see support/bin.ts). */
const spawn = (args: ReadonlyArray<string>, env: Record<string, string>, cwd: string) =>
  Effect.map(Effect.promise(bundledBin), (bin) => spawnBin(bin, args, env, cwd))

const collect = (child: ChildProcess.ChildProcess) => {
  const output = { stdout: "", stderr: "" }
  child.stdout!.on("data", (chunk: Buffer) => (output.stdout += chunk.toString()))
  child.stderr!.on("data", (chunk: Buffer) => (output.stderr += chunk.toString()))
  return output
}

const exited = (child: ChildProcess.ChildProcess) =>
  Effect.async<number | null>((resume) => {
    if (child.exitCode !== null || child.signalCode !== null) return resume(Effect.succeed(child.exitCode))
    child.once("exit", (code) => resume(Effect.succeed(code)))
  })

/** Runs the bin to completion (killed after 30 s). */
const runBin = (args: ReadonlyArray<string>, env: Record<string, string> = {}, cwd = work) =>
  Effect.acquireUseRelease(
    spawn(args, env, cwd),
    (child) => {
      const output = collect(child)
      return Effect.map(exited(child), (code): Output => ({ code, ...output }))
    },
    (child) => Effect.sync(() => child.exitCode === null && child.kill("SIGKILL"))
  ).pipe(Effect.timeout("30 seconds"))

/** Starts `run` in the scope; the finalizer stops it (SIGTERM, then SIGKILL) and waits for the exit. */
const startServer = (args: ReadonlyArray<string>, env: Record<string, string>, cwd = work) =>
  Effect.acquireRelease(
    Effect.map(spawn(["run", ...args], env, cwd), (child) => ({ child, output: collect(child) })),
    ({ child }) =>
      Effect.gen(function*() {
        if (child.exitCode !== null || child.signalCode !== null) return
        child.kill("SIGTERM")
        yield* exited(child).pipe(
          Effect.timeout("10 seconds"),
          Effect.catchAll(() => Effect.sync(() => child.kill("SIGKILL")))
        )
      })
  )

const waitHealthy = (port: number, child: ChildProcess.ChildProcess, output: { stderr: string }) =>
  Effect.tryPromise(async () => {
    if (child.exitCode !== null) throw new Error(`server exited with ${child.exitCode}: ${output.stderr}`)
    const response = await fetch(`http://127.0.0.1:${port}/health`)
    return { status: response.status, body: await response.text() }
  }).pipe(
    Effect.retry({
      schedule: Schedule.spaced(Duration.millis(50)),
      while: () => child.exitCode === null,
      times: 600
    })
  )

const publicKeyFile = (name: string) => {
  const file = path.join(work, name)
  fs.writeFileSync(
    file,
    crypto.generateKeyPairSync("ed25519").publicKey.export({ type: "spki", format: "pem" })
  )
  return file
}

describe("objectstore-server bin", () => {
  it.scopedLive("run serves /health from the environment; healthcheck and filesystem storage at data", () =>
    Effect.gen(function*() {
      const port = yield* freePort
      const cwd = fs.mkdtempSync(path.join(work, "run-"))
      const env = { OS__HTTP_ADDR: `127.0.0.1:${port}`, OS__AUTH__ENFORCE: "false" }
      const { child, output } = yield* startServer([], env, cwd)
      const health = yield* waitHealthy(port, child, output)
      assert.deepStrictEqual(health, { status: 200, body: "OK" })
      assert.include(output.stdout + output.stderr, `listening on http://127.0.0.1:${port}`)
      assert.notInclude(output.stdout + output.stderr, "auth is not enforced", "no warning on loopback")
      assert.isTrue(fs.existsSync(path.join(cwd, "data")), "filesystem storage at ./data (upstream default)")

      const check = yield* runBin(["healthcheck"], env)
      assert.strictEqual(check.code, 0, check.stderr)
    }))

  it.scopedLive("flags win over the environment; auth enforced with a key directory answers 400 without a token", () =>
    Effect.gen(function*() {
      const port = yield* freePort
      const key = publicKeyFile("run.pem")
      const env = {
        OS__HTTP_ADDR: "not an address",
        OS__STORAGE__TYPE: "gcs",
        os__auth__keys: `{kid={key_files=["${path.basename(key)}"],max_permissions=["object.read"]}}`
      }
      const { child, output } = yield* startServer(
        [`--http-addr=127.0.0.1:${port}`, "--storage-type", "memory", "--auth-enforce"],
        env
      )
      yield* waitHealthy(port, child, output)
      const response = yield* Effect.promise(() => fetch(`http://127.0.0.1:${port}/v1/objects/test/_/key`))
      assert.strictEqual(response.status, 400)
      assert.deepStrictEqual(yield* Effect.promise(() => response.json()), {
        detail: "auth error: bad request: No authorization token provided",
        causes: ["bad request: No authorization token provided"]
      })
    }))

  it.scopedLive("misconfigurations and a busy port exit 1 with one clear line", () =>
    Effect.gen(function*() {
      const busy = yield* Effect.acquireRelease(
        Effect.async<net.Server>((resume) => {
          const server = net.createServer()
          server.listen(0, "127.0.0.1", () => resume(Effect.succeed(server)))
        }),
        (server) => Effect.async<void>((resume) => void server.close(() => resume(Effect.void)))
      )
      const busyPort = (busy.address() as net.AddressInfo).port
      const oneLine = (output: Output, pattern: RegExp) => {
        assert.strictEqual(output.code, 1, output.stderr)
        const lines = output.stderr.trim().split("\n")
        assert.strictEqual(lines.length, 1, output.stderr)
        assert.match(lines[0]!, pattern)
      }
      const results = yield* Effect.all(
        [
          runBin(["run"], { OS__HTTP_ADDR: "127.0.0.1:0" }),
          runBin(["run"], {
            OS__HTTP_ADDR: "127.0.0.1:0",
            OS__AUTH__KEYS: "{kid1={key_files=[\"missing.pem\"],max_permissions=[\"object.read\"]}}"
          }),
          runBin(["run"], { OS__HTTP_ADDR: "127.0.0.1:0", OS__AUTH__KEYS: "{kid1={key_files=[" }),
          runBin(["run", "--max-body-size=lots", "--auth-enforce=false", "--http-addr=127.0.0.1:0"]),
          runBin(["run"], { OS__HTTP_ADDR: "127.0.0.1:0", OS__AUTH__ENFORCE: "no way" }),
          runBin(["run", "--storage-type=memory"], { OS__HTTP_ADDR: `127.0.0.1:${busyPort}`, OS__AUTH__ENFORCE: "0" })
        ],
        { concurrency: 2 }
      )
      oneLine(
        results[0],
        /^objectstore-server: Auth enforcement is enabled but no keys are configured: set OS__AUTH__KEYS, or OS__AUTH__ENFORCE=false$/
      )
      oneLine(
        results[1],
        /^objectstore-server: OS__AUTH__KEYS: key "kid1": cannot read key file "missing.pem" \(ENOENT\)$/
      )
      oneLine(
        results[2],
        /^objectstore-server: OS__AUTH__KEYS: invalid value: expected a value, found end of input at position 18$/
      )
      oneLine(results[3], /^objectstore-server: --max-body-size: expected a non-negative integer, got "lots"$/)
      oneLine(results[4], /^objectstore-server: OS__AUTH__ENFORCE: expected true or false, got "no way"$/)
      oneLine(results[5], /^objectstore-server: cannot start: .*EADDRINUSE/)
    }))

  it.live("-c is refused (exit 2), version prints, healthcheck fails on a closed port, bad usage exits 2", () =>
    Effect.gen(function*() {
      const port = yield* freePort
      const [config, version, health, unknown] = yield* Effect.all(
        [
          runBin(["-c", "config.yaml", "run"]),
          runBin(["version"]),
          runBin(["healthcheck"], { OS__HTTP_ADDR: `0.0.0.0:${port}` }),
          runBin(["frobnicate"])
        ],
        { concurrency: 2 }
      )
      assert.strictEqual(config.code, 2)
      assert.strictEqual(
        config.stderr.trim(),
        "objectstore-server: config files are not supported by this server, use OS__* environment variables instead"
      )
      assert.strictEqual(version.code, 0)
      const pkg = JSON.parse(fs.readFileSync(path.join(root, "packages/server/package.json"), "utf8"))
      assert.strictEqual(version.stdout.trim(), `objectstore-server ${pkg.version}`)
      assert.strictEqual(health.code, 1)
      assert.include(health.stderr, `healthcheck http://127.0.0.1:${port}/health failed`)
      assert.strictEqual(unknown.code, 2)
      assert.match(unknown.stderr, /unknown command frobnicate/)
    }))
})
