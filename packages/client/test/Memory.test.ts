/**
 * A large object (256 MiB, generated lazily) is put and read back as streams, compressed and not, over loopback
 * TCP against the filesystem store, while the process's heap plus array-buffer memory stays bounded: nothing
 * buffers the whole object.
 */
import * as HttpServer from "@effect/platform/HttpServer"
import { assert, layer } from "@effect/vitest"
import * as Auth from "@objectstore/client/Auth"
import * as Body from "@objectstore/client/Body"
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
const SIZE_MIB = 256
const BOUND = 96 * MiB

/** A fresh 1 MiB chunk per step: random-looking (so zstd does real work) and different every time. */
const seed = crypto.randomBytes(MiB)
const chunk = (i: number) => {
  const out = new Uint8Array(MiB)
  out.set(seed)
  new DataView(out.buffer).setUint32(0, i)
  return out
}
// One element per chunk, so each 1 MiB buffer is only made when the transport asks for more.
const generated = () => Stream.range(0, SIZE_MIB - 1).pipe(Stream.rechunk(1), Stream.map(chunk))

// A full GC before each sample measures what is retained, not garbage V8 has not collected yet (it lets up to
// 64 MB of dead external buffers accumulate before collecting).
v8.setFlagsFromString("--expose-gc")
const gc = vm.runInNewContext("gc") as () => void

const memory = () => {
  gc()
  const usage = process.memoryUsage()
  return usage.heapUsed + usage.arrayBuffers
}

/** Samples retained memory every 50 ms while `effect` runs; returns its result and the peak growth. */
const measured = <A, E, R>(effect: Effect.Effect<A, E, R>) =>
  Effect.gen(function*() {
    const baseline = memory()
    let peak = baseline
    const timer = setInterval(() => (peak = Math.max(peak, memory())), 50)
    const result = yield* Effect.ensuring(effect, Effect.sync(() => clearInterval(timer)))
    peak = Math.max(peak, memory())
    return { result, growth: peak - baseline }
  })

const root = fs.mkdtempSync(path.join(os.tmpdir(), "objectstore-memory-"))

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

layer(TestLayer, { timeout: 300_000, excludeTestServices: true })("Memory: 256 MiB streamed put and get", (it) => {
  for (const compression of ["none", "zstd"] as const) {
    it.effect(`compression ${compression}: heap growth stays under 96 MiB`, () =>
      Effect.gen(function*() {
        const client = yield* ObjectstoreClient.ObjectstoreClient
        const session = yield* client.session(Usecase.make("memory", { compression }), Scope.make({ org: 1 }))
        const key = `big-${compression}`
        const put = yield* measured(
          session.put(Body.replayable(generated, { contentLength: SIZE_MIB * MiB }), { key })
        )
        assert.strictEqual(put.result, key)
        const expected = crypto.createHash("sha256")
        for (let i = 0; i < SIZE_MIB; i++) expected.update(chunk(i))
        const get = yield* measured(Effect.scoped(Effect.gen(function*() {
          const response = yield* session.get(key)
          const hash = crypto.createHash("sha256")
          let length = 0
          yield* Stream.runForEach(response.stream, (bytes) =>
            Effect.sync(() => {
              length += bytes.length
              hash.update(bytes)
            }))
          return { length, digest: hash.digest("hex") }
        })))
        assert.strictEqual(get.result.length, SIZE_MIB * MiB)
        assert.strictEqual(get.result.digest, expected.digest("hex"))
        assert.isBelow(put.growth, BOUND, `put grew ${(put.growth / MiB).toFixed(1)} MiB`)
        assert.isBelow(get.growth, BOUND, `get grew ${(get.growth / MiB).toFixed(1)} MiB`)
        yield* session.delete(key)
      }))
  }
})
