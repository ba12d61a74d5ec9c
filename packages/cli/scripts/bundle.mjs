// Bundles the `objectstore` command into one ESM file, dist/objectstore.mjs, which bin/objectstore.js prefers:
// one file to parse instead of hundreds of modules makes the command start fast. The native zstd binding stays
// external (it is loaded at run time when present). Run: node packages/cli/scripts/bundle.mjs
import * as esbuild from "esbuild"
import * as path from "node:path"
import { fileURLToPath } from "node:url"

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..")
// `--outfile PATH` (tests) writes elsewhere; it must stay inside the package so the external zstd-napi resolves
const outfileArg = process.argv.indexOf("--outfile")
const outfile = outfileArg > 0 ? path.resolve(process.argv[outfileArg + 1]) : path.join(root, "dist/objectstore.mjs")
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
  external: ["zstd-napi"],
  // CommonJS dependencies call require(); give the ESM bundle one
  banner: {
    js:
      "import { createRequire as __createRequire } from \"node:module\"; const require = __createRequire(import.meta.url);"
  },
  tsconfig: path.join(root, "../../tsconfig.json"),
  logLevel: "warning",
  metafile: true
})
const bytes = Object.values(result.metafile.outputs).reduce((n, output) => n + output.bytes, 0)
console.error(`${path.relative(root, outfile)}: ${(bytes / 1024).toFixed(0)} KiB`)
