/**
 * Running the CLI in-process (argv, real layers, captured streams) and as a child process of the real bin.
 */
import * as NodeContext from "@effect/platform-node/NodeContext"
import * as Cli from "@objectstore/cli/Cli"
import * as Stdio from "@objectstore/cli/Stdio"
import * as ConfigProvider from "effect/ConfigProvider"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import { spawn } from "node:child_process"
import * as crypto from "node:crypto"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { fileURLToPath } from "node:url"
import { tempDirSync } from "../../../test/support.js"

export const cliRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..")
export const repoRoot = path.resolve(cliRoot, "../..")

export interface Result {
  readonly code: number
  readonly stdout: string
  readonly stderr: string
  readonly bytes: Uint8Array
}

/** Runs `objectstore <args>` in-process; the environment is exactly `env` (plus HOME pointing at an empty folder). */
export const cli = (
  args: ReadonlyArray<string>,
  options: {
    readonly env?: Record<string, string>
    readonly stdin?: Uint8Array | string
    readonly tty?: boolean
    /** The streams to use instead of a fresh capture of `stdin` and `tty` (to close them, or signal, meanwhile). */
    readonly capture?: Stdio.Capture
  } = {}
): Effect.Effect<Result> =>
  Effect.gen(function*() {
    const capture = options.capture ?? Stdio.makeCapture({
      ...(options.stdin === undefined ? {} : { stdin: options.stdin }),
      tty: options.tty === true
    })
    const env = { HOME: tempDir("home"), ...options.env }
    const code = yield* Cli.main(args).pipe(
      Effect.provide(Layer.mergeAll(NodeContext.layer, capture.layer)),
      Effect.withConfigProvider(ConfigProvider.fromMap(new Map(Object.entries(env))))
    )
    return { code, stdout: capture.stdout(), stderr: capture.stderr(), bytes: capture.stdoutBytes() }
  })

/** A fresh temporary folder, removed when the current test finishes. */
export const tempDir = (name: string): string => tempDirSync(`cli-${name}`)

/** An Ed25519 key pair written to files: the private key for the CLI, the public PEM for the server. */
export const keyPair = () => {
  const { privateKey, publicKey } = crypto.generateKeyPairSync("ed25519")
  const dir = tempDir("keys")
  const privateFile = path.join(dir, "key.pem")
  const publicFile = path.join(dir, "key.pub.pem")
  fs.writeFileSync(privateFile, privateKey.export({ type: "pkcs8", format: "pem" }).toString())
  const publicPem = publicKey.export({ type: "spki", format: "pem" }).toString()
  fs.writeFileSync(publicFile, publicPem)
  return { privateFile, publicFile, publicPem }
}

export const sha256 = (bytes: Uint8Array | string) => crypto.createHash("sha256").update(bytes).digest("hex")

/** Pseudo-random bytes (incompressible). */
export const randomBytes = (n: number) => new Uint8Array(crypto.randomBytes(n))

export interface Child {
  readonly child: ReturnType<typeof spawn>
  readonly done: Promise<{ code: number | null; signal: NodeJS.Signals | null; stdout: string; stderr: string }>
}

/**
 * The command's source bundled into one file, as `npm run build` bundles it for installs (`scripts/bundle.mjs`):
 * a child process starts from it in a fraction of the time tsx needs to load the sources, and it is built from the
 * current sources, so it never runs a stale build. Use it as `beforeAll(bundleForTests)`: the teardown it returns
 * removes the bundle after the file's last test.
 */
export const bundleForTests = (): Promise<() => void> =>
  new Promise((resolve, reject) => {
    // It must sit inside the package so that the external zstd-napi resolves from it.
    const outfile = path.join(cliRoot, "dist", `test-bundle-${process.pid}-${crypto.randomUUID()}.mjs`)
    const child = spawn(process.execPath, [path.join(cliRoot, "scripts/bundle.mjs"), "--outfile", outfile], {
      cwd: repoRoot,
      stdio: ["ignore", "ignore", "pipe"]
    })
    let stderr = ""
    child.stderr!.on("data", (chunk) => (stderr += chunk))
    child.on("close", (code) => {
      if (code !== 0) return reject(new Error(`bundling the CLI failed: ${stderr}`))
      bundled = outfile
      resolve(() => {
        bundled = undefined
        fs.rmSync(outfile, { force: true })
      })
    })
  })
let bundled: string | undefined

/** The bundle {@link bundleForTests} built for this file. */
export const bundleFile = (): string => {
  if (bundled === undefined) throw new Error("no bundle: call beforeAll(bundleForTests) in this file")
  return bundled
}

/**
 * Starts the real executable: by default the current sources (the bundle from {@link bundleForTests} when the file
 * built one, else `src/bin.ts` through tsx, as `bin/objectstore.js` runs a checkout never built); `"bin"` runs
 * `bin/objectstore.js` itself.
 */
export const spawnCli = (args: ReadonlyArray<string>, env: Record<string, string>, bin = "src"): Child => {
  const argv = bin === "bin"
    ? [path.join(cliRoot, "bin/objectstore.js"), ...args]
    : bundled !== undefined
    ? [bundled, ...args]
    : ["--import", "tsx", path.join(cliRoot, "src/bin.ts"), ...args]
  const child = spawn(process.execPath, argv, {
    cwd: repoRoot,
    env: { PATH: process.env.PATH ?? "", TMPDIR: os.tmpdir(), HOME: tempDir("home"), ...env },
    stdio: ["ignore", "pipe", "pipe"]
  })
  let stdout = ""
  let stderr = ""
  child.stdout!.on("data", (chunk) => (stdout += chunk))
  child.stderr!.on("data", (chunk) => (stderr += chunk))
  const done = new Promise<{ code: number | null; signal: NodeJS.Signals | null; stdout: string; stderr: string }>(
    (resolve) => child.on("close", (code, signal) => resolve({ code, signal, stdout, stderr }))
  )
  return { child, done }
}

/** Runs the real executable to the end. */
export const runProcess = (args: ReadonlyArray<string>, env: Record<string, string>, bin = "src") =>
  Effect.promise(() => spawnCli(args, env, bin).done)
