/**
 * A large object (96 MiB, generated lazily) is put and read back as streams, compressed and not, over loopback
 * TCP against the filesystem store, while the process's heap plus array-buffer memory (client and server together)
 * grows by less than half the object: nothing buffers it whole. The size is what shows the property in about a
 * second; `bench/streaming-memory.ts` measures 1 GiB with the server in its own process.
 */
import { assert, layer } from "@effect/vitest"
import * as Body from "@objectstore/client/Body"
import * as ObjectstoreClient from "@objectstore/client/ObjectstoreClient"
import * as Scope from "@objectstore/client/Scope"
import * as Usecase from "@objectstore/client/Usecase"
import * as Effect from "effect/Effect"
import * as Stream from "effect/Stream"
import * as crypto from "node:crypto"
import { chunk, clientAndServer, generated, measured, MiB } from "./support/memory.js"

const SIZE_MIB = 96
const BOUND = 48 * MiB

const TestLayer = clientAndServer("memory")

layer(TestLayer, { excludeTestServices: true })("Memory: 96 MiB streamed put and get", (it) => {
  for (const compression of ["none", "zstd"] as const) {
    it.effect(`compression ${compression}: heap growth stays under 48 MiB`, () =>
      Effect.gen(function*() {
        const client = yield* ObjectstoreClient.ObjectstoreClient
        const session = yield* client.session(Usecase.make("memory", { compression }), Scope.make({ org: 1 }))
        const key = `big-${compression}`
        const put = yield* measured(
          session.put(Body.replayable(() => generated(SIZE_MIB), { contentLength: SIZE_MIB * MiB }), { key }),
          50
        )
        assert.strictEqual(put.result, key)
        const expected = crypto.createHash("sha256")
        for (let i = 0; i < SIZE_MIB; i++) expected.update(chunk(i))
        const get = yield* measured(
          Effect.scoped(Effect.gen(function*() {
            const response = yield* session.get(key)
            const hash = crypto.createHash("sha256")
            let length = 0
            yield* Stream.runForEach(response.stream, (bytes) =>
              Effect.sync(() => {
                length += bytes.length
                hash.update(bytes)
              }))
            return { length, digest: hash.digest("hex") }
          })),
          50
        )
        assert.strictEqual(get.result.length, SIZE_MIB * MiB)
        assert.strictEqual(get.result.digest, expected.digest("hex"))
        assert.isBelow(put.growth, BOUND, `put grew ${(put.growth / MiB).toFixed(1)} MiB`)
        assert.isBelow(get.growth, BOUND, `get grew ${(get.growth / MiB).toFixed(1)} MiB`)
        yield* session.delete(key)
      }))
  }
})
