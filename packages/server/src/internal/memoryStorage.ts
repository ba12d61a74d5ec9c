/**
 * The in-memory store.
 *
 * @internal
 */
import * as Bytes from "@objectstore/protocol/Bytes"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import * as Stream from "effect/Stream"
import type * as Storage from "../Storage.js"

/** @internal */
export const CHUNK_SIZE = 64 * 1024

/** @internal */
export const identityKey = (id: Storage.ObjectId): string =>
  JSON.stringify([id.usecase, id.scopes.map(([name, value]) => [name, value]), id.key])

/** @internal */
export const concat = Bytes.concat

/** @internal */
export const collect = Bytes.collect

/** Streams `bytes[start..=end]` in chunks of at most `CHUNK_SIZE`. @internal */
export const sliceStream = (bytes: Uint8Array, start: number, end: number): Stream.Stream<Uint8Array> => {
  if (end < start) return Stream.empty
  const pieces: Array<Uint8Array> = []
  for (let offset = start; offset <= end; offset += CHUNK_SIZE) {
    pieces.push(bytes.subarray(offset, Math.min(end + 1, offset + CHUNK_SIZE)))
  }
  return Stream.fromIterable(pieces)
}

interface Stored {
  readonly id: Storage.ObjectId
  readonly info: Storage.ObjectInfo
  readonly bytes: Uint8Array
}

/** @internal */
export const isExpiredAt = (metadata: Storage.ObjectInfo["metadata"], now: bigint): boolean =>
  metadata.expirationPolicy._tag !== "Manual" && metadata.timeExpires !== undefined && metadata.timeExpires < now

/** @internal */
export const make: Effect.Effect<Storage.ObjectStore> = Effect.sync(() => {
  const objects = new Map<string, Stored>()
  let counter = 0

  const open = (bytes: Uint8Array, info: Storage.ObjectInfo): Storage.OpenedObject => ({
    ...info,
    read: (range) => sliceStream(bytes, range?.start ?? 0, range?.end ?? bytes.length - 1),
    // Stored bytes are never changed in place (a put replaces the array), so readers may share them.
    readBytes: () => Effect.succeed(bytes)
  })

  const store = (id: Storage.ObjectId, metadata: Storage.ObjectInfo["metadata"], bytes: Uint8Array) => {
    // copy: the chunks may be views into buffers the transport reuses
    const owned = bytes.slice()
    const info: Storage.ObjectInfo = { metadata, size: owned.length, generation: `m${++counter}` }
    objects.set(identityKey(id), { id, info, bytes: owned })
    return info
  }

  const service: Storage.ObjectStore = {
    put: <E>(id: Storage.ObjectId, metadata: Storage.ObjectInfo["metadata"], body: Stream.Stream<Uint8Array, E>) =>
      Effect.map(collect(body), (bytes) => store(id, metadata, bytes)),
    putBytes: (id, metadata, bytes) => Effect.sync(() => store(id, metadata, bytes)),
    open: (id) =>
      Effect.sync(() => Option.map(Option.fromNullable(objects.get(identityKey(id))), (s) => open(s.bytes, s.info))),
    head: (id) => Effect.sync(() => Option.map(Option.fromNullable(objects.get(identityKey(id))), (s) => s.info)),
    delete: (id) => Effect.sync(() => objects.delete(identityKey(id))),
    setExpiry: (id, generation, timeExpires) =>
      Effect.sync(() => {
        const key = identityKey(id)
        const stored = objects.get(key)
        if (stored === undefined || stored.info.generation !== generation) return false
        objects.set(key, {
          ...stored,
          info: { ...stored.info, metadata: { ...stored.info.metadata, timeExpires } }
        })
        return true
      }),
    reap: (now) =>
      Effect.sync(() => {
        let count = 0
        for (const [key, stored] of objects) {
          if (isExpiredAt(stored.info.metadata, now)) {
            objects.delete(key)
            count++
          }
        }
        return count
      }),
    list: Effect.sync(() => Array.from(objects.values(), (stored) => ({ id: stored.id, ...stored.info })))
  }
  return service
})
