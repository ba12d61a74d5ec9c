/**
 * zstd compression in WebAssembly, for runtimes with neither `node:zlib` zstd nor the `zstd-napi` addon (browsers,
 * workers, a Node.js 20 install without the optional addon).
 *
 * The codec is `@hpcc-js/wasm-zstd` (Apache-2.0, no dependencies): zstd 1.5.7 compiled with Emscripten, the `.wasm`
 * inlined in its JavaScript, so a bundled page needs no extra file, URL or loader configuration. It is imported
 * (and the WebAssembly compiled) only when `Compression.layer` finds no native encoder, or `Compression.layerWasm`
 * is built; Node.js, Bun and Deno never load it through `Compression.layer`.
 *
 * The package's `Zstd` class keeps one streaming context for the whole page, copies every output byte through a
 * JavaScript array, and logs (rather than throws) one-shot failures; this module therefore drives the Emscripten
 * module underneath it (the `zstd` class of its `zstdlib` types: `compress` for `ZSTD_compress`,
 * `compressChunk`/`compressEnd` around `ZSTD_compressStream2`, `compressBound`, `isError`), with one context per
 * stream, taken from a small pool, and its own buffers in WebAssembly memory. The shape is checked when the module loads, so a version whose internals
 * differ fails with a `CompressionError` instead of compressing wrongly (the version is pinned exactly).
 *
 * `compressChunk` flushes after every call, so input is gathered into {@link BLOCK}-sized pieces first (zstd's
 * largest block; a flush there costs nothing): one zstd frame per stream, in bounded memory, whatever the sizes of
 * the input chunks. Decompression is `fzstd`'s, as everywhere without a native decoder.
 *
 * @internal
 */
import type * as HpccZstd from "@hpcc-js/wasm-zstd"
import * as Effect from "effect/Effect"
import type { CompressionError } from "../ObjectstoreError.js"
import { codecError, type SyncCodec, transformSync } from "./codec.js"
import { type Backend, DEFAULT_LEVEL, fzstdBackend, Pool, runWhole } from "./zstd.js"

/** The Emscripten module's heap and allocator. */
interface WasmModule {
  readonly _malloc: (size: number) => number
  readonly _free: (pointer: number) => void
  /** Replaced when the memory grows: read it after every call that may allocate. */
  readonly HEAPU8: Uint8Array
}

/** One `ZSTD_CStream` (an Embind object: its memory is freed only by `delete`). */
interface WasmStream {
  reset(): void
  setCompressionLevel(level: number): void
  /** `ZSTD_compressStream2` with a flush, looped until the input is consumed; returns the bytes written. */
  compressChunk(dst: number, capacity: number, src: number, size: number): number
  /** Ends the frame; returns the bytes written. */
  compressEnd(dst: number, capacity: number): number
  delete(): void
}

interface WasmZstdClass {
  new(): WasmStream
  /** `ZSTD_compress`: one frame with the content size in its header; returns the bytes written. */
  compress(dst: number, capacity: number, src: number, size: number, level: number): number
  compressBound(size: number): number
  CStreamOutSize(): number
  isError(code: number): number | boolean
  getErrorName(code: number): string
}

/** The parts of the WebAssembly module this codec uses. @internal */
export interface WasmBinding {
  readonly module: WasmModule
  readonly zstd: WasmZstdClass
  /** The zstd version compiled in (`1.5.7`). */
  readonly version: string
}

/**
 * Input gathered per codec call: zstd's largest block (128 KiB). `compressChunk` flushes, so smaller calls would end
 * blocks early and compress worse; larger ones only grow the WebAssembly memory (which never shrinks).
 *
 * @internal
 */
export const BLOCK = 128 * 1024

const shapeError = "@hpcc-js/wasm-zstd's module does not have the expected shape (a different version?)"

const isFunction = (value: unknown): boolean => typeof value === "function"

const bindingOf = (instance: HpccZstd.Zstd): WasmBinding => {
  // `_mainModule._module` and `_zstdClass` are private in the package's types, present at run time.
  const raw = instance as unknown as {
    readonly _mainModule?: { readonly _module?: Partial<WasmModule> }
    readonly _zstdClass?: Partial<Record<keyof WasmZstdClass, unknown>> & { readonly prototype?: object }
  }
  const module = raw._mainModule?._module
  const zstd = raw._zstdClass
  const prototype = zstd?.prototype as Partial<Record<keyof WasmStream, unknown>> | undefined
  const ok = module !== undefined && zstd !== undefined && prototype !== undefined &&
    isFunction(module._malloc) && isFunction(module._free) && module.HEAPU8 instanceof Uint8Array &&
    isFunction(zstd.compress) && isFunction(zstd.compressBound) && isFunction(zstd.CStreamOutSize) &&
    isFunction(zstd.isError) &&
    isFunction(zstd.getErrorName) && isFunction(prototype.compressChunk) && isFunction(prototype.compressEnd) &&
    isFunction(prototype.reset) && isFunction(prototype.setCompressionLevel)
  if (!ok) throw new Error(shapeError)
  return { module: module as WasmModule, zstd: zstd as unknown as WasmZstdClass, version: instance.version() }
}

let loading: Promise<WasmBinding> | undefined

/**
 * Imports `@hpcc-js/wasm-zstd` and compiles its WebAssembly, once per process (later calls share the module);
 * fails with a `CompressionError` where WebAssembly cannot be compiled (a page whose Content Security Policy lacks
 * `'wasm-unsafe-eval'`) or the package is missing. A failed load is tried again by the next call.
 *
 * @internal
 */
export const loadWasm: Effect.Effect<WasmBinding, CompressionError> = Effect.tryPromise({
  try: () => {
    loading ??= import("@hpcc-js/wasm-zstd").then((library) => library.Zstd.load()).then(bindingOf).catch(
      (cause: unknown) => {
        loading = undefined
        throw cause
      }
    )
    return loading
  },
  catch: (cause) =>
    codecError(
      "compress",
      `WebAssembly zstd is not available in this runtime (${cause instanceof Error ? cause.message : String(cause)})`
    )
})

/** A zstd stream with its input and output buffers in WebAssembly memory, reused across bodies. */
interface Context {
  readonly stream: WasmStream
  readonly input: number
  readonly output: number
  readonly capacity: number
}

const newContext = (binding: WasmBinding): Context => {
  const { module, zstd } = binding
  const capacity = zstd.compressBound(BLOCK) + zstd.CStreamOutSize()
  const input = module._malloc(BLOCK)
  const output = module._malloc(capacity)
  const stream = new zstd()
  if (input === 0 || output === 0) {
    if (input !== 0) module._free(input)
    if (output !== 0) module._free(output)
    stream.delete()
    throw new Error("out of WebAssembly memory")
  }
  stream.reset()
  stream.setCompressionLevel(DEFAULT_LEVEL)
  return { stream, input, output, capacity }
}

const disposeContext = (binding: WasmBinding, context: Context): void => {
  context.stream.delete()
  binding.module._free(context.input)
  binding.module._free(context.output)
}

/** The `code` bytes a call wrote at `output`, copied out of WebAssembly memory (or a codec error thrown). */
const written = (binding: WasmBinding, output: number, code: number): Uint8Array => {
  if (binding.zstd.isError(code)) throw new Error(`zstd: ${binding.zstd.getErrorName(code)}`)
  return binding.module.HEAPU8.slice(output, output + code)
}

/**
 * Bodies up to this size are compressed by `compressSync` in one `ZSTD_compress` call, into a frame with the
 * content size in its header: a decoder then needs a window of the body's size, not the level's 2 MiB, which made
 * fzstd take milliseconds for a 1 KiB body. Larger ones go through a pooled stream, block by block, so that a large
 * body does not grow the WebAssembly memory (which never shrinks) by twice its size.
 *
 * @internal
 */
export const ONE_SHOT_LIMIT = 1024 * 1024

const compressOnce = (binding: WasmBinding, bytes: Uint8Array): Uint8Array => {
  const { module, zstd } = binding
  const capacity = zstd.compressBound(bytes.length)
  const input = module._malloc(Math.max(1, bytes.length))
  const output = module._malloc(capacity)
  try {
    if (input === 0 || output === 0) throw new Error("out of WebAssembly memory")
    module.HEAPU8.set(bytes, input)
    return written(binding, output, zstd.compress(output, capacity, input, bytes.length, DEFAULT_LEVEL))
  } finally {
    if (input !== 0) module._free(input)
    if (output !== 0) module._free(output)
  }
}

const compressor = (binding: WasmBinding, pool: Pool<Context>): SyncCodec => {
  let context: Context | undefined = pool.take()
  let filled = 0
  const current = () => {
    if (context === undefined) throw new Error("the zstd context was released")
    return context
  }
  const flush = (): Uint8Array => {
    const { capacity, input, output, stream } = current()
    const size = filled
    filled = 0
    return written(binding, output, stream.compressChunk(output, capacity, input, size))
  }
  return {
    *push(chunk) {
      let offset = 0
      while (offset < chunk.length) {
        const take = Math.min(BLOCK - filled, chunk.length - offset)
        binding.module.HEAPU8.set(chunk.subarray(offset, offset + take), current().input + filled)
        filled += take
        offset += take
        if (filled === BLOCK) {
          const out = flush()
          if (out.length > 0) yield out
        }
      }
    },
    *finish() {
      if (filled > 0) {
        const out = flush()
        if (out.length > 0) yield out
      }
      const { capacity, output, stream } = current()
      yield written(binding, output, stream.compressEnd(output, capacity))
    },
    release() {
      if (context === undefined) return
      const released = context
      context = undefined
      // Back to the pool without the frame it was in (the level is set again: `reset` may clear it).
      released.stream.reset()
      released.stream.setCompressionLevel(DEFAULT_LEVEL)
      if (!pool.give(released)) disposeContext(binding, released)
    }
  }
}

/**
 * The WebAssembly backend: compression with pooled zstd streams, or one `ZSTD_compress` call for a body in memory
 * of up to {@link ONE_SHOT_LIMIT} (one frame per stream or call, at {@link DEFAULT_LEVEL}), decompression with
 * `fzstd`.
 *
 * @internal
 */
export const wasmBackend = (binding: WasmBinding): Backend => {
  const contexts = new Pool(() => newContext(binding))
  return {
    compress: (self) => transformSync(self, "compress", () => compressor(binding, contexts)),
    decompress: fzstdBackend.decompress,
    compressSync: (bytes) =>
      bytes.length <= ONE_SHOT_LIMIT ? compressOnce(binding, bytes) : runWhole(compressor(binding, contexts), bytes),
    decompressSync: fzstdBackend.decompressSync
  }
}
