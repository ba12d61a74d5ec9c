/**
 * Metrics of client operations.
 *
 * CONTRACT STUB (owned by the client-services work): the interface and Tag below are fixed; the layers are to be
 * implemented.
 *
 * @since 0.1.0
 */
import * as Context from "effect/Context"
import type * as Duration from "effect/Duration"
import type * as Effect from "effect/Effect"

/**
 * @since 0.1.0
 * @category models
 */
export type Operation =
  | "put"
  | "get"
  | "head"
  | "delete"
  | "many"
  | "multipart.initiate"
  | "multipart.put_part"
  | "multipart.list_parts"
  | "multipart.complete"
  | "multipart.abort"

/**
 * @since 0.1.0
 * @category models
 */
export interface Sizes {
  /** Bytes sent (or received): the compressed size when compressed. */
  readonly bytes: number
  readonly compression?: "none" | "zstd" | undefined
  /** The uncompressed size, when known and different from `bytes`. */
  readonly uncompressedBytes?: number | undefined
  readonly elapsed: Duration.Duration
}

/**
 * @since 0.1.0
 * @category models
 */
export interface Service {
  /** Wraps one operation: records its latency and counts it by outcome. */
  readonly track: <A, E, R>(
    operation: Operation,
    usecase: string,
    effect: Effect.Effect<A, E, R>
  ) => Effect.Effect<A, E, R>
  /** Records the sizes of a finished transfer (size, compression ratio, throughput). */
  readonly recordSize: (operation: Operation, usecase: string, sizes: Sizes) => Effect.Effect<void>
  /** Counts a response status. */
  readonly recordResponse: (operation: Operation, usecase: string, status: number) => Effect.Effect<void>
  /** Counts a retry. */
  readonly recordRetry: (operation: Operation, usecase: string) => Effect.Effect<void>
}

/**
 * @since 0.1.0
 * @category services
 */
export class Metrics extends Context.Tag("@objectstore/client/Metrics")<Metrics, Service>() {}
