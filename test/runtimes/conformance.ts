/**
 * The conformance subset every runtime must pass (issue 19): every Session operation through the built packages
 * (`dist`, as an install gets them), against a local server the driver (`test/runtimes/run.ts`) started under Node
 * with auth enforced. Runs under Node, Bun and Deno alike; prints one line per check (`ok name` or
 * `FAIL name: why`) and a last line `conformance: N passed, N failed`, and exits 1 on any failure.
 *
 * Input (environment): `OBJECTSTORE_URL`, `OBJECTSTORE_KEY_FILE`, `OBJECTSTORE_KEY_ID`, and `CONFORMANCE_LAYER`:
 * `node` (`NodeClient.layer`) or `fetch` (`FetchClient.layer`, the setup for runtimes without undici's dispatcher
 * API).
 */
import { Batch, Compression, Expiration, ObjectstoreClient, Range, Scope, Usecase } from "@objectstore/client"
import * as FetchClient from "@objectstore/client/FetchClient"
import * as NodeClient from "@objectstore/client/NodeClient"
import * as Bytes from "@objectstore/protocol/Bytes"
import * as Data from "effect/Data"
import * as Effect from "effect/Effect"
import * as Redacted from "effect/Redacted"
import * as Stream from "effect/Stream"
import * as fs from "node:fs"
import * as process from "node:process"

const env = (name: string): string => {
  const value = process.env[name]
  if (value === undefined || value === "") throw new Error(`${name} is not set`)
  return value
}

const baseUrl = env("OBJECTSTORE_URL")
const secretKey = {
  kid: env("OBJECTSTORE_KEY_ID"),
  privateKey: Redacted.make(fs.readFileSync(env("OBJECTSTORE_KEY_FILE"), "utf8"))
}
const mode = env("CONFORMANCE_LAYER")

const clientLayer = (auth: { readonly secretKey: typeof secretKey } | { readonly token: Redacted.Redacted<string> }) =>
  mode === "node" ? NodeClient.layer({ baseUrl, ...auth }) : FetchClient.layer({ baseUrl, ...auth })

const MiB = 1024 * 1024

/** Deterministic, poorly compressible bytes. */
const bytes = (size: number, seed: number): Uint8Array => {
  const out = new Uint8Array(size)
  let x = seed >>> 0 || 1
  for (let i = 0; i < size; i++) {
    x ^= x << 13
    x ^= x >>> 17
    x ^= x << 5
    out[i] = x & 0xff
  }
  return out
}

const equal = (a: Uint8Array, b: Uint8Array) => a.length === b.length && a.every((byte, i) => byte === b[i])

/** A check that did not hold. */
class CheckFailed extends Data.TaggedError("CheckFailed")<{ readonly message: string }> {}

const check = (condition: boolean, message: string) =>
  condition ? Effect.void : Effect.fail(new CheckFailed({ message }))

const checks: Array<[string, Effect.Effect<void, unknown, ObjectstoreClient.ObjectstoreClient>]> = []
const add = (name: string, effect: Effect.Effect<void, unknown, ObjectstoreClient.ObjectstoreClient>) =>
  checks.push([name, effect])

const session = Effect.flatMap(
  ObjectstoreClient.ObjectstoreClient,
  (client) => client.session(Usecase.make("conformance"), Scope.make({ org: 19, runtime: mode }))
)

add(
  "put text with a server key, getText, delete, then NotFoundError",
  Effect.gen(function*() {
    const s = yield* session
    const key = yield* s.put("Hello from every runtime")
    yield* check((yield* s.getText(key)) === "Hello from every runtime", "text differs")
    yield* s.delete(key)
    const missing = yield* Effect.flip(s.getText(key))
    yield* check(missing._tag === "NotFoundError", `expected NotFoundError, got ${missing._tag}`)
  })
)

add(
  "put bytes (zstd) with metadata and ttl; head; getBytes; get as a stream",
  Effect.gen(function*() {
    const s = yield* session
    const data = bytes(300_000, 7)
    const key = yield* s.put(data, {
      key: "meta.bin",
      contentType: "application/x-test",
      metadata: { runtime: mode },
      origin: "conformance",
      expirationPolicy: Expiration.timeToLive("1 hour")
    })
    const meta = yield* s.head(key)
    yield* check(meta.contentType === "application/x-test", `content type ${meta.contentType}`)
    yield* check(meta.custom.runtime === mode, "custom metadata lost")
    yield* check(meta.origin === "conformance", "origin lost")
    yield* check(meta.expirationPolicy._tag === "TimeToLive", `expiration ${String(meta.expirationPolicy)}`)
    yield* check(equal(yield* s.getBytes(key), data), "getBytes differs")
    const streamed = yield* Effect.scoped(Effect.flatMap(s.get(key), (response) => Stream.runCollect(response.stream)))
    const joined = Bytes.concat(streamed)
    yield* check(equal(joined, data), "streamed get differs")
    yield* s.delete(key)
  })
)

add(
  "put a stream body uncompressed; ranged reads",
  Effect.gen(function*() {
    const s = yield* session
    const data = bytes(200_000, 11)
    const chunks = [data.subarray(0, 70_000), data.subarray(70_000, 140_000), data.subarray(140_000)]
    const key = yield* s.put(Stream.fromIterable(chunks), { key: "range.bin", compression: "none" })
    const middle = yield* s.getBytes(key, { range: Range.bytes(1000, 1999) })
    yield* check(equal(middle, data.subarray(1000, 2000)), "range 1000-1999 differs")
    const tail = yield* s.getBytes(key, { range: Range.suffix(500) })
    yield* check(equal(tail, data.subarray(data.length - 500)), "suffix range differs")
    const beyond = yield* Effect.flip(s.getBytes(key, { range: Range.from(10_000_000) }))
    yield* check(beyond._tag === "RangeNotSatisfiableError", `expected RangeNotSatisfiableError, got ${beyond._tag}`)
    yield* s.delete(key)
  })
)

add(
  "many: 30 puts, then gets, heads and deletes in one stream",
  Effect.gen(function*() {
    const s = yield* session
    const keys = Array.from({ length: 30 }, (_, i) => `many/${i}`)
    const puts = yield* Batch.collectAll(s.many(keys.map((key, i) => Batch.put(`value ${i}`, { key }))))
    yield* check(puts.every((o) => o.result._tag === "Right"), "a put failed")
    const reads = yield* Batch.collectAll(
      s.many([...keys.map((key) => Batch.get(key)), ...keys.map((key) => Batch.head(key))])
    )
    yield* check(reads.length === 60 && reads.every((o) => o.result._tag === "Right"), "a get or head failed")
    const first = reads.find((o) => o.kind === "get" && o.key === "many/3")
    yield* check(first !== undefined && first.result._tag === "Right", "get many/3 missing")
    const deletes = yield* Batch.collectAll(s.many(keys.map((key) => Batch.delete(key))))
    yield* check(deletes.every((o) => o.result._tag === "Right"), "a delete failed")
  })
)

add(
  "upload: 11 MiB as a parallel multipart upload (zstd parts), read back whole",
  Effect.gen(function*() {
    const s = yield* session
    const data = bytes(11 * MiB, 23)
    const source = Stream.range(0, 10).pipe(
      Stream.map((i) => data.subarray(i * MiB, Math.min((i + 1) * MiB, data.length)))
    )
    const result = yield* s.upload(source, { key: "large.bin", partSize: 5 * MiB, threshold: 5 * MiB })
    yield* check(result.method === "multipart" && result.parts === 3, `method ${result.method}, ${result.parts} parts`)
    yield* check(equal(yield* s.getBytes("large.bin"), data), "uploaded object differs")
    yield* s.delete("large.bin")
  })
)

add(
  "objectUrl with a token and a pre-signed URL, fetched with the runtime's fetch",
  Effect.gen(function*() {
    const s = yield* session
    yield* s.put("via a URL", { key: "url.txt", compression: "none" })
    const signed = yield* s.presignedUrl("GET", "url.txt", "5 minutes")
    const viaSigned = yield* Effect.promise(() => fetch(signed).then((r) => r.text()))
    yield* check(viaSigned === "via a URL", `pre-signed URL gave ${viaSigned}`)
    const withToken = yield* s.objectUrl("url.txt", { tokenValidity: "5 minutes" })
    const viaToken = yield* Effect.promise(() => fetch(withToken).then((r) => r.text()))
    yield* check(viaToken === "via a URL", `object URL gave ${viaToken}`)
    yield* s.delete("url.txt")
  })
)

add(
  "mintToken: a read-only token used by a second client",
  Effect.gen(function*() {
    const s = yield* session
    yield* s.put("for a minted token", { key: "minted.txt" })
    const token = yield* s.mintToken({ permissions: ["object.read"], expiry: "5 minutes" })
    const text = yield* Effect.gen(function*() {
      const client = yield* ObjectstoreClient.ObjectstoreClient
      const other = yield* client.session(Usecase.make("conformance"), Scope.make({ org: 19, runtime: mode }))
      const read = yield* other.getText("minted.txt")
      const refused = yield* Effect.flip(other.delete("minted.txt"))
      yield* check(refused._tag === "AuthError", `a read-only token deleted: ${refused._tag}`)
      return read
    }).pipe(
      Effect.provide(clientLayer({ token }))
    )
    yield* check(text === "for a minted token", `minted token read ${text}`)
    yield* s.delete("minted.txt")
  })
)

const main = Effect.gen(function*() {
  const codec = yield* Effect.provide(Compression.Compression, Compression.layer)
  console.log(`zstd: ${codec.implementation}`)
  let failed = 0
  for (const [name, effect] of checks) {
    const outcome = yield* Effect.either(effect)
    if (outcome._tag === "Right") {
      console.log(`ok ${name}`)
    } else {
      failed++
      const error = outcome.left as { message?: string; _tag?: string }
      console.log(`FAIL ${name}: ${error._tag ?? ""} ${error.message ?? String(outcome.left)}`)
    }
  }
  console.log(`conformance (${mode}): ${checks.length - failed} passed, ${failed} failed`)
  return failed
}).pipe(Effect.provide(clientLayer({ secretKey })))

Effect.runPromise(main).then(
  (failed) => process.exit(failed === 0 ? 0 : 1),
  (error) => {
    console.log(`FAIL setup: ${error}`)
    process.exit(1)
  }
)
