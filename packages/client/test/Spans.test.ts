/**
 * `session.upload` and `session.many` run in spans of their own, with every request they make nested under them,
 * and no span carries the token.
 */
import { assert, describe, it } from "@effect/vitest"
import * as Auth from "@objectstore/client/Auth"
import * as Batch from "@objectstore/client/Batch"
import * as Compression from "@objectstore/client/Compression"
import * as Metrics from "@objectstore/client/Metrics"
import * as ObjectstoreClient from "@objectstore/client/ObjectstoreClient"
import * as Scope from "@objectstore/client/Scope"
import type * as Session from "@objectstore/client/Session"
import * as Usecase from "@objectstore/client/Usecase"
import * as Server from "@objectstore/server/Server"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Logger from "effect/Logger"
import * as LogLevel from "effect/LogLevel"
import * as Redacted from "effect/Redacted"
import * as Stream from "effect/Stream"
import * as crypto from "node:crypto"
import { hasAncestor, type RecordedSpan, recordingTracer } from "./support/tracer.js"

const TOKEN = "span-test-token-3f9c"

// httpSpans: the transport's span per attempt too, where the auth header would show if it were not redacted
const client = ObjectstoreClient.layer({ baseUrl: "http://objectstore.test/", retry: false, httpSpans: true }).pipe(
  Layer.provide(Layer.mergeAll(Compression.layer, Auth.layerToken(Redacted.make(TOKEN)), Metrics.layerNoop)),
  Layer.provide(Server.layerHttpClient()),
  // small parts are deliberate here: silence the "below 5 MiB" warning
  Layer.provideMerge(Logger.minimumLogLevel(LogLevel.Error))
)

const propagatingClient = ObjectstoreClient.layer({
  baseUrl: "http://objectstore.test/",
  retry: false,
  propagateTraces: true
}).pipe(
  Layer.provide(Layer.mergeAll(Compression.layer, Auth.layerNone, Metrics.layerNoop)),
  Layer.provide(Server.layerHttpClient())
)

const session = Effect.flatMap(
  ObjectstoreClient.ObjectstoreClient,
  (client) => client.session(Usecase.make("spans", { compression: "none" }), Scope.make({ org: 7 }))
)

const unique = (prefix: string) => `${prefix}-${crypto.randomUUID()}`

/** Runs `effect` under a recording tracer and returns the spans it made. */
const traced = <A, E, R>(effect: Effect.Effect<A, E, R>) =>
  Effect.gen(function*() {
    const spans: Array<RecordedSpan> = []
    yield* Effect.withTracer(effect, recordingTracer(spans))
    return spans
  })

const assertNoToken = (spans: ReadonlyArray<RecordedSpan>) => {
  for (const span of spans) {
    for (const [name, value] of span.attributes) {
      assert.notInclude(String(value), TOKEN, `${span.name} ${name}`)
    }
  }
}

describe("spans", () => {
  it.effect("upload: initiation, every part and completion nest under Session.upload", () =>
    Effect.gen(function*() {
      const s = yield* session
      const key = unique("parts")
      const spans = yield* traced(
        s.upload(Stream.make(new Uint8Array(200 * 1024)), { key, partSize: 64 * 1024, threshold: 0 })
      )
      const upload = spans.filter((span) => span.name === "Session.upload")
      assert.strictEqual(upload.length, 1)
      assert.strictEqual(upload[0]!.attributes.get("objectstore.key"), key)
      assert.strictEqual(upload[0]!.attributes.get("objectstore.usecase"), "spans")
      const parts = spans.filter((span) => span.name === "Multipart.putPart")
      assert.strictEqual(parts.length, 4)
      for (const span of spans.filter((span) => span.name.startsWith("Multipart."))) {
        assert.isTrue(hasAncestor(span, "Session.upload"), `${span.name} is under Session.upload`)
      }
      assert.deepStrictEqual(
        ["Multipart.initiate", "Multipart.complete"].map((name) => spans.some((span) => span.name === name)),
        [true, true]
      )
      // the HTTP spans of the parts are under the part's span
      const http = spans.filter((span) => span.name.startsWith("http.client"))
      assert.isAbove(http.length, 0)
      for (const span of http) assert.isTrue(hasAncestor(span, "Session.upload"))
      assertNoToken(spans)
    }).pipe(Effect.provide(client)))

  it.effect("upload: a small source's single put nests under Session.upload", () =>
    Effect.gen(function*() {
      const s = yield* session
      const spans = yield* traced(s.upload(Stream.make(new Uint8Array(10)), { key: unique("small") }))
      const put = spans.find((span) => span.name === "Session.put")
      assert.isDefined(put)
      assert.isTrue(hasAncestor(put!, "Session.upload"))
      assertNoToken(spans)
    }).pipe(Effect.provide(client)))

  it.effect("many: batch requests and individual puts nest under Session.many", () =>
    Effect.gen(function*() {
      const s = yield* session
      const big = new Uint8Array(2 * 1024 * 1024) // larger than a batch part: sent on its own
      const spans = yield* traced(Batch.collectAll(s.many([
        Batch.put("small", { key: unique("a") }),
        Batch.head(unique("missing")),
        Batch.put(big, { key: unique("big") })
      ], { maxOperationsPerBatch: 1 })))
      const many = spans.filter((span) => span.name === "Session.many")
      assert.strictEqual(many.length, 1)
      assert.strictEqual(many[0]!.attributes.get("objectstore.scope"), "org=7")
      const batches = spans.filter((span) => span.name === "Session.many.batch")
      assert.strictEqual(batches.length, 2)
      const puts = spans.filter((span) => span.name === "Session.put")
      assert.strictEqual(puts.length, 1)
      for (const span of [...batches, ...puts]) {
        assert.isTrue(hasAncestor(span, "Session.many"), `${span.name} is under Session.many`)
      }
      assertNoToken(spans)
    }).pipe(Effect.provide(client)))

  it.effect("with the tracer disabled for a call, the caller's span gets none of the operation's attributes", () =>
    Effect.gen(function*() {
      const s = yield* session
      const key = unique("quiet")
      yield* s.put("x", { key })
      const spans = yield* traced(
        Effect.withSpan(
          Effect.zipRight(s.head(key), s.getBytes(key)).pipe(Effect.withTracerEnabled(false)),
          "caller"
        )
      )
      const caller = spans.find((span) => span.name === "caller")!
      assert.deepStrictEqual([...caller.attributes.keys()], [])
      assert.isFalse(spans.some((span) => span.name.startsWith("Session.")))
    }).pipe(Effect.provide(client)))

  it.effect("under Effect's own tracer no span is made (it would be kept nowhere), unless traces propagate", () =>
    Effect.gen(function*() {
      const s = yield* session
      // What a caller's body stream sees as the current span while the client sends it.
      const seenBy = (target: Session.Service) =>
        Effect.gen(function*() {
          let seen = "none"
          const body = Stream.fromEffect(Effect.map(
            Effect.option(Effect.currentSpan),
            (span) => {
              seen = span._tag === "Some" ? span.value.name : "none"
              return new TextEncoder().encode("body")
            }
          ))
          yield* target.put(body, { key: unique("native") }).pipe(Effect.withSpan("caller"))
          return seen
        })
      assert.strictEqual(yield* seenBy(s), "caller")
      const propagating = yield* Effect.flatMap(
        ObjectstoreClient.ObjectstoreClient,
        (client) => client.session(Usecase.make("spans", { compression: "none" }), Scope.make({ org: 7 }))
      ).pipe(Effect.provide(propagatingClient))
      assert.strictEqual(yield* seenBy(propagating), "Session.put")
      // Under an installed tracer the span is made.
      let recorded = ""
      yield* traced(Effect.map(seenBy(s), (name) => (recorded = name)))
      assert.strictEqual(recorded, "Session.put")
    }).pipe(Effect.provide(client)))
})
