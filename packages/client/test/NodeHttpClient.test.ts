/**
 * `NodeClient.layerHttpClient`, the SDK's own undici `HttpClient`, as any `HttpClient` user sees it: bodies both
 * ways, headers, errors, cancellation (interruption, `withScope`, an unread body) and tracing, against a loopback
 * `node:http` server.
 */
import * as HttpBody from "@effect/platform/HttpBody"
import * as HttpClient from "@effect/platform/HttpClient"
import * as HttpClientRequest from "@effect/platform/HttpClientRequest"
import { assert, describe, it } from "@effect/vitest"
import { Transport } from "@objectstore/client"
import * as NodeClient from "@objectstore/client/NodeClient"
import * as Chunk from "effect/Chunk"
import * as Effect from "effect/Effect"
import * as Schedule from "effect/Schedule"
import * as Stream from "effect/Stream"
import * as http from "node:http"
import type * as net from "node:net"
import * as v8 from "node:v8"
import * as vm from "node:vm"
import { type RecordedSpan, recordingTracer } from "./support/tracer.js"

interface Seen {
  readonly method: string
  readonly url: string
  readonly headers: http.IncomingHttpHeaders
  readonly body: Buffer
}

interface Loopback {
  readonly url: string
  readonly seen: Array<Seen>
  /** How many responses were closed before they were finished (the client went away). */
  readonly aborted: () => number
}

/**
 * A loopback server: `/echo` answers the request as JSON, `/endless` streams without end, `/cookie` sets cookies,
 * `/hang` never answers.
 */
const server = Effect.acquireRelease(
  Effect.async<{ server: http.Server; loopback: Loopback }>((resume) => {
    const seen: Array<Seen> = []
    let aborted = 0
    const server = http.createServer((request, response) => {
      const chunks: Array<Buffer> = []
      request.on("data", (chunk: Buffer) => chunks.push(chunk))
      request.on("end", () => {
        seen.push({
          method: request.method!,
          url: request.url!,
          headers: request.headers,
          body: Buffer.concat(chunks)
        })
        response.on("close", () => {
          if (!response.writableFinished) aborted++
        })
        if (request.url === "/hang") return
        if (request.url === "/endless") {
          response.writeHead(200, { "content-type": "application/octet-stream" })
          const write = () => {
            while (response.write(Buffer.alloc(64 * 1024))) { /* until the socket is full */ }
          }
          response.on("drain", write)
          write()
          return
        }
        if (request.url === "/cookie") {
          response.writeHead(200, { "set-cookie": ["a=1; Path=/", "b=2"], "content-type": "text/plain" })
          response.end("ok")
          return
        }
        const body = JSON.stringify({
          method: request.method,
          url: request.url,
          contentType: request.headers["content-type"] ?? null,
          length: Buffer.concat(chunks).length
        })
        response.writeHead(200, { "content-type": "application/json", "X-Custom": "Yes" })
        response.end(body)
      })
    })
    server.listen(0, "127.0.0.1", () => {
      const port = (server.address() as net.AddressInfo).port
      resume(Effect.succeed({
        server,
        loopback: { url: `http://127.0.0.1:${port}`, seen, aborted: () => aborted }
      }))
    })
  }),
  ({ server }) =>
    Effect.async<void>((resume) => {
      server.closeAllConnections()
      server.close(() => resume(Effect.void))
    })
).pipe(Effect.map(({ loopback }) => loopback))

const waitUntil = (predicate: () => boolean) =>
  Effect.repeat(Effect.sync(predicate), {
    until: (done) => done,
    schedule: Schedule.spaced("10 millis").pipe(Schedule.upTo("5 seconds"))
  })

const withClient = <A, E>(f: (client: HttpClient.HttpClient, loopback: Loopback) => Effect.Effect<A, E>) =>
  Effect.gen(function*() {
    const loopback = yield* server
    const client = yield* HttpClient.HttpClient
    return yield* f(client, loopback)
  }).pipe(Effect.provide(NodeClient.layerHttpClient({ connectTimeout: "5 seconds" })))

describe("NodeClient.layerHttpClient", () => {
  it.scopedLive("reads a response as JSON, text, bytes or a stream; headers are lower-case and read once", () =>
    withClient((client, loopback) =>
      Effect.gen(function*() {
        const json = yield* Effect.flatMap(client.get(`${loopback.url}/echo`), (r) => r.json)
        assert.deepStrictEqual(json, { method: "GET", url: "/echo", contentType: null, length: 0 })

        const response = yield* client.get(`${loopback.url}/echo?x=1`)
        assert.strictEqual(response.status, 200)
        assert.strictEqual(response.headers["x-custom"], "Yes")
        assert.strictEqual(response.headers, response.headers)
        const text = yield* response.text
        assert.include(text, "\"url\":\"/echo?x=1\"")
        // A second read of the same kind gives the same body.
        assert.strictEqual(yield* response.text, text)

        const bytes = yield* Effect.flatMap(client.get(`${loopback.url}/echo`), (r) => r.arrayBuffer)
        assert.isAbove(bytes.byteLength, 10)

        const streamed = yield* Effect.flatMap(client.get(`${loopback.url}/echo`), (r) => Stream.runCollect(r.stream))
        const total = Chunk.reduce(streamed, 0, (n, chunk) => n + chunk.length)
        assert.strictEqual(total, bytes.byteLength)

        const cookies = yield* client.get(`${loopback.url}/cookie`)
        assert.deepStrictEqual(Object.keys(cookies.cookies.cookies).sort(), ["a", "b"])
        yield* cookies.text
      })
    ))

  it.scopedLive("Transport.send (direct): the request as given, bodies of every kind; no secret in responses or errors", () =>
    Effect.gen(function*() {
      const loopback = yield* server
      const transport = yield* Transport.Transport
      const send = transport.send!
      const secret = "Bearer s3cret-token"
      const headers = { "x-os-auth": secret, "user-agent": "direct-test" }
      const bytes = yield* send({
        method: "PUT",
        origin: loopback.url,
        path: "/echo?x=1",
        headers: { ...headers, "content-type": "text/plain", "content-length": "5" },
        body: HttpBody.text("hello")
      }, new AbortController())
      assert.strictEqual(bytes.status, 200)
      assert.deepStrictEqual(yield* bytes.json, {
        method: "PUT",
        url: "/echo?x=1",
        contentType: "text/plain",
        length: 5
      })
      const last = loopback.seen[loopback.seen.length - 1]!
      assert.strictEqual(last.headers["x-os-auth"], secret)
      assert.strictEqual(last.headers["user-agent"], "direct-test")
      // The response keeps the request without the secret, however it is shown.
      assert.strictEqual(bytes.request.headers["x-os-auth"], "<redacted>")
      assert.strictEqual(bytes.request.url, `${loopback.url}/echo?x=1`)
      assert.notInclude(JSON.stringify(bytes), "s3cret")

      const streamed = yield* send({
        method: "POST",
        origin: loopback.url,
        path: "/echo",
        headers: { ...headers, "content-length": "6" },
        body: HttpBody.stream(Stream.make(new Uint8Array([1, 2, 3]), new Uint8Array([4, 5, 6])), "", 6)
      }, new AbortController())
      assert.strictEqual(((yield* streamed.json) as { length: number }).length, 6)
      const empty = yield* send(
        { method: "GET", origin: loopback.url, path: "/echo", headers, body: HttpBody.empty },
        new AbortController()
      )
      assert.strictEqual(((yield* empty.json) as { length: number }).length, 0)

      // Aborted before it is sent: a RequestError that shows no secret.
      const aborted = new AbortController()
      aborted.abort()
      const error = yield* Effect.flip(
        send({ method: "GET", origin: loopback.url, path: "/echo", headers, body: HttpBody.empty }, aborted)
      )
      assert.strictEqual(error._tag, "RequestError")
      assert.strictEqual(error.request.headers["x-os-auth"], "<redacted>")
      assert.notInclude(JSON.stringify(error) + String(error), "s3cret")
    }).pipe(Effect.provide(NodeClient.layerHttpClient({ connectTimeout: "5 seconds", direct: true }))))

  it.scopedLive("sends bytes, text, streams, form data and URL parameters", () =>
    withClient((client, loopback) =>
      Effect.gen(function*() {
        const send = (request: HttpClientRequest.HttpClientRequest) =>
          Effect.flatMap(client.execute(request), (r) => r.json) as Effect.Effect<any, unknown>
        const bytes = yield* send(
          HttpClientRequest.post(`${loopback.url}/echo`).pipe(
            HttpClientRequest.bodyUint8Array(new Uint8Array(1000), "application/octet-stream")
          )
        )
        assert.deepStrictEqual([bytes.method, bytes.length, bytes.contentType], [
          "POST",
          1000,
          "application/octet-stream"
        ])
        const text = yield* send(
          HttpClientRequest.put(`${loopback.url}/echo`).pipe(HttpClientRequest.bodyText("héllo"))
        )
        assert.deepStrictEqual([text.method, text.length], ["PUT", 6])
        const streamed = yield* send(
          HttpClientRequest.post(`${loopback.url}/echo`).pipe(
            HttpClientRequest.bodyStream(Stream.range(1, 100).pipe(Stream.map(() => new Uint8Array(1024))))
          )
        )
        assert.strictEqual(streamed.length, 100 * 1024)
        const form = new FormData()
        form.append("field", "value")
        const formed = yield* send(
          HttpClientRequest.post(`${loopback.url}/echo`).pipe(HttpClientRequest.bodyFormData(form))
        )
        assert.match(formed.contentType, /^multipart\/form-data; boundary=/)
        assert.isAbove(formed.length, 0)
        const raw = yield* send(
          HttpClientRequest.post(`${loopback.url}/echo`).pipe(HttpClientRequest.setBody(HttpBody.raw("raw body")))
        )
        assert.strictEqual(raw.length, 8)
        const params = yield* send(
          HttpClientRequest.get(`${loopback.url}/echo`).pipe(HttpClientRequest.setUrlParams({ a: "1", b: "x y" }))
        )
        assert.strictEqual(params.url, "/echo?a=1&b=x+y")
      })
    ))

  it.scopedLive("a refused connection is a Transport RequestError, a bad URL an InvalidUrl one", () =>
    withClient((client, loopback) =>
      Effect.gen(function*() {
        const closedPort = yield* Effect.scoped(Effect.map(server, (other) => other.url))
        const refused = yield* Effect.flip(client.get(`${closedPort}/echo`))
        assert.strictEqual(refused._tag, "RequestError")
        assert.strictEqual(refused.reason, "Transport")
        const invalid = yield* Effect.flip(client.get("not a url"))
        assert.strictEqual(invalid.reason, "InvalidUrl")
        assert.strictEqual(loopback.seen.length, 0)
      })
    ))

  it.scopedLive("Transport.sendWhole (direct): the answer read whole, followed by the exchange; abort and interruption end it", () =>
    Effect.gen(function*() {
      const loopback = yield* server
      const transport = yield* Transport.Transport
      const sendWhole = transport.sendWhole!
      const secret = "Bearer s3cret-token"
      const headers = { "x-os-auth": secret, "user-agent": "whole-test" }
      const exchange = (onBytes?: (abort: (reason: Error) => void) => void) => {
        const seen = { starts: 0, responses: 0, bytes: 0, ends: 0 }
        let abort: ((reason: Error) => void) | undefined
        const watch: Transport.Exchange = {
          onStart: (given) => {
            seen.starts++
            abort = given
          },
          onResponse: () => seen.responses++,
          onBytes: (bytes) => {
            seen.bytes += bytes
            onBytes?.(abort!)
          },
          onEnd: () => seen.ends++
        }
        return { seen, watch, abort: (reason: Error) => abort!(reason) }
      }

      const put = exchange()
      const response = yield* sendWhole({
        method: "PUT",
        origin: loopback.url,
        path: "/echo?x=1",
        headers: { ...headers, "content-type": "text/plain", "content-length": "5" },
        body: HttpBody.text("hello")
      }, put.watch)
      // The exchange is over before the response is handed over: every reader answers from memory, again and again.
      assert.deepStrictEqual(put.seen, { starts: 1, responses: 1, bytes: put.seen.bytes, ends: 1 })
      const expected = { method: "PUT", url: "/echo?x=1", contentType: "text/plain", length: 5 }
      assert.deepStrictEqual(yield* response.json, expected)
      assert.deepStrictEqual(yield* response.json, expected)
      const text = yield* response.text
      assert.strictEqual(put.seen.bytes, Buffer.byteLength(text))
      assert.strictEqual((yield* response.arrayBuffer).byteLength, put.seen.bytes)
      const streamed = yield* Stream.runCollect(response.stream)
      assert.strictEqual(new TextDecoder().decode(Chunk.toReadonlyArray(streamed)[0]), text)
      assert.strictEqual(response.headers["x-custom"], "Yes")
      assert.strictEqual(loopback.seen[loopback.seen.length - 1]!.headers["x-os-auth"], secret)
      assert.strictEqual(response.request.headers["x-os-auth"], "<redacted>")
      assert.notInclude(JSON.stringify(response), "s3cret")

      const streamedBody = yield* sendWhole({
        method: "POST",
        origin: loopback.url,
        path: "/echo",
        headers: { ...headers, "content-length": "6" },
        body: HttpBody.stream(Stream.make(new Uint8Array([1, 2, 3]), new Uint8Array([4, 5, 6])), "", 6)
      }, exchange().watch)
      assert.strictEqual(((yield* streamedBody.json) as { length: number }).length, 6)
      const cookies = yield* sendWhole(
        { method: "GET", origin: loopback.url, path: "/cookie", headers, body: HttpBody.empty },
        exchange().watch
      )
      assert.deepStrictEqual(Object.keys(cookies.cookies.cookies).sort(), ["a", "b"])

      // Aborted while the body arrives (it never ends): the abort's reason is the cause, the server sees it go.
      const reason = new Error("deadline")
      const endless = exchange((abort) => abort(reason))
      const error = yield* Effect.flip(sendWhole(
        { method: "GET", origin: loopback.url, path: "/endless", headers, body: HttpBody.empty },
        endless.watch
      ))
      assert.strictEqual(error._tag, "RequestError")
      assert.strictEqual(error.cause, reason)
      assert.strictEqual(error.request.headers["x-os-auth"], "<redacted>")
      assert.notInclude(JSON.stringify(error) + String(error), "s3cret")
      assert.strictEqual(endless.seen.ends, 1)
      yield* waitUntil(() => loopback.aborted() === 1)

      // Aborted before any answer.
      const hang = exchange()
      const waiting = yield* Effect.fork(sendWhole(
        { method: "GET", origin: loopback.url, path: "/hang", headers, body: HttpBody.empty },
        hang.watch
      ))
      yield* waitUntil(() => loopback.seen.some((seen) => seen.url === "/hang"))
      hang.abort(reason)
      const hung = yield* Effect.flip(waiting)
      assert.strictEqual(hung.cause, reason)
      yield* waitUntil(() => loopback.aborted() === 2)

      // Interrupted: the exchange ends at once, and the request is aborted.
      const interrupted = exchange()
      yield* Effect.either(Effect.timeout(
        sendWhole(
          { method: "GET", origin: loopback.url, path: "/hang", headers, body: HttpBody.empty },
          interrupted.watch
        ),
        "100 millis"
      ))
      assert.deepStrictEqual([interrupted.seen.starts, interrupted.seen.ends], [1, 1])
      yield* waitUntil(() => loopback.aborted() === 3)
      assert.strictEqual(loopback.aborted(), 3)
    }).pipe(Effect.provide(NodeClient.layerHttpClient({ connectTimeout: "5 seconds", direct: true }))))

  it.scopedLive("interruption while waiting for the response aborts the request", () =>
    withClient((client, loopback) =>
      Effect.gen(function*() {
        const outcome = yield* Effect.timeout(client.get(`${loopback.url}/hang`), "200 millis").pipe(Effect.either)
        assert.isTrue(outcome._tag === "Left")
        yield* waitUntil(() => loopback.aborted() === 1)
        assert.strictEqual(loopback.aborted(), 1)
      })
    ))

  it.scopedLive("interrupting a body read, closing withScope's scope, or stopping a stream cancels the body", () =>
    withClient((client, loopback) =>
      Effect.gen(function*() {
        // Interrupted while reading the whole body (it never ends).
        yield* Effect.flatMap(client.get(`${loopback.url}/endless`), (r) => r.arrayBuffer).pipe(
          Effect.timeout("200 millis"),
          Effect.either
        )
        yield* waitUntil(() => loopback.aborted() === 1)
        // withScope: the scope closes with the body unread.
        yield* Effect.scoped(HttpClient.withScope(client).get(`${loopback.url}/endless`))
        yield* waitUntil(() => loopback.aborted() === 2)
        // A stream taken in part.
        const taken = yield* Effect.flatMap(
          client.get(`${loopback.url}/endless`),
          (r) => Stream.runCollect(Stream.take(r.stream, 3))
        )
        assert.strictEqual(Chunk.size(taken), 3)
        yield* waitUntil(() => loopback.aborted() === 3)
        assert.strictEqual(loopback.aborted(), 3)
      })
    ))

  it.scopedLive("a response dropped unread releases its connection once garbage-collected", () =>
    withClient((client, loopback) =>
      Effect.gen(function*() {
        v8.setFlagsFromString("--expose-gc")
        const gc = vm.runInNewContext("gc") as () => void
        // Dropped without reading, outside any scope: only the FinalizationRegistry can free it.
        yield* Effect.asVoid(client.get(`${loopback.url}/endless`))
        yield* Effect.repeat(
          Effect.promise(async () => {
            gc()
            await new Promise((resolve) => setTimeout(resolve, 20))
            return loopback.aborted()
          }),
          { until: (aborted) => aborted === 1, schedule: Schedule.spaced("10 millis").pipe(Schedule.upTo("5 seconds")) }
        )
        assert.strictEqual(loopback.aborted(), 1)
      })
    ))

  it.scopedLive("an http.client span per request, with redacted headers and trace propagation, unless disabled", () =>
    withClient((client, loopback) =>
      Effect.gen(function*() {
        const spans: Array<RecordedSpan> = []
        const tracer = recordingTracer(spans)
        yield* Effect.flatMap(
          client.get(`${loopback.url}/echo?q=1`, { headers: { authorization: "Bearer s3cret", "x-a": "b" } }),
          (r) => r.text
        ).pipe(Effect.withTracer(tracer))
        assert.strictEqual(spans.length, 1)
        const span = spans[0]!
        assert.strictEqual(span.name, "http.client GET")
        assert.strictEqual(span.attributes.get("http.request.method"), "GET")
        assert.strictEqual(span.attributes.get("url.path"), "/echo")
        assert.strictEqual(span.attributes.get("url.query"), "q=1")
        assert.strictEqual(span.attributes.get("http.response.status_code"), 200)
        assert.strictEqual(span.attributes.get("http.request.header.x-a"), "b")
        assert.notInclude(String(span.attributes.get("http.request.header.authorization")), "s3cret")
        assert.strictEqual(span.attributes.get("http.response.header.x-custom"), "Yes")
        assert.match(String(loopback.seen[0]!.headers["traceparent"]), /^00-0af7651916cd43dd8448eb211c80319c-/)

        const quiet = HttpClient.withTracerPropagation(client, false)
        yield* Effect.flatMap(quiet.get(`${loopback.url}/echo`), (r) => r.text).pipe(Effect.withTracer(tracer))
        assert.strictEqual(spans.length, 2)
        assert.isUndefined(loopback.seen[1]!.headers["traceparent"])

        const untraced = HttpClient.withTracerDisabledWhen(client, () => true)
        yield* Effect.flatMap(untraced.get(`${loopback.url}/echo`), (r) => r.text).pipe(Effect.withTracer(tracer))
        assert.strictEqual(spans.length, 2)
      })
    ))
})
