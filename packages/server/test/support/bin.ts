/**
 * The `objectstore-server` command for tests that spawn it: `src/bin.ts` bundled once per test file with the same
 * esbuild settings as the installed bundle, so a child starts in a fraction of the time tsx takes and runs the
 * current source. The bundle lives in a temporary folder inside the package (`version` reads `../package.json`)
 * and is removed after the file's tests.
 */
import * as ChildProcess from "node:child_process"
import * as crypto from "node:crypto"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { fileURLToPath } from "node:url"
import { afterAll } from "vitest"
import { bundle } from "../../scripts/bundle.mjs"

const packageRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..")

let built: Promise<string> | undefined
let folder: string | undefined

afterAll(() => {
  if (folder !== undefined) fs.rmSync(folder, { recursive: true, force: true })
})

/** The bundled command (built on first use). */
export const bundledBin = (): Promise<string> => {
  if (built === undefined) {
    folder = path.join(packageRoot, `.test-bin-${crypto.randomUUID()}`)
    const file = path.join(folder, "objectstore-server.mjs")
    built = bundle(file).then(() => file)
  }
  return built
}

/** A clean environment: nothing of ours leaks in, only what the test gives. */
export const childEnv = (env: Readonly<Record<string, string>>): Record<string, string> => ({
  PATH: process.env.PATH ?? "",
  HOME: os.tmpdir(),
  ...env
})

/** Spawns the bundled command with `args` in `cwd`, with only `env` (and PATH/HOME) in its environment. */
export const spawnBin = (
  bin: string,
  args: ReadonlyArray<string>,
  env: Readonly<Record<string, string>>,
  cwd: string
): ChildProcess.ChildProcess =>
  ChildProcess.spawn(process.execPath, [bin, ...args], { cwd, env: childEnv(env), stdio: ["ignore", "pipe", "pipe"] })
