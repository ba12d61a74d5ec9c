import * as HttpClient from "@effect/platform/HttpClient"
import * as HttpClientError from "@effect/platform/HttpClientError"
import type * as HttpClientRequest from "@effect/platform/HttpClientRequest"
import * as HttpClientResponse from "@effect/platform/HttpClientResponse"
import { assert, describe, it } from "@effect/vitest"
import * as Auth from "@objectstore/client/Auth"
import * as Body from "@objectstore/client/Body"
import * as Compression from "@objectstore/client/Compression"
import * as Metrics from "@objectstore/client/Metrics"
import * as ObjectstoreClient from "@objectstore/client/ObjectstoreClient"
import * as Scope from "@objectstore/client/Scope"
import * as Session from "@objectstore/client/Session"
import * as Usecase from "@objectstore/client/Usecase"
import * as ExpirationPolicy from "@objectstore/protocol/ExpirationPolicy"
import * as Cause from "effect/Cause"
import * as Chunk from "effect/Chunk"
import * as Data from "effect/Data"
import * as Deferred from "effect/Deferred"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Fiber from "effect/Fiber"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as Redacted from "effect/Redacted"
import * as Schedule from "effect/Schedule"
import * as Stream from "effect/Stream"
import * as TestClock from "effect/TestClock"
import { type RecordedSpan, recordingTracer } from "./support/tracer.js"

const TOKEN = "t0ken-SECRET-value"

// --- test doubles -------------------------------------------------------------------------------------------

interface Seen {
  readonly method: string
  readonly url: string
  readonly headers: Readonly<Record<string, string>>
  readonly body: Uint8Array | undefined
}

type Responder = (request: Seen, attempt: number) => Effect.Effect<Response, HttpClientError.HttpClientError>

const readBody = (request: HttpClientRequest.HttpClientRequest) => {
  const body = request.body
  switch (body._tag) {
    case "Uint8Array":
      return Effect.succeed<Uint8Array | undefined>(body.body)
    case "Stream":
      return Stream.runCollect(body.stream).pipe(
        Effect.map((chunks) => concat(Chunk.toReadonlyArray(chunks))),
        Effect.mapError((cause) => new HttpClientError.RequestError({ request, reason: "Transport", cause }))
      )
    default:
      return Effect.sync((): Uint8Array | undefined => undefined)
  }
}

const concat = (chunks: ReadonlyArray<Uint8Array>) => {
  const out = new Uint8Array(chunks.reduce((n, c) => n + c.length, 0))
  let offset = 0
  for (const chunk of chunks) {
    out.set(chunk, offset)
    offset += chunk.length
  }
  return out
}

const mock = (respond: Responder) => {
  const seen: Array<Seen> = []
  const layer = Layer.succeed(
    HttpClient.HttpClient,
    HttpClient.make((request, url) =>
      Effect.gen(function*() {
        const body = yield* readBody(request)
        const entry: Seen = { method: request.method, url: url.toString(), headers: request.headers, body }
        seen.push(entry)
        const response = yield* respond(entry, seen.length)
        return HttpClientResponse.fromWeb(request, response)
      })
    )
  )
  return { seen, layer }
}

const transportError = (code: string) => (request: Seen): Effect.Effect<never, HttpClientError.HttpClientError> =>
  Effect.fail(
    new HttpClientError.RequestError({
      request: { method: request.method, url: request.url, headers: request.headers } as any,
      reason: "Transport",
      cause: Object.assign(new Error(`connect ${code} 127.0.0.1:1`), { code })
    })
  )

const recorded = () => {
  const calls = {
    retries: 0,
    sizes: [] as Array<Metrics.Sizes>,
    responses: [] as Array<number>,
    tracked: [] as Array<string>
  }
  const layer = Layer.succeed(
    Metrics.Metrics,
    Metrics.Metrics.of({
      track: (operation, _usecase, effect) => Effect.zipRight(Effect.sync(() => calls.tracked.push(operation)), effect),
      recordSize: (_op, _usecase, sizes) => Effect.sync(() => void calls.sizes.push(sizes)),
      recordResponse: (_op, _usecase, status) => Effect.sync(() => void calls.responses.push(status)),
      recordRetry: () => Effect.sync(() => void calls.retries++)
    })
  )
  return { calls, layer }
}

const grants: Array<Auth.Grant> = []
const AuthTest = Layer.succeed(
  Auth.Auth,
  Auth.Auth.of({
    token: (grant) => Effect.sync(() => (grants.push(grant), Option.some(Redacted.make(TOKEN)))),
    signer: Option.none()
  })
)

/** Identity "compression" that marks its output, so tests can see what went through it. */
const CompressionTest = Layer.succeed(
  Compression.Compression,
  Compression.Compression.of({
    implementation: "fzstd",
    compress: (self) => Stream.concat(Stream.make(new TextEncoder().encode("Z:")), self),
    decompress: (self) =>
      Stream.drop(Stream.mapConcat(self, (chunk) => Array.from(chunk, (b) => new Uint8Array([b]))), 2)
  })
)

const noRetry: ObjectstoreClient.Options = { baseUrl: "http://objectstore.test/api/prefix/", retry: false }
const fastRetry: ObjectstoreClient.Options = {
  baseUrl: "http://objectstore.test",
  retry: { schedule: Schedule.forever, times: 3 }
}

const sessionWith = (
  respond: Responder,
  options: ObjectstoreClient.Options = noRetry,
  usecase = Usecase.make("attachments", { compression: "none" }),
  scope = Scope.make({ org: 42, project: 1337 })
) => {
  const http = mock(respond)
  const metrics = recorded()
  const layer = Session.layer(usecase, scope).pipe(
    Layer.provide(ObjectstoreClient.layer(options)),
    Layer.provide([http.layer, AuthTest, CompressionTest, metrics.layer])
  )
  return { http, metrics, layer }
}

const json = (status: number, value: unknown, headers: Record<string, string> = {}) =>
  Effect.succeed(
    new Response(JSON.stringify(value), { status, headers: { "content-type": "application/json", ...headers } })
  )
const text = (status: number, body: string, headers: Record<string, string> = {}) =>
  Effect.succeed(new Response(body === "" ? null : body, { status, headers }))

const withSession = <A, E>(
  respond: Responder,
  f: (session: Session.Service) => Effect.Effect<A, E>,
  options?: ObjectstoreClient.Options
) => {
  const { http, layer, metrics } = sessionWith(respond, options)
  return Effect.map(Effect.provide(Effect.flatMap(Session.Session, f), layer), (a) => ({ a, http, metrics }))
}

class MyError extends Data.TaggedError("MyError")<{ readonly n: number }> {}

// --- tests --------------------------------------------------------------------------------------------------

describe("Session (mock HttpClient)", () => {
  it.effect("put with a key: PUT to the encoded path under the base path, metadata headers, Content-Length", () =>
    Effect.gen(function*() {
      const { a: key, http, metrics } = yield* withSession(
        () => json(200, { key: "reports/2024 Q1.pdf" }),
        (session) =>
          session.put("hello", {
            key: "reports/2024 Q1.pdf",
            contentType: "text/plain",
            metadata: { BuildId: "abc" },
            origin: "203.0.113.42",
            filename: "report.pdf",
            expirationPolicy: ExpirationPolicy.timeToLive("30 days")
          })
      )
      assert.strictEqual(key, "reports/2024 Q1.pdf")
      const [request] = http.seen
      assert.strictEqual(request.method, "PUT")
      assert.strictEqual(
        request.url,
        "http://objectstore.test/api/prefix/v1/objects/attachments/org=42;project=1337/reports/2024%20Q1.pdf"
      )
      assert.strictEqual(request.headers["content-type"], "text/plain")
      assert.strictEqual(request.headers["content-length"], "5")
      assert.strictEqual(request.headers["x-sn-expiration"], "ttl:30days")
      assert.strictEqual(request.headers["x-sn-origin"], "203.0.113.42")
      assert.strictEqual(request.headers["x-sn-filename"], "report.pdf")
      assert.strictEqual(request.headers["x-snme-buildid"], "abc")
      assert.strictEqual(request.headers["content-encoding"], undefined)
      assert.strictEqual(request.headers["x-os-auth"], `Bearer ${TOKEN}`)
      assert.strictEqual(new TextDecoder().decode(request.body), "hello")
      assert.deepStrictEqual(metrics.calls.tracked, ["put"])
      assert.deepStrictEqual(metrics.calls.sizes.map((s) => [s.bytes, s.compression]), [[5, "none"]])
      assert.deepStrictEqual(grants.at(-1), { usecase: "attachments", scope: [["org", "42"], ["project", "1337"]] })
    }))

  it.effect("put without a key POSTs to the collection (trailing slash), default content type", () =>
    Effect.gen(function*() {
      const { a: key, http } = yield* withSession(
        () => json(201, { key: "9d2d7c3e-4b1a-4f0e-8a55-0f3c2b1d9e77" }),
        (session) => session.put(new Uint8Array([1, 2, 3]), { key: "" })
      )
      assert.strictEqual(key, "9d2d7c3e-4b1a-4f0e-8a55-0f3c2b1d9e77")
      assert.strictEqual(http.seen[0].method, "POST")
      assert.strictEqual(
        http.seen[0].url,
        "http://objectstore.test/api/prefix/v1/objects/attachments/org=42;project=1337/"
      )
      assert.strictEqual(http.seen[0].headers["content-type"], "application/octet-stream")
    }))

  it.effect("a small zstd body is compressed whole and sent with its length; sizes are counted", () =>
    Effect.gen(function*() {
      const { http, layer, metrics } = sessionWith(
        () => json(200, { key: "k" }),
        noRetry,
        Usecase.make("attachments")
      )
      yield* Effect.provide(Effect.flatMap(Session.Session, (s) => s.put("abc", { key: "k" })), layer)
      const [request] = http.seen
      assert.strictEqual(request.headers["content-encoding"], "zstd")
      assert.strictEqual(request.headers["content-length"], "5")
      assert.strictEqual(new TextDecoder().decode(request.body), "Z:abc")
      assert.deepStrictEqual(metrics.calls.sizes.map((s) => [s.bytes, s.compression, s.uncompressedBytes]), [[
        5,
        "zstd",
        3
      ]])
    }))

  it.effect("a zstd stream body is compressed as a stream (chunked, content-encoding); sizes are counted", () =>
    Effect.gen(function*() {
      const { http, layer, metrics } = sessionWith(
        () => json(200, { key: "k" }),
        noRetry,
        Usecase.make("attachments")
      )
      const body = Stream.make(new TextEncoder().encode("ab"), new TextEncoder().encode("c"))
      yield* Effect.provide(Effect.flatMap(Session.Session, (s) => s.put(body, { key: "k" })), layer)
      const [request] = http.seen
      assert.strictEqual(request.headers["content-encoding"], "zstd")
      assert.strictEqual(request.headers["content-length"], undefined)
      assert.strictEqual(new TextDecoder().decode(request.body), "Z:abc")
      assert.deepStrictEqual(metrics.calls.sizes.map((s) => [s.bytes, s.compression, s.uncompressedBytes]), [[
        5,
        "zstd",
        3
      ]])
    }))

  it.effect("a replayable body with a known length sends Content-Length; a stream is chunked", () =>
    Effect.gen(function*() {
      const bytes = new TextEncoder().encode("streamed")
      const { http } = yield* withSession(() => json(200, { key: "k" }), (session) =>
        Effect.zip(
          session.put(Body.replayable(() => Stream.make(bytes), { contentLength: bytes.length }), { key: "k" }),
          session.put(Stream.make(bytes.subarray(0, 3), bytes.subarray(3)), { key: "k" })
        ))
      assert.strictEqual(http.seen[0].headers["content-length"], "8")
      assert.strictEqual(http.seen[1].headers["content-length"], undefined)
      assert.strictEqual(new TextDecoder().decode(http.seen[1].body), "streamed")
    }))

  it.effect("the caller's stream error surfaces unchanged in put's error channel", () =>
    Effect.gen(function*() {
      const body = Stream.concat(Stream.make(new Uint8Array([1])), Stream.fail(new MyError({ n: 7 })))
      const { a: error } = yield* withSession(() => json(200, { key: "k" }), (session) =>
        Effect.flip(session.put(body, { key: "k" })))
      assert.strictEqual((error as MyError)._tag, "MyError")
      assert.strictEqual((error as MyError).n, 7)
    }))

  it.effect("the caller's stream error surfaces through compression too, and is not retried", () =>
    Effect.gen(function*() {
      const { http, layer } = sessionWith(() => json(200, { key: "k" }), fastRetry, Usecase.make("attachments"))
      const body = Body.replayable(() => Stream.fail(new MyError({ n: 1 })))
      const error = yield* Effect.provide(
        Effect.flatMap(Session.Session, (s) => Effect.flip(s.put(body, { key: "k" }))),
        layer
      )
      assert.strictEqual((error as MyError)._tag, "MyError")
      assert.strictEqual((error as MyError).n, 1)
      assert.strictEqual(http.seen.length, 0)
    }))

  it.effect("get: metadata from headers (Dates and exact timestamps), streamed body, decompression", () =>
    Effect.gen(function*() {
      const headers = {
        "content-type": "text/html",
        "content-encoding": "zstd",
        "x-sn-expiration": "tti:1h",
        "x-sn-time-created": "2023-11-14T22:13:20.123456Z",
        "x-sn-time-expires": "2023-11-14T23:13:20.123456Z",
        "x-sn-origin": "10.0.0.1",
        "x-sn-filename": "report.pdf",
        "x-snme-foo": "bar"
      }
      const { a } = yield* withSession(
        () => text(200, "Z:payload", headers),
        (session) =>
          Effect.scoped(Effect.gen(function*() {
            const decoded = yield* session.get("some/key")
            const raw = yield* session.get("some/key", { decompress: false })
            return {
              decoded: decoded.metadata,
              decodedText: yield* Session.collectText(decoded),
              raw: raw.metadata,
              rawText: yield* Session.collectText(raw),
              key: decoded.key
            }
          }))
      )
      assert.strictEqual(a.key, "some/key")
      assert.strictEqual(a.decodedText, "payload")
      assert.strictEqual(a.decoded.compression, "none")
      assert.strictEqual(a.rawText, "Z:payload")
      assert.strictEqual(a.raw.compression, "zstd")
      assert.strictEqual(a.decoded.contentType, "text/html")
      assert.isTrue(ExpirationPolicy.equals(a.decoded.expirationPolicy, ExpirationPolicy.timeToIdle("1 hour")))
      assert.strictEqual(a.decoded.timeCreated?.toISOString(), "2023-11-14T22:13:20.123Z")
      assert.strictEqual(a.decoded.timeCreatedText, "2023-11-14T22:13:20.123456Z")
      assert.strictEqual(a.decoded.timeExpiresText, "2023-11-14T23:13:20.123456Z")
      assert.strictEqual(a.decoded.origin, "10.0.0.1")
      assert.strictEqual(a.decoded.filename, "report.pdf")
      assert.deepStrictEqual(a.decoded.custom, { foo: "bar" })
    }))

  it.effect("get, head: 404 is NotFoundError naming usecase, scope and key; delete: 404 and 204 succeed", () =>
    Effect.gen(function*() {
      const { a } = yield* withSession(
        (request) => text(request.method === "DELETE" ? 404 : 404, ""),
        (session) =>
          Effect.all({
            get: Effect.flip(session.getBytes("missing")),
            head: Effect.flip(session.head("missing")),
            del: session.delete("missing")
          })
      )
      assert.strictEqual(a.get._tag, "NotFoundError")
      assert.strictEqual(a.head._tag, "NotFoundError")
      if (a.get._tag === "NotFoundError") {
        assert.strictEqual(a.get.message, "object not found: missing (usecase attachments, scope org=42;project=1337)")
      }
      const { http } = yield* withSession(() => text(204, ""), (session) => session.delete("there"))
      assert.strictEqual(http.seen[0].method, "DELETE")
    }))

  describe("status mapping", () => {
    const cases: Array<[string, number, string, Record<string, unknown>]> = [
      [
        "400 missing token",
        400,
        JSON.stringify({
          detail: "auth error: bad request: No authorization token provided",
          causes: ["bad request: No authorization token provided"]
        }),
        { _tag: "AuthError", reason: "MissingToken", status: 400 }
      ],
      ["401", 401, JSON.stringify({ detail: "auth error: unknown key" }), {
        _tag: "AuthError",
        reason: "InvalidToken",
        detail: "auth error: unknown key"
      }],
      ["403 json", 403, JSON.stringify({ detail: "auth error: operation not allowed" }), {
        _tag: "AuthError",
        reason: "Forbidden"
      }],
      ["403 killswitch", 403, "Object access is disabled for this scope through killswitches", {
        _tag: "ResponseError",
        reason: "Killswitched",
        retryable: false
      }],
      ["400 client error", 400, JSON.stringify({ detail: "client error: bad", causes: ["a", "b"] }), {
        _tag: "ResponseError",
        reason: "BadRequest",
        detail: "client error: bad",
        causes: ["a", "b"]
      }],
      ["405", 405, "", { _tag: "ResponseError", reason: "BadRequest" }],
      ["413", 413, "", { _tag: "ResponseError", reason: "BadRequest" }],
      ["415", 415, "", { _tag: "ResponseError", reason: "BadRequest" }],
      ["416", 416, "", { _tag: "ResponseError", reason: "BadRequest" }],
      ["422", 422, "", { _tag: "ResponseError", reason: "BadRequest" }],
      ["429", 429, "Object access is rate limited", {
        _tag: "ResponseError",
        reason: "RateLimited",
        retryable: true,
        detail: "Object access is rate limited"
      }],
      ["503", 503, "", { _tag: "ResponseError", reason: "Overloaded", retryable: true }],
      ["502", 502, "", { _tag: "ResponseError", reason: "Overloaded", retryable: true }],
      ["504", 504, "", { _tag: "ResponseError", reason: "Overloaded", retryable: true }],
      ["500", 500, JSON.stringify({ detail: "internal error: boom" }), {
        _tag: "ResponseError",
        reason: "ServerError",
        retryable: false,
        detail: "internal error: boom"
      }],
      ["501", 501, "", { _tag: "ResponseError", reason: "ServerError" }],
      ["418", 418, "teapot", { _tag: "ResponseError", reason: "Unexpected", status: 418 }],
      ["404 on put", 404, "", { _tag: "ResponseError", reason: "Unexpected", status: 404 }]
    ]
    for (const [name, status, body, expected] of cases) {
      it.effect(`${name} → ${expected._tag}`, () =>
        Effect.gen(function*() {
          const { a: error } = yield* withSession(
            () => text(status, body),
            (session) => Effect.flip(session.put("x", { key: "k" }))
          )
          for (const [field, value] of Object.entries(expected)) {
            assert.deepStrictEqual((error as any)[field], value, field)
          }
        }))
    }

    it.effect("text bodies are truncated to a few KiB", () =>
      Effect.gen(function*() {
        const { a: error } = yield* withSession(() => text(500, "x".repeat(100_000)), (session) =>
          Effect.flip(session.delete("k")))
        assert.strictEqual(error._tag, "ResponseError")
        if (error._tag === "ResponseError") {
          assert.isBelow(error.detail!.length, 5000)
        }
      }))
  })

  describe("transport, timeout, retries", () => {
    it.effect("transport failure → NetworkError Transport (retryable), retried per schedule and counted", () =>
      Effect.gen(function*() {
        const { a: error, http, metrics } = yield* withSession(
          transportError("ECONNRESET"),
          (session) => Effect.flip(session.head("k")),
          fastRetry
        )
        assert.strictEqual(error._tag, "NetworkError")
        if (error._tag === "NetworkError") {
          assert.strictEqual(error.reason, "Transport")
          assert.isTrue(error.retryable)
          assert.strictEqual(error.method, "HEAD")
          assert.strictEqual(error.path, "/v1/objects/attachments/org=42;project=1337/k")
          assert.include(error.detail, "ECONNRESET")
        }
        assert.strictEqual(http.seen.length, 4)
        assert.strictEqual(metrics.calls.retries, 3)
      }))

    it.effect("the default schedule retries 3 times with exponential backoff", () =>
      Effect.gen(function*() {
        const { http, layer } = sessionWith(transportError("ECONNREFUSED"), { baseUrl: "http://objectstore.test" })
        const fiber = yield* Effect.fork(Effect.provide(Effect.flatMap(Session.Session, (s) => s.delete("k")), layer))
        yield* TestClock.adjust("10 seconds")
        const exit = yield* Fiber.join(fiber).pipe(Effect.exit)
        assert.isTrue(Exit.isFailure(exit))
        assert.strictEqual(http.seen.length, 4)
      }))

    it.effect("timeout → NetworkError Timeout, and the request is interrupted", () =>
      Effect.gen(function*() {
        let interrupted = false
        const { layer } = sessionWith(
          () => Effect.never.pipe(Effect.onInterrupt(() => Effect.sync(() => (interrupted = true)))),
          { baseUrl: "http://objectstore.test", timeout: "1 second", retry: false }
        )
        const fiber = yield* Effect.fork(
          Effect.provide(Effect.flatMap(Session.Session, (s) => Effect.flip(s.getBytes("k"))), layer)
        )
        yield* TestClock.adjust("1 second")
        const error = yield* Fiber.join(fiber)
        assert.strictEqual(error._tag, "NetworkError")
        if (error._tag === "NetworkError") assert.strictEqual(error.reason, "Timeout")
        assert.isTrue(interrupted)
      }))

    it.effect("interrupting an operation interrupts the HTTP request", () =>
      Effect.gen(function*() {
        let interrupted = false
        const started = yield* Deferred.make<void>()
        const { layer } = sessionWith(() =>
          Deferred.succeed(started, void 0).pipe(
            Effect.zipRight(Effect.never),
            Effect.onInterrupt(() => Effect.sync(() => (interrupted = true)))
          )
        )
        const fiber = yield* Effect.fork(Effect.provide(Effect.flatMap(Session.Session, (s) => s.head("k")), layer))
        yield* Deferred.await(started)
        yield* Fiber.interrupt(fiber)
        assert.isTrue(interrupted)
      }))

    it.effect("Retry-After (seconds) delays the retry", () =>
      Effect.gen(function*() {
        const { http, layer } = sessionWith(
          (_, attempt) => attempt === 1 ? text(503, "", { "retry-after": "5" }) : text(204, ""),
          fastRetry
        )
        const fiber = yield* Effect.fork(Effect.provide(Effect.flatMap(Session.Session, (s) => s.delete("k")), layer))
        yield* TestClock.adjust("4 seconds")
        assert.strictEqual(http.seen.length, 1)
        yield* TestClock.adjust("1 second")
        yield* Fiber.join(fiber)
        assert.strictEqual(http.seen.length, 2)
      }))

    it.effect("Retry-After (HTTP date) delays the retry", () =>
      Effect.gen(function*() {
        yield* TestClock.setTime(Date.UTC(2026, 0, 1, 0, 0, 0))
        const { http, layer } = sessionWith(
          (_, attempt) =>
            attempt === 1 ? text(429, "", { "retry-after": "Thu, 01 Jan 2026 00:00:30 GMT" }) : text(204, ""),
          fastRetry
        )
        const fiber = yield* Effect.fork(Effect.provide(Effect.flatMap(Session.Session, (s) => s.delete("k")), layer))
        yield* TestClock.adjust("29 seconds")
        assert.strictEqual(http.seen.length, 1)
        yield* TestClock.adjust("1 second")
        yield* Fiber.join(fiber)
        assert.strictEqual(http.seen.length, 2)
      }))

    it.effect("replayable bodies (bytes, strings, Body.replayable) are retried with the same bytes", () =>
      Effect.gen(function*() {
        const bodies = [
          new Uint8Array([1, 2, 3]),
          "abc",
          Body.replayable(() => Stream.make(new Uint8Array([4]), new Uint8Array([5])))
        ]
        for (const body of bodies) {
          const { http } = yield* withSession(
            (_, attempt) => attempt === 1 ? text(503, "") : json(200, { key: "k" }),
            (session) => session.put(body, { key: "k" }),
            fastRetry
          )
          assert.strictEqual(http.seen.length, 2)
          assert.deepStrictEqual(http.seen[1].body, http.seen[0].body)
        }
      }))

    it.effect("a plain stream body is never retried", () =>
      Effect.gen(function*() {
        const { a: error, http } = yield* withSession(
          (_, attempt) => attempt === 1 ? text(503, "") : json(200, { key: "k" }),
          (session) => Effect.flip(session.put(Stream.make(new Uint8Array([1])), { key: "k" })),
          fastRetry
        )
        assert.strictEqual(http.seen.length, 1)
        assert.strictEqual(error._tag, "ResponseError")
      }))

    it.effect("POST is not retried after a connection reset or a 502, but after refused, 429 and 503", () =>
      Effect.gen(function*() {
        const failOnce = (first: Responder): Responder => (request, attempt) =>
          attempt === 1 ? first(request, attempt) : json(201, { key: "generated" })
        const notRetried = [transportError("ECONNRESET"), () => text(502, ""), () => text(500, "")]
        for (const first of notRetried) {
          const { a: exit, http } = yield* withSession(
            failOnce(first),
            (session) => Effect.exit(session.put("x")),
            fastRetry
          )
          assert.isTrue(Exit.isFailure(exit))
          assert.strictEqual(http.seen.length, 1)
        }
        const retried = [transportError("ECONNREFUSED"), () => text(429, ""), () => text(503, "")]
        for (const first of retried) {
          const { a: key, http } = yield* withSession(failOnce(first), (session) => session.put("x"), fastRetry)
          assert.strictEqual(key, "generated")
          assert.strictEqual(http.seen.length, 2)
        }
      }))

    it.effect("PUT with a key is retried after a connection reset", () =>
      Effect.gen(function*() {
        const { http } = yield* withSession(
          (request, attempt) => attempt === 1 ? transportError("ECONNRESET")(request) : json(200, { key: "k" }),
          (session) => session.put("x", { key: "k" }),
          fastRetry
        )
        assert.strictEqual(http.seen.length, 2)
      }))

    it.effect("auth errors are not retried", () =>
      Effect.gen(function*() {
        const { http } = yield* withSession(() => text(401, ""), (session) => Effect.flip(session.head("k")), fastRetry)
        assert.strictEqual(http.seen.length, 1)
      }))
  })

  describe("short bodies", () => {
    const short = () => text(200, "only five", { "content-length": "100" })

    it.effect("a body shorter than its Content-Length is a broken transfer: getBytes retries it, a get stream cannot", () =>
      Effect.gen(function*() {
        const { a: whole } = yield* withSession(short, (session) => Effect.flip(session.getBytes("k")))
        assert.strictEqual(whole._tag, "NetworkError")
        if (whole._tag === "NetworkError") {
          assert.strictEqual(whole.reason, "Transport")
          assert.isTrue(whole.retryable)
          assert.include(whole.detail, "9 of its 100 bytes")
          assert.deepStrictEqual([whole.attempts, whole.retries], [1, "Disabled"])
        }
        const { a: retried, http } = yield* withSession(
          short,
          (session) => Effect.flip(session.getBytes("k")),
          fastRetry
        )
        assert.strictEqual(http.seen.length, 4)
        assert.deepStrictEqual(
          retried._tag === "NetworkError" && [retried.reason, retried.attempts, retried.retries],
          ["Transport", 4, "Exhausted"]
        )
        const { a: streamed, http: once } = yield* withSession(
          short,
          (session) => Effect.flip(Effect.scoped(Effect.flatMap(session.get("k"), (r) => Stream.runDrain(r.stream)))),
          fastRetry
        )
        assert.strictEqual(once.seen.length, 1)
        assert.deepStrictEqual(
          streamed._tag === "NetworkError" && [streamed.reason, streamed.attempts, streamed.retries],
          ["Transport", 1, "BodyStreamed"]
        )
      }))

    it.effect("a body as long as its Content-Length, or without one, is read whole", () =>
      Effect.gen(function*() {
        const exact = yield* withSession(
          () => text(200, "only five", { "content-length": "9" }),
          (session) => session.getText("k")
        )
        assert.strictEqual(exact.a, "only five")
        const unknown = yield* withSession(() => text(200, "no length"), (session) => session.getText("k"))
        assert.strictEqual(unknown.a, "no length")
      }))
  })

  describe("secrets", () => {
    it.effect("the token never reaches errors (String, JSON, Cause.pretty)", () =>
      Effect.gen(function*() {
        const { a: exit } = yield* withSession(
          transportError("ECONNRESET"),
          (session) => Effect.exit(session.getBytes("k"))
        )
        assert.isTrue(Exit.isFailure(exit))
        if (Exit.isFailure(exit)) {
          const error = Cause.squash(exit.cause)
          assert.notInclude(String(error), TOKEN)
          assert.notInclude(JSON.stringify(error), TOKEN)
          assert.notInclude(Cause.pretty(exit.cause), TOKEN)
          assert.notInclude(String(exit), TOKEN)
        }
      }))

    it.effect("spans carry the operation attributes and a redacted x-os-auth header", () =>
      Effect.gen(function*() {
        const spans: Array<RecordedSpan> = []
        const tracer = recordingTracer(spans)
        // By default one span per operation, carrying the HTTP attributes itself.
        yield* withSession(() => text(204, ""), (session) => session.head("my/key")).pipe(Effect.withTracer(tracer))
        const head = spans.find((span) => span.name === "Session.head")
        assert.isDefined(head)
        assert.strictEqual(head!.attributes.get("objectstore.usecase"), "attachments")
        assert.strictEqual(head!.attributes.get("objectstore.scope"), "org=42;project=1337")
        assert.strictEqual(head!.attributes.get("objectstore.key"), "my/key")
        assert.strictEqual(head!.attributes.get("http.request.method"), "HEAD")
        assert.strictEqual(head!.attributes.get("http.response.status_code"), 204)
        assert.match(
          String(head!.attributes.get("url.full")),
          /\/v1\/objects\/attachments\/org=42;project=1337\/my\/key$/
        )
        assert.deepStrictEqual(spans.map((span) => span.name), ["Session.head"])
        // With httpSpans, the transport's span per attempt, its x-os-auth header redacted.
        spans.length = 0
        yield* withSession(() => text(204, ""), (session) => session.head("my/key"), { ...noRetry, httpSpans: true })
          .pipe(Effect.withTracer(tracer))
        const http = spans.find((span) => span.attributes.has("http.request.header.x-os-auth"))
        assert.isDefined(http)
        assert.strictEqual(http!.name, "http.client HEAD")
        assert.notInclude(String(http!.attributes.get("http.request.header.x-os-auth")), TOKEN)
        for (const span of spans) {
          for (const value of span.attributes.values()) assert.notInclude(String(value), TOKEN)
        }
      }))

    it.effect("trace headers are not propagated by default, and are with propagateTraces", () =>
      Effect.gen(function*() {
        const off = yield* withSession(() => text(204, ""), (session) => session.head("k"))
        assert.strictEqual(off.http.seen[0].headers["traceparent"], undefined)
        const on = yield* withSession(() => text(204, ""), (session) => session.head("k"), {
          ...noRetry,
          propagateTraces: true
        })
        assert.isDefined(on.http.seen[0].headers["traceparent"])
        // The header names the operation's span when the transport has none of its own.
        const traced = yield* withSession(
          () => text(204, ""),
          (session) =>
            Effect.flatMap(session.head("k"), () => Effect.void).pipe(
              Effect.withSpan("caller")
            ),
          { ...noRetry, propagateTraces: true }
        )
        assert.match(String(traced.http.seen[0].headers["traceparent"]), /^00-[0-9a-f]{32}-[0-9a-f]{16}-0[01]$/)
        const viaTransport = yield* withSession(() => text(204, ""), (session) => session.head("k"), {
          ...noRetry,
          propagateTraces: true,
          httpSpans: true
        })
        assert.isDefined(viaTransport.http.seen[0].headers["traceparent"])
      }))
  })

  describe("validation before any request", () => {
    const never: Responder = () => Effect.die("the server must not be called")
    const invalid = <A, E>(f: (session: Session.Service) => Effect.Effect<A, E>) =>
      Effect.gen(function*() {
        const { a: error, http } = yield* withSession(never, (session) => Effect.flip(f(session)))
        assert.strictEqual(http.seen.length, 0)
        return error as any
      })

    it.effect("keys, metadata, content types", () =>
      Effect.gen(function*() {
        for (const key of ["", ".", "..", "lone\ud800"]) {
          const error = yield* invalid((s) => s.getBytes(key))
          assert.strictEqual(error._tag, "InvalidInputError")
          assert.strictEqual(error.field, "key")
        }
        for (
          const options of [
            { metadata: { "bad name": "x" } },
            { metadata: { a: "\ud800" } }, // lone surrogates have no UTF-8 form (§6.8)
            { metadata: { A: "1", a: "2" } },
            { filename: "caf\udc00.txt" },
            { origin: "line\ud83d" },
            { contentType: "not a valid media type!" },
            { compression: "gzip" as any }
          ]
        ) {
          const error = yield* invalid((s) => s.put("x", options))
          assert.strictEqual(error._tag, "InvalidInputError", JSON.stringify(options))
        }
      }))

    it.effect("usecase and scope are validated when the session is made", () =>
      Effect.gen(function*() {
        const attempts: Array<[Usecase.Usecase, Scope.Scope, string]> = [
          [Usecase.make("bad/usecase"), Scope.empty, "usecase"],
          [Usecase.make(".."), Scope.empty, "usecase"],
          [Usecase.make("tab\tusecase"), Scope.empty, "usecase"],
          [Usecase.make(""), Scope.empty, "usecase"],
          [Usecase.make("u"), Scope.make({ org: "a.b" }), "scope"],
          [Usecase.make("u"), Scope.make({ org: "" }), "scope"],
          [Usecase.make("u"), Scope.make({ org: 1.5 }), "scope"],
          [Usecase.make("u"), Scope.fromEntries([["org", 1], ["org", 2]]), "scope"],
          [Usecase.make("u"), Scope.make({ "1": "a" }), "scope"]
        ]
        for (const [usecase, scope, field] of attempts) {
          const { http, layer } = sessionWith(never, noRetry, usecase, scope)
          const error = yield* Effect.flip(Effect.provide(Session.Session, layer))
          assert.strictEqual(error._tag, "InvalidInputError")
          if (error._tag === "InvalidInputError") assert.strictEqual(error.field, field)
          assert.strictEqual(http.seen.length, 0)
        }
      }))
  })
})
