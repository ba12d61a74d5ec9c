/**
 * `session.many` end to end against the local server over loopback TCP (PROTOCOL §10, §18 items 60-69): mixed
 * batches, per-operation failures on the right operation, shuffled and reversed answers, files, interruption midway
 * and bounded memory for a long stream.
 */
import * as NodeFileSystem from "@effect/platform-node/NodeFileSystem"
import * as HttpClient from "@effect/platform/HttpClient"
import * as HttpServer from "@effect/platform/HttpServer"
import { assert, describe, layer } from "@effect/vitest"
import * as Auth from "@objectstore/client/Auth"
import * as Batch from "@objectstore/client/Batch"
import * as Compression from "@objectstore/client/Compression"
import * as Expiration from "@objectstore/client/Expiration"
import * as Metrics from "@objectstore/client/Metrics"
import * as NodeClient from "@objectstore/client/NodeClient"
import * as ObjectstoreClient from "@objectstore/client/ObjectstoreClient"
import * as Scope from "@objectstore/client/Scope"
import * as Usecase from "@objectstore/client/Usecase"
import type * as ServerConfig from "@objectstore/server/Config"
import * as Server from "@objectstore/server/Server"
import * as Storage from "@objectstore/server/Storage"
import * as Clock from "effect/Clock"
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as Redacted from "effect/Redacted"
import * as Stream from "effect/Stream"
import { SignJWT } from "jose"
import * as crypto from "node:crypto"
import * as fs from "node:fs"
import * as path from "node:path"
import * as v8 from "node:v8"
import * as vm from "node:vm"
import { tempDirSync } from "../../../test/support.js"

v8.setFlagsFromString("--expose-gc")
const gc = vm.runInNewContext("gc") as () => void

/** The requests the client sent, as `METHOD path`. */
class RequestLog extends Context.Tag("test/RequestLog")<RequestLog, Array<string>>() {}

const recording = Layer.effect(
  HttpClient.HttpClient,
  Effect.gen(function*() {
    const log = yield* RequestLog
    const client = yield* HttpClient.HttpClient
    return HttpClient.tapRequest(client, (request) =>
      Effect.sync(() => {
        log.push(`${request.method} ${new URL(request.url).pathname}`)
      }))
  })
)

const tcp = (options: Partial<ServerConfig.ServerConfig> = {}, auth: Layer.Layer<Auth.Auth> = Auth.layerNone) => {
  const log: Array<string> = []
  return Layer.unwrapEffect(
    HttpServer.addressFormattedWith((baseUrl) =>
      Effect.succeed(
        ObjectstoreClient.layer({ baseUrl, retry: false }).pipe(
          Layer.provide(Layer.mergeAll(Compression.layer, auth, Metrics.layerNoop, NodeFileSystem.layer)),
          Layer.provide(recording),
          Layer.provide(Layer.succeed(RequestLog, log)),
          Layer.provide(NodeClient.layerHttpClient({ connectTimeout: "2 seconds" }))
        )
      )
    )
  ).pipe(
    Layer.provideMerge(Layer.succeed(RequestLog, log)),
    Layer.provideMerge(Server.layer({ port: 0, ...options }))
  )
}

const session = (usecase = Usecase.make("attachments")) =>
  Effect.flatMap(ObjectstoreClient.ObjectstoreClient, (client) => client.session(usecase, Scope.make({ org: 42 })))

const valueOf = (outcome: Batch.Outcome): unknown => {
  const result: Either.Either<unknown, Batch.ManyError> = outcome.result
  if (Either.isLeft(result)) throw new Error(`operation ${outcome.index} failed: ${result.left.message}`)
  return result.right
}

const errorOf = (outcome: Batch.Outcome): Batch.ManyError => {
  const result: Either.Either<unknown, Batch.ManyError> = outcome.result
  if (Either.isRight(result)) throw new Error(`operation ${outcome.index} succeeded`)
  return result.left
}

const text = (outcome: Batch.Outcome): string | undefined => {
  const value = valueOf(outcome) as Option.Option<Batch.GetValue>
  return Option.isNone(value) ? undefined : new TextDecoder().decode(value.value.bytes)
}

layer(tcp())("many over TCP", (it) => {
  it.effect("60-61: four puts (mixed compression, a filename), then get/get zstd/delete/overwrite/head/missing", () =>
    Effect.gen(function*() {
      const s = yield* session()
      const puts = yield* Batch.failFast(s.many([
        Batch.put("first object", { key: "key-1", filename: "report.pdf", compression: "none" }),
        Batch.put("second object ".repeat(100), { key: "key-2", compression: "zstd" }),
        Batch.put("third object", { key: "key-3" }),
        Batch.put("fourth object", { key: "key-4", contentType: "text/plain" })
      ]))
      assert.deepStrictEqual(puts.map((outcome) => valueOf(outcome)), ["key-1", "key-2", "key-3", "key-4"])

      const outcomes = yield* Batch.collectAll(s.many([
        Batch.get("key-1"),
        Batch.get("key-2"),
        Batch.delete("key-3"),
        Batch.put("overridden fourth object", { key: "key-4" }),
        Batch.head("key-1"),
        Batch.get("missing"),
        Batch.head("missing"),
        Batch.get("key-2", { decompress: false })
      ]))
      assert.deepStrictEqual(outcomes.map((outcome) => outcome.index), [0, 1, 2, 3, 4, 5, 6, 7])
      assert.strictEqual(text(outcomes[0]!), "first object")
      const first = Option.getOrThrow(valueOf(outcomes[0]!) as Option.Option<Batch.GetValue>)
      assert.strictEqual(first.metadata.filename, "report.pdf")
      assert.isDefined(first.metadata.timeCreatedText)
      assert.strictEqual(text(outcomes[1]!), "second object ".repeat(100))
      const second = Option.getOrThrow(valueOf(outcomes[1]!) as Option.Option<Batch.GetValue>)
      assert.strictEqual(second.metadata.compression, "none") // decompressed by the client
      assert.isUndefined(second.metadata.filename)
      assert.isUndefined(valueOf(outcomes[2]!))
      assert.strictEqual(valueOf(outcomes[3]!), "key-4")
      const head = Option.getOrThrow(valueOf(outcomes[4]!) as Option.Option<{ readonly filename?: string }>)
      assert.strictEqual(head.filename, "report.pdf")
      assert.isTrue(Option.isNone(valueOf(outcomes[5]!) as Option.Option<unknown>))
      assert.isTrue(Option.isNone(valueOf(outcomes[6]!) as Option.Option<unknown>))
      const raw = Option.getOrThrow(valueOf(outcomes[7]!) as Option.Option<Batch.GetValue>)
      assert.strictEqual(raw.metadata.compression, "zstd")
      assert.isBelow(raw.bytes.length, 1400)

      assert.isTrue(Option.isNone(valueOf((yield* Batch.collectAll(s.many([Batch.get("key-3")])))[0]!) as never))
      assert.strictEqual(yield* s.getText("key-4"), "overridden fourth object")
    }))

  it.effect("62: a keyless put gets a generated key that a get can read", () =>
    Effect.gen(function*() {
      const s = yield* session()
      const [outcome] = yield* Batch.failFast(s.many([Batch.put("generated")]))
      const key = valueOf(outcome!) as string
      assert.match(key, /^[0-9a-f-]{36}$/)
      assert.strictEqual(outcome!.key, key)
      assert.strictEqual(yield* s.getText(key), "generated")
    }))

  it.effect("per-operation failures surface on the right operation; the others succeed", () =>
    Effect.gen(function*() {
      const s = yield* session()
      const outcomes = yield* Batch.collectAll(s.many([
        Batch.put("a", { key: "ok-1" }),
        Batch.get(".."),
        Batch.get("never-written"),
        Batch.put("b", { key: "ok-2", metadata: { "x y": "z" } }),
        Batch.put("c", { key: "ok-3" })
      ]))
      assert.strictEqual(valueOf(outcomes[0]!), "ok-1")
      assert.strictEqual(errorOf(outcomes[1]!)._tag, "InvalidInputError")
      assert.isTrue(Option.isNone(valueOf(outcomes[2]!) as Option.Option<unknown>))
      assert.strictEqual(errorOf(outcomes[3]!)._tag, "InvalidInputError")
      assert.strictEqual(valueOf(outcomes[4]!), "ok-3")
      const errors = yield* Batch.collectErrors(s.many([Batch.head("ok-1"), Batch.head("")]))
      assert.deepStrictEqual(errors.map((failure) => [failure.index, failure.kind, failure.error._tag]), [
        [1, "head", "InvalidInputError"]
      ])
    }))

  it.effect("68: three small files and a 2 MiB file: the big one goes as an individual PUT; all read back", () =>
    Effect.gen(function*() {
      const dir = tempDirSync("many-files")
      const big = crypto.randomBytes(2 * 1024 * 1024)
      fs.writeFileSync(path.join(dir, "a.txt"), "alpha")
      fs.writeFileSync(path.join(dir, "b.txt"), "beta")
      fs.writeFileSync(path.join(dir, "c.txt"), "gamma")
      fs.writeFileSync(path.join(dir, "big.bin"), big)
      const log = yield* RequestLog
      log.length = 0
      const s = yield* session()
      const outcomes = yield* Batch.collectAll(s.many([
        Batch.putFile(path.join(dir, "a.txt"), { key: "file-a" }),
        Batch.putFile(path.join(dir, "b.txt"), { key: "file-b" }),
        Batch.putFile(path.join(dir, "big.bin"), { key: "file-big" }),
        Batch.putFile(path.join(dir, "c.txt"), { key: "file-c" }),
        Batch.putFile(path.join(dir, "missing.txt"), { key: "file-missing" })
      ]))
      assert.deepStrictEqual(outcomes.slice(0, 4).map(valueOf), ["file-a", "file-b", "file-big", "file-c"])
      const missing = errorOf(outcomes[4]!)
      assert.strictEqual(missing._tag, "FileError")
      assert.deepInclude(missing, { path: path.join(dir, "missing.txt"), reason: "NotFound" })
      assert.deepStrictEqual(log.slice().sort(), [
        "POST /v1/objects:batch/attachments/org=42/",
        "PUT /v1/objects/attachments/org=42/file-big"
      ])
      const back = yield* Batch.failFast(
        s.many(["file-a", "file-b", "file-c", "file-big"].map((key) => Batch.get(key)))
      )
      assert.deepStrictEqual(back.slice(0, 3).map(text), ["alpha", "beta", "gamma"])
      const bigBack = Option.getOrThrow(valueOf(back[3]!) as Option.Option<Batch.GetValue>)
      assert.isTrue(Buffer.from(bigBack.bytes).equals(big))
      fs.rmSync(dir, { recursive: true, force: true })
    }))

  it.effect("69: 1000 keyless empty-file puts all succeed (files are opened one at a time, when sent)", () =>
    Effect.gen(function*() {
      const dir = tempDirSync("many-empty")
      const files = Array.from({ length: 1000 }, (_, i) => {
        const file = path.join(dir, `f${i}`)
        fs.writeFileSync(file, "")
        return file
      })
      const s = yield* session()
      const outcomes = yield* Batch.failFast(s.many(files.map((file) => Batch.putFile(file))))
      assert.strictEqual(outcomes.length, 1000)
      assert.strictEqual(new Set(outcomes.map((outcome) => outcome.key)).size, 1000)
      fs.rmSync(dir, { recursive: true, force: true })
    }))

  it.effect("interruption midway: taking the first outcomes stops the rest; the session keeps working", () =>
    Effect.gen(function*() {
      const s = yield* session(Usecase.make("interrupted"))
      let pulled = 0
      const operations = Stream.range(0, 4999).pipe(
        Stream.tap(() => Effect.sync(() => pulled++)),
        Stream.map((i) => Batch.put(`v${i}`, { key: `i-${i}` }))
      )
      const first = yield* s.many(operations, { maxOperationsPerBatch: 100, batchConcurrency: 1 }).pipe(
        Stream.take(150),
        Stream.runCollect
      )
      assert.strictEqual(first.length, 150)
      assert.isBelow(pulled, 1000)
      const entries = yield* Effect.flatMap(Storage.Storage, (storage) => storage.list)
      assert.isBelow(entries.filter((entry) => entry.id.usecase === "interrupted").length, 1000)
      const after = yield* Batch.failFast(s.many([Batch.get("i-0")]))
      assert.strictEqual(text(after[0]!), "v0")
    }))

  it.effect("a long Stream runs in bounded memory: inputs are pulled only as the window frees up", () =>
    Effect.gen(function*() {
      const s = yield* session(Usecase.make("memory"))
      const n = 20_000
      let pulled = 0
      let emitted = 0
      let ahead = 0
      gc()
      const before = process.memoryUsage().heapUsed
      let peak = before
      yield* s.many(
        Stream.range(0, n - 1).pipe(
          Stream.tap(() => Effect.sync(() => pulled++)),
          Stream.map((i) => i % 2 === 0 ? Batch.head(`missing-${i}`) : Batch.delete(`missing-${i}`))
        )
      ).pipe(
        Stream.runForEach((outcome) =>
          Effect.sync(() => {
            if (Either.isLeft(outcome.result as Either.Either<unknown, Batch.ManyError>)) throw new Error("failed")
            emitted++
            ahead = Math.max(ahead, pulled - emitted)
            if (emitted % 5_000 === 0) {
              gc()
              peak = Math.max(peak, process.memoryUsage().heapUsed)
            }
          })
        )
      )
      assert.strictEqual(emitted, n)
      // 3 batches in flight, one waiting for a permit, one being filled
      assert.isAtMost(ahead, 5 * 1000 + 16)
      // live heap (after GC) of client and server together stays small
      assert.isBelow(peak - before, 64 * 1024 * 1024)
    }))
})

describe("many: answers in any order", () => {
  for (const batchOrder of ["reverse", "shuffle"] as const) {
    layer(tcp({ batchOrder }))(batchOrder, (it) => {
      it.effect("every outcome carries its own operation's value", () =>
        Effect.gen(function*() {
          const s = yield* session()
          const keys = Array.from({ length: 50 }, (_, i) => `${batchOrder}-${i}`)
          yield* Batch.failFast(s.many(keys.map((key) => Batch.put(`value of ${key}`, { key }))))
          const outcomes = yield* Batch.collectAll(s.many(keys.map((key) => Batch.get(key))))
          assert.deepStrictEqual(outcomes.map((outcome) => outcome.key), keys)
          assert.deepStrictEqual(outcomes.map(text), keys.map((key) => `value of ${key}`))
        }))
    })
  }
})

describe("many: server-side rules per operation", () => {
  layer(tcp({ usecases: { attachments: { ttl: { allowed: false } } } }))("usecase rules", (it) => {
    it.effect("a put with a disallowed policy fails alone with a 400 ResponseError", () =>
      Effect.gen(function*() {
        const s = yield* session()
        const outcomes = yield* Batch.collectAll(s.many([
          Batch.put("x", { key: "ttl", expirationPolicy: Expiration.timeToLive("1 day") }),
          Batch.put("y", { key: "manual" })
        ]))
        const error = errorOf(outcomes[0]!)
        assert.strictEqual(error._tag, "ResponseError")
        assert.strictEqual((error as { status: number }).status, 400)
        assert.include((error as { detail?: string }).detail, "is not allowed for use case 'attachments'")
        assert.strictEqual(valueOf(outcomes[1]!), "manual")
      }))
  })

  const { privateKey, publicKey } = crypto.generateKeyPairSync("ed25519")
  const publicPem = publicKey.export({ type: "spki", format: "pem" }).toString()
  const readOnlyToken = Layer.unwrapEffect(Effect.gen(function*() {
    const now = yield* Clock.currentTimeMillis
    const token = yield* Effect.promise(() =>
      new SignJWT({
        res: { "os:usecase": "attachments", org: "42" },
        permissions: ["object.read"],
        exp: Math.floor(now / 1000) + 3600
      }).setProtectedHeader({ alg: "EdDSA", kid: "k", typ: "JWT" }).sign(privateKey)
    )
    return Auth.layerToken(Redacted.make(token))
  }))
  layer(tcp({
    auth: {
      enforce: true,
      keys: { k: { publicKeys: [publicPem], maxPermissions: ["object.read", "object.write", "object.delete"] } }
    }
  }, readOnlyToken))("read-only token", (it) => {
    it.effect("63: gets of missing keys are not found, puts and deletes fail with AuthError Forbidden", () =>
      Effect.gen(function*() {
        const s = yield* session()
        const outcomes = yield* Batch.collectAll(s.many([
          Batch.get("nope"),
          Batch.put("x", { key: "w" }),
          Batch.delete("nope"),
          Batch.head("nope"),
          Batch.put("keyless")
        ]))
        assert.isTrue(Option.isNone(valueOf(outcomes[0]!) as Option.Option<unknown>))
        for (const index of [1, 2, 4]) {
          const error = errorOf(outcomes[index]!)
          assert.strictEqual(error._tag, "AuthError")
          assert.strictEqual((error as { reason: string }).reason, "Forbidden")
        }
        assert.strictEqual(outcomes[1]!.key, "w")
        assert.isUndefined(outcomes[4]!.key)
        assert.isTrue(Option.isNone(valueOf(outcomes[3]!) as Option.Option<unknown>))
      }))
  })
})

describe("many in-process", () => {
  const inProcess = ObjectstoreClient.layer({ baseUrl: "http://objectstore.test/", retry: false }).pipe(
    Layer.provide(Layer.mergeAll(Compression.layer, Auth.layerNone, Metrics.layerNoop)),
    Layer.provideMerge(Server.layerHttpClient())
  )
  layer(inProcess)("Server.layerHttpClient", (it) => {
    it.effect("a mixed batch works without a socket", () =>
      Effect.gen(function*() {
        const s = yield* session()
        const outcomes = yield* Batch.failFast(s.many([
          Batch.put("in process", { key: "ip-1", compression: "zstd" }),
          Batch.put(new Uint8Array(2 * 1024 * 1024).fill(1), { key: "ip-big" })
        ]))
        assert.deepStrictEqual(outcomes.map(valueOf), ["ip-1", "ip-big"])
        const back = yield* Batch.failFast(s.many([Batch.get("ip-1"), Batch.head("ip-big"), Batch.delete("ip-1")]))
        assert.strictEqual(text(back[0]!), "in process")
        assert.isTrue(Option.isSome(valueOf(back[1]!) as Option.Option<unknown>))
      }))
  })
})
