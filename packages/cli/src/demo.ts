/**
 * The README's main job: start the embedded local server (memory storage, auth enforced with a freshly generated
 * Ed25519 key) on a loopback port, then run a round trip against it through the SDK, printing what happened.
 *
 * Run with `npm run demo`. Exits non-zero if any step does not behave as expected.
 *
 * @since 0.1.0
 */
import * as NodeRuntime from "@effect/platform-node/NodeRuntime"
import * as HttpServer from "@effect/platform/HttpServer"
import * as Expiration from "@objectstore/client/Expiration"
import * as NodeClient from "@objectstore/client/NodeClient"
import * as ObjectstoreClient from "@objectstore/client/ObjectstoreClient"
import * as Scope from "@objectstore/client/Scope"
import * as Session from "@objectstore/client/Session"
import * as Usecase from "@objectstore/client/Usecase"
import * as Server from "@objectstore/server/Server"
import * as Chunk from "effect/Chunk"
import * as Console from "effect/Console"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Redacted from "effect/Redacted"
import * as Stream from "effect/Stream"
import * as crypto from "node:crypto"

const KID = "demo-service"
const { privateKey, publicKey } = crypto.generateKeyPairSync("ed25519")
const privatePem = privateKey.export({ type: "pkcs8", format: "pem" }).toString()
const publicPem = publicKey.export({ type: "spki", format: "pem" }).toString()

const ServerLive = Server.layer({
  host: "127.0.0.1",
  port: 0,
  storage: { type: "memory" },
  auth: {
    enforce: true,
    keys: { [KID]: { publicKeys: [publicPem], maxPermissions: ["object.read", "object.write", "object.delete"] } }
  }
})

const ClientLive = Layer.unwrapEffect(
  HttpServer.addressFormattedWith((baseUrl) =>
    Console.log(`local server listening on ${baseUrl} (memory storage, auth enforced)`).pipe(
      Effect.as(NodeClient.layer({ baseUrl, secretKey: { kid: KID, privateKey: Redacted.make(privatePem) } }))
    )
  )
).pipe(Layer.provide(ServerLive))

const sha256 = (bytes: Uint8Array) => crypto.createHash("sha256").update(bytes).digest("hex").slice(0, 16)

const check = (condition: boolean, what: string) =>
  condition ? Console.log(`  ok: ${what}`) : Effect.dieMessage(`demo failed: ${what}`)

/** A compressible payload of `size` bytes, produced in 64 KiB chunks (never held whole by the SDK). */
const logLines = (size: number) =>
  Stream.range(0, Math.ceil(size / 65536) - 1).pipe(
    Stream.map((i) => {
      const line = `${new Date(1_700_000_000_000 + i * 1000).toISOString()} INFO request ${i} served in ${i % 97}ms\n`
      const chunk = new Uint8Array(Math.min(65536, size - i * 65536))
      const encoded = new TextEncoder().encode(line.repeat(Math.ceil(chunk.length / line.length)))
      chunk.set(encoded.subarray(0, chunk.length))
      return chunk
    })
  )

const program = Effect.gen(function*() {
  const client = yield* ObjectstoreClient.ObjectstoreClient
  const attachments = Usecase.make("attachments", { expirationPolicy: Expiration.timeToIdle(Duration.days(30)) })
  const session = yield* client.session(attachments, Scope.make({ org: 42, project: 1337 }))
  yield* Console.log(`session: usecase ${session.usecase.name}, scope ${session.scope}`)

  yield* Console.log("\n1. put a small text object with metadata (server-generated key)")
  const key = yield* session.put("Hello, world!", {
    contentType: "text/plain; charset=utf-8",
    origin: "203.0.113.42",
    filename: "hello.txt",
    metadata: { source: "demo" }
  })
  yield* Console.log(`  key: ${key}`)

  yield* Console.log("2. head: its metadata")
  const metadata = yield* session.head(key)
  yield* Console.log(
    `  content-type ${metadata.contentType}, compression ${metadata.compression}, ` +
      `expiration ${Expiration.format(metadata.expirationPolicy)}, created ${metadata.timeCreatedText}`
  )
  yield* check(metadata.origin === "203.0.113.42" && metadata.custom.source === "demo", "origin and custom metadata")

  yield* Console.log("3. get: the payload, decompressed transparently")
  const text = yield* session.getText(key)
  yield* check(text === "Hello, world!", `payload reads back as ${JSON.stringify(text)}`)
  const raw = yield* session.getBytes(key, { decompress: false })
  yield* check(raw[0] === 0x28 && raw[1] === 0xb5, `stored zstd-compressed (${raw.length} bytes on the server)`)

  yield* Console.log("4. put and get 8 MiB streamed, under a key of our own")
  const size = 8 * 1024 * 1024
  const expected = sha256(Chunk.toReadonlyArray(yield* Stream.runCollect(logLines(size))).reduce(concat))
  yield* session.put(logLines(size), { key: "logs/2026-11-28/app.log", contentType: "text/plain" })
  const got = yield* Effect.scoped(
    Effect.flatMap(session.get("logs/2026-11-28/app.log"), (response) => Session.collectBytes(response))
  )
  yield* check(got.length === size && sha256(got) === expected, `8 MiB round trip, sha256 ${expected}`)

  yield* Console.log("5. the same key in another scope is a different object")
  const other = yield* client.session(attachments, Scope.make({ org: 42, project: 9999 }))
  const missing = yield* Effect.flip(other.head("logs/2026-11-28/app.log"))
  yield* check(missing._tag === "NotFoundError", `project 9999 answers ${missing._tag}`)

  yield* Console.log("6. delete both objects; a second delete is still a success")
  yield* session.delete(key)
  yield* session.delete("logs/2026-11-28/app.log")
  yield* session.delete(key)
  const gone = yield* Effect.flip(session.head(key))
  yield* check(gone._tag === "NotFoundError", `after delete, head answers ${gone._tag}`)

  yield* Console.log("\ndemo finished: every step behaved as expected; the server stops now")
})

const concat = (a: Uint8Array, b: Uint8Array) => {
  const out = new Uint8Array(a.length + b.length)
  out.set(a)
  out.set(b, a.length)
  return out
}

program.pipe(Effect.provide(ClientLive), NodeRuntime.runMain)
