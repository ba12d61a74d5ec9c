/**
 * What `Session.put` uploads: bytes, a string (sent as UTF-8), a stream, or a replayable stream factory.
 *
 * Bytes, strings and replayable factories can be sent again, so the client retries their uploads after
 * transient failures; a plain stream is consumed by the first attempt and is never retried.
 *
 * @example
 * ```ts
 * import { Body } from "@objectstore/client"
 * import * as Stream from "effect/Stream"
 *
 * const body = Body.replayable(() => Stream.make(new Uint8Array([1, 2, 3])), { contentLength: 3 })
 * ```
 *
 * @since 0.1.0
 */
import * as Predicate from "effect/Predicate"
import type * as Stream from "effect/Stream"

const ReplayableTypeId: unique symbol = Symbol.for("@objectstore/client/Body/Replayable")

/**
 * A stream factory that produces the same bytes every time it is called.
 *
 * @since 0.1.0
 * @category models
 */
export interface Replayable<E = never, R = never> {
  readonly [ReplayableTypeId]: typeof ReplayableTypeId
  readonly make: () => Stream.Stream<Uint8Array, E, R>
  /** The exact byte length, when known: sent as `Content-Length` for uncompressed uploads. */
  readonly contentLength: number | undefined
}

/**
 * Every accepted upload body. `E` and `R` are the error and requirements of the caller's stream; a stream error
 * fails the upload with that same error.
 *
 * @since 0.1.0
 * @category models
 */
export type Input<E = never, R = never> =
  | Uint8Array
  | string
  | Stream.Stream<Uint8Array, E, R>
  | Replayable<E, R>

/**
 * A body sent with its exact length up front (multipart parts, resumable chunks): bytes, a replayable stream
 * factory, or a stream (whose length the caller then gives separately).
 *
 * @since 0.1.0
 * @category models
 */
export type Sized<E = never, R = never> = Uint8Array | Replayable<E, R> | Stream.Stream<Uint8Array, E, R>

/**
 * Marks a stream factory as replayable: each call must produce the same bytes. Uploads of replayable bodies
 * are retried like byte arrays.
 *
 * @since 0.1.0
 * @category constructors
 */
export const replayable = <E = never, R = never>(
  make: () => Stream.Stream<Uint8Array, E, R>,
  options?: { readonly contentLength?: number | undefined }
): Replayable<E, R> => ({ [ReplayableTypeId]: ReplayableTypeId, make, contentLength: options?.contentLength })

/**
 * @since 0.1.0
 * @category guards
 */
export const isReplayable = (u: unknown): u is Replayable<unknown, unknown> =>
  Predicate.hasProperty(u, ReplayableTypeId)
