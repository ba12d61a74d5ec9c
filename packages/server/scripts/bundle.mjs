// Bundles the `objectstore-server` command into one ESM file, dist/objectstore-server.mjs, which
// bin/objectstore-server.js prefers: one file to parse instead of hundreds of modules is most of a fast start.
// Run: node packages/server/scripts/bundle.mjs [--outfile PATH]; tests import `bundle`.
import * as esbuild from "esbuild"
import * as path from "node:path"
import { fileURLToPath } from "node:url"

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..")

/**
 * Writes the bundle to `outfile` and returns its size in bytes. `version` reads `../package.json` relative to the
 * bundle, so keep `outfile` in a folder directly inside the package.
 */
export const bundle = async (outfile = path.join(root, "dist/objectstore-server.mjs")) => {
  const result = await esbuild.build({
    entryPoints: [path.join(root, "src/bin.ts")],
    outfile,
    bundle: true,
    platform: "node",
    target: "node20",
    format: "esm",
    minify: true,
    treeShaking: true,
    legalComments: "none",
    // CommonJS dependencies call require(); give the ESM bundle one
    banner: {
      js:
        "import { createRequire as __createRequire } from \"node:module\"; const require = __createRequire(import.meta.url);"
    },
    // The server never accepts WebSocket upgrades: @effect/platform-node only constructs its WebSocket server when
    // an app calls `request.upgrade`, which this app never does. Leaving `ws` out saves parsing it at every start.
    plugins: [{
      name: "no-ws",
      setup(build) {
        build.onResolve({ filter: /^ws$/ }, () => ({ path: "ws", namespace: "no-ws" }))
        build.onLoad({ filter: /.*/, namespace: "no-ws" }, () => ({
          contents:
            "export class WebSocketServer { constructor() { throw new Error(\"WebSocket upgrades are not supported\") } }",
          loader: "js"
        }))
      }
    }],
    tsconfig: path.join(root, "../../tsconfig.json"),
    logLevel: "warning",
    metafile: true
  })
  return Object.values(result.metafile.outputs).reduce((n, output) => n + output.bytes, 0)
}

if (process.argv[1] !== undefined && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const outfileArg = process.argv.indexOf("--outfile")
  const outfile = outfileArg > 0 ? path.resolve(process.argv[outfileArg + 1]) : undefined
  const bytes = await bundle(outfile)
  console.error(
    `${path.relative(root, outfile ?? path.join(root, "dist/objectstore-server.mjs"))}: ${
      (bytes / 1024).toFixed(0)
    } KiB`
  )
}
