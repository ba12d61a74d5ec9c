/**
 * The backend's own tests: the real Objectstore semantics in-process (ObjectstoreTest.layer) instead of a server,
 * and injected upstream faults to check the gateway answers. The backend itself is served on loopback.
 */
import * as NodeHttpClient from "@effect/platform-node/NodeHttpClient"
import * as NodeHttpServer from "@effect/platform-node/NodeHttpServer"
import * as HttpClient from "@effect/platform/HttpClient"
import * as HttpClientRequest from "@effect/platform/HttpClientRequest"
import * as HttpServer from "@effect/platform/HttpServer"
import { assert, layer } from "@effect/vitest"
import { Faults, ObjectstoreTest } from "@objectstore/testing"
import * as ConfigProvider from "effect/ConfigProvider"
import * as Effect from "effect/Effect"
import * as HashMap from "effect/HashMap"
import * as Layer from "effect/Layer"
import * as Logger from "effect/Logger"
import * as Option from "effect/Option"
import * as Schedule from "effect/Schedule"
import * as Stream from "effect/Stream"
import * as crypto from "node:crypto"
import { createServer } from "node:http"
import { HttpLive } from "../Backend.js"

const env = ConfigProvider.fromMap(
  new Map([["OBJECTSTORE_USECASE", "uploads"], ["OBJECTSTORE_SCOPE", "org=7;app=test"]])
)

/** What the backend logged (message and annotations). */
const logged: Array<{ readonly message: unknown; readonly annotations: Record<string, unknown> }> = []
const capture = Logger.replace(
  Logger.defaultLogger,
  Logger.make(({ annotations, message }) => {
    logged.push({ message, annotations: Object.fromEntries(HashMap.toEntries(annotations)) })
  })
)

/** The backend on 127.0.0.1:<random>, over the in-process Objectstore with fast retries. */
const TestBackend = HttpLive.pipe(
  Layer.provide(capture),
  Layer.provideMerge(NodeHttpServer.layer(createServer, { port: 0, host: "127.0.0.1" })),
  Layer.provideMerge(
    ObjectstoreTest.layer({ client: { retry: { schedule: Schedule.spaced("10 millis"), times: 2 } } })
  ),
  Layer.provideMerge(NodeHttpClient.layerUndici),
  Layer.provide(Layer.setConfigProvider(env))
)

/** A request to the backend under test. */
const call = (request: HttpClientRequest.HttpClientRequest) =>
  Effect.gen(function*() {
    const base = yield* HttpServer.addressFormattedWith(Effect.succeed)
    const response = yield* HttpClient.execute(HttpClientRequest.prependUrl(request, base))
    const body = yield* response.text
    return { status: response.status, headers: response.headers, body }
  }).pipe(Effect.scoped)

const upload = (body: Uint8Array | string, contentType = "text/plain") =>
  call(
    HttpClientRequest.post("/files").pipe(
      typeof body === "string"
        ? HttpClientRequest.bodyText(body, contentType)
        : HttpClientRequest.bodyUint8Array(body, contentType)
    )
  )

const withFaults = (rules: ReadonlyArray<Faults.Rule>) => <A, E, R>(effect: Effect.Effect<A, E, R>) =>
  Effect.flatMap(Faults.Faults, (faults) => Effect.zipRight(faults.set(rules), Effect.ensuring(effect, faults.clear)))

layer(TestBackend, { excludeTestServices: true })("http-backend", (it) => {
  it.effect("POST /files streams the body into Objectstore under the configured usecase and scope", () =>
    Effect.gen(function*() {
      const payload = new Uint8Array(1024 * 1024).map((_, i) => (i * 31) % 251)
      const response = yield* upload(payload, "application/x-test")
      assert.strictEqual(response.status, 201)
      const { key } = JSON.parse(response.body) as { key: string }
      const store = yield* ObjectstoreTest.Store
      const object = (yield* store.objects).find((o) => o.key === key)
      assert.strictEqual(object?.usecase, "uploads")
      assert.strictEqual(object?.scope, "org=7;app=test")
      assert.strictEqual(object?.metadata.contentType, "application/x-test")
      assert.deepStrictEqual(yield* store.read("uploads", "org=7;app=test", key), Option.some(payload))
    }))

  it.effect("GET /files/:key streams the object back with its content type", () =>
    Effect.gen(function*() {
      const { key } = JSON.parse((yield* upload("# hello\n", "text/markdown")).body) as { key: string }
      const response = yield* call(HttpClientRequest.get(`/files/${key}`))
      assert.strictEqual(response.status, 200)
      assert.strictEqual(response.headers["content-type"], "text/markdown")
      assert.strictEqual(response.body, "# hello\n")
    }))

  it.effect("a missing key is 404", () =>
    Effect.gen(function*() {
      const response = yield* call(HttpClientRequest.get("/files/does-not-exist"))
      assert.strictEqual(response.status, 404)
    }))

  it.effect("one upstream 503 on download is absorbed by the client's retry", () =>
    Effect.gen(function*() {
      const { key } = JSON.parse((yield* upload("retry me")).body) as { key: string }
      const store = yield* ObjectstoreTest.Store
      yield* store.clearRequests
      const response = yield* call(HttpClientRequest.get(`/files/${key}`)).pipe(
        withFaults([{ operation: "get", times: 1, fault: Faults.status(503, { retryAfter: 0 }) }])
      )
      assert.strictEqual(response.status, 200)
      assert.strictEqual(response.body, "retry me")
      assert.deepStrictEqual((yield* store.requests).map((entry) => entry.status), [503, 200])
    }))

  it.effect("a persistently overloaded upstream → 503 with Retry-After", () =>
    Effect.gen(function*() {
      const { key } = JSON.parse((yield* upload("busy")).body) as { key: string }
      const response = yield* call(HttpClientRequest.get(`/files/${key}`)).pipe(
        withFaults([{ operation: "get", fault: Faults.status(503, { retryAfter: 0 }) }])
      )
      assert.strictEqual(response.status, 503)
      assert.strictEqual(response.headers["retry-after"], "1")
    }))

  it.effect("an upload is not retried by the client (its body is a stream): an upstream 429 → 503", () =>
    Effect.gen(function*() {
      const store = yield* ObjectstoreTest.Store
      yield* store.clearRequests
      const response = yield* upload("once only").pipe(
        withFaults([{ operation: "put", times: 1, fault: Faults.status(429, { retryAfter: 0 }) }])
      )
      assert.strictEqual(response.status, 503)
      assert.strictEqual((yield* store.requests).length, 1)
    }))

  it.effect("a connection reset to the upstream → 502; an upstream 500 → 502", () =>
    Effect.gen(function*() {
      const reset = yield* upload("x").pipe(withFaults([{ operation: "put", fault: Faults.reset }]))
      assert.strictEqual(reset.status, 502)
      const failed = yield* upload("x").pipe(withFaults([{ operation: "put", fault: Faults.status(500) }]))
      assert.strictEqual(failed.status, 502)
      // The caller sees "storage failed"; the log says why.
      const errors = logged.filter((entry) => entry.annotations.answered === 502)
      assert.deepStrictEqual(errors.map((entry) => entry.annotations.error), ["NetworkError", "ResponseError"])
      assert.match(String(errors[1]!.message), /^objectstore: server answered 500/)
    }))

  it.effect("a download cut by the upstream aborts the response instead of sending a short body", () =>
    Effect.gen(function*() {
      const payload = crypto.randomBytes(150_000).toString("base64") // 200 000 characters that zstd cannot shrink much
      const { key } = JSON.parse((yield* upload(payload)).body) as { key: string }
      const outcome = yield* Effect.either(
        call(HttpClientRequest.get(`/files/${key}`)).pipe(
          withFaults([{ operation: "get", fault: Faults.resetDuringBody({ afterBytes: 1000 }) }])
        )
      )
      // the transfer fails: never a 200 that looks complete with a short body
      assert.isTrue(outcome._tag === "Left", "the backend should abort the response")
      // and the backend keeps serving
      const again = yield* call(HttpClientRequest.get(`/files/${key}`))
      assert.strictEqual(again.body, payload)
    }))

  it.effect("the kit streams: a 4 MiB upload passes through in chunks", () =>
    Effect.gen(function*() {
      const chunk = new Uint8Array(64 * 1024).fill(7)
      const response = yield* call(
        HttpClientRequest.post("/files").pipe(
          HttpClientRequest.bodyStream(Stream.repeatValue(chunk).pipe(Stream.take(64)), {
            contentType: "application/octet-stream"
          })
        )
      )
      assert.strictEqual(response.status, 201)
      const { key } = JSON.parse(response.body) as { key: string }
      const store = yield* ObjectstoreTest.Store
      const stored = Option.getOrThrow(yield* store.read("uploads", "org=7;app=test", key))
      assert.strictEqual(stored.length, 64 * 64 * 1024)
    }))
})
