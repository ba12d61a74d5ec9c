/**
 * Helpers shared by the memory and filesystem stores: the canonical identity key of an object, the chunk size of
 * payload streams, slicing bytes into such a stream, and the expiry test.
 *
 * @internal
 */
import * as Stream from "effect/Stream"
import type * as StorageModel from "../StorageModel.js"

/** @internal */
export const CHUNK_SIZE = 64 * 1024

/** @internal */
export const identityKey = (id: StorageModel.ObjectId): string =>
  JSON.stringify([id.usecase, id.scopes.map(([name, value]) => [name, value]), id.key])

/** Streams `bytes[start..=end]` in chunks of at most `CHUNK_SIZE`. @internal */
export const sliceStream = (bytes: Uint8Array, start: number, end: number): Stream.Stream<Uint8Array> => {
  if (end < start) return Stream.empty
  const pieces: Array<Uint8Array> = []
  for (let offset = start; offset <= end; offset += CHUNK_SIZE) {
    pieces.push(bytes.subarray(offset, Math.min(end + 1, offset + CHUNK_SIZE)))
  }
  return Stream.fromIterable(pieces)
}

/** @internal */
export const isExpiredAt = (metadata: StorageModel.ObjectInfo["metadata"], now: bigint): boolean =>
  metadata.expirationPolicy._tag !== "Manual" && metadata.timeExpires !== undefined && metadata.timeExpires < now
