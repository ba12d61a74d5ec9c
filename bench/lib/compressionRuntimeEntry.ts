/**
 * The entry `bench/compression-runtimes.ts` bundles (esbuild) and runs under each runtime, and in a browser page:
 * runs `compressionRuntime.run` with the options in the `COMPRESSION_BENCH` query parameter or argument (JSON) and
 * reports `{ runtime, picked, rows }`: on stdout as one JSON line, or in a page as `window.__result`.
 */
import { run } from "./compressionRuntime.js"

declare const Bun: { readonly version: string } | undefined
declare const Deno: { readonly version: { readonly deno: string } } | undefined
declare const process: { readonly version: string; readonly argv: ReadonlyArray<string> } | undefined

const isPage = typeof (globalThis as { document?: unknown }).document !== "undefined"
const runtime = isPage
  ? navigator.userAgent.match(/Chrome\/[\d.]+/)?.[0]?.replace("Chrome/", "Chromium ") ?? navigator.userAgent
  : typeof Bun !== "undefined"
  ? `Bun ${Bun.version}`
  : typeof Deno !== "undefined"
  ? `Deno ${Deno.version.deno}`
  : `Node.js ${process?.version}`
const raw = isPage ? new URLSearchParams(location.search).get("options") : process?.argv.at(-1)
const options = JSON.parse(raw ?? "{}")

run(options).then(
  (result) => {
    const report = { runtime, ...result }
    if (isPage) (globalThis as { __result?: unknown }).__result = report
    else console.log(JSON.stringify(report))
  },
  (error) => {
    if (isPage) (globalThis as { __result?: unknown }).__result = { error: String(error) }
    else {
      console.error(error)
      throw error
    }
  }
)
