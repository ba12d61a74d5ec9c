/**
 * An automatic multipart upload of a large stream (64 MiB, generated lazily) over loopback TCP to the filesystem
 * store, compressed and not: the process's retained heap plus array-buffer memory stays within about
 * partSize × (concurrency + 1) plus overhead, well below the size of the stream. (`bench/memory-1gib.ts` records
 * the same for 1 GiB with the server in its own process.)
 */
import { assert, layer } from "@effect/vitest"
import * as ObjectstoreClient from "@objectstore/client/ObjectstoreClient"
import * as Scope from "@objectstore/client/Scope"
import * as Usecase from "@objectstore/client/Usecase"
import * as Effect from "effect/Effect"
import * as Stream from "effect/Stream"
import * as crypto from "node:crypto"
import { chunk, clientAndServer, generated, measured, MiB } from "./support/memory.js"

const SIZE_MIB = 96
const PART_SIZE = 5 * MiB
const CONCURRENCY = 2
/** Parts in flight (raw and, when compressing, their frames) plus the read-ahead part, the server side, slack. */
const BOUND = 64 * MiB

const TestLayer = clientAndServer("upload-memory")

layer(TestLayer, { excludeTestServices: true })(
  "Memory: 96 MiB automatic multipart upload",
  (it) => {
    for (const compression of ["none", "zstd"] as const) {
      it.effect(
        `compression ${compression}: growth stays under 64 MiB (5 MiB parts × 2)`,
        () =>
          Effect.gen(function*() {
            const client = yield* ObjectstoreClient.ObjectstoreClient
            const session = yield* client.session(Usecase.make("memory", { compression }), Scope.make({ org: 1 }))
            const key = `multipart-${compression}`
            const upload = yield* measured(
              session.upload(generated(SIZE_MIB), { key, partSize: PART_SIZE, concurrency: CONCURRENCY }),
              100
            )
            assert.strictEqual(upload.result.parts, Math.ceil(SIZE_MIB * MiB / PART_SIZE))
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
          })
      )
    }
  }
)
