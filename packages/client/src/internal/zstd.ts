/**
 * The three zstd backends, each loaded lazily so that importing the Compression module never requires a native
 * addon or a Node.js built-in.
 *
 * @internal
 */
import * as Bytes from "@objectstore/protocol/Bytes"
import * as Effect from "effect/Effect"
import type * as Stream from "effect/Stream"
import { Decompress } from "fzstd"
import type { Duplex } from "node:stream"
import type { CompressionError } from "../ObjectstoreError.js"
import { importBuiltin } from "./builtin.js"
import { codecError, type SyncCodec, transformNode, transformNodeFrames, transformSync } from "./codec.js"
import * as ZstdFrames from "./zstdFrames.js"

/** @internal */
export interface Backend {
  readonly compress: <E, R>(self: Stream.Stream<Uint8Array, E, R>) => Stream.Stream<Uint8Array, E | CompressionError, R>
  readonly decompress: <E, R>(
    self: Stream.Stream<Uint8Array, E, R>
  ) => Stream.Stream<Uint8Array, E | CompressionError, R>
  /** One frame of `bytes`, in one synchronous call (throws on codec failure). */
  readonly compressSync?: ((bytes: Uint8Array) => Uint8Array) | undefined
  /**
   * As `compressSync`, written into `into` (at least `compressBound(bytes.length)` long): the bytes written. Throws
   * on codec failure.
   */
  readonly compressInto?: ((into: Uint8Array, bytes: Uint8Array) => number) | undefined
  /** The content of the frames in `bytes`, in one synchronous call (throws on corrupt or truncated data). */
  readonly decompressSync?: ((bytes: Uint8Array) => Uint8Array) | undefined
}

/**
 * Runs a fresh or pooled {@link SyncCodec} over one whole input and returns its whole output: the codec without
 * any `Stream` around it (for bodies already in memory). Throws what the codec throws.
 *
 * @internal
 */
export const runWhole = (codec: SyncCodec, bytes: Uint8Array): Uint8Array => {
  const out: Array<Uint8Array> = []
  try {
    for (let it = codec.push(bytes), next = it.next(); next.done !== true; next = it.next()) out.push(next.value)
    for (let it = codec.finish(), next = it.next(); next.done !== true; next = it.next()) out.push(next.value)
  } finally {
    codec.release()
  }
  return Bytes.concat(out)
}

/**
 * A small free list of native contexts: making a zstd context (and the buffers its first frame allocates) costs
 * about 3 ms, far more than compressing a small body, so contexts are reset and reused. At most {@link POOL_SIZE}
 * idle contexts are kept; more concurrent streams make contexts of their own, dropped (to the garbage collector)
 * when they end.
 */
const POOL_SIZE = 8

/** @internal */
export class Pool<A> {
  readonly #idle: Array<A> = []
  readonly #make: () => A
  readonly #size: number
  constructor(make: () => A, size = POOL_SIZE) {
    this.#make = make
    this.#size = size
  }
  take(): A {
    return this.#idle.pop() ?? this.#make()
  }
  /** Keeps `context` for reuse; `false` when the pool is full (the caller disposes of it). */
  give(context: A): boolean {
    if (this.#idle.length >= this.#size) return false
    this.#idle.push(context)
    return true
  }
}

/** The level the upstream clients use (the library default). @internal */
export const DEFAULT_LEVEL = 3

const EMPTY = new Uint8Array(0)

const copy = (buffer: Uint8Array, length: number): Uint8Array => buffer.slice(0, length)

// ---------------------------------------------------------------------------------------------------------------
// zstd-napi (the low-level `zstd-napi/binding` API: ZSTD_compressStream2 / ZSTD_decompressStream)
// ---------------------------------------------------------------------------------------------------------------

type StreamResult = [remainingOrHint: number, produced: number, consumed: number]

interface NapiCCtx {
  setParameter(param: number, value: number): void
  reset(reset: number): void
  compress2(dst: Uint8Array, src: Uint8Array): number
  compressStream2(dst: Uint8Array, src: Uint8Array, endOp: number): StreamResult
}

interface NapiDCtx {
  reset(reset: number): void
  decompress(dst: Uint8Array, src: Uint8Array): number
  decompressStream(dst: Uint8Array, src: Uint8Array): StreamResult
}

/** The part of `zstd-napi/binding` this module uses. @internal */
export interface NapiBinding {
  readonly CCtx: new() => NapiCCtx
  readonly DCtx: new() => NapiDCtx
  readonly CParameter: { readonly compressionLevel: number; readonly nbWorkers: number; readonly jobSize: number }
  readonly EndDirective: { readonly continue: number; readonly end: number }
  readonly ResetDirective: { readonly sessionOnly: number; readonly sessionAndParameters: number }
  readonly compressBound: (size: number) => number
  readonly cStreamOutSize: () => number
  readonly dStreamOutSize: () => number
  readonly getFrameContentSize: (frame: Uint8Array) => number | null
  readonly findFrameCompressedSize: (frame: Uint8Array) => number
}

/** A single frame that says its content size up to this is decompressed in one call into a buffer of that size. */
const ONE_CALL_LIMIT = 16 * 1024 * 1024

/**
 * `bytes` decompressed in one call (`ZSTD_decompressDCtx`) when it is exactly one frame whose header gives its
 * content size (as `compress2` writes it) of at most {@link ONE_CALL_LIMIT}; `undefined` otherwise. A 1 KiB body:
 * about 3 us, against 9 through the streaming decoder.
 */
const napiDecompressWhole = (binding: NapiBinding, pool: Pool<NapiDCtx>, bytes: Uint8Array): Uint8Array | undefined => {
  let size: number | null
  try {
    size = binding.getFrameContentSize(bytes)
    if (size === null || size > ONE_CALL_LIMIT || binding.findFrameCompressedSize(bytes) !== bytes.length) {
      return undefined
    }
  } catch {
    return undefined // not a whole frame: the streaming decoder says what is wrong
  }
  const dctx = pool.take()
  try {
    const out = new Uint8Array(size)
    const written = dctx.decompress(out, bytes)
    if (written !== size) throw new Error(`zstd frame content size ${size} but ${written} bytes decoded`)
    return out
  } finally {
    dctx.reset(binding.ResetDirective.sessionOnly)
    pool.give(dctx)
  }
}

const newCCtx = (binding: NapiBinding): NapiCCtx => {
  const cctx = new binding.CCtx()
  cctx.setParameter(binding.CParameter.compressionLevel, DEFAULT_LEVEL)
  return cctx
}

/**
 * The input one background job compresses at a time. zstd's own default at level 3 is 8 MiB (4 windows), and a
 * stream holds a few jobs' input and output; 2 MiB jobs add about 9 MiB to a streamed put's peak RSS (1 GiB put, 2
 * workers: median 78 against 69 MiB above idle on one thread), 4 MiB jobs about 18 MiB for little more speed. On the
 * benchmark's 64 MiB payload the ratio is the same (3.50 against 3.49 on one thread).
 */
const JOB_SIZE = 2 * 1024 * 1024

/**
 * A context that compresses on a background thread of zstd's own (`ZSTD_c_nbWorkers`), so a streamed body is
 * compressed on a second core while this thread sends what is ready. Its calls do not block while a job runs, but
 * for the last one of a frame.
 */
const newParallelCCtx = (binding: NapiBinding, workers: number): NapiCCtx => {
  const cctx = newCCtx(binding)
  cctx.setParameter(binding.CParameter.nbWorkers, workers)
  cctx.setParameter(binding.CParameter.jobSize, JOB_SIZE)
  return cctx
}

/**
 * The output buffers of one backend, shared by all its codecs: a codec call writes into it and its output is copied
 * out before the call returns, so no two uses overlap. (A 128 KiB buffer per body cost more than compressing it.)
 */
interface Scratch {
  readonly compress: Uint8Array
  readonly decompress: Uint8Array
}

/**
 * The first chunk from which a streamed compress goes to a context with a background worker: a body that starts
 * with a chunk this large is a large body (files are read, and large bodies in memory sliced, in 64 KiB or larger
 * pieces), while a small one is compressed faster on the calling thread than handed to another.
 */
const PARALLEL_FROM = 64 * 1024

const napiCompressor = (
  binding: NapiBinding,
  pools: { readonly serial: Pool<NapiCCtx>; readonly parallel: Pool<NapiCCtx> | undefined },
  buffers: Scratch
): SyncCodec => {
  let pool: Pool<NapiCCtx> | undefined
  let cctx: NapiCCtx | undefined
  let released = false
  const scratch = buffers.compress
  // Taken on first use, so that the first chunk's size can choose the context.
  const context = (first: number) => {
    if (released) throw new Error("the zstd context was released")
    if (cctx === undefined) {
      pool = pools.parallel !== undefined && first >= PARALLEL_FROM ? pools.parallel : pools.serial
      cctx = pool.take()
    }
    return cctx
  }
  return {
    *push(chunk) {
      let input = chunk
      while (input.length > 0) {
        const [, produced, consumed] = context(chunk.length).compressStream2(
          scratch,
          input,
          binding.EndDirective.continue
        )
        input = input.subarray(consumed)
        if (produced > 0) yield copy(scratch, produced)
      }
    },
    *finish() {
      for (;;) {
        const [remaining, produced] = context(0).compressStream2(scratch, EMPTY, binding.EndDirective.end)
        if (produced > 0) yield copy(scratch, produced)
        if (remaining === 0) return
      }
    },
    release() {
      // Back to the pool without the frame it was in (the level stays set).
      released = true
      if (cctx === undefined || pool === undefined) return
      const done = cctx
      cctx = undefined
      done.reset(binding.ResetDirective.sessionOnly)
      pool.give(done)
    }
  }
}

const napiDecompressor = (binding: NapiBinding, pool: Pool<NapiDCtx>, buffers: Scratch): SyncCodec => {
  let dctx: NapiDCtx | undefined = pool.take()
  const scratch = buffers.decompress
  let inFrame = false
  const context = () => {
    if (dctx === undefined) throw new Error("the zstd context was released")
    return dctx
  }
  return {
    *push(chunk) {
      if (chunk.length === 0) return
      let input = chunk
      for (;;) {
        const [hint, produced, consumed] = context().decompressStream(scratch, input)
        input = input.subarray(consumed)
        if (produced > 0) yield copy(scratch, produced)
        // Done with this chunk once it is consumed and the context has no more output buffered.
        if (input.length === 0 && (produced < scratch.length || hint === 0)) {
          inFrame = hint !== 0
          return
        }
      }
    },
    *finish() {
      if (inFrame) throw new Error("truncated input: the data ended in the middle of a zstd frame")
    },
    release() {
      if (dctx === undefined) return
      const released = dctx
      dctx = undefined
      released.reset(binding.ResetDirective.sessionOnly)
      pool.give(released)
    }
  }
}

/**
 * Loads `zstd-napi/binding.js`, failing with a `CompressionError` when the optional dependency is not installed or
 * its native addon cannot be loaded.
 *
 * @internal
 */
export const loadNapi: Effect.Effect<NapiBinding, CompressionError> = Effect.tryPromise({
  try: async () => {
    const specifier = "zstd-napi/binding.js" // the file itself: the package has no exports map
    const module = await import(/* @vite-ignore */ specifier)
    return (module.default ?? module) as NapiBinding
  },
  catch: (cause) => codecError("compress", `zstd-napi is not available in this runtime (${errorSummary(cause)})`)
})

/**
 * Background threads for streamed compression: two where the machine has a second core (the calling thread keeps
 * sending while they compress), none otherwise. A 64 MiB put, SDK against raw undici with one zstd-napi stream in one
 * interleaved run, 2 cores, the local server on the same machine: one worker 1.04-1.12x, two 1.22-1.42x; more would
 * only add memory per stream.
 *
 * @internal
 */
export const backgroundWorkers: Effect.Effect<number> = Effect.tryPromise(() =>
  importBuiltin<{ availableParallelism?: () => number; cpus: () => ReadonlyArray<unknown> }>("node:os")
).pipe(
  Effect.map((os) => {
    const module = (os as { default?: typeof os }).default ?? os
    const cores = typeof module.availableParallelism === "function"
      ? module.availableParallelism()
      : module.cpus().length
    return cores > 1 ? 2 : 0
  }),
  Effect.orElseSucceed(() => 0)
)

const errorSummary = (cause: unknown): string =>
  cause instanceof Error ? (cause as Error & { code?: string }).code ?? cause.message.split("\n")[0]! : "load failed"

/**
 * `workers`: background threads for a streamed compress (0: compress on the calling thread). Bodies compressed in
 * one call (`compressSync`, at most a few hundred KiB) always use the calling thread: handing a small body to
 * another thread costs more than compressing it.
 *
 * @internal
 */
export const napiBackend = (binding: NapiBinding, workers = 0): Backend => {
  const compressors = new Pool(() => newCCtx(binding))
  const streamCompressors = {
    serial: compressors,
    // Few idle ones: each keeps its thread and job buffers (a few MiB) while it waits.
    parallel: workers > 0 ? new Pool(() => newParallelCCtx(binding, workers), 2) : undefined
  }
  const decompressors = new Pool(() => new binding.DCtx())
  // `ZSTD_compress2`: one frame with the content size in its header, into a buffer that always fits it.
  const compressInto = (into: Uint8Array, bytes: Uint8Array): number => {
    const cctx = compressors.take()
    try {
      return cctx.compress2(into, bytes)
    } finally {
      cctx.reset(binding.ResetDirective.sessionOnly)
      compressors.give(cctx)
    }
  }
  const scratch: Scratch = {
    compress: new Uint8Array(binding.cStreamOutSize()),
    decompress: new Uint8Array(binding.dStreamOutSize())
  }
  return {
    compress: (self) => transformSync(self, "compress", () => napiCompressor(binding, streamCompressors, scratch)),
    decompress: (self) => transformSync(self, "decompress", () => napiDecompressor(binding, decompressors, scratch)),
    compressSync: (bytes) => {
      const out = new Uint8Array(binding.compressBound(bytes.length))
      const written = compressInto(out, bytes)
      return written === out.length ? out : out.slice(0, written)
    },
    compressInto,
    // The streaming decoder, run once over the whole input: it handles concatenated frames, frames without a
    // content size, and reports truncation.
    decompressSync: (bytes) =>
      napiDecompressWhole(binding, decompressors, bytes) ??
        runWhole(napiDecompressor(binding, decompressors, scratch), bytes)
  }
}

// ---------------------------------------------------------------------------------------------------------------
// fzstd (pure JavaScript; decompression only)
// ---------------------------------------------------------------------------------------------------------------

/**
 * fzstd decodes every complete block of the input it is given in one call, so the input is fed in slices sized for
 * about {@link FZSTD_TARGET} bytes of output per call: 16 KiB slices for ordinary data, down to a few bytes when the
 * data expands hugely (a 4-byte RLE block is 128 KiB of output), so that a small frame of a huge payload is never
 * decoded all at once.
 */
const FZSTD_TARGET = 256 * 1024
const FZSTD_MAX_SLICE = 16 * 1024
const FZSTD_MIN_SLICE = 8
/** The first slice of a stream: at most a few blocks' worth, grown quickly while the output stays small. */
const FZSTD_FIRST_SLICE = 64

const fzstdDecompressor = (): SyncCodec => {
  let pending: Array<Uint8Array> = []
  let produced = 0
  let slice = FZSTD_FIRST_SLICE
  let decoder: Decompress | undefined = new Decompress((data) => {
    if (data.length > 0) {
      pending.push(data)
      produced += data.length
    }
  })
  const take = () => {
    const out = pending
    pending = []
    return out
  }
  const context = () => {
    if (decoder === undefined) throw new Error("the zstd decoder was released")
    return decoder
  }
  return {
    *push(chunk) {
      let offset = 0
      while (offset < chunk.length) {
        const size = Math.min(slice, chunk.length - offset)
        produced = 0
        context().push(chunk.subarray(offset, offset + size), false)
        offset += size
        // The next slice: sized by this one's expansion, doubled while nothing came out (a block is incomplete).
        slice = produced === 0
          ? Math.min(FZSTD_MAX_SLICE, slice * 2)
          : Math.max(FZSTD_MIN_SLICE, Math.min(FZSTD_MAX_SLICE, Math.floor(size * FZSTD_TARGET / produced)))
        if (pending.length > 0) yield* take()
      }
    },
    *finish() {
      try {
        context().push(EMPTY, true)
      } catch (cause) {
        // fzstd reports every premature end as "unexpected EOF".
        throw new Error(`truncated input: ${cause instanceof Error ? cause.message : "unexpected end of data"}`)
      }
      yield* take()
    },
    release() {
      pending = []
      decoder = undefined
    }
  }
}

/** @internal */
export const NO_ENCODER = "no zstd encoder available in this runtime"

/** @internal */
export const fzstdBackend: Backend = {
  compress: (self) =>
    transformSync(self, "compress", () => {
      throw new Error(NO_ENCODER)
    }),
  decompress: (self) => transformSync(self, "decompress", fzstdDecompressor),
  decompressSync: (bytes) => runWhole(fzstdDecompressor(), bytes)
}

// ---------------------------------------------------------------------------------------------------------------
// node:zlib (Node >= 22.15, Bun, Deno: zlib.createZstdCompress / createZstdDecompress)
// ---------------------------------------------------------------------------------------------------------------

/** The part of `node:zlib` with zstd support. @internal */
export interface ZlibZstd {
  readonly createZstdCompress: (options?: { params?: Record<number, number> }) => Duplex
  readonly createZstdDecompress: () => Duplex
  /** One-shot compression (Node.js >= 22.15). */
  readonly zstdCompressSync?:
    | ((bytes: Uint8Array, options?: { params?: Record<number, number> }) => Uint8Array)
    | undefined
  /** One-shot decompression of one frame (Node.js >= 22.15, Bun, Deno). */
  readonly zstdDecompressSync?: ((bytes: Uint8Array) => Uint8Array) | undefined
  readonly constants: { readonly ZSTD_c_compressionLevel?: number }
}

/**
 * Loads `node:zlib` and checks that it has zstd streams.
 *
 * @internal
 */
export const loadZlib: Effect.Effect<ZlibZstd, CompressionError> = Effect.tryPromise({
  try: () => importBuiltin<object>("node:zlib"),
  catch: () => codecError("compress", "node:zlib is not available in this runtime")
}).pipe(
  Effect.flatMap((zlib) => {
    const candidate = ((zlib as { default?: unknown }).default ?? zlib) as Partial<ZlibZstd>
    return typeof candidate.createZstdCompress === "function" && typeof candidate.createZstdDecompress === "function"
      ? Effect.succeed(candidate as ZlibZstd)
      : Effect.fail(
        codecError("compress", "node:zlib has no zstd streams in this runtime (needs Node.js >= 22.15, Bun or Deno)")
      )
  })
)

/** @internal */
export const zlibBackend = (zlib: ZlibZstd): Backend => {
  const level = zlib.constants.ZSTD_c_compressionLevel
  const options = level === undefined ? {} : { params: { [level]: DEFAULT_LEVEL } }
  const compressSync = zlib.zstdCompressSync
  return {
    compress: (self) => transformNode(self, "compress", () => zlib.createZstdCompress(options)),
    // One transform per frame: Node.js 22's stops after the first frame and accepts a truncated one.
    decompress: (self) => transformNodeFrames(self, () => zlib.createZstdDecompress()),
    compressSync: typeof compressSync === "function" ? (bytes) => compressSync(bytes, options) : undefined,
    // A body in memory, in one call per frame. Without the one-shot decoder, fzstd: a transform stream per body
    // costs milliseconds (3-18 ms for 1 KiB on Node 22/24, Bun and Deno, against 7-28 us one-shot).
    decompressSync: typeof zlib.zstdDecompressSync === "function"
      ? framewise(zlib.zstdDecompressSync)
      : fzstdBackend.decompressSync
  }
}

/**
 * A one-shot decoder for one or more frames, from one that decodes a single frame: the input is split at frame
 * boundaries first (so a decoder that stops after the first frame, or accepts a truncated one, as Node.js 22's does,
 * still reads them all and rejects a cut), skippable frames dropped.
 */
const framewise = (decodeFrame: (frame: Uint8Array) => Uint8Array) => (bytes: Uint8Array): Uint8Array => {
  const scanner = ZstdFrames.make()
  const out: Array<Uint8Array> = []
  let frame: Array<Uint8Array> = []
  for (const segment of scanner.split(bytes)) {
    frame.push(segment.bytes)
    if (segment.endsFrame) {
      const decoded = decodeFrame(frame.length === 1 ? frame[0]! : Bytes.concat(frame))
      if (decoded.length > 0) out.push(decoded)
      frame = []
    }
  }
  if (!scanner.atBoundary()) throw new Error("truncated input: the data ended in the middle of a zstd frame")
  return out.length === 1 ? out[0]! : Bytes.concat(out)
}

export const oneShots = new WeakMap<object, {
  readonly compress: ((bytes: Uint8Array) => Uint8Array) | undefined
  readonly compressInto: ((into: Uint8Array, bytes: Uint8Array) => number) | undefined
  readonly decompress: ((bytes: Uint8Array) => Uint8Array) | undefined
}>()

/**
 * Whether `service` is one of this package's own codecs (see {@link oneShots}).
 *
 * @internal
 */
export const isRealCodec = (service: object): boolean => oneShots.has(service)
