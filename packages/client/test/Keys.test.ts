/**
 * Every key and usecase the server accepts (issue 16 items 1 and 2; PROTOCOL §4.1, §4.3, §4.4) works with every
 * operation, end to end through the local server over loopback TCP and in-process, with auth enforced: put, get,
 * head, delete, many, manual and automatic multipart, resumable, and object / pre-signed URLs fetched without the
 * SDK. Over TCP the object is also read with the exact bytes the Python client 0.2.0 sends (a raw `node:http`
 * request, no URL normalisation): both encodings reach the same object.
 */
import * as HttpClient from "@effect/platform/HttpClient"
import * as HttpClientRequest from "@effect/platform/HttpClientRequest"
import * as HttpServer from "@effect/platform/HttpServer"
import { assert, describe, it, layer } from "@effect/vitest"
import * as Auth from "@objectstore/client/Auth"
import * as Batch from "@objectstore/client/Batch"
import * as Compression from "@objectstore/client/Compression"
import * as Metrics from "@objectstore/client/Metrics"
import * as NodeClient from "@objectstore/client/NodeClient"
import * as ObjectstoreClient from "@objectstore/client/ObjectstoreClient"
import * as Scope from "@objectstore/client/Scope"
import type * as Session from "@objectstore/client/Session"
import * as Usecase from "@objectstore/client/Usecase"
import * as Path from "@objectstore/protocol/Path"
import * as Server from "@objectstore/server/Server"
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Layer from "effect/Layer"
import * as Logger from "effect/Logger"
import * as LogLevel from "effect/LogLevel"
import * as Option from "effect/Option"
import * as Redacted from "effect/Redacted"
import * as Stream from "effect/Stream"
import * as Http from "node:http"
import { pemKeyPair } from "./support/keyPair.js"

const { privatePem, publicPem } = pemKeyPair()

const serverOptions = {
  auth: {
    enforce: true,
    keys: {
      main: { publicKeys: [publicPem], maxPermissions: ["object.read", "object.write", "object.delete"] as const }
    }
  }
}

/** The keys of issue 16 item 1, with the edge cases around them. */
export const KEYS: ReadonlyArray<string> = [
  "plain-key",
  "/leading",
  "trailing/",
  "/both/",
  "a//b",
  "./dot",
  "a/../b",
  "a/.",
  "../..",
  "/",
  "%2E/%2F",
  "tab\there",
  "x".repeat(600),
  "é/".repeat(400)
]

/** The usecases of issue 16 item 2. */
export const USECASES: ReadonlyArray<string> = ["my.usecase", "with space", "ü"]

class Target extends Context.Tag("test/Target")<
  Target,
  {
    readonly baseUrl: string
    /** A plain GET of a URL, no SDK: `fetch` over TCP, the raw in-process client otherwise. */
    readonly plainGet: (url: string) => Effect.Effect<{ readonly status: number; readonly body: string }>
    /** Over TCP: a GET with a path sent byte for byte as given (no URL class). */
    readonly rawGet:
      | ((path: string, token: string) => Effect.Effect<{ readonly status: number; readonly body: string }>)
      | undefined
  }
>() {}

const Services = Layer.mergeAll(
  Compression.layer,
  Auth.layerSecretKey({ kid: "main", privateKey: Redacted.make(privatePem) }),
  Metrics.layerNoop
)

const clientLayer = (baseUrl: string) =>
  ObjectstoreClient.layer({ baseUrl, retry: false, nonPortableKeys: "allow" }).pipe(Layer.provide(Services))

const fetchGet = (url: string) =>
  Effect.promise(async () => {
    const response = await fetch(url)
    return { status: response.status, body: await response.text() }
  })

const rawNodeGet = (origin: string) => (path: string, token: string) =>
  Effect.async<{ readonly status: number; readonly body: string }>((resume) => {
    const url = new URL(origin)
    const request = Http.request(
      { host: url.hostname, port: url.port, method: "GET", path, headers: { "x-os-auth": `Bearer ${token}` } },
      (response) => {
        const chunks: Array<Buffer> = []
        response.on("data", (chunk: Buffer) => chunks.push(chunk))
        response.on(
          "end",
          () =>
            resume(Effect.succeed({ status: response.statusCode ?? 0, body: Buffer.concat(chunks).toString("utf8") }))
        )
      }
    )
    request.on("error", (error) => resume(Effect.die(error)))
    request.end()
    return Effect.sync(() => request.destroy())
  })

const tcp = Layer.unwrapEffect(
  HttpServer.addressFormattedWith((baseUrl) =>
    Effect.succeed(Layer.mergeAll(
      clientLayer(baseUrl),
      Layer.succeed(Target, { baseUrl, plainGet: fetchGet, rawGet: rawNodeGet(baseUrl) })
    ))
  )
).pipe(
  Layer.provideMerge(NodeClient.layerHttpClient({ connectTimeout: "2 seconds" })),
  Layer.provide(Server.layer({ port: 0, ...serverOptions }))
)

const inProcess = Layer.unwrapEffect(
  Effect.map(HttpClient.HttpClient, (http) =>
    Layer.mergeAll(
      clientLayer("http://objectstore.test"),
      Layer.succeed(Target, {
        baseUrl: "http://objectstore.test",
        plainGet: (url: string) =>
          http.execute(HttpClientRequest.get(url)).pipe(
            Effect.flatMap((response) => Effect.map(response.text, (body) => ({ status: response.status, body }))),
            Effect.scoped,
            Effect.orDie
          ),
        rawGet: undefined
      })
    ))
).pipe(Layer.provideMerge(Server.layerHttpClient(serverOptions)))

const sessionFor = (usecase: string) =>
  Effect.flatMap(
    ObjectstoreClient.ObjectstoreClient,
    (client) => client.session(Usecase.make(usecase, { compression: "none" }), Scope.make({ org: 7 }))
  )

const text = new TextEncoder()

/** Every operation on `key` in `session`; each step checks the object the previous one left. */
const everyOperation = (session: Session.Service, key: string) =>
  Effect.gen(function*() {
    const target = yield* Target
    const payload = `payload of ${key}`
    const at = (step: string) => {
      if (process.env.KEYS_DEBUG) console.log(step, JSON.stringify(key.slice(0, 40)))
      return `${step} ${JSON.stringify(key.slice(0, 40))} in ${session.usecase.name}`
    }

    // put, get, head
    assert.strictEqual(yield* session.put(payload, { key }), key, at("put"))
    assert.strictEqual(yield* session.getText(key), payload, at("get"))
    assert.strictEqual((yield* session.head(key)).contentType, "application/octet-stream", at("head"))

    // URLs, fetched without the SDK
    const tokenUrl = yield* session.objectUrl(key, { tokenValidity: "1 minute" })
    assert.deepStrictEqual(yield* target.plainGet(tokenUrl), { status: 200, body: payload }, at("objectUrl"))
    const signed = yield* session.presignedUrl("GET", key)
    assert.deepStrictEqual(yield* target.plainGet(signed), { status: 200, body: payload }, at("presignedUrl"))

    // the Python client's request target reaches the same object (TCP: bytes sent as they are)
    if (target.rawGet !== undefined) {
      const token = Redacted.value(yield* session.mintToken({ permissions: ["object.read"] }))
      const python = Path.encodePath(`/v1/objects/${session.usecase.name}/org=7/${key}`)
      assert.deepStrictEqual(yield* target.rawGet(python, token), { status: 200, body: payload }, at("python target"))
    }

    // delete
    yield* session.delete(key)
    assert.strictEqual((yield* Effect.flip(session.head(key)))._tag, "NotFoundError", at("delete"))

    // many: insert; get and head; delete (operations of one batch may run in any order)
    const batch = (operations: ReadonlyArray<Batch.Operation>) => Batch.collectAll(session.many(operations))
    const inserted = yield* batch([Batch.put(payload, { key })])
    assert.deepStrictEqual(inserted.map((o) => [o.key, Either.isRight(o.result as Either.Either<unknown, unknown>)]), [[
      key,
      true
    ]], at("many put"))
    const read = yield* batch([Batch.get(key), Batch.head(key)])
    assert.deepStrictEqual(read.map((o) => [o.key, Either.isRight(o.result as Either.Either<unknown, unknown>)]), [[
      key,
      true
    ], [key, true]], at("many"))
    const got = read[0]!.result as Either.Either<Option.Option<Batch.GetValue>, unknown>
    assert.strictEqual(
      Either.isRight(got) && Option.isSome(got.right) ? new TextDecoder().decode(got.right.value.bytes) : undefined,
      payload,
      at("many get")
    )
    const deleted = yield* batch([Batch.delete(key)])
    assert.deepStrictEqual(deleted.map((o) => [o.key, Either.isRight(o.result as Either.Either<unknown, unknown>)]), [[
      key,
      true
    ]], at("many delete"))
    assert.strictEqual((yield* Effect.flip(session.head(key)))._tag, "NotFoundError", at("many delete"))

    // manual multipart
    const upload = yield* session.multipart.initiate({ key })
    assert.strictEqual(upload.key, key, at("multipart initiate"))
    const part = yield* upload.putPart(1, text.encode(payload))
    assert.deepStrictEqual((yield* upload.listParts).map((listed) => listed.partNumber), [1], at("list parts"))
    assert.strictEqual(yield* upload.complete([part]), key, at("multipart complete"))
    assert.strictEqual(yield* session.getText(key), payload, at("multipart get"))
    const aborted = yield* session.multipart.initiate({ key })
    yield* aborted.abort
    at("abort")

    // automatic multipart (three parts)
    yield* automatic(session, key, at)

    // resumable
    const bytes = text.encode(payload)
    const resumable = yield* session.resumable.create({ key, length: bytes.length })
    assert.strictEqual(resumable.key, key, at("resumable create"))
    const status = yield* resumable.put(0, bytes)
    assert.deepStrictEqual(status, { _tag: "Complete", key }, at("resumable put"))
    assert.strictEqual(yield* session.getText(key), payload, at("resumable get"))
    const cancelled = yield* session.resumable.create({ key, length: 1 })
    yield* cancelled.cancel()

    yield* session.delete(key)
  })

const automatic = (session: Session.Service, key: string, at: (step: string) => string) =>
  Effect.gen(function*() {
    const big = "0123456789".repeat(14_000)
    const result = yield* session.upload(Stream.make(text.encode(big)), {
      key,
      method: "multipart",
      partSize: 64 * 1024
    }).pipe(Logger.withMinimumLogLevel(LogLevel.Error))
    assert.strictEqual(result.parts, 3, at("upload parts"))
    assert.strictEqual(result.key, key, at("upload"))
    assert.strictEqual(yield* session.getText(key), big, at("upload get"))
  })

const suite = (name: string, env: Layer.Layer<any, any, never>) =>
  layer(env, { timeout: 120_000 })(name, (it) => {
    it.effect("every operation works for every key the server accepts", () =>
      Effect.gen(function*() {
        const session = yield* sessionFor("keys")
        for (const key of KEYS) yield* everyOperation(session, key)
      }), 120_000)

    it.effect("every operation works in usecases with dots, spaces and non-ASCII letters", () =>
      Effect.gen(function*() {
        for (const usecase of USECASES) {
          const session = yield* sessionFor(usecase)
          for (const key of ["plain-key", "/leading", "a/../b"]) yield* everyOperation(session, key)
        }
      }), 120_000)
  })

describe("Keys and usecases end to end", () => {
  suite("loopback TCP", tcp)
  suite("in-process", inProcess)
})

describe("nonPortableKeys", () => {
  const withClient = (nonPortableKeys: ObjectstoreClient.Options["nonPortableKeys"]) =>
    ObjectstoreClient.layer({ baseUrl: "http://objectstore.test", retry: false, nonPortableKeys }).pipe(
      Layer.provide(Layer.mergeAll(Compression.layer, Auth.layerNone, Metrics.layerNoop)),
      Layer.provide(Server.layerHttpClient())
    )

  const logged = <A, E, R>(effect: Effect.Effect<A, E, R>) =>
    Effect.gen(function*() {
      const messages: Array<string> = []
      const logger = Logger.make(({ logLevel, message }) => {
        messages.push(`${logLevel.label} ${Array.isArray(message) ? message.join(" ") : String(message)}`)
      })
      const result = yield* Effect.either(effect.pipe(Effect.provide(Logger.replace(Logger.defaultLogger, logger))))
      return { result, messages }
    })

  layer(withClient("reject"))("reject", (it) => {
    it.effect("writes of non-portable keys fail before any request; reads, deletes and URLs still work", () =>
      Effect.gen(function*() {
        const session = yield* sessionFor("strict")
        for (const key of ["/leading", "a//b", "./dot", "x".repeat(513)]) {
          const put = yield* Effect.flip(session.put("x", { key }))
          assert.strictEqual(put._tag, "InvalidInputError")
          if (put._tag === "InvalidInputError") {
            assert.strictEqual(put.field, "key")
            assert.include(put.reason, "is not portable (PROTOCOL §4.3)")
          }
          assert.strictEqual((yield* Effect.flip(session.multipart.initiate({ key })))._tag, "InvalidInputError")
          assert.strictEqual(
            (yield* Effect.flip(session.resumable.create({ key, length: 1 })))._tag,
            "InvalidInputError"
          )
          const [batched] = yield* Batch.collectAll(session.many([Batch.put("x", { key })]))
          assert.isTrue(Either.isLeft(batched!.result as Either.Either<unknown, unknown>))
          assert.strictEqual((yield* Effect.flip(session.head(key)))._tag, "NotFoundError")
          yield* session.delete(key)
          yield* session.objectUrl(key)
        }
        assert.strictEqual(yield* session.put("x", { key: "portable/key" }), "portable/key")
      }))
  })

  layer(withClient(undefined))("warn (default)", (it) => {
    it.effect("a write of a non-portable key logs one warning naming the rule, and writes", () =>
      Effect.gen(function*() {
        const session = yield* sessionFor("lenient")
        const { messages, result } = yield* logged(session.put("x", { key: "/leading" }))
        assert.deepStrictEqual(result, Either.right("/leading"))
        assert.deepStrictEqual(messages, [
          "WARN key \"/leading\" is not portable (PROTOCOL §4.3): it starts with '/'; writing it anyway (set " +
          "nonPortableKeys: \"reject\" or \"allow\")"
        ])
        const quiet = yield* logged(Effect.zipRight(session.getText("/leading"), session.put("x", { key: "ok" })))
        assert.deepStrictEqual(quiet.messages, [])
      }))

    it.effect("many warns once per non-portable put, batched or sent on its own", () =>
      Effect.gen(function*() {
        const session = yield* sessionFor("lenient")
        const large = new Uint8Array(2 * 1024 * 1024) // above the batch part size: an individual put
        const { messages } = yield* logged(
          Batch.collectAll(
            session.many([Batch.put("small", { key: "a//small" }), Batch.put(large, { key: "a//large" })])
          )
        )
        assert.strictEqual(messages.filter((m) => m.includes("a//small")).length, 1, JSON.stringify(messages))
        assert.strictEqual(messages.filter((m) => m.includes("a//large")).length, 1, JSON.stringify(messages))
      }))
  })

  layer(withClient("allow"))("allow", (it) => {
    it.effect("writes silently", () =>
      Effect.gen(function*() {
        const session = yield* sessionFor("silent")
        const { messages, result } = yield* logged(session.put("x", { key: "a//b" }))
        assert.deepStrictEqual(result, Either.right("a//b"))
        assert.deepStrictEqual(messages, [])
      }))
  })

  it("an unknown policy is refused", async () => {
    const exit = await Effect.runPromiseExit(
      Effect.scoped(Layer.build(withClient("sometimes" as any)))
    )
    assert.include(String(exit), "nonPortableKeys")
  })
})
