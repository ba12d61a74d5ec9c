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
  await import("../dist/bin.js")
} else {
  register("tsx/esm", pathToFileURL("./"))
  await import("../src/bin.ts")
}
