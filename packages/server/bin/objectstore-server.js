#!/usr/bin/env node
// The `objectstore-server` command (see src/bin.ts). Prefers the single-file bundle (fast start;
// `node scripts/bundle.mjs`, run by `npm run build`), then the compiled output (`tsc -b`), then the TypeScript
// source through tsx (a checkout never built).
import { existsSync } from "node:fs"
import { register } from "node:module"
import { fileURLToPath, pathToFileURL } from "node:url"

const here = (relative) => fileURLToPath(new URL(relative, import.meta.url))

if (existsSync(here("../dist/objectstore-server.mjs"))) {
  await import("../dist/objectstore-server.mjs")
} else if (existsSync(here("../dist/bin.js"))) {
  await import("../dist/bin.js")
} else {
  register("tsx/esm", pathToFileURL("./"))
  await import("../src/bin.ts")
}
