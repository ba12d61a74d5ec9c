/**
 * The browser test (issue 19): headless Chromium (Debian's `chromium`, driven by `playwright-core`) loads a page that
 * uses the SDK (`page.ts`, bundled here with esbuild for the browser) against the local server, same-origin through a
 * small proxy that also serves the page. The server enforces auth: the page gets a token minted here and a pre-signed
 * URL signed here, and reads an object stored here with zstd (which the browser decodes itself).
 *
 *   node --import tsx test/browser/run.ts [--chromium /usr/bin/chromium]
 *
 * Prints one line per check and exits 1 if any failed (or the browser could not start).
 */
import * as NodeContext from "@effect/platform-node/NodeContext"
import * as HttpServer from "@effect/platform/HttpServer"
import { Compression, ObjectstoreClient, Scope, Usecase } from "@objectstore/client"
import * as NodeClient from "@objectstore/client/NodeClient"
import * as Bytes from "@objectstore/protocol/Bytes"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Redacted from "effect/Redacted"
import * as Schedule from "effect/Schedule"
import * as esbuild from "esbuild"
import * as http from "node:http"
import * as path from "node:path"
import { fileURLToPath } from "node:url"
import { chromium } from "playwright-core"
import * as EnforcingServer from "../runtimes/enforcingServer.js"
import * as Payloads from "./payloads.js"

const here = path.dirname(fileURLToPath(import.meta.url))
const flag = process.argv.indexOf("--chromium")
const executablePath = flag >= 0 ? process.argv[flag + 1]! : "/usr/bin/chromium"

const KID = "browser"
const { layer: ServerLive, privatePem } = EnforcingServer.make(KID)

/** The page's bundle, as an application would build it for browsers. */
const bundle = async (): Promise<string> => {
  const result = await esbuild.build({
    entryPoints: [path.join(here, "page.ts")],
    bundle: true,
    platform: "browser",
    format: "esm",
    target: "es2022",
    write: false,
    logLevel: "error"
  })
  return result.outputFiles[0]!.text
}

/** Serves the page and its bundle, and passes everything else on to the server. */
const proxy = (upstream: URL, script: string) =>
  Effect.acquireRelease(
    Effect.async<{ server: http.Server; origin: string }>((resume) => {
      const server = http.createServer((request, response) => {
        if (request.url?.startsWith("/index.html")) {
          // `?csp=1`: a policy that allows the page's script but no WebAssembly; `?csp=wasm`: a strict policy that
          // allows WebAssembly ('wasm-unsafe-eval') but no other evaluation of code.
          const csp = new URL(request.url, "http://page").searchParams.get("csp")
          const policy = csp === "1"
            ? "script-src 'self'"
            : csp === "wasm"
            ? "script-src 'self' 'wasm-unsafe-eval'"
            : undefined
          response.writeHead(200, {
            "content-type": "text/html",
            ...(policy === undefined ? {} : { "content-security-policy": policy })
          })
          response.end("<!doctype html><meta charset=utf-8><script type=module src=/page.js></script>")
          return
        }
        if (request.url === "/page.js") {
          response.writeHead(200, { "content-type": "text/javascript" })
          response.end(script)
          return
        }
        const forward = http.request({
          host: upstream.hostname,
          port: upstream.port,
          method: request.method,
          path: request.url,
          headers: { ...request.headers, host: upstream.host }
        }, (answer) => {
          response.writeHead(answer.statusCode ?? 502, answer.headers)
          answer.pipe(response)
        })
        forward.on("error", () => response.destroy())
        request.pipe(forward)
      })
      server.listen(0, "127.0.0.1", () => {
        const address = server.address() as { port: number }
        resume(Effect.succeed({ server, origin: `http://127.0.0.1:${address.port}` }))
      })
    }),
    ({ server }) => Effect.promise(() => new Promise<void>((resolve) => server.close(() => resolve())))
  )

const program = Effect.gen(function*() {
  const upstream = new URL(yield* HttpServer.addressFormattedWith(Effect.succeed))
  const script = yield* Effect.promise(bundle)
  const { origin } = yield* proxy(upstream, script)

  // what the page reads, prepared from Node through the same origin
  const prepared = yield* Effect.gen(function*() {
    const client = yield* ObjectstoreClient.ObjectstoreClient
    const session = yield* client.session(Usecase.make("browser"), Scope.make({ org: 19 }))
    yield* session.put("zstd from node ".repeat(1000), { key: "zstd.txt", compression: "zstd" })
    yield* session.put("signed for the page", { key: "signed.txt", compression: "none" })
    const signed = yield* session.presignedUrl("GET", "signed.txt", "10 minutes")
    const token = yield* session.mintToken({ expiry: "10 minutes" })
    return { signed, token: Redacted.value(token) }
  }).pipe(
    Effect.provide(
      NodeClient.layer({ baseUrl: origin, secretKey: { kid: KID, privateKey: Redacted.make(privatePem) } })
    )
  )

  const browser = yield* Effect.acquireRelease(
    Effect.promise(() =>
      chromium.launch({
        executablePath,
        args: [
          "--headless",
          "--no-sandbox",
          "--disable-gpu",
          "--disable-quic",
          "--no-first-run",
          "--disable-background-networking",
          "--disable-component-update",
          "--disable-sync"
        ]
      })
    ),
    (browser) => Effect.promise(() => browser.close())
  )
  const logs: Array<string> = []
  const query = new URLSearchParams({ token: prepared.token, zstdKey: "zstd.txt", signed: prepared.signed })
  /** Loads the page (with `extra` in its query) and returns its results. */
  const runPage = (extra: Record<string, string>) =>
    Effect.gen(function*() {
      const page = yield* Effect.acquireRelease(
        Effect.promise(() => browser.newPage()),
        (page) => Effect.promise(() => page.close())
      )
      page.on("console", (message) => logs.push(`console.${message.type()}: ${message.text()}`))
      page.on("pageerror", (error) => logs.push(`page error: ${error.message}`))
      yield* Effect.promise(() => page.goto(`${origin}/index.html?${query}&${new URLSearchParams(extra)}`))
      // Polled with `evaluate` (the DevTools protocol, which no page policy blocks): `waitForFunction` evaluates its
      // predicate in the page, which a Content Security Policy without 'unsafe-eval' forbids.
      const done = yield* Effect.either(
        Effect.promise(() => page.evaluate("window.__done === true")).pipe(
          Effect.repeat({ until: (finished) => finished === true, schedule: Schedule.spaced("100 millis") }),
          Effect.timeoutFail({ duration: "60 seconds", onTimeout: () => "timed out" })
        )
      )
      const results = (yield* Effect.promise(() => page.evaluate("window.__results ?? []"))) as Array<[string, string]>
      if (done._tag === "Left") results.push(["the page finishes within 60 s", "timed out"])
      return results
    }).pipe(Effect.scoped)

  const results = [
    ...yield* runPage({}),
    ...(yield* runPage({ csp: "wasm" })).map((
      [name, outcome]
    ): [string, string] => [`CSP 'wasm-unsafe-eval': ${name}`, outcome]),
    ...yield* runPage({ csp: "1" })
  ]

  // What the page uploaded with zstd (WebAssembly), read back under Node as stored and decoded with Node's codec.
  results.push([
    "Node reads the page's zstd uploads as stored (zstd) and decodes them with its own codec",
    yield* Effect.gen(function*() {
      const client = yield* ObjectstoreClient.ObjectstoreClient
      const session = yield* client.session(Usecase.make("browser"), Scope.make({ org: 19 }))
      const codec = yield* Compression.make
      const expected: Array<[string, Uint8Array]> = [
        [Payloads.whole.key, new TextEncoder().encode(Payloads.whole.text)],
        [Payloads.streamKey, Bytes.concat(Payloads.streamChunks())]
      ]
      for (const [key, want] of expected) {
        const meta = yield* session.head(key)
        if (meta.compression !== "zstd") return `${key}: stored as ${meta.compression}`
        const stored = yield* session.getBytes(key, { decompress: false })
        const decoded = yield* Compression.decompressBytes(codec, stored)
        if (!Buffer.from(decoded).equals(want)) return `${key}: ${codec.implementation} decoded ${decoded.length} bytes`
        if (!Buffer.from(yield* session.getBytes(key)).equals(want)) return `${key}: getBytes differs`
      }
      return "ok"
    }).pipe(
      Effect.catchAll((error) => Effect.succeed(String(error))),
      Effect.provide(
        NodeClient.layer({ baseUrl: origin, secretKey: { kid: KID, privateKey: Redacted.make(privatePem) } })
      )
    )
  ])

  const version = browser.version()
  console.log(`# browser: Chromium ${version}, bundle ${(script.length / 1024).toFixed(0)} KiB`)
  for (const [name, outcome] of results) console.log(outcome === "ok" ? `ok ${name}` : `FAIL ${name}: ${outcome}`)
  const passed = results.filter(([, outcome]) => outcome === "ok").length
  const failed = results.length - passed
  if (failed > 0 || results.length === 0) { for (const line of logs) console.log(`  ${line}`) }
  console.log(`browser: ${passed} passed, ${failed} failed`)
  return failed === 0 && results.length > 0
})

Effect.runPromise(program.pipe(Effect.provide(Layer.provideMerge(ServerLive, NodeContext.layer)), Effect.scoped)).then(
  (ok) => process.exit(ok ? 0 : 1),
  (error) => {
    console.error(error)
    process.exit(1)
  }
)
