/**
 * Runs the conformance subset (`conformance.ts`) under other runtimes against one local server started here, under
 * Node, over loopback TCP with auth enforced (an Ed25519 key made for the run). Needs `npm run build` first (the
 * subset imports the built packages, as an install would).
 *
 *   node --import tsx test/runtimes/run.ts <name>=<command> ...
 *
 * Each argument names a runtime and the command that runs a TypeScript file with it, the file appended:
 * `bun=".ci/runtimes/bun/node_modules/.bin/bun run"`, `deno=".../deno run -A"`, `node="node --import tsx"`. Each
 * runtime runs the subset twice: with `NodeClient.layer` (`node`) and with `FetchClient.layer` (`fetch`); which
 * combinations must pass is `expected` below (what the README's runtime table says). Prints every line the subset
 * prints and exits 1 when a combination that must pass fails, or one that is documented as failing starts passing
 * (so the README is corrected).
 */
import * as NodeContext from "@effect/platform-node/NodeContext"
import * as HttpServer from "@effect/platform/HttpServer"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import { spawn } from "node:child_process"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { fileURLToPath } from "node:url"
import * as EnforcingServer from "./enforcingServer.js"

const here = path.dirname(fileURLToPath(import.meta.url))
const root = path.resolve(here, "../..")

/**
 * Which layer must work on which runtime (README, "Runtimes"): `true`, or the error a layer documented not to work
 * there must fail with (so it fails clearly, not with a crash on the first request).
 */
const expected: Record<string, Record<"node" | "fetch", true | string>> = {
  node: { node: true, fetch: true },
  deno: { node: true, fetch: true },
  bun: { node: "use FetchClient.layer instead of NodeClient.layer", fetch: true }
}

const runtimes = process.argv.slice(2).map((arg) => {
  const at = arg.indexOf("=")
  if (at < 0) throw new Error(`expected name=command, got ${arg}`)
  return { name: arg.slice(0, at), command: arg.slice(at + 1).split(" ").filter((s) => s !== "") }
})

const KID = "conformance"
const server = EnforcingServer.make(KID)
const dir = fs.mkdtempSync(path.join(os.tmpdir(), "objectstore-runtimes-"))
const keyFile = path.join(dir, "key.pem")
fs.writeFileSync(keyFile, server.privatePem)
const ServerLive = server.layer

const runOne = (command: ReadonlyArray<string>, env: Record<string, string>) =>
  Effect.async<{ code: number; output: string }>((resume) => {
    const child = spawn(command[0]!, [...command.slice(1), path.join(here, "conformance.ts")], {
      cwd: root,
      env: { ...process.env, ...env },
      stdio: ["ignore", "pipe", "pipe"]
    })
    let output = ""
    child.stdout.on("data", (chunk) => (output += chunk))
    child.stderr.on("data", (chunk) => (output += chunk))
    const timer = setTimeout(() => child.kill("SIGKILL"), 120_000)
    child.on("close", (code) => {
      clearTimeout(timer)
      resume(Effect.succeed({ code: code ?? 1, output }))
    })
    child.on("error", (error) => {
      clearTimeout(timer)
      resume(Effect.succeed({ code: 1, output: `could not start ${command[0]}: ${error.message}` }))
    })
    return Effect.sync(() => child.kill("SIGKILL"))
  })

const program = Effect.gen(function*() {
  const url = yield* HttpServer.addressFormattedWith(Effect.succeed)
  let problems = 0
  for (const runtime of runtimes) {
    for (const layer of ["node", "fetch"] as const) {
      const want = expected[runtime.name]?.[layer]
      if (want === undefined) throw new Error(`no expectation for runtime ${runtime.name}`)
      const { code, output } = yield* runOne(runtime.command, {
        OBJECTSTORE_URL: url,
        OBJECTSTORE_KEY_FILE: keyFile,
        OBJECTSTORE_KEY_ID: KID,
        CONFORMANCE_LAYER: layer
      })
      // The last line must be the subset's own count: a runtime that exits early (its event loop empty while a
      // request waits on something that never comes) exits 0 without it.
      const passed = code === 0 && new RegExp(`conformance \\(${layer}\\): \\d+ passed, 0 failed\\s*$`).test(output)
      const asDocumented = want === true ? passed : !passed && output.includes(want)
      const verdict = asDocumented
        ? "as documented"
        : want === true
        ? "FAILED"
        : passed
        ? "PASSES but is documented as failing"
        : "FAILED otherwise than documented"
      console.log(
        `\n## ${runtime.name} with ${layer === "node" ? "NodeClient.layer" : "FetchClient.layer"}: ${verdict}`
      )
      console.log(output.trimEnd().split("\n").map((line) => `  ${line}`).join("\n"))
      if (!asDocumented) problems++
    }
  }
  return problems
})

Effect.runPromise(
  program.pipe(Effect.provide(Layer.provideMerge(ServerLive, NodeContext.layer)), Effect.scoped)
).then(
  (problems) => {
    fs.rmSync(dir, { recursive: true, force: true })
    console.log(`\nruntimes: ${problems === 0 ? "every combination as documented" : `${problems} not as documented`}`)
    process.exit(problems === 0 ? 0 : 1)
  },
  (error) => {
    fs.rmSync(dir, { recursive: true, force: true })
    console.error(error)
    process.exit(1)
  }
)
