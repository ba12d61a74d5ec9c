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
 * @since 0.1.0
 */
import type * as Metadata from "@objectstore/protocol/Metadata"
import type * as Scope from "@objectstore/protocol/Scope"
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import type * as Option from "effect/Option"
import * as Schema from "effect/Schema"
import type * as EffectScope from "effect/Scope"
import type * as Stream from "effect/Stream"
import type * as Config from "./Config.js"
import * as filesystem from "./internal/filesystemStorage.js"
import * as memory from "./internal/memoryStorage.js"

/**
 * The identity of an object. Scope order is significant.
 *
 * @since 0.1.0
 * @category models
 */
export interface ObjectId {
  readonly usecase: string
  readonly scopes: Scope.Components
  readonly key: string
}

/**
 * What is known about a stored object without reading its payload. `generation` changes with every write (not
 * with `setExpiry`), so a TTI bump can be made conditional on the object not having been replaced meanwhile.
 *
 * @since 0.1.0
 * @category models
 */
export interface ObjectInfo {
  readonly metadata: Metadata.Metadata
  /** Payload size in bytes (the stored, possibly compressed, bytes). */
  readonly size: number
  readonly generation: string
}

/**
 * An object opened for reading: its info and its payload, fully or as an inclusive byte range. The payload read is
 * the one of the same write as the metadata; the underlying file (if any) stays open until the enclosing scope
 * closes.
 *
 * @since 0.1.0
 * @category models
 */
export interface OpenedObject extends ObjectInfo {
  readonly read: (range?: { readonly start: number; readonly end: number } | undefined) => Stream.Stream<
    Uint8Array,
    StorageError
  >
}

/**
 * One stored object as listed by `list`.
 *
 * @since 0.1.0
 * @category models
 */
export interface Entry extends ObjectInfo {
  readonly id: ObjectId
}

/**
 * A storage backend failed (I/O error, corrupt record).
 *
 * @since 0.1.0
 * @category errors
 */
export class StorageError extends Schema.TaggedError<StorageError>("@objectstore/server/StorageError")(
  "StorageError",
  { operation: Schema.String, reason: Schema.String, cause: Schema.optional(Schema.Defect) }
) {
  override get message(): string {
    return `storage ${this.operation} failed: ${this.reason}`
  }
}

/**
 * @since 0.1.0
 * @category models
 */
export interface Service {
  /**
   * Stores `body` with `metadata` under `id`, replacing any existing object atomically once the whole body has
   * been received. If the body fails (or the effect is interrupted) nothing is stored and the previous object, if
   * any, stays.
   */
  readonly put: <E>(
    id: ObjectId,
    metadata: Metadata.Metadata,
    body: Stream.Stream<Uint8Array, E>
  ) => Effect.Effect<ObjectInfo, E | StorageError>
  /** Opens an object for reading; `None` when missing. */
  readonly open: (id: ObjectId) => Effect.Effect<Option.Option<OpenedObject>, StorageError, EffectScope.Scope>
  /** The info of an object without touching its payload; `None` when missing. */
  readonly head: (id: ObjectId) => Effect.Effect<Option.Option<ObjectInfo>, StorageError>
  /** Deletes an object; `true` when something was deleted. */
  readonly delete: (id: ObjectId) => Effect.Effect<boolean, StorageError>
  /**
   * Atomically sets `timeExpires` (epoch micros) of the object if it is still the write `generation`; `false`
   * when it is gone or was replaced.
   */
  readonly setExpiry: (id: ObjectId, generation: string, timeExpires: bigint) => Effect.Effect<boolean, StorageError>
  /** Deletes every object whose policy is ttl/tti and whose `timeExpires` is before `now` (epoch micros). */
  readonly reap: (now: bigint) => Effect.Effect<number, StorageError>
  /** Everything stored, for inspection by tests and kits. */
  readonly list: Effect.Effect<ReadonlyArray<Entry>, StorageError>
}

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
export const makeMemory: Effect.Effect<Service> = Effect.suspend(() => memory.make)

/**
 * A store under the folder `path` (created if missing). Objects written by an earlier store over the same folder
 * are kept; temp files of interrupted writes are removed.
 *
 * @since 0.1.0
 * @category constructors
 */
export const makeFilesystem = (options: { readonly path: string }): Effect.Effect<Service, StorageError> =>
  filesystem.make(options)

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
      return Effect.map(memory.collect(opened.value.read()), (bytes) => ({ info: opened.value, bytes }))
    })
  )
