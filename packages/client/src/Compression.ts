/**
 * zstd compression as a service.
 *
 * CONTRACT STUB (owned by the client-services work): the interface and Tag below are fixed; the layers are to be
 * implemented.
 *
 * @since 0.1.0
 */
import * as Context from "effect/Context"
import type * as Stream from "effect/Stream"
import type { CompressionError } from "./ObjectstoreError.js"

/**
 * @since 0.1.0
 * @category models
 */
export type Implementation = "node:zlib" | "zstd-napi" | "fzstd"

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
}

/**
 * @since 0.1.0
 * @category services
 */
export class Compression extends Context.Tag("@objectstore/client/Compression")<Compression, Service>() {}
