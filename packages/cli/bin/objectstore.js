#!/usr/bin/env node
// The installed `objectstore` command. Prefers the single-file bundle (fast start; `node scripts/bundle.mjs`),
// then the compiled output (`npm run build`), then the TypeScript source through tsx (a checkout never built).
import { existsSync } from "node:fs"
import { register } from "node:module"
import { fileURLToPath, pathToFileURL } from "node:url"

const here = (relative) => fileURLToPath(new URL(relative, import.meta.url))

if (existsSync(here("../dist/objectstore.mjs"))) {
  await import("../dist/objectstore.mjs")
} else if (existsSync(here("../dist/bin.js"))) {
  // The client loads its native zstd codec with import("zstd-napi/binding"), which Node's ESM resolver cannot
  // resolve without the file extension (only bundlers and tsx do), so compression would fall back to the
  // decompress-only codec. Until the client imports "zstd-napi/binding.js", resolve it here (the bundle has it
  // rewritten at build time).
  const hook = "export async function resolve(specifier, context, next) {" +
    " return next(specifier === \"zstd-napi/binding\" ? \"zstd-napi/binding.js\" : specifier, context) }"
  register(`data:text/javascript,${encodeURIComponent(hook)}`)
  await import("../dist/bin.js")
} else {
  register("tsx/esm", pathToFileURL("./"))
  await import("../src/bin.ts")
}
