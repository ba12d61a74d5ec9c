/**
 * `session.many` against a scripted HttpClient: the request encoding, the classification and chunking rules
 * (PROTOCOL §10.5, §18 item 70) and the mapping of response parts to outcomes, including malformed and hostile
 * answers, whole-batch failures and retries.
 */
import * as HttpClient from "@effect/platform/HttpClient"
import * as HttpClientError from "@effect/platform/HttpClientError"
import * as HttpClientResponse from "@effect/platform/HttpClientResponse"
import { assert, describe, it } from "@effect/vitest"
import * as Auth from "@objectstore/client/Auth"
import * as Batch from "@objectstore/client/Batch"
import * as Body from "@objectstore/client/Body"
import * as Compression from "@objectstore/client/Compression"
import * as Metrics from "@objectstore/client/Metrics"
import * as ObjectstoreClient from "@objectstore/client/ObjectstoreClient"
import * as Scope from "@objectstore/client/Scope"
import * as Usecase from "@objectstore/client/Usecase"
import * as Chunk from "effect/Chunk"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as Schedule from "effect/Schedule"
import * as Stream from "effect/Stream"

// --- a scripted server -----------------------------------------------------------------------------------------

interface SeenPart {
  readonly headers: Record<string, string>
  readonly body: Buffer
}

interface Seen {
  readonly method: string
  readonly path: string
  readonly headers: Readonly<Record<string, string>>
  readonly body: Buffer
  /** The multipart parts of a batch request. */
  readonly parts: Array<SeenPart>
}

type Responder = (request: Seen, attempt: number) => Response | "transport"

const splitParts = (contentType: string | undefined, body: Buffer): Array<SeenPart> => {
  const match = /boundary=([^;]+)/.exec(contentType ?? "")
  if (match === null) return []
  const boundary = match[1]!
  const parts: Array<SeenPart> = []
  let at = body.indexOf(`--${boundary}\r\n`)
  while (at >= 0) {
    const start = at + boundary.length + 4
    const headerEnd = body.indexOf("\r\n\r\n", start)
    const headers: Record<string, string> = {}
    for (const line of body.toString("latin1", start, headerEnd).split("\r\n")) {
      const colon = line.indexOf(": ")
      headers[line.slice(0, colon).toLowerCase()] = line.slice(colon + 2)
    }
    const end = body.indexOf(`\r\n--${boundary}`, headerEnd + 4)
    parts.push({ headers, body: body.subarray(headerEnd + 4, end) })
    at = body.indexOf(`--${boundary}\r\n`, end)
  }
  return parts
}

const scripted = (respond: Responder) => {
  const seen: Array<Seen> = []
  const client = HttpClient.make((request) =>
    Effect.gen(function*() {
      const chunks = request.body._tag === "Stream"
        ? yield* Stream.runCollect(request.body.stream).pipe(
          Effect.mapError((cause) => new HttpClientError.RequestError({ request, reason: "Transport", cause }))
        )
        : Chunk.fromIterable(request.body._tag === "Uint8Array" ? [request.body.body] : [])
      const body = Buffer.concat(Chunk.toReadonlyArray(chunks))
      const url = new URL(request.url)
      const entry: Seen = {
        method: request.method,
        path: url.pathname,
        headers: request.headers,
        body,
        parts: splitParts(request.headers["content-type"], body)
      }
      seen.push(entry)
      const answer = respond(entry, seen.length)
      if (answer === "transport") {
        return yield* new HttpClientError.RequestError({ request, reason: "Transport", cause: new Error("reset") })
      }
      return HttpClientResponse.fromWeb(request, answer)
    })
  )
  return { client, seen }
}

const BOUNDARY = "os-boundary-0123456789abcdef0123456789abcdef"

const multipart = (
  parts: ReadonlyArray<{ readonly headers: Record<string, string>; readonly body?: string | Uint8Array }>,
  close = true
) => {
  const pieces: Array<Buffer> = []
  for (const part of parts) {
    let head = `--${BOUNDARY}\r\n`
    for (const [name, value] of Object.entries(part.headers)) head += `${name}: ${value}\r\n`
    pieces.push(Buffer.from(`${head}\r\n`), Buffer.from(part.body ?? ""), Buffer.from("\r\n"))
  }
  if (close) pieces.push(Buffer.from(`--${BOUNDARY}--`))
  return new Response(Buffer.concat(pieces), {
    status: 200,
    headers: { "content-type": `multipart/form-data; boundary="${BOUNDARY}"` }
  })
}

/** Answers every operation of a batch request successfully, in reverse order. */
const answerAll = (request: Seen) =>
  multipart(
    request.parts.map((part, index) => {
      const kind = part.headers["x-sn-batch-operation-kind"]!
      const key = part.headers["x-sn-batch-operation-key"] ?? "generated%2Dkey"
      const status = kind === "insert" ? "201 Created" : kind === "get" ? "200 OK" : "204 No Content"
      return {
        headers: {
          "x-sn-batch-operation-index": String(index),
          "x-sn-batch-operation-key": key,
          "x-sn-batch-operation-kind": kind,
          "x-sn-batch-operation-status": status,
          "content-disposition": "form-data; name=part",
          ...(kind === "get" || kind === "head" ? { "content-type": "text/plain", "x-snme-n": String(index) } : {})
        },
        body: kind === "get" ? `body of ${decodeURIComponent(key)}` : ""
      }
    }).reverse()
  )

const sessionWith = (
  respond: Responder,
  options: { readonly retry?: ObjectstoreClient.Options["retry"]; readonly compression?: "zstd" | "none" } = {}
) => {
  const { client, seen } = scripted(respond)
  const layer = ObjectstoreClient.layer({ baseUrl: "http://objectstore.test/prefix", retry: options.retry ?? false })
    .pipe(
      Layer.provide(Layer.mergeAll(
        Compression.layer,
        Auth.layerNone,
        Metrics.layerNoop,
        Layer.succeed(HttpClient.HttpClient, client)
      ))
    )
  const session = Effect.flatMap(
    ObjectstoreClient.ObjectstoreClient,
    (objectstore) =>
      objectstore.session(Usecase.make("u", { compression: options.compression ?? "none" }), Scope.make({ org: 1 }))
  ).pipe(Effect.provide(layer))
  return { session, seen }
}

const errorOf = (outcome: Batch.Outcome): Batch.ManyError => {
  const result: Either.Either<unknown, Batch.ManyError> = outcome.result
  if (Either.isRight(result)) throw new Error(`operation ${outcome.index} succeeded`)
  return result.left
}

const valueOf = (outcome: Batch.Outcome): unknown => {
  const result: Either.Either<unknown, Batch.ManyError> = outcome.result
  if (Either.isLeft(result)) throw new Error(`operation ${outcome.index} failed: ${result.left.message}`)
  return result.right
}

// --- tests -------------------------------------------------------------------------------------------------------

describe("Batch request encoding", () => {
  it.effect("one POST to the batch path with a part per operation: kinds, Rust key encoding, insert metadata", () =>
    Effect.gen(function*() {
      const { seen, session } = sessionWith(answerAll)
      const outcomes = yield* Batch.collectAll((yield* session).many([
        Batch.get("key-1"),
        Batch.head("a/b.txt"),
        Batch.delete("ü"),
        Batch.put("hello", { key: "k 4", contentType: "text/plain", filename: "f.txt", metadata: { Build: "7" } }),
        Batch.put(new Uint8Array([1, 2, 3]))
      ]))
      assert.strictEqual(seen.length, 1)
      const request = seen[0]!
      assert.strictEqual(request.method, "POST")
      assert.strictEqual(request.path, "/prefix/v1/objects:batch/u/org=1/")
      assert.match(request.headers["content-type"]!, /^multipart\/form-data; boundary=[0-9a-f]{16}(-[0-9a-f]{16}){3}$/)
      assert.isTrue(request.body.subarray(-2).equals(Buffer.from("\r\n")))
      assert.deepStrictEqual(request.parts.map((part) => part.headers["x-sn-batch-operation-kind"]), [
        "get",
        "head",
        "delete",
        "insert",
        "insert"
      ])
      assert.deepStrictEqual(request.parts.map((part) => part.headers["x-sn-batch-operation-key"]), [
        "key%2D1",
        "a%2Fb%2Etxt",
        "%C3%BC",
        "k%204",
        undefined
      ])
      for (const part of request.parts) {
        assert.strictEqual(part.headers["content-disposition"], "form-data; name=\"part\"")
      }
      assert.strictEqual(request.parts[3]!.headers["content-type"], "text/plain")
      assert.strictEqual(request.parts[3]!.headers["x-sn-filename"], "f.txt")
      assert.strictEqual(request.parts[3]!.headers["x-snme-build"], "7")
      assert.strictEqual(request.parts[3]!.body.toString(), "hello")
      assert.strictEqual(request.parts[4]!.headers["content-type"], "application/octet-stream")
      assert.isUndefined(request.parts[4]!.headers["content-encoding"])
      assert.deepStrictEqual([...request.parts[4]!.body], [1, 2, 3])
      // every outcome is tied to its operation, whatever the answer order
      assert.deepStrictEqual(outcomes.map((outcome) => [outcome.index, outcome.kind, outcome.key]), [
        [0, "get", "key-1"],
        [1, "head", "a/b.txt"],
        [2, "delete", "ü"],
        [3, "put", "k 4"],
        [4, "put", "generated-key"]
      ])
      const got = valueOf(outcomes[0]!) as Option.Option<Batch.GetValue>
      assert.strictEqual(new TextDecoder().decode(Option.getOrThrow(got).bytes), "body of key-1")
      assert.strictEqual(Option.getOrThrow(got).metadata.custom["n"], "0")
      const headed = valueOf(outcomes[1]!) as Option.Option<{ readonly contentType: string }>
      assert.strictEqual(Option.getOrThrow(headed).contentType, "text/plain")
      assert.strictEqual(valueOf(outcomes[4]!), "generated-key")
    }))

  it.effect("zstd puts are compressed per part with content-encoding; invalid input fails before any request", () =>
    Effect.gen(function*() {
      const { seen, session } = sessionWith(answerAll, { compression: "zstd" })
      const compression = yield* Effect.provide(Compression.Compression, Compression.layer)
      const outcomes = yield* Batch.collectAll((yield* session).many([
        Batch.put("z".repeat(10_000), { key: "z" }),
        Batch.get(""),
        Batch.put("x", { key: "ok", filename: "na\ud800ve.txt" }), // no UTF-8 form: refused (§6.8)
        Batch.put("x", { metadata: { "bad name": "v" } })
      ]))
      assert.strictEqual(seen.length, 1)
      assert.strictEqual(seen[0]!.parts.length, 1)
      const part = seen[0]!.parts[0]!
      assert.strictEqual(part.headers["content-encoding"], "zstd")
      assert.isBelow(part.body.length, 1000)
      const decoded = yield* Stream.runCollect(compression.decompress(Stream.make(new Uint8Array(part.body))))
      assert.strictEqual(Buffer.concat(Chunk.toReadonlyArray(decoded)).toString(), "z".repeat(10_000))
      assert.deepStrictEqual(outcomes.slice(1).map((outcome) => errorOf(outcome)._tag), [
        "InvalidInputError",
        "InvalidInputError",
        "InvalidInputError"
      ])
      assert.strictEqual((errorOf(outcomes[2]!) as { field: string }).field, "filename")
    }))

  it.effect("options are validated: limits above the protocol's and non-positive windows are refused", () =>
    Effect.gen(function*() {
      const { session } = sessionWith(answerAll)
      const s = yield* session
      for (
        const options of [
          { maxOperationsPerBatch: 1001 },
          { maxBatchInsertSize: 1_048_577 },
          { batchConcurrency: 0 },
          { individualConcurrency: 1.5 }
        ]
      ) {
        const error = yield* Effect.flip(Stream.runDrain(s.many([Batch.head("x")], options)))
        assert.strictEqual(error._tag, "InvalidInputError")
      }
    }))
})

describe("Classification and chunking (§10.5, §18 item 70)", () => {
  it.effect("zstd puts: 1,044,496 bytes travel in a batch (bound 1 MiB), 1,044,497 bytes individually", () =>
    Effect.gen(function*() {
      const { seen, session } = sessionWith(
        (request) => request.method === "PUT" ? Response.json({ key: "big" }) : answerAll(request),
        { compression: "zstd" }
      )
      const outcomes = yield* Batch.collectAll((yield* session).many([
        Batch.put(new Uint8Array(1_044_496), { key: "fits" }),
        Batch.put(new Uint8Array(1_044_497), { key: "big" })
      ]))
      assert.deepStrictEqual(seen.map((request) => request.method).sort(), ["POST", "PUT"])
      const batch = seen.find((request) => request.method === "POST")!
      assert.deepStrictEqual(batch.parts.map((part) => part.headers["x-sn-batch-operation-key"]), ["fits"])
      assert.strictEqual(seen.find((request) => request.method === "PUT")!.path, "/prefix/v1/objects/u/org=1/big")
      assert.deepStrictEqual(outcomes.map(valueOf), ["fits", "big"])
    }))

  it.effect("uncompressed puts: exactly 1 MiB is batchable, a stream of unknown length is not", () =>
    Effect.gen(function*() {
      const { seen, session } = sessionWith((request) =>
        request.method === "PUT" ? Response.json({ key: "s" }) : answerAll(request)
      )
      yield* Batch.failFast((yield* session).many([
        Batch.put(new Uint8Array(1_048_576), { key: "mib" }),
        Batch.put(Stream.make(new Uint8Array([1])), { key: "s" }),
        Batch.put(Body.replayable(() => Stream.make(new Uint8Array(5)), { contentLength: 5 }), { key: "r" })
      ]))
      const batch = seen.find((request) => request.method === "POST")!
      assert.deepStrictEqual(batch.parts.map((part) => part.headers["x-sn-batch-operation-key"]), ["mib", "r"])
      assert.strictEqual(batch.parts[1]!.body.length, 5)
      assert.strictEqual(seen.filter((request) => request.method === "PUT").length, 1)
    }))

  it.effect("1000 tiny operations make one batch, 1001 make 1000 + 1", () =>
    Effect.gen(function*() {
      for (const [count, sizes] of [[1000, [1000]], [1001, [1000, 1]]] as const) {
        const { seen, session } = sessionWith(answerAll)
        const outcomes = yield* Batch.collectAll(
          (yield* session).many(Array.from({ length: count }, (_, i) => Batch.head(`k${i}`)))
        )
        // batches are sent concurrently: compare sizes, not arrival order
        assert.deepStrictEqual(seen.map((request) => request.parts.length).sort((a, b) => b - a), [...sizes])
        assert.strictEqual(outcomes.length, count)
      }
    }))

  it.effect("100 puts of 1 MiB make one batch (100 MiB), 101 make 100 + 1", () =>
    Effect.gen(function*() {
      const mib = new Uint8Array(1_048_576)
      for (const [count, sizes] of [[100, [100]], [101, [100, 1]]] as const) {
        const { seen, session } = sessionWith(answerAll)
        yield* Batch.failFast(
          (yield* session).many(Array.from({ length: count }, (_, i) => Batch.put(mib, { key: `m${i}` })))
        )
        assert.deepStrictEqual(seen.map((request) => request.parts.length).sort((a, b) => b - a), [...sizes])
      }
    }))

  it.effect("smaller limits from the options: operations per batch and bytes per batch", () =>
    Effect.gen(function*() {
      const { seen, session } = sessionWith(answerAll)
      const s = yield* session
      yield* Batch.failFast(
        s.many(Array.from({ length: 7 }, (_, i) => Batch.get(`g${i}`)), { maxOperationsPerBatch: 3 })
      )
      assert.deepStrictEqual(seen.map((request) => request.parts.length), [3, 3, 1])
      seen.length = 0
      yield* Batch.failFast(
        s.many(Array.from({ length: 10 }, (_, i) => Batch.put(new Uint8Array(100), { key: `p${i}` })), {
          maxBatchBytes: 300
        })
      )
      assert.deepStrictEqual(seen.map((request) => request.parts.length), [3, 3, 3, 1])
    }))
})

describe("Mapping answers to outcomes (§10.5 steps 6-7)", () => {
  const ops = [Batch.get("a"), Batch.head("b"), Batch.put("x", { key: "c" }), Batch.delete("d"), Batch.put("y")]

  it.effect("per-operation statuses: 404 is not found for get/head and success for delete; others are typed errors", () =>
    Effect.gen(function*() {
      const { session } = sessionWith(() =>
        multipart([
          { headers: { "x-sn-batch-operation-index": "0", "x-sn-batch-operation-status": "404 Not Found" } },
          { headers: { "x-sn-batch-operation-index": "1", "x-sn-batch-operation-status": "404 Not Found" } },
          {
            headers: { "x-sn-batch-operation-index": "2", "x-sn-batch-operation-status": "403 Forbidden" },
            body: JSON.stringify({ detail: "auth error: operation not allowed", causes: ["operation not allowed"] })
          },
          { headers: { "x-sn-batch-operation-index": "3", "x-sn-batch-operation-status": "404 Not Found" } },
          {
            headers: { "x-sn-batch-operation-index": "4", "x-sn-batch-operation-status": "429 Too Many Requests" },
            body: JSON.stringify({ detail: "service error: concurrency limit reached" })
          }
        ])
      )
      const outcomes = yield* Batch.collectAll((yield* session).many(ops))
      assert.isTrue(Option.isNone(valueOf(outcomes[0]!) as Option.Option<unknown>))
      assert.isTrue(Option.isNone(valueOf(outcomes[1]!) as Option.Option<unknown>))
      const forbidden = errorOf(outcomes[2]!)
      assert.strictEqual(forbidden._tag, "AuthError")
      assert.strictEqual((forbidden as { reason: string }).reason, "Forbidden")
      assert.strictEqual(outcomes[2]!.key, "c")
      assert.isUndefined(valueOf(outcomes[3]!))
      const limited = errorOf(outcomes[4]!)
      assert.strictEqual(limited._tag, "ResponseError")
      assert.strictEqual((limited as { status: number }).status, 429)
      assert.strictEqual((limited as { detail?: string }).detail, "service error: concurrency limit reached")
      assert.isUndefined(outcomes[4]!.key) // a keyless put that failed has no key
      const errors = yield* Batch.collectErrors((yield* session).many(ops))
      assert.deepStrictEqual(errors.map((failure) => failure.index), [2, 4])
      const first = yield* Effect.flip(Batch.failFast((yield* session).many(ops)))
      assert.include(["AuthError", "ResponseError"], first._tag)
    }))

  it.effect("missing, malformed, duplicate and out-of-range parts: the operations without an answer say so", () =>
    Effect.gen(function*() {
      const { session } = sessionWith(() =>
        multipart([
          { headers: { "x-sn-batch-operation-index": "0", "x-sn-batch-operation-status": "200 OK" }, body: "A" },
          { headers: { "x-sn-batch-operation-index": "0", "x-sn-batch-operation-status": "200 OK" }, body: "dup" },
          { headers: { "x-sn-batch-operation-index": "1", "x-sn-batch-operation-status": "two hundred" } },
          { headers: { "x-sn-batch-operation-index": "17", "x-sn-batch-operation-status": "204 No Content" } },
          { headers: { "x-sn-batch-operation-index": "3", "x-sn-batch-operation-status": "204 No Content" } },
          // success of a keyless put without a key header: malformed
          { headers: { "x-sn-batch-operation-index": "4", "x-sn-batch-operation-status": "201 Created" } },
          // past as many parts as operations the rest is not read
          { headers: { "x-sn-batch-operation-status": "204 No Content" } },
          { headers: { "x-sn-batch-operation-index": "2", "x-sn-batch-operation-status": "204 No Content" } }
        ])
      )
      const outcomes = yield* Batch.collectAll((yield* session).many(ops))
      // the first answer for 0 counts; the key falls back to the operation's own
      const got = Option.getOrThrow(valueOf(outcomes[0]!) as Option.Option<Batch.GetValue>)
      assert.strictEqual(new TextDecoder().decode(got.bytes), "A")
      assert.strictEqual(got.key, "a")
      const malformed = errorOf(outcomes[1]!)
      assert.strictEqual(malformed._tag, "NetworkError")
      assert.include(malformed.message, "server did not return a response for operation 1")
      assert.include(malformed.message, "malformed answer: missing or invalid status")
      assert.include(errorOf(outcomes[2]!).message, "server did not return a response for operation 2")
      assert.isUndefined(valueOf(outcomes[3]!))
      assert.include(errorOf(outcomes[4]!).message, "success without a key")
    }))

  it.effect("index and status are decimal digits: an index of 1 to 9 alone, a status of 3 then a space or nothing", () =>
    Effect.gen(function*() {
      const deletes = ["d0", "d1", "d2", "d3", "d4", "d5"].map((key) => Batch.delete(key))
      const { session } = sessionWith(() =>
        multipart([
          { headers: { "x-sn-batch-operation-index": "000", "x-sn-batch-operation-status": "204" } },
          { headers: { "x-sn-batch-operation-index": "1", "x-sn-batch-operation-status": "2040 No Content" } },
          { headers: { "x-sn-batch-operation-index": "2", "x-sn-batch-operation-status": "20 OK" } },
          { headers: { "x-sn-batch-operation-index": "3", "x-sn-batch-operation-status": "204\tNo Content" } },
          { headers: { "x-sn-batch-operation-index": "4x", "x-sn-batch-operation-status": "204 No Content" } },
          { headers: { "x-sn-batch-operation-index": "0000000005", "x-sn-batch-operation-status": "204 No Content" } }
        ])
      )
      const outcomes = yield* Batch.collectAll((yield* session).many(deletes))
      const first: Either.Either<unknown, Batch.ManyError> = outcomes[0]!.result
      assert.isTrue(Either.isRight(first))
      for (const index of [1, 2, 3]) {
        assert.include(errorOf(outcomes[index]!).message, "malformed answer: missing or invalid status", `${index}`)
      }
      for (const index of [4, 5]) {
        const message = errorOf(outcomes[index]!).message
        assert.include(message, `server did not return a response for operation ${index}`)
        assert.notInclude(message, "malformed answer", `${index}`)
        assert.include(message, "5 unattributable answer part(s)")
      }
    }))

  it.effect("an endless answer (the upstream framing quirk) is cut off after more parts than operations", () =>
    Effect.gen(function*() {
      let sent = 0
      const endless = new ReadableStream<Uint8Array>({
        pull(controller) {
          sent++
          controller.enqueue(Buffer.from(
            `--${BOUNDARY}\r\nx-sn-batch-operation-index: ${sent + 1}\r\n` +
              `x-sn-batch-operation-status: 400 Bad Request\r\n\r\n{}\r\n`
          ))
        }
      })
      const { session } = sessionWith(() =>
        new Response(endless, { headers: { "content-type": `multipart/form-data; boundary="${BOUNDARY}"` } })
      )
      const outcomes = yield* Batch.collectAll((yield* session).many([Batch.head("a"), Batch.head("b")]))
      assert.strictEqual(outcomes.length, 2)
      assert.isTrue(sent < 100)
      assert.include(errorOf(outcomes[0]!).message, "server did not return a response for operation 0")
    }))

  it.effect("whole-batch failures apply to every operation of the batch, parsed answers included", () =>
    Effect.gen(function*() {
      const cases: ReadonlyArray<readonly [string, Responder, string]> = [
        ["500", () => Response.json({ detail: "internal error: boom" }, { status: 500 }), "ResponseError"],
        [
          "403",
          () => Response.json({ detail: "auth error: operation not allowed" }, { status: 403 }),
          "AuthError"
        ],
        ["no boundary", () => new Response("", { headers: { "content-type": "text/plain" } }), "NetworkError"],
        [
          "truncated",
          () =>
            multipart([
              { headers: { "x-sn-batch-operation-index": "0", "x-sn-batch-operation-status": "200 OK" }, body: "A" }
            ], false),
          "NetworkError"
        ],
        ["transport", () => "transport", "NetworkError"]
      ]
      for (const [name, respond, tag] of cases) {
        const { session } = sessionWith(respond)
        const outcomes = yield* Batch.collectAll((yield* session).many(ops))
        assert.deepStrictEqual(outcomes.map((outcome) => errorOf(outcome)._tag), ops.map(() => tag), name)
      }
    }))

  it.live("retries: a batch is resent after a 503; a batch with a keyless put is not resent after a 502", () =>
    Effect.gen(function*() {
      const retry = { schedule: Schedule.spaced("1 millis"), times: 2 }
      const flaky = sessionWith(
        (request, attempt) => attempt === 1 ? new Response("", { status: 503 }) : answerAll(request),
        { retry }
      )
      const outcomes = yield* Batch.collectAll((yield* flaky.session).many([Batch.put("x", { key: "k" })]))
      assert.strictEqual(flaky.seen.length, 2)
      assert.strictEqual(flaky.seen[1]!.parts[0]!.body.toString(), "x") // the body was rebuilt
      assert.strictEqual(valueOf(outcomes[0]!), "k")
      const gateway = sessionWith(
        (request, attempt) => attempt === 1 ? new Response("", { status: 502 }) : answerAll(request),
        { retry }
      )
      const keyless = yield* Batch.collectAll((yield* gateway.session).many([Batch.put("x")]))
      assert.strictEqual(gateway.seen.length, 1)
      assert.strictEqual(errorOf(keyless[0]!)._tag, "ResponseError")
      const keyed = sessionWith(
        (request, attempt) => attempt === 1 ? new Response("", { status: 502 }) : answerAll(request),
        { retry }
      )
      yield* Batch.failFast((yield* keyed.session).many([Batch.put("x", { key: "k" }), Batch.get("g")]))
      assert.strictEqual(keyed.seen.length, 2)
    }))
})
