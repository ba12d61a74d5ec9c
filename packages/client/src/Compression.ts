/**
 * zstd compression as a service (PROTOCOL §7).
 *
 * Compression and decompression are `Stream` transformations: bytes flow through chunk by chunk, the whole payload
 * is never held in memory, and the codec only works when the consumer pulls (back-pressure). Failures of the input
 * stream pass through unchanged; failures of the codec (corrupt or truncated data, a missing encoder) become
 * `CompressionError`. The codec's resources are released when the stream ends, fails or is interrupted.
 *
 * - `compress` produces exactly one zstd frame per stream, at the library default level (3), like the upstream
 *   clients. An empty input compresses to a valid (empty) frame.
 * - `decompress` accepts one or more concatenated frames (multipart objects are frame concatenations). An empty
 *   input decompresses to an empty output; an input that ends inside a frame fails with `CompressionError`.
 * - `compressBytes` and `decompressBytes` do the same for bytes already in memory, in one call without a `Stream`
 *   (a `Stream` run costs more than compressing a small body). The codec contexts are pooled and reused: making one
 *   costs about 3 ms. The session uses them for bodies of up to 256 KiB; {@link compressBytes} and
 *   {@link decompressBytes} fall back to the streams for services without them.
 *
 * Layers:
 *
 * - {@link layerNodeZlib}: `node:zlib`'s `createZstdCompress` / `createZstdDecompress` (Node.js >= 22.15, Bun,
 *   Deno). Fails to build with `CompressionError` where the runtime lacks them (Node.js 20).
 * - {@link layerZstdNapi}: the `zstd-napi` native addon (an optional dependency), through its low-level streaming
 *   API. Fails to build with `CompressionError` when the addon is not installed.
 * - {@link layerWasm}: zstd compiled to WebAssembly (`@hpcc-js/wasm-zstd`, inlined in its JavaScript: a bundled page
 *   needs no extra file) for compression, `fzstd` for decompression. Imported and compiled only when this layer is
 *   built (about 0.1 to 0.3 s, once per process). Fails to build with `CompressionError` where WebAssembly cannot
 *   be compiled (a Content Security Policy without `'wasm-unsafe-eval'`).
 * - {@link layerFzstd}: pure JavaScript `fzstd`, decompression only; `compress` fails with `CompressionError`.
 * - {@link layer}: the best available, decided once when the layer is built: `node:zlib` (Node.js >= 22.15, Bun,
 *   Deno), else `zstd-napi` (Node.js 20), else WebAssembly (browsers, workers), else `fzstd` (no encoder).
 *
 * @example
 * ```ts
 * import * as Effect from "effect/Effect"
 * import * as Stream from "effect/Stream"
 * import * as Compression from "@objectstore/client/Compression"
 *
 * const roundTrip = Effect.gen(function*() {
 *   const zstd = yield* Compression.Compression
 *   const bytes = Stream.make(new TextEncoder().encode("hello"))
 *   return yield* Stream.runCollect(zstd.decompress(zstd.compress(bytes)))
 * }).pipe(Effect.provide(Compression.layer))
 * ```
 *
 * @since 0.1.0
 */
import * as Bytes from "@objectstore/protocol/Bytes"
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Stream from "effect/Stream"
import { codecError } from "./internal/codec.js"
import * as zstd from "./internal/zstd.js"
import * as zstdWasm from "./internal/zstdWasm.js"
import type { CompressionError } from "./ObjectstoreError.js"

/**
 * @since 0.1.0
 * @category models
 */
export type Implementation = "node:zlib" | "zstd-napi" | "wasm" | "fzstd"

/**
 * @since 0.1.0
 * @category models
 */
export interface Service {
  /** Which codec backs this service. */
  readonly implementation: Implementation
  /** Compresses a stream into one zstd frame, chunk by chunk, never holding the whole input. */
  readonly compress: <E, R>(
    self: Stream.Stream<Uint8Array, E, R>
  ) => Stream.Stream<Uint8Array, E | CompressionError, R>
  /** Decompresses a stream of one or more concatenated zstd frames, chunk by chunk. */
  readonly decompress: <E, R>(
    self: Stream.Stream<Uint8Array, E, R>
  ) => Stream.Stream<Uint8Array, E | CompressionError, R>
  /**
   * Compresses bytes already in memory into one zstd frame (with its content size) in one call. Optional: a
   * service without it is used through {@link compress} (see the module-level {@link compressBytes}).
   */
  readonly compressBytes?: ((bytes: Uint8Array) => Effect.Effect<Uint8Array, CompressionError>) | undefined
  /**
   * Decompresses bytes already in memory (one or more frames) in one call; fails with `CompressionError` on corrupt
   * or truncated data. Optional, like `compressBytes`.
   */
  readonly decompressBytes?: ((bytes: Uint8Array) => Effect.Effect<Uint8Array, CompressionError>) | undefined
}

/**
 * @since 0.1.0
 * @category services
 */
export class Compression extends Context.Tag("@objectstore/client/Compression")<Compression, Service>() {}

/**
 * The zstd level used for compression (the library default, as in the upstream clients).
 *
 * @since 0.1.0
 * @category constants
 */
export const DEFAULT_LEVEL: number = zstd.DEFAULT_LEVEL

const oneShot = (operation: "compress" | "decompress", run: ((bytes: Uint8Array) => Uint8Array) | undefined) =>
  run === undefined ?
    undefined :
    (bytes: Uint8Array): Effect.Effect<Uint8Array, CompressionError> =>
      Effect.try({ try: () => run(bytes), catch: (cause) => codecError(operation, cause) })

const service = (implementation: Implementation, backend: zstd.Backend): Service => {
  const compressBytes = oneShot("compress", backend.compressSync)
  const decompressBytes = oneShot("decompress", backend.decompressSync)
  const made = Compression.of({
    implementation,
    compress: backend.compress,
    decompress: backend.decompress,
    ...(compressBytes === undefined ? {} : { compressBytes }),
    ...(decompressBytes === undefined ? {} : { decompressBytes })
  })
  zstd.oneShots.set(made, {
    compress: backend.compressSync,
    compressInto: backend.compressInto,
    decompress: backend.decompressSync
  })
  return made
}

/**
 * Compresses `bytes` (already in memory) into one zstd frame with `service`: in one call when the service has
 * `compressBytes`, else through its `compress` stream. Fails with `CompressionError` when the codec fails (or the
 * service has no encoder).
 *
 * @since 0.1.0
 * @category combinators
 */
export const compressBytes = (service: Service, bytes: Uint8Array): Effect.Effect<Uint8Array, CompressionError> =>
  service.compressBytes !== undefined
    ? service.compressBytes(bytes)
    : Bytes.collect(service.compress(Stream.succeed(bytes)))

/**
 * Decompresses `bytes` (one or more zstd frames, already in memory) with `service`: in one call when the service
 * has `decompressBytes`, else through its `decompress` stream. Fails with `CompressionError` on corrupt or truncated
 * data.
 *
 * @since 0.1.0
 * @category combinators
 */
export const decompressBytes = (service: Service, bytes: Uint8Array): Effect.Effect<Uint8Array, CompressionError> =>
  service.decompressBytes !== undefined
    ? service.decompressBytes(bytes)
    : Bytes.collect(service.decompress(Stream.succeed(bytes)))

/**
 * Builds the `node:zlib` service; fails with `CompressionError` where `node:zlib` has no zstd streams.
 *
 * @since 0.1.0
 * @category constructors
 */
export const makeNodeZlib: Effect.Effect<Service, CompressionError> = Effect.map(
  zstd.loadZlib,
  (zlib) => service("node:zlib", zstd.zlibBackend(zlib))
)

/**
 * Builds the `zstd-napi` service; fails with `CompressionError` when the addon cannot be loaded.
 *
 * @since 0.1.0
 * @category constructors
 */
export const makeZstdNapi: Effect.Effect<Service, CompressionError> = Effect.zipWith(
  zstd.loadNapi,
  zstd.backgroundWorkers,
  (binding, workers) => service("zstd-napi", zstd.napiBackend(binding, workers))
)

/**
 * Builds the WebAssembly service (compression in WebAssembly, decompression with `fzstd`), importing and compiling
 * the codec on first use in the process; fails with `CompressionError` where WebAssembly cannot be compiled.
 *
 * @since 0.1.0
 * @category constructors
 */
export const makeWasm: Effect.Effect<Service, CompressionError> = Effect.map(
  zstdWasm.loadWasm,
  (binding) => service("wasm", zstdWasm.wasmBackend(binding))
)

/**
 * The `fzstd` service: decompression in pure JavaScript; `compress` fails with `CompressionError` ("no zstd
 * encoder available in this runtime") when the stream is run.
 *
 * @since 0.1.0
 * @category constructors
 */
export const fzstd: Service = service("fzstd", zstd.fzstdBackend)

/**
 * Builds the best available service: `node:zlib`, else `zstd-napi`, else WebAssembly, else `fzstd`.
 *
 * @since 0.1.0
 * @category constructors
 */
export const make: Effect.Effect<Service> = makeNodeZlib.pipe(
  Effect.orElse(() => makeZstdNapi),
  Effect.orElse(() => makeWasm),
  Effect.orElseSucceed(() => fzstd)
)

/**
 * zstd from `node:zlib` (Node.js >= 22.15, Bun, Deno). On runtimes without it (Node.js 20) the layer fails to build
 * with a `CompressionError` saying so.
 *
 * @since 0.1.0
 * @category layers
 */
export const layerNodeZlib: Layer.Layer<Compression, CompressionError> = Layer.effect(Compression, makeNodeZlib)

/**
 * zstd from the native `zstd-napi` addon, loaded when the layer is built (so this module can be imported where
 * the addon is absent). Fails to build with a `CompressionError` when it cannot be loaded. Where the machine has a
 * second core, a streamed body whose first chunk is 64 KiB or more is compressed on two background threads of
 * zstd's own (one frame, as on one thread), so the calling thread keeps sending; smaller bodies stay on it.
 *
 * @since 0.1.0
 * @category layers
 */
export const layerZstdNapi: Layer.Layer<Compression, CompressionError> = Layer.effect(Compression, makeZstdNapi)

/**
 * zstd compression in WebAssembly (`@hpcc-js/wasm-zstd`, zstd 1.5.7, level {@link DEFAULT_LEVEL}, one frame per
 * body) and decompression with `fzstd`: what {@link layer} picks in browsers and workers. The codec is imported and
 * compiled when the layer is built, once per process. Fails to build with a `CompressionError` where WebAssembly
 * cannot be compiled (a page whose Content Security Policy lacks `'wasm-unsafe-eval'`).
 *
 * @since 0.1.0
 * @category layers
 */
export const layerWasm: Layer.Layer<Compression, CompressionError> = Layer.effect(Compression, makeWasm)

/**
 * Decompression only, with pure JavaScript `fzstd` (works in every runtime). Compressing fails with
 * `CompressionError`, so pair it with uploads that use compression "none".
 *
 * @since 0.1.0
 * @category layers
 */
export const layerFzstd: Layer.Layer<Compression> = Layer.succeed(Compression, fzstd)

/**
 * The best available implementation, decided once when the layer is built: `node:zlib` (Node.js >= 22.15, Bun,
 * Deno), then `zstd-napi` (Node.js 20), then WebAssembly (browsers, workers; see {@link layerWasm}), then `fzstd`
 * (decompression only, where WebAssembly cannot be compiled). Read `implementation` to see which one was chosen.
 * The WebAssembly codec is never loaded where a native one is found.
 *
 * @since 0.1.0
 * @category layers
 */
export const layer: Layer.Layer<Compression> = Layer.effect(Compression, make)
