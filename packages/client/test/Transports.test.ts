/**
 * The client over HttpClient layers other than `NodeClient`'s: `FetchClient`'s (`FetchHttpClient` for Bun, Deno,
 * browsers, marked as a `fetch` that may decode zstd itself, as Node 24's does) and `@effect/platform-node`'s undici
 * client, against the local server over loopback TCP. These transports cannot be
 * aborted from outside, so the request deadlines race the attempt instead; and `fetch` sends a stream body chunked,
 * so multipart parts must reach it as bytes (PROTOCOL §20 item 16).
 */
import * as NodeFileSystem from "@effect/platform-node/NodeFileSystem"
import * as NodeHttpClient from "@effect/platform-node/NodeHttpClient"
import * as FileSystem from "@effect/platform/FileSystem"
import * as HttpServer from "@effect/platform/HttpServer"
import { assert, describe, layer } from "@effect/vitest"
import { Auth, Batch, Compression, Metrics, ObjectstoreClient, Scope, Usecase } from "@objectstore/client"
import * as FetchClient from "@objectstore/client/FetchClient"
import * as Server from "@objectstore/server/Server"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Stream from "effect/Stream"
import * as crypto from "node:crypto"

const MiB = 1024 * 1024
const data = new Uint8Array(crypto.randomBytes(11 * MiB))

const transports = [
  ["NodeHttpClient.layerUndici", NodeHttpClient.layerUndici],
  ["FetchClient.layerHttpClient()", FetchClient.layerHttpClient()]
] as const

describe("other transports", () => {
  layer(Server.layer({ port: 0 }), { excludeTestServices: true, timeout: 30_000 })("against the local server", (it) => {
    for (const [name, transport] of transports) {
      it.effect(
        `${name}: put, get, head, many, a multipart upload (in an acquisition) and a manual part`,
        () =>
          HttpServer.addressFormattedWith((baseUrl) =>
            Effect.gen(function*() {
              const client = yield* ObjectstoreClient.ObjectstoreClient
              const session = yield* client.session(Usecase.make("transports"), Scope.make({ org: 5 }))
              const key = yield* session.put("over another transport")
              assert.strictEqual(yield* session.getText(key), "over another transport")
              assert.strictEqual((yield* session.head(key)).compression, "zstd")
              const outcomes = yield* Batch.collectAll(session.many([Batch.get(key), Batch.delete(key)]))
              assert.isTrue(outcomes.every((o) => o.result._tag === "Right"))

              // The upload initiates inside an acquisition (uninterruptible): the deadline's race must still end.
              const result = yield* session.upload(Stream.make(data), {
                key: "upload.bin",
                partSize: 5 * MiB,
                threshold: 5 * MiB
              })
              assert.deepInclude(result, { method: "multipart", parts: 3, bytes: data.length })
              assert.isTrue(Buffer.from(yield* session.getBytes("upload.bin")).equals(Buffer.from(data)))

              // A part larger than the slices the Node transport streams goes whole, with its Content-Length.
              const upload = yield* session.multipart.initiate({ key: "manual.bin", compression: "none" })
              const part = yield* upload.putPart(1, data.subarray(0, MiB))
              yield* upload.complete([part])
              assert.strictEqual((yield* session.getBytes("manual.bin")).length, MiB)
              yield* session.delete("upload.bin")
              yield* session.delete("manual.bin")
            }).pipe(
              Effect.provide(
                ObjectstoreClient.layer({ baseUrl }).pipe(
                  Layer.provide(Layer.mergeAll(transport, Compression.layer, Auth.layerNone, Metrics.layer))
                )
              )
            )
          ),
        { timeout: 30_000 }
      )
    }

    it.scoped(
      "FetchClient: a file of 32 MiB or more goes resumable (chunks whole, with their length); sized stream parts",
      () =>
        HttpServer.addressFormattedWith((baseUrl) =>
          Effect.gen(function*() {
            const fs = yield* FileSystem.FileSystem
            const dir = yield* fs.makeTempDirectoryScoped()
            const path = `${dir}/large.bin`
            const large = new Uint8Array(33 * MiB)
            for (let offset = 0; offset < large.length; offset += data.length) {
              large.set(data.subarray(0, Math.min(data.length, large.length - offset)), offset)
            }
            yield* fs.writeFile(path, large)
            const client = yield* ObjectstoreClient.ObjectstoreClient
            const session = yield* client.session(Usecase.make("transports"), Scope.make({ org: 6 }))
            const result = yield* session.upload({ path }, { key: "large.bin", compression: "none" })
            assert.deepInclude(result, { method: "resumable", bytes: large.length })
            assert.isTrue(Buffer.from(yield* session.getBytes("large.bin")).equals(Buffer.from(large)))

            // A part given as a stream of known length (fetch alone would send it chunked: 400).
            const upload = yield* session.multipart.initiate({ key: "streamed-part.bin", compression: "none" })
            const part = yield* upload.putPart(1, Stream.make(data.subarray(0, MiB), data.subarray(MiB, 2 * MiB)), {
              contentLength: 2 * MiB
            })
            // Collected for fetch, a stream that is not its declared length fails as the caller's error.
            const short = yield* Effect.flip(
              upload.putPart(2, Stream.make(data.subarray(0, 10)), { contentLength: 11 })
            )
            assert.deepInclude(short, { _tag: "InvalidInputError", field: "contentLength" })
            yield* upload.complete([part])
            assert.isTrue(
              Buffer.from(yield* session.getBytes("streamed-part.bin")).equals(Buffer.from(data.subarray(0, 2 * MiB)))
            )
            yield* session.delete("large.bin")
            yield* session.delete("streamed-part.bin")
          }).pipe(
            Effect.provide(
              ObjectstoreClient.layer({ baseUrl }).pipe(
                Layer.provideMerge(Layer.mergeAll(
                  FetchClient.layerHttpClient(),
                  Compression.layer,
                  Auth.layerNone,
                  Metrics.layer,
                  NodeFileSystem.layer
                ))
              )
            )
          )
        ),
      { timeout: 60_000 }
    )
  })
})
