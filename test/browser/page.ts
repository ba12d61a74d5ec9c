/**
 * The page the browser test (`run.ts`) loads: the SDK as an application bundles it (esbuild, `--platform=browser`),
 * over the browser's `fetch` (`FetchClient.layer`), against the local server through the test's same-origin proxy.
 * It reads its inputs from the page URL's query (`token`: a token the driver minted; `zstdKey`: an object the driver stored
 * with zstd; `signed`: a pre-signed URL), runs
 * each check and leaves the results in
 * `window.__results` (`[name, "ok" | error]`) and `window.__done`.
 */
import { Batch, Compression, Expiration, ObjectstoreClient, Scope, Usecase } from "@objectstore/client"
import * as FetchClient from "@objectstore/client/FetchClient"
import * as ProtocolBytes from "@objectstore/protocol/Bytes"
import * as Data from "effect/Data"
import * as Effect from "effect/Effect"
import * as Redacted from "effect/Redacted"
import * as Stream from "effect/Stream"
import * as Payloads from "./payloads.js"

const query = new URLSearchParams(location.search)
const param = (name: string): string => {
  const value = query.get(name)
  if (value === null) throw new Error(`missing ?${name}=`)
  return value
}

const results: Array<[string, string]> = []
;(window as unknown as { __results: typeof results }).__results = results

/** A check that did not hold. */
class CheckFailed extends Data.TaggedError("CheckFailed")<{ readonly message: string }> {}

const check = (condition: boolean, message: string) =>
  condition ? Effect.void : Effect.fail(new CheckFailed({ message }))

const session = Effect.flatMap(
  ObjectstoreClient.ObjectstoreClient,
  (client) => client.session(Usecase.make("browser"), Scope.make({ org: 19 }))
)

/** Checks which codec `Compression.layer` picks in this page. */
const picks = (implementation: Compression.Implementation) =>
  Effect.gen(function*() {
    const service = yield* Effect.provide(Compression.Compression, Compression.layer)
    yield* check(service.implementation === implementation, `picked ${service.implementation}`)
  })

const checks: ReadonlyArray<[string, Effect.Effect<void, unknown, ObjectstoreClient.ObjectstoreClient>]> = [
  [
    "put (compression none), getText, head, delete",
    Effect.gen(function*() {
      const s = yield* session
      const key = yield* s.put("from the browser", {
        compression: "none",
        contentType: "text/plain",
        metadata: { agent: "chromium" },
        expirationPolicy: Expiration.timeToLive("1 hour")
      })
      yield* check((yield* s.getText(key)) === "from the browser", "text differs")
      const meta = yield* s.head(key)
      yield* check(meta.custom.agent === "chromium" && meta.contentType === "text/plain", "metadata differs")
      yield* s.delete(key)
      const gone = yield* Effect.flip(s.head(key))
      yield* check(gone._tag === "NotFoundError", `expected NotFoundError, got ${gone._tag}`)
    })
  ],
  [
    "a zstd object stored by Node, read whole and as a stream (the browser decodes it)",
    Effect.gen(function*() {
      const s = yield* session
      const want = "zstd from node ".repeat(1000)
      yield* check((yield* s.getText(param("zstdKey"))) === want, "getText differs")
      const chunks = yield* Effect.scoped(
        Effect.flatMap(s.get(param("zstdKey")), (response) => Stream.runCollect(response.stream))
      )
      const text = new TextDecoder().decode(ProtocolBytes.concat(Array.from(chunks)))
      yield* check(text === want, `streamed text differs (${text.length} chars)`)
    })
  ],
  ["Compression.layer picks the WebAssembly codec", picks("wasm")],
  [
    "put with the usecase's default compression (zstd, WebAssembly), whole and as a stream, read back by the page",
    Effect.gen(function*() {
      const s = yield* session
      yield* s.put(Payloads.whole.text, { key: Payloads.whole.key, contentType: "text/plain" })
      yield* s.put(Stream.fromIterable(Payloads.streamChunks()).pipe(Stream.rechunk(1)), { key: Payloads.streamKey })
      for (const key of [Payloads.whole.key, Payloads.streamKey]) {
        const meta = yield* s.head(key)
        yield* check(meta.compression === "zstd", `${key} stored as ${meta.compression}`)
      }
      yield* check((yield* s.getText(Payloads.whole.key)) === Payloads.whole.text, "whole: text differs")
      const streamed = yield* s.getBytes(Payloads.streamKey)
      const expected = ProtocolBytes.concat(Payloads.streamChunks())
      yield* check(
        streamed.length === expected.length && streamed.every((byte, i) => byte === expected[i]),
        `stream: ${streamed.length} bytes back, ${expected.length} sent`
      )
    })
  ],
  [
    "many: puts, gets and deletes in one batch",
    Effect.gen(function*() {
      const s = yield* session
      const keys = Array.from({ length: 10 }, (_, i) => `page/${i}`)
      const puts = yield* Batch.collectAll(s.many(keys.map((key) => Batch.put(key, { key, compression: "none" }))))
      const failedPut = puts.find((o) => o.result._tag === "Left")
      yield* check(
        failedPut === undefined,
        `a put failed: ${failedPut?.result._tag === "Left" ? failedPut.result.left.message : ""}`
      )
      const gets = yield* Batch.collectAll(s.many(keys.map((key) => Batch.get(key))))
      yield* check(gets.every((o) => o.result._tag === "Right"), "a get failed")
      yield* Batch.collectAll(s.many(keys.map((key) => Batch.delete(key))))
    })
  ],
  [
    "a pre-signed URL fetched by the page",
    Effect.gen(function*() {
      const response = yield* Effect.promise(() => fetch(param("signed")))
      const text = yield* Effect.promise(() => response.text())
      yield* check(response.status === 200 && text === "signed for the page", `${response.status} ${text}`)
    })
  ]
]

/**
 * Under a Content Security Policy without `'wasm-unsafe-eval'` (the driver loads the page so with `?csp=1`) no
 * WebAssembly compiles: `Compression.layer` falls back to `fzstd`, a zstd upload fails with a typed
 * `CompressionError`, and uploads with `compression: "none"` and zstd downloads still work.
 */
const cspChecks: ReadonlyArray<[string, Effect.Effect<void, unknown, ObjectstoreClient.ObjectstoreClient>]> = [
  ["no WebAssembly (CSP): Compression.layer falls back to fzstd", picks("fzstd")],
  [
    "no WebAssembly (CSP): a zstd put fails with a typed CompressionError; none and zstd downloads work",
    Effect.gen(function*() {
      const s = yield* session
      const error = yield* Effect.flip(s.put("needs an encoder", { compression: "zstd" }))
      yield* check(error._tag === "CompressionError", `expected CompressionError, got ${error._tag}`)
      const key = yield* s.put("no encoder needed", { compression: "none" })
      yield* check((yield* s.getText(key)) === "no encoder needed", "text differs")
      yield* check((yield* s.getText(param("zstdKey"))) === "zstd from node ".repeat(1000), "zstd download differs")
    })
  ]
]

const layer = FetchClient.layer({ baseUrl: location.origin, token: Redacted.make(param("token")) })

const run = Effect.gen(function*() {
  for (const [name, effect] of query.get("csp") === "1" ? cspChecks : checks) {
    const outcome = yield* Effect.either(Effect.provide(effect, layer))
    results.push([
      name,
      outcome._tag === "Right" ? "ok" : String((outcome.left as { message?: string }).message ?? outcome.left)
    ])
  }
})

Effect.runPromise(run).then(
  () => {
    ;(window as unknown as { __done: boolean }).__done = true
  },
  (error) => {
    results.push(["setup", String(error)])
    ;(window as unknown as { __done: boolean }).__done = true
  }
)
