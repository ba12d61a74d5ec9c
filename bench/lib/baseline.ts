/**
 * The benchmark server as a single-file bundle, built from this checkout or from the server source at another git
 * revision, so a workload can compare the server before and after a change in one interleaved run on the same
 * machine. Both sides are bundled the same way (esbuild, minified, like the installed bin), so the comparison
 * measures the source, not the packaging.
 *
 * The revision's `packages/` are extracted with `git archive` into a temporary folder; the harness entry point
 * (`server-main.ts`) is always this checkout's, and dependencies resolve from this checkout's `node_modules`.
 */
import { execFileSync } from "node:child_process"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { fileURLToPath } from "node:url"

const here = path.dirname(fileURLToPath(import.meta.url))
const root = path.resolve(here, "../..")

export interface ServerBundle {
  /** The bundled entry point, to pass to `startServer({ script })`. */
  readonly script: string
  /** What was bundled: `working tree` or the revision. */
  readonly label: string
  /** Removes the temporary files. */
  readonly dispose: () => void
}

/** Bundles `server-main.ts` against the packages at `revision` (`undefined`: the working tree). */
export const bundleServer = async (revision?: string): Promise<ServerBundle> => {
  const { build } = await import("esbuild")
  const work = fs.mkdtempSync(path.join(os.tmpdir(), "os-bench-server-"))
  let packages = path.join(root, "packages")
  let label = "working tree"
  if (revision !== undefined) {
    const commit = execFileSync("git", ["rev-parse", "--short", revision], { cwd: root, encoding: "utf8" }).trim()
    label = `${revision} (${commit})`
    const archive = execFileSync("git", ["archive", "--format=tar", commit, "packages"], {
      cwd: root,
      maxBuffer: 1024 * 1024 * 1024
    })
    execFileSync("tar", ["-x", "-C", work], { input: archive })
    packages = path.join(work, "packages")
  }
  const script = path.join(work, "server-main.mjs")
  await build({
    entryPoints: [path.join(here, "server-main.ts")],
    outfile: script,
    bundle: true,
    platform: "node",
    target: "node20",
    format: "esm",
    minify: process.env.BENCH_BUNDLE_MINIFY !== "false",
    legalComments: "none",
    logLevel: "warning",
    nodePaths: [path.join(root, "node_modules")],
    external: ["zstd-napi"],
    plugins: [{
      name: "objectstore-packages",
      setup(build) {
        build.onResolve({ filter: /^@objectstore\// }, (args) => {
          const [, name, ...rest] = args.path.split("/")
          const subpath = rest.length === 0 ? "index" : rest.join("/")
          return { path: path.join(packages, name!, "src", `${subpath}.ts`) }
        })
      }
    }],
    banner: {
      js:
        "import { createRequire as __createRequire } from \"node:module\"; const require = __createRequire(import.meta.url);"
    }
  })
  return { script, label, dispose: () => fs.rmSync(work, { recursive: true, force: true }) }
}
