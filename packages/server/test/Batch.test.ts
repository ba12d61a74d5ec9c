/**
 * The batch endpoint over TCP (PROTOCOL §10, §18 items 60–67): framing, per-operation statuses, limits, order.
 */
import * as NodeHttpServer from "@effect/platform-node/NodeHttpServer"
import * as HttpServer from "@effect/platform/HttpServer"
import * as Multipart from "@effect/platform/Multipart"
import { assert, describe, it, layer } from "@effect/vitest"
import * as Server from "@objectstore/server/Server"
import * as Storage from "@objectstore/server/Storage"
import * as Chunk from "effect/Chunk"
import * as Clock from "effect/Clock"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Stream from "effect/Stream"
import * as TestClock from "effect/TestClock"
import { SignJWT } from "jose"
import * as crypto from "node:crypto"
import * as NodeHttp from "node:http"
import * as Net from "node:net"
import { tempDirSync } from "../../../test/support.js"
import {
  batch,
  BOUNDARY,
  byIndex,
  del,
  encodeKey,
  encodeRequest,
  get,
  head,
  insert,
  type OpSpec
} from "./support/batch.js"
import { http, serverPort } from "./support/http.js"

const PATH = "/v1/objects:batch/test/org=1/"

const stored = (key: string, scopes: ReadonlyArray<readonly [string, string]> = [["org", "1"]]) =>
  Effect.flatMap(Storage.Storage, (storage) => Storage.readAll(storage, { usecase: "test", scopes, key }))

layer(Server.layer({ port: 0 }))("Batch over TCP", (it) => {
  it.effect("67: response framing: quoted os-boundary, form-data parts, lowercase headers, no CRLF after the end", () =>
    Effect.gen(function*() {
      const { parts, response } = yield* batch(PATH, [insert("frame-1", "hello"), get("frame-1")])
      assert.strictEqual(response.status, 200)
      assert.match(
        String(response.headers["content-type"]),
        /^multipart\/form-data; boundary="os-boundary-[0-9a-f]{32}"$/
      )
      assert.isFalse(response.text.endsWith("\r\n"))
      assert.strictEqual(parts.length, 2)
      for (const part of parts) assert.strictEqual(part.headers["content-disposition"], "form-data; name=part")
      // a standard parser (@effect/platform's Multipart, multipasta) reads two parts named "part"
      const standard = yield* Stream.make(new Uint8Array(response.body)).pipe(
        Stream.pipeThroughChannel(Multipart.makeChannel({ "content-type": String(response.headers["content-type"]) })),
        Stream.runCollect
      )
      assert.deepStrictEqual(Chunk.toReadonlyArray(standard).map((part) => part.key), ["part", "part"])
    }))

  it.effect("60-61: inserts, gets with metadata, delete, overwrite; keys are percent-encoded both ways", () =>
    Effect.gen(function*() {
      yield* TestClock.setTime(1_700_000_000_000)
      const zstd = new Uint8Array(crypto.randomBytes(16))
      const first = yield* batch(PATH, [
        insert("key-1", "first object", { "content-type": "text/plain", "x-sn-filename": "report.pdf" }),
        insert("key-2", zstd, { "content-encoding": "zstd", "x-sn-expiration": "ttl:1 days", "x-snme-Build": "7" }),
        insert("key-3", "third"),
        insert("a/b.txt", "slash")
      ])
      assert.deepStrictEqual(first.parts.map((part) => part.status), [201, 201, 201, 201])
      assert.deepStrictEqual(
        byIndex(first.parts).map((
          part
        ) => [part.headers["x-sn-batch-operation-key"], part.headers["x-sn-batch-operation-kind"]]),
        [["key%2D1", "insert"], ["key%2D2", "insert"], ["key%2D3", "insert"], ["a%2Fb%2Etxt", "insert"]]
      )

      const second = yield* batch(PATH, [
        get("key-1"),
        get("key-2"),
        del("key-3"),
        insert("key-4", "overridden fourth object"),
        head("key-2"),
        get("missing"),
        head("missing")
      ])
      const parts = byIndex(second.parts)
      assert.deepStrictEqual(parts.map((part) => part.status), [200, 200, 204, 201, 204, 404, 404])
      assert.strictEqual(parts[0]!.text, "first object")
      assert.strictEqual(parts[0]!.headers["content-type"], "text/plain")
      assert.strictEqual(parts[0]!.headers["x-sn-filename"], "report.pdf")
      assert.strictEqual(parts[0]!.headers["x-sn-time-created"], "2023-11-14T22:13:20.000000Z")
      assert.strictEqual(parts[0]!.headers["content-disposition"], "form-data; name=part") // never `attachment`
      assert.strictEqual(parts[0]!.headers["x-sn-batch-operation-status"], "200 OK")
      assert.isTrue(parts[1]!.body.equals(Buffer.from(zstd)))
      assert.strictEqual(parts[1]!.headers["content-encoding"], "zstd")
      assert.strictEqual(parts[1]!.headers["x-sn-expiration"], "ttl:1day")
      assert.strictEqual(parts[1]!.headers["x-sn-time-expires"], "2023-11-15T22:13:20.000000Z")
      assert.strictEqual(parts[1]!.headers["x-snme-build"], "7")
      assert.isUndefined(parts[1]!.headers["x-sn-filename"])
      assert.strictEqual(parts[2]!.headers["x-sn-batch-operation-status"], "204 No Content")
      assert.strictEqual(parts[3]!.headers["x-sn-batch-operation-status"], "201 Created")
      assert.strictEqual(parts[4]!.body.length, 0)
      assert.strictEqual(parts[4]!.headers["content-encoding"], "zstd")
      assert.strictEqual(parts[4]!.headers["x-sn-time-created"], "2023-11-14T22:13:20.000000Z")
      assert.strictEqual(parts[5]!.headers["x-sn-batch-operation-status"], "404 Not Found")
      assert.strictEqual(parts[5]!.headers["x-sn-batch-operation-key"], "missing")
      assert.strictEqual(parts[6]!.headers["x-sn-batch-operation-kind"], "head")
      assert.isUndefined(yield* stored("key-3"))
      assert.strictEqual(Buffer.from((yield* stored("key-4"))!.bytes).toString(), "overridden fourth object")
      assert.strictEqual(Buffer.from((yield* stored("a/b.txt"))!.bytes).toString(), "slash")
    }))

  it.effect("62: a keyless insert gets a generated UUID key that a GET can read", () =>
    Effect.gen(function*() {
      const { parts } = yield* batch(PATH, [insert(undefined, "generated")])
      assert.strictEqual(parts[0]!.status, 201)
      const key = decodeURIComponent(parts[0]!.headers["x-sn-batch-operation-key"]!)
      assert.match(key, /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/)
      const got = yield* http({ method: "GET", path: `/v1/objects/test/org=1/${key}` })
      assert.strictEqual(got.text, "generated")
    }))

  it.effect("66: key decoding, metadata on inserts, missing keys, bad kinds and bad metadata fail per operation", () =>
    Effect.gen(function*() {
      const { parts } = yield* batch(PATH, [
        insert("test/0", "zero", {
          "content-type": "application/json",
          "x-sn-expiration": "ttl:1h",
          "x-sn-origin": "203.0.113.42"
        }),
        { headers: { "x-sn-batch-operation-kind": "get" } },
        { headers: { "x-sn-batch-operation-kind": "delete" } },
        { headers: { "x-sn-batch-operation-kind": "head" } },
        { headers: { "x-sn-batch-operation-key": "x" } },
        { headers: { "x-sn-batch-operation-kind": "copy", "x-sn-batch-operation-key": "x" } },
        insert("bad-meta", "x", { "content-encoding": "gzip" }),
        { headers: { "x-sn-batch-operation-kind": "get", "x-sn-batch-operation-key": "%FF" } }
      ])
      // operations of one batch run concurrently: read back in a second batch
      const again = yield* batch(PATH, [
        { headers: { "x-sn-batch-operation-kind": "GET", "x-sn-batch-operation-key": "test%2F0" } }
      ])
      const sorted = [...byIndex(parts).slice(0, 7), again.parts[0]!, byIndex(parts)[7]!]
      assert.deepStrictEqual(sorted.map((part) => part.status), [201, 400, 400, 400, 400, 400, 400, 200, 400])
      assert.strictEqual(sorted[0]!.headers["x-sn-batch-operation-key"], "test%2F0")
      for (const index of [1, 2, 3, 4, 5, 6, 8]) {
        const part = sorted[index]!
        // error parts carry only index, status and content-disposition, and a JSON body
        assert.deepStrictEqual(Object.keys(part.headers).sort(), [
          "content-disposition",
          "x-sn-batch-operation-index",
          "x-sn-batch-operation-status"
        ])
        assert.isString(JSON.parse(part.text).detail)
      }
      assert.strictEqual(sorted[7]!.text, "zero")
      assert.strictEqual(sorted[7]!.headers["content-type"], "application/json")
      assert.strictEqual(sorted[7]!.headers["x-sn-expiration"], "ttl:1h")
      assert.strictEqual(sorted[7]!.headers["x-sn-origin"], "203.0.113.42")
      assert.strictEqual(sorted[7]!.headers["x-sn-batch-operation-kind"], "get")
      assert.isUndefined(yield* stored("bad-meta"))
    }))

  it.effect("66: insert bodies of exactly 1 MiB pass, one byte more is 413 for that operation only", () =>
    Effect.gen(function*() {
      const { parts } = yield* batch(PATH, [
        insert("mib", new Uint8Array(1_048_576).fill(1)),
        insert("mib-plus", new Uint8Array(1_048_577).fill(2)),
        insert("after", "still works")
      ])
      const sorted = byIndex(parts)
      assert.deepStrictEqual(sorted.map((part) => part.status), [201, 413, 201])
      assert.strictEqual(
        JSON.parse(sorted[1]!.text).detail,
        "batch error: batch limit exceeded: individual request in batch exceeds body size limit of 1048576 bytes"
      )
      assert.strictEqual(sorted[1]!.headers["x-sn-batch-operation-status"], "413 Payload Too Large")
      assert.strictEqual((yield* stored("mib"))!.bytes.length, 1_048_576)
      assert.isUndefined(yield* stored("mib-plus"))
    }))

  it.effect("66: 1000 operations are executed, the 1001st and later are 413", () =>
    Effect.gen(function*() {
      const ops: Array<OpSpec> = Array.from({ length: 1002 }, (_, i) => insert(`many-${i}`, String(i)))
      const { parts } = yield* batch(PATH, ops)
      const sorted = byIndex(parts)
      assert.strictEqual(sorted.length, 1002)
      assert.deepStrictEqual(sorted.map((part) => part.index), Array.from({ length: 1002 }, (_, i) => i))
      assert.isTrue(sorted.slice(0, 1000).every((part) => part.status === 201))
      assert.deepStrictEqual(sorted.slice(1000).map((part) => part.status), [413, 413])
      assert.strictEqual(
        JSON.parse(sorted[1000]!.text).detail,
        "batch error: batch limit exceeded: exceeded 1000 operations per batch request"
      )
      assert.isDefined(yield* stored("many-999"))
      assert.isUndefined(yield* stored("many-1000"))
    }))

  it.effect("request-level checks: no trailing slash 404, non-multipart 400 text, empty batch is just the end", () =>
    Effect.gen(function*() {
      const noSlash = yield* http({
        method: "POST",
        path: "/v1/objects:batch/test/org=1",
        headers: { "content-type": `multipart/form-data; boundary=${BOUNDARY}` },
        body: encodeRequest([])
      })
      assert.strictEqual(noSlash.status, 404)
      const json = yield* http({
        method: "POST",
        path: PATH,
        headers: { "content-type": "application/json" },
        body: "{}"
      })
      assert.strictEqual(json.status, 400)
      assert.match(String(json.headers["content-type"]), /^text\/plain/)
      const noBoundary = yield* http({ method: "POST", path: PATH, headers: { "content-type": "multipart/form-data" } })
      assert.strictEqual(noBoundary.status, 400)
      const badScopes = yield* batch("/v1/objects:batch/test/org/", [get("x")])
      assert.strictEqual(badScopes.response.status, 400)
      assert.match(badScopes.response.text, /^Invalid URL:/)
      const empty = yield* batch(PATH, [])
      assert.strictEqual(empty.response.status, 200)
      assert.deepStrictEqual(empty.parts, [])
      assert.match(empty.response.text, /^--os-boundary-[0-9a-f]{32}--$/)
    }))

  it.effect("framing error: the parts before it, one 400 part with the next index, then the end", () =>
    Effect.gen(function*() {
      const whole = encodeRequest([insert("cut-1", "one"), insert("cut-2", "two")])
      const cut = whole.subarray(0, whole.indexOf("two") + 1) // inside the second part's body
      const response = yield* http({
        method: "POST",
        path: PATH,
        headers: { "content-type": `multipart/form-data; boundary=${BOUNDARY}` },
        body: cut
      })
      assert.strictEqual(response.status, 200)
      const { parseResponse } = yield* Effect.promise(() => import("./support/batch.js"))
      const parts = byIndex(parseResponse(response))
      assert.deepStrictEqual(parts.map((part) => [part.index, part.status]), [[0, 201], [1, 400]])
      assert.match(JSON.parse(parts[1]!.text).detail, /^batch error: multipart error: /)
      assert.isUndefined(yield* stored("cut-2"))
    }))

  it.effect("expired objects are not found in a batch; a batch head bumps a TTI deadline like a single HEAD", () =>
    Effect.gen(function*() {
      yield* TestClock.setTime(1_800_000_000_000)
      yield* batch(PATH, [
        insert("ttl-1", "x", { "x-sn-expiration": "ttl:10s" }),
        insert("tti-1", "y", {
          "x-sn-expiration": "tti:1h"
        })
      ])
      yield* TestClock.adjust(Duration.minutes(50))
      const { parts } = yield* batch(PATH, [get("ttl-1"), head("tti-1")])
      const sorted = byIndex(parts)
      assert.strictEqual(sorted[0]!.status, 404)
      assert.strictEqual(sorted[1]!.status, 204)
      // the answer shows the deadline before the access; storage has the bumped one
      assert.strictEqual(sorted[1]!.headers["x-sn-time-expires"], "2027-01-15T09:00:00.000000Z")
      const now = yield* Clock.currentTimeMillis
      const info = (yield* stored("tti-1"))!.info
      assert.strictEqual(info.metadata.timeExpires, BigInt(now + 3_600_000) * 1000n)
    }))
})

describe("Batch answer order", () => {
  const order = (batchOrder: "reverse" | "shuffle") =>
    Effect.gen(function*() {
      const ops = Array.from({ length: 40 }, (_, i) => insert(`order-${i}`, String(i)))
      const { parts } = yield* batch(PATH, ops)
      return parts.map((part) => part.index)
    }).pipe(Effect.provide(Server.layer({ port: 0, batchOrder })))

  it.effect("reverse writes the answers last index first", () =>
    Effect.gen(function*() {
      const indexes = yield* order("reverse")
      assert.deepStrictEqual(indexes, Array.from({ length: 40 }, (_, i) => 39 - i))
    }))

  it.effect("shuffle writes every answer once, not in request order", () =>
    Effect.gen(function*() {
      const indexes = yield* order("shuffle")
      assert.deepStrictEqual([...indexes].sort((a, b) => a - b), Array.from({ length: 40 }, (_, i) => i))
      assert.notDeepEqual(indexes, Array.from({ length: 40 }, (_, i) => i))
    }))
})

describe("Batch per-operation admission and usecase rules", () => {
  layer(Server.layer({ port: 0, maxConcurrency: 0 }))("max_concurrency = 0", (it) => {
    it.effect("65: the request is 200 and the operation is a 429 part", () =>
      Effect.gen(function*() {
        const { parts, response } = yield* batch(PATH, [get("x")])
        assert.strictEqual(response.status, 200)
        assert.strictEqual(parts[0]!.status, 429)
        assert.strictEqual(JSON.parse(parts[0]!.text).detail, "service error: concurrency limit reached")
      }))
  })

  layer(Server.layer({
    port: 0,
    usecases: { test: { ttl: { allowed: false } } },
    killswitches: [{ usecase: "killed" }]
  }))("usecase rules", (it) => {
    it.effect("a disallowed policy fails that insert with 400; a killswitch refuses the whole request", () =>
      Effect.gen(function*() {
        const { parts } = yield* batch(PATH, [
          insert(undefined, "x", { "x-sn-expiration": "ttl:1day" }),
          insert("fine", "y")
        ])
        const sorted = byIndex(parts)
        assert.deepStrictEqual(sorted.map((part) => part.status), [400, 201])
        assert.strictEqual(
          JSON.parse(sorted[0]!.text).detail,
          "client error: expiration policy 'ttl:1day' is not allowed for use case 'test'"
        )
        const killed = yield* batch("/v1/objects:batch/killed/_/", [get("x")])
        assert.strictEqual(killed.response.status, 403)
        assert.strictEqual(killed.response.text, "Object access is disabled for this scope through killswitches")
      }))
  })
})

describe("Batch auth", () => {
  const { privateKey, publicKey } = crypto.generateKeyPairSync("ed25519")
  const publicPem = publicKey.export({ type: "spki", format: "pem" }).toString()
  const token = (permissions: ReadonlyArray<string>) =>
    Effect.flatMap(
      Clock.currentTimeMillis,
      (now) =>
        Effect.promise(() =>
          new SignJWT({ res: { "os:usecase": "test", org: "1" }, permissions, exp: Math.floor(now / 1000) + 60 })
            .setProtectedHeader({ alg: "EdDSA", kid: "k", typ: "JWT" })
            .sign(privateKey)
        )
    )

  layer(Server.layer({
    port: 0,
    auth: {
      enforce: true,
      keys: { k: { publicKeys: [publicPem], maxPermissions: ["object.read", "object.write", "object.delete"] } }
    }
  }))("enforced", (it) => {
    it.effect("63: read-only token: gets of missing keys are 404, inserts and deletes 403 each, request 200", () =>
      Effect.gen(function*() {
        const readOnly = yield* token(["object.read"])
        const { parts, response } = yield* batch(PATH, [get("nope"), insert("w", "x"), del("nope"), head("nope")], {
          "x-os-auth": `Bearer ${readOnly}`
        })
        assert.strictEqual(response.status, 200)
        const sorted = byIndex(parts)
        assert.deepStrictEqual(sorted.map((part) => part.status), [404, 403, 403, 404])
        assert.deepStrictEqual(JSON.parse(sorted[1]!.text), {
          detail: "auth error: operation not allowed",
          causes: ["operation not allowed"]
        })
        const missing = yield* batch(PATH, [get("nope")])
        assert.strictEqual(missing.response.status, 400)
        const presigned = yield* batch(`${PATH}?os_kid=k&os_expires=1&os_sig=x`, [get("nope")])
        assert.notStrictEqual(presigned.response.status, 200)
      }))
  })
})

describe("Batch streaming", () => {
  layer(Server.layer({ port: 0 }))("TCP", (it) => {
    it.effect("answers are written while the request is still being sent", () =>
      Effect.gen(function*() {
        const port = yield* serverPort
        const firstPart = encodeRequest([insert("early", "x")]).toString("latin1").replace(/--[^\r\n]+--\r\n$/, "")
        const seen = yield* Effect.async<string>((resume) => {
          const socket = Net.connect(port, "127.0.0.1", () => {
            socket.write(
              `POST ${PATH} HTTP/1.1\r\nhost: x\r\ncontent-type: multipart/form-data; boundary=${BOUNDARY}\r\n` +
                `transfer-encoding: chunked\r\n\r\n`
            )
            const chunk = Buffer.from(firstPart + `--${BOUNDARY}\r\n`, "latin1")
            socket.write(`${chunk.length.toString(16)}\r\n`)
            socket.write(chunk)
            socket.write("\r\n")
          })
          let received = ""
          socket.on("data", (data) => {
            received += data.toString("latin1")
            if (received.includes("201 Created")) {
              socket.destroy()
              resume(Effect.succeed(received))
            }
          })
          socket.on("error", (error) => resume(Effect.die(error)))
          return Effect.sync(() => socket.destroy())
        })
        assert.include(seen, `x-sn-batch-operation-key: ${encodeKey("early")}`)
      }))
  })
})

// The filesystem store has no whole-body fast path (`putBytes`, `readBytes`): batch parts go through its streams.
const filesystemDir = tempDirSync("batch")

layer(Server.layer({ port: 0, storage: { type: "filesystem", path: filesystemDir } }))(
  "Batch over TCP, filesystem store",
  (it) => {
    it.effect("inserts, gets and heads through the store's streams", () =>
      Effect.gen(function*() {
        const { parts } = yield* batch(PATH, [insert("fs-1", "hello, disk"), get("fs-1"), head("fs-1")])
        const [inserted, got, headed] = byIndex(parts)
        assert.deepStrictEqual([inserted!.status, got!.status, headed!.status], [201, 200, 204])
        assert.strictEqual(got!.text, "hello, disk")
        const found = yield* stored("fs-1")
        assert.strictEqual(new TextDecoder().decode(found!.bytes), "hello, disk")
      }))
  }
)

// A budget far smaller than the bodies: every body is charged min(size, budget), so the batch runs one large body at
// a time, and must still answer everything whole (large filesystem bodies stream from their files).
const budgetDir = tempDirSync("batch-budget")

for (
  const [name, storage] of [
    ["memory", { type: "memory" as const }],
    ["filesystem", { type: "filesystem" as const, path: budgetDir }]
  ] as const
) {
  layer(Server.layer({ port: 0, storage, batchMemoryBudget: 64 * 1024 }))(
    `Batch memory budget, ${name} store`,
    (it) => {
      it.effect("bodies larger than the budget: inserts up to 1 MiB and 30 gets of 150 KiB are all answered whole", () =>
        Effect.gen(function*() {
          const body = (i: number) => Buffer.alloc(150 * 1024 + i, `budget-${i};`)
          const inserts = Array.from({ length: 6 }, (_, i) => insert(`budget-${i}`, body(i)))
          inserts.push(insert("budget-max", Buffer.alloc(1024 * 1024, 7)))
          const put = yield* batch(PATH, inserts)
          assert.deepStrictEqual(byIndex(put.parts).map((part) => part.status), inserts.map(() => 201))
          const ops = Array.from({ length: 30 }, (_, i) => get(`budget-${i % 6}`))
          ops.push(get("budget-max"), head("budget-0"), get("budget-missing"))
          const { parts, response } = yield* batch(PATH, ops)
          assert.strictEqual(response.status, 200)
          const answers = byIndex(parts)
          assert.deepStrictEqual(answers.map((part) => part.index), ops.map((_, i) => i))
          for (let i = 0; i < 30; i++) {
            assert.strictEqual(answers[i]!.status, 200)
            assert.isTrue(answers[i]!.body.equals(body(i % 6)), `get ${i}`)
          }
          assert.isTrue(answers[30]!.body.equals(Buffer.alloc(1024 * 1024, 7)))
          assert.deepStrictEqual(answers.slice(31).map((part) => part.status), [204, 404])

          // inserts and gets mixed in one request: parts read ahead never hold the budget a get waits for
          const mixed = [
            insert("budget-mix-a", Buffer.alloc(1024 * 1024, 1)),
            get("budget-1"),
            insert("budget-mix-b", Buffer.alloc(1024 * 1024, 2)),
            get("budget-max"),
            get("budget-2")
          ]
          const both = byIndex((yield* batch(PATH, mixed)).parts)
          assert.deepStrictEqual(both.map((part) => part.status), [201, 200, 201, 200, 200])
          assert.isTrue(both[1]!.body.equals(body(1)))
          assert.isTrue(both[3]!.body.equals(Buffer.alloc(1024 * 1024, 7)))
          assert.isTrue(both[4]!.body.equals(body(2)))
        }))

      it.effect("small bodies that together exceed the budget, all read in one request chunk, are all answered", () =>
        Effect.gen(function*() {
          // the answer half of the budget is 32 KiB: a few of these fill it, while their group holds them encoded
          const small = (i: number) => Buffer.alloc(10 * 1024 + i, `small-${i};`)
          const inserts = Array.from({ length: 8 }, (_, i) => insert(`small-${i}`, small(i)))
          yield* batch(PATH, inserts)
          const ops = Array.from({ length: 40 }, (_, i) => get(`small-${i % 8}`))
          const { parts, response } = yield* batch(PATH, ops)
          assert.strictEqual(response.status, 200)
          const answers = byIndex(parts)
          assert.deepStrictEqual(answers.map((part) => part.index), ops.map((_, i) => i))
          for (let i = 0; i < 40; i++) assert.isTrue(answers[i]!.body.equals(small(i % 8)), `get ${i}`)
        }))
    }
  )
}

// The memory store answers a batch's operations through its synchronous forms (`ObjectStore.immediate`); a wrapper
// that replaces an operation (here to fail it) must still be the one a batch goes through.
const failing = (operation: string) => Effect.fail(new Storage.StorageError({ operation, reason: "injected" }))
const wrappedStore = Layer.effect(
  Storage.Storage,
  Effect.map(Storage.Storage, (store): Storage.Service => ({
    ...store,
    readWhole: () => failing("readWhole"),
    head: () => failing("head")
  }))
).pipe(Layer.provide(Storage.layerMemory))
const wrappedServer = Layer.unwrapEffect(
  Effect.map(Server.ServerControl, (control) => HttpServer.serve(control.app))
).pipe(
  Layer.provideMerge(NodeHttpServer.layer(() => NodeHttp.createServer(), { host: "127.0.0.1", port: 0 })),
  Layer.provideMerge(Layer.scoped(Server.ServerControl, Server.makeApp({}))),
  Layer.provideMerge(wrappedStore)
)

layer(wrappedServer)("Batch over a wrapped memory store", (it) => {
  it.effect("the wrapper's operations answer, not the store's synchronous forms", () =>
    Effect.gen(function*() {
      const { parts } = yield* batch(PATH, [insert("wrapped-1", "hello"), get("wrapped-1"), head("wrapped-1")])
      const answers = byIndex(parts)
      assert.deepStrictEqual(answers.map((part) => part.status), [201, 500, 500])
      assert.strictEqual(JSON.parse(answers[1]!.text).detail, "service error: storage readWhole failed: injected")
      assert.strictEqual(JSON.parse(answers[2]!.text).detail, "service error: storage head failed: injected")
      // the insert went through (the wrapper kept the store's own `putBytes`)
      assert.strictEqual((yield* stored("wrapped-1"))?.bytes.length, 5)
    }))
})
