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

// The last usecase and scopes seen, and the start of their identity keys: the operations of one request (a batch
// has up to 1000) share them, and encoding them was most of an identity key's cost.
let lastUsecase: string | undefined
let lastScopes: StorageModel.ObjectId["scopes"] | undefined
let lastPrefix = ""

/**
 * `JSON.stringify([usecase, scopes, key])`: one string per object, unambiguous.
 *
 * @internal
 */
export const identityKey = (id: StorageModel.ObjectId): string => {
  if (id.scopes !== lastScopes || id.usecase !== lastUsecase) {
    const whole = JSON.stringify([id.usecase, id.scopes.map(([name, value]) => [name, value])])
    lastPrefix = whole.slice(0, -1) + ","
    lastUsecase = id.usecase
    lastScopes = id.scopes
  }
  return lastPrefix + JSON.stringify(id.key) + "]"
}

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
