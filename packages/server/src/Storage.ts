/**
 * Object storage for the local server: objects identified by `(usecase, scopes, key)`, each a payload (the bytes
 * exactly as uploaded) and a metadata record (PROTOCOL §1, §17.2).
 *
 * Two backends:
 *
 * - `layerMemory`: a fresh in-memory map per layer (the only place a whole payload is held in memory).
 * - `layerFilesystem({ path })`: durable objects under a folder. Keys are never used as paths: each object lives
 *   under the SHA-256 of a canonical encoding of its identity. A write streams into a temp file in the store folder,
 *   is fsynced and renamed into place; the payload is an immutable blob and the metadata file that points at it is
 *   renamed last, so a reader never pairs the metadata of one write with the payload of another, and concurrent
 *   writers to one key leave exactly one whole object. Leftover temp files and orphaned blobs are cleaned at start.
 *
 * Storage applies no expiration rules itself: it keeps `timeExpires` and offers `setExpiry` (TTI bump) and `reap`
 * (physical deletion); the HTTP app decides what is visible.
 *
 * Multipart uploads (PROTOCOL §11) are kept per `(object, upload id)`: the final metadata is fixed at initiation,
 * parts stream in (the filesystem store writes each part to a temp file, checks its length and MD5, fsyncs it and
 * renames it into the upload's folder; re-uploading a part number replaces it atomically), and completion streams
 * the listed parts into the object exactly as `put` does (temp file, fsync, rename), then removes the upload.
 * Part etags are the quoted hex MD5 of the part (§17.3). `reapUploads` removes uploads idle since before a cutoff.
 *
 * Resumable upload sessions (PROTOCOL §22) are kept per `(object, token)`: the final metadata is fixed at create,
 * chunks append at the persisted offset (the filesystem store writes them in place, fsyncs them and records the new
 * offset with a temp file, fsync and rename before acknowledging), and the commit streams the bytes into the object
 * exactly as `put` does. Ended sessions (committed, cancelled, expired) are remembered until `reapSessions` forgets
 * them.
 *
 * @since 0.1.0
 */
import * as Bytes from "@objectstore/protocol/Bytes"
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import type * as Config from "./Config.js"
import * as filesystem from "./internal/filesystemStorage.js"
import * as memory from "./internal/memoryStorage.js"
import * as multipartFilesystem from "./internal/multipartFilesystem.js"
import * as multipartMemory from "./internal/multipartMemory.js"
import * as resumableFilesystem from "./internal/resumableFilesystem.js"
import * as resumableMemory from "./internal/resumableMemory.js"
import type { MultipartStore, ObjectId, ObjectInfo, ObjectStore, ResumableStore, StorageError } from "./StorageModel.js"

/**
 * The models and errors of storage (`ObjectId`, `ObjectInfo`, `StorageError`, the store interfaces, …), defined in
 * the leaf module `StorageModel` so that the stores can use them without importing this module.
 *
 * @since 0.1.0
 */
export * from "./StorageModel.js"

/**
 * A store: single objects, multipart uploads and resumable sessions.
 *
 * @since 0.1.0
 * @category models
 */
export interface Service extends ObjectStore, MultipartStore, ResumableStore {}

/**
 * @since 0.1.0
 * @category services
 */
export class Storage extends Context.Tag("@objectstore/server/Storage")<Storage, Service>() {}

/**
 * A fresh, empty in-memory store.
 *
 * @since 0.1.0
 * @category constructors
 */
export const makeMemory: Effect.Effect<Service> = Effect.suspend(() =>
  Effect.map(
    memory.make,
    (objects): Service => ({ ...objects, ...multipartMemory.make(objects), ...resumableMemory.make(objects) })
  )
)

/**
 * A store under the folder `path` (created if missing). Objects written by an earlier store over the same folder
 * are kept; temp files of interrupted writes are removed.
 *
 * @since 0.1.0
 * @category constructors
 */
export const makeFilesystem = (options: { readonly path: string }): Effect.Effect<Service, StorageError> =>
  Effect.flatMap(
    filesystem.make(options),
    (objects) =>
      Effect.zipWith(
        multipartFilesystem.make(objects, options),
        resumableFilesystem.make(objects, options),
        (uploads, sessions): Service => ({ ...objects, ...uploads, ...sessions })
      )
  )

/**
 * A fresh in-memory store per layer.
 *
 * @since 0.1.0
 * @category layers
 */
export const layerMemory: Layer.Layer<Storage> = Layer.effect(Storage, makeMemory)

/**
 * A filesystem store under `path`.
 *
 * @since 0.1.0
 * @category layers
 */
export const layerFilesystem = (options: { readonly path: string }): Layer.Layer<Storage, StorageError> =>
  Layer.effect(Storage, makeFilesystem(options))

/**
 * The store described by the server configuration.
 *
 * @since 0.1.0
 * @category layers
 */
export const layer = (config: Config.StorageConfig): Layer.Layer<Storage, StorageError> =>
  config.type === "memory" ? layerMemory : layerFilesystem({ path: config.path })

/**
 * The store described by the server configuration, as an effect.
 *
 * @since 0.1.0
 * @category constructors
 */
export const make = (config: Config.StorageConfig): Effect.Effect<Service, StorageError> =>
  config.type === "memory" ? makeMemory : makeFilesystem({ path: config.path })

/**
 * Collects the whole payload of an object (a convenience for tests); `undefined` when missing.
 *
 * @since 0.1.0
 * @category combinators
 */
export const readAll = (
  storage: Service,
  id: ObjectId
): Effect.Effect<{ readonly info: ObjectInfo; readonly bytes: Uint8Array } | undefined, StorageError> =>
  Effect.scoped(
    Effect.flatMap(storage.open(id), (opened) => {
      if (opened._tag === "None") return Effect.sync(() => undefined)
      return Effect.map(Bytes.collect(opened.value.read()), (bytes) => ({ info: opened.value, bytes }))
    })
  )
