/**
 * An automatic multipart upload of a large stream (128 MiB, generated lazily) over loopback TCP to the filesystem
 * store, compressed and not: the process's retained heap plus array-buffer memory stays within about
 * partSize × concurrency plus overhead, whatever the size of the stream. (`bench/memory-1gib.ts` records the same
 * for 1 GiB with the server in its own process.)
 */
import * as HttpServer from "@effect/platform/HttpServer"
import { assert, layer } from "@effect/vitest"
import * as Auth from "@objectstore/client/Auth"
import * as Compression from "@objectstore/client/Compression"
import * as Metrics from "@objectstore/client/Metrics"
import * as NodeClient from "@objectstore/client/NodeClient"
import * as ObjectstoreClient from "@objectstore/client/ObjectstoreClient"
import * as Scope from "@objectstore/client/Scope"
import * as Usecase from "@objectstore/client/Usecase"
import * as Server from "@objectstore/server/Server"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Stream from "effect/Stream"
import * as crypto from "node:crypto"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import * as v8 from "node:v8"
import * as vm from "node:vm"

const MiB = 1024 * 1024
const SIZE_MIB = 128
const PART_SIZE = 8 * MiB
const CONCURRENCY = 4
/** Parts in flight (raw and, when compressing, their frames) plus the read-ahead part, the server side, slack. */
const BOUND = 96 * MiB

const seed = crypto.randomBytes(MiB)
const chunk = (i: number) => {
  const out = new Uint8Array(MiB)
  out.set(seed)
  new DataView(out.buffer).setUint32(0, i)
  return out
}
const generated = () => Stream.range(0, SIZE_MIB - 1).pipe(Stream.rechunk(1), Stream.map(chunk))

v8.setFlagsFromString("--expose-gc")
const gc = vm.runInNewContext("gc") as () => void
const memory = () => {
  gc()
  const usage = process.memoryUsage()
  return usage.heapUsed + usage.arrayBuffers
}

const measured = <A, E, R>(effect: Effect.Effect<A, E, R>) =>
  Effect.gen(function*() {
    const baseline = memory()
    let peak = baseline
    const timer = setInterval(() => (peak = Math.max(peak, memory())), 100)
    const result = yield* Effect.ensuring(effect, Effect.sync(() => clearInterval(timer)))
    peak = Math.max(peak, memory())
    return { result, growth: peak - baseline }
  })

const root = fs.mkdtempSync(path.join(os.tmpdir(), "objectstore-upload-memory-"))

const TestLayer = Layer.unwrapEffect(
  HttpServer.addressFormattedWith((baseUrl) =>
    Effect.succeed(
      ObjectstoreClient.layer({ baseUrl, retry: false }).pipe(
        Layer.provide(Layer.mergeAll(
          NodeClient.layerHttpClient({ connectTimeout: "2 seconds" }),
          Compression.layer,
          Auth.layerNone,
          Metrics.layerNoop
        ))
      )
    )
  )
).pipe(
  Layer.provide(Server.layer({ port: 0, storage: { type: "filesystem", path: root } })),
  Layer.merge(
    Layer.scopedDiscard(Effect.addFinalizer(() => Effect.sync(() => fs.rmSync(root, { recursive: true, force: true }))))
  )
)

layer(TestLayer, { timeout: 300_000, excludeTestServices: true })(
  "Memory: 128 MiB automatic multipart upload",
  (it) => {
    for (const compression of ["none", "zstd"] as const) {
      it.effect(
        `compression ${compression}: growth stays under 96 MiB (8 MiB parts × 4)`,
        () =>
          Effect.gen(function*() {
            const client = yield* ObjectstoreClient.ObjectstoreClient
            const session = yield* client.session(Usecase.make("memory", { compression }), Scope.make({ org: 1 }))
            const key = `multipart-${compression}`
            const upload = yield* measured(
              session.upload(generated(), { key, partSize: PART_SIZE, concurrency: CONCURRENCY })
            )
            assert.strictEqual(upload.result.parts, SIZE_MIB * MiB / PART_SIZE)
            assert.isString(upload.result.uploadId)
            const expected = crypto.createHash("sha256")
            for (let i = 0; i < SIZE_MIB; i++) {
              expected.update(chunk(i))
            }
            const hash = crypto.createHash("sha256")
            let length = 0
            yield* Effect.scoped(Effect.flatMap(session.get(key), (response) =>
              Stream.runForEach(response.stream, (bytes) =>
                Effect.sync(() => {
                  length += bytes.length
                  hash.update(bytes)
                }))))
            assert.strictEqual(length, SIZE_MIB * MiB)
            assert.strictEqual(hash.digest("hex"), expected.digest("hex"))
            assert.isBelow(upload.growth, BOUND, `upload grew ${(upload.growth / MiB).toFixed(1)} MiB`)
            yield* session.delete(key)
          }),
        300_000
      )
    }
  }
)
