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

  const service: StorageModel.ObjectStore = {
    put: <E>(
      id: StorageModel.ObjectId,
      metadata: StorageModel.ObjectInfo["metadata"],
      body: Stream.Stream<Uint8Array, E>
    ) => Effect.map(Bytes.collect(body), (bytes) => store(id, metadata, bytes)),
    putBytes: (id, metadata, bytes) => Effect.sync(() => store(id, metadata, bytes)),
    open: (id) =>
      Effect.sync(() => Option.map(Option.fromNullable(objects.get(identityKey(id))), (s) => open(s.bytes, s.info))),
    readWhole: (id) =>
      Effect.sync(() =>
        Option.map(Option.fromNullable(objects.get(identityKey(id))), (s) => ({ ...s.info, bytes: s.bytes }))
      ),
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
