/**
 * The in-memory store.
 *
 * @internal
 */
import * as Bytes from "@objectstore/protocol/Bytes"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import type * as Stream from "effect/Stream"
import type * as StorageModel from "../StorageModel.js"
import { identityKey, isExpiredAt, sliceStream } from "./storeCommon.js"

interface Stored {
  readonly id: StorageModel.ObjectId
  readonly info: StorageModel.ObjectInfo
  readonly bytes: Uint8Array
}

/** @internal */
export const make: Effect.Effect<StorageModel.ObjectStore> = Effect.sync(() => {
  const objects = new Map<string, Stored>()
  let counter = 0

  const open = (bytes: Uint8Array, info: StorageModel.ObjectInfo): StorageModel.OpenedObject => ({
    ...info,
    read: (range) => sliceStream(bytes, range?.start ?? 0, range?.end ?? bytes.length - 1),
    // Stored bytes are never changed in place (a put replaces the array), so readers may share them.
    readBytes: () => Effect.succeed(bytes)
  })

  const store = (id: StorageModel.ObjectId, metadata: StorageModel.ObjectInfo["metadata"], bytes: Uint8Array) => {
    // copy: the chunks may be views into buffers the transport reuses
    const owned = bytes.slice()
    const info: StorageModel.ObjectInfo = { metadata, size: owned.length, generation: `m${++counter}` }
    objects.set(identityKey(id), { id, info, bytes: owned })
    return info
  }

  const readWhole = (id: StorageModel.ObjectId): StorageModel.WholeObject | undefined => {
    const stored = objects.get(identityKey(id))
    if (stored === undefined) return undefined
    const info = stored.info
    return { metadata: info.metadata, size: info.size, generation: info.generation, bytes: stored.bytes }
  }
  const head = (id: StorageModel.ObjectId) => objects.get(identityKey(id))?.info
  const remove = (id: StorageModel.ObjectId) => objects.delete(identityKey(id))
  const setExpiry = (id: StorageModel.ObjectId, generation: string, timeExpires: bigint) => {
    const key = identityKey(id)
    const stored = objects.get(key)
    if (stored === undefined || stored.info.generation !== generation) return false
    objects.set(key, {
      ...stored,
      info: { ...stored.info, metadata: { ...stored.info.metadata, timeExpires } }
    })
    return true
  }

  const effects = {
    putBytes: (id: StorageModel.ObjectId, metadata: StorageModel.ObjectInfo["metadata"], bytes: Uint8Array) =>
      Effect.sync(() => store(id, metadata, bytes)),
    readWhole: (id: StorageModel.ObjectId) => Effect.sync(() => Option.fromNullable(readWhole(id))),
    head: (id: StorageModel.ObjectId) => Effect.sync(() => Option.fromNullable(head(id))),
    delete: (id: StorageModel.ObjectId) => Effect.sync(() => remove(id)),
    setExpiry: (id: StorageModel.ObjectId, generation: string, timeExpires: bigint) =>
      Effect.sync(() => setExpiry(id, generation, timeExpires))
  }

  const service: StorageModel.ObjectStore = {
    ...effects,
    immediate: { of: effects, putBytes: store, readWhole, head, delete: remove, setExpiry },
    put: <E>(
      id: StorageModel.ObjectId,
      metadata: StorageModel.ObjectInfo["metadata"],
      body: Stream.Stream<Uint8Array, E>
    ) => Effect.map(Bytes.collect(body), (bytes) => store(id, metadata, bytes)),
    open: (id) =>
      Effect.sync(() => Option.map(Option.fromNullable(objects.get(identityKey(id))), (s) => open(s.bytes, s.info))),
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
