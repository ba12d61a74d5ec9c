/**
 * The WebAssembly zstd codec (`Compression.layerWasm`, what `Compression.layer` picks in browsers), forced under
 * Node so that every run tests it without a browser: uploads with the usecase's default compression (zstd) through
 * it, over loopback TCP to the local server, read back as stored (zstd) and decoded with Node's own codec, and
 * decoded by the client itself (fzstd). Whole bodies (one call) and stream bodies of many chunks, empty and over
 * 1 MiB.
 */
import * as HttpServer from "@effect/platform/HttpServer"
import { assert, describe, layer } from "@effect/vitest"
import * as Auth from "@objectstore/client/Auth"
import * as Compression from "@objectstore/client/Compression"
import * as Metrics from "@objectstore/client/Metrics"
import * as NodeClient from "@objectstore/client/NodeClient"
import * as ObjectstoreClient from "@objectstore/client/ObjectstoreClient"
import * as Scope from "@objectstore/client/Scope"
import * as Usecase from "@objectstore/client/Usecase"
import * as Bytes from "@objectstore/protocol/Bytes"
import * as Server from "@objectstore/server/Server"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Stream from "effect/Stream"
import { randomBytes } from "node:crypto"
import * as zstd from "zstd-napi"

const WasmClient = Layer.unwrapEffect(
  HttpServer.addressFormattedWith((baseUrl) =>
    Effect.succeed(
      ObjectstoreClient.layer({ baseUrl, retry: false }).pipe(
        Layer.provide(Layer.mergeAll(Compression.layerWasm, Auth.layerNone, Metrics.layerNoop))
      )
    )
  )
).pipe(
  Layer.provideMerge(NodeClient.layerHttpClient({ connectTimeout: "2 seconds" })),
  Layer.provide(Server.layer({ port: 0 }))
)

const session = Effect.flatMap(
  ObjectstoreClient.ObjectstoreClient,
  (client) => client.session(Usecase.make("wasm"), Scope.make({ org: 19 }))
)

/** Log-like text: compressible, but not trivially. */
const text = (size: number): Uint8Array => {
  const out = Buffer.alloc(size)
  let offset = 0
  let state = 19
  while (offset < size) {
    state = (state * 1103515245 + 12345) >>> 0
    offset += out.write(`${state % 1000} GET /objects/${(state >>> 8) % 4096} 200\n`, offset)
  }
  return out
}

const pieces = (bytes: Uint8Array, size: number): Stream.Stream<Uint8Array> => {
  const out: Array<Uint8Array> = []
  for (let offset = 0; offset < bytes.length; offset += size) out.push(bytes.subarray(offset, offset + size))
  return Stream.fromIterable(out)
}

const cases: ReadonlyArray<readonly [string, Uint8Array, "bytes" | number]> = [
  ["a small body in memory (one call)", text(3000), "bytes"],
  ["an empty body in memory", new Uint8Array(0), "bytes"],
  ["1.5 MiB in memory (compressed as a stream, block by block)", text(1_536 * 1024), "bytes"],
  ["a stream of many odd-sized chunks (700 KiB in 1000-byte chunks)", text(700 * 1024), 1000],
  ["an empty stream", new Uint8Array(0), 4096],
  [
    "2.5 MiB stream in 64 KiB chunks, a third of it random",
    Buffer.concat([text(1_700_000), randomBytes(900_000)]),
    65536
  ]
]

layer(WasmClient, { timeout: 60_000 })("Compression.layerWasm end to end (local server over TCP)", (it) => {
  for (const [name, payload, shape] of cases) {
    it.effect(`put with the default compression, read back: ${name}`, () =>
      Effect.gen(function*() {
        const s = yield* session
        const key = yield* s.put(shape === "bytes" ? payload : pieces(payload, shape))
        // Stored as zstd: the bytes as stored decode with Node's own codec to the same bytes...
        const stored = yield* Effect.scoped(s.get(key, { decompress: false }))
        assert.strictEqual(stored.metadata.compression, "zstd")
        const raw = yield* s.getBytes(key, { decompress: false })
        assert.isBelow(raw.length, Math.max(payload.length, 64), "compressed")
        const napi = yield* Compression.makeZstdNapi
        const decoded = yield* Compression.decompressBytes(napi, raw)
        assert.isTrue(Buffer.from(decoded).equals(payload), "napi decodes what the WebAssembly codec wrote")
        // ...and the client decodes it itself (fzstd), whole and as a stream.
        assert.isTrue(Buffer.from(yield* s.getBytes(key)).equals(payload), "getBytes")
        yield* s.delete(key)
      }))
  }
})

describe("Compression.layerWasm output", () => {
  layer(Compression.layerWasm)((it) => {
    it.effect("compresses at the default level: the size zstd-napi gets at level 3, not at 1 or 6", () =>
      Effect.gen(function*() {
        const wasm = yield* Compression.Compression
        const payload = text(2 * 1024 * 1024)
        const size = (yield* Compression.compressBytes(wasm, payload)).length
        const napi = (level: number) => zstd.compress(payload, { compressionLevel: level }).length
        const off = (level: number) => Math.abs(size - napi(level)) / napi(level)
        assert.strictEqual(Compression.DEFAULT_LEVEL, 3)
        assert.isBelow(off(3), 0.002)
        // Levels 1 and 6 are 2 to 4% away on this payload.
        assert.isAbove(off(1), 0.01)
        assert.isAbove(off(6), 0.01)
      }))

    it.effect("a body in memory becomes one frame with its content size (a decoder needs no 2 MiB window for it)", () =>
      Effect.gen(function*() {
        const wasm = yield* Compression.Compression
        for (const size of [0, 1024, 200_000, 1024 * 1024]) {
          const frame = yield* Compression.compressBytes(wasm, text(size))
          // Frame header descriptor (RFC 8878, section 3.1.1.1.1): a content size field, or a single segment.
          const descriptor = frame[4]!
          assert.isTrue((descriptor >> 6) !== 0 || (descriptor & 0x20) !== 0, `${size} bytes: no content size`)
          assert.isTrue(Buffer.from(yield* Compression.decompressBytes(wasm, frame)).equals(text(size)))
        }
      }))

    it.effect("concurrent streams each get their own zstd context", () =>
      Effect.gen(function*() {
        const wasm = yield* Compression.Compression
        const napi = yield* Compression.makeZstdNapi
        const payloads = Array.from({ length: 6 }, (_, i) => randomBytes(300_000 + i * 1000))
        // One 5000-byte chunk per pull with a yield between them, so the six codecs interleave.
        const outputs = yield* Effect.forEach(
          payloads,
          (payload) =>
            Bytes.collect(
              wasm.compress(pieces(payload, 5000).pipe(Stream.rechunk(1), Stream.tap(() => Effect.yieldNow())))
            ),
          { concurrency: "unbounded" }
        )
        for (const [i, output] of outputs.entries()) {
          const decoded = yield* Compression.decompressBytes(napi, output)
          assert.isTrue(Buffer.from(decoded).equals(payloads[i]!), `stream ${i}`)
        }
      }))
  })
})
