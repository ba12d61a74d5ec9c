/**
 * The filesystem store.
 *
 * Layout under the root folder:
 *
 * - `objects/<id>.json`: the current metadata record of an object, `<id>` = hex SHA-256 of the canonical identity
 *   encoding (`JSON.stringify([usecase, scopes, key])`); the record names the payload blob by its generation.
 * - `blobs/<id>.<generation>`: immutable payloads.
 * - `tmp/`: files being written; anything left there at start is a leftover of a crash and is removed.
 *
 * A write streams the payload into `tmp/`, fsyncs it, and writes and fsyncs the metadata record into `tmp/`; these
 * steps run in parallel for any number of writers. The commit then holds the lock of that one object (writes to
 * other objects proceed in parallel; writes to one object commit one at a time, in the order they reach the lock):
 * it renames the blob into `blobs/`, makes that rename durable (fsync of `blobs/`), renames the record over
 * `objects/<id>.json` (the commit point), makes that durable (fsync of `objects/`) and removes the blob of the
 * replaced write. The directory fsyncs are group commits: one fsync covers every rename made before it started, so
 * concurrent writers share them. A write is acknowledged only after its commit is durable, so neither `kill -9` nor
 * a power loss loses an acknowledged write, and a crash at any moment leaves each object either wholly old or
 * wholly new; what a crash can leave behind (files in `tmp/`, a blob no record names) is removed at the next start.
 * Readers never lock: they read the record, then open the blob it names; if a concurrent commit removed that blob in
 * between, they read the record again.
 *
 * @internal
 */
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Option from "effect/Option"
import * as Stream from "effect/Stream"
import * as Crypto from "node:crypto"
import * as Fs from "node:fs/promises"
import * as NodePath from "node:path"
import * as StorageModel from "../StorageModel.js"
import { attempt, isNotFound, makeDirectorySync, unlinkQuietly, writeFileSynced } from "./filesystemIo.js"
import { decodeRecord, encodeRecord, type StoredRecord } from "./filesystemRecord.js"
import { makeKeyedLock } from "./keyedLock.js"
import { CHUNK_SIZE, identityKey, isExpiredAt, sliceStream } from "./storeCommon.js"

/** Blobs up to this size are read whole when opened (and their file closed at once). */
const SMALL_READ = 64 * 1024

/** How many records the store keeps in memory. */
const RECORD_CACHE_SIZE = 10_000

type Metadata = StorageModel.ObjectInfo["metadata"]

/** @internal */
export const make = (
  options: { readonly path: string }
): Effect.Effect<StorageModel.ObjectStore, StorageModel.StorageError> =>
  Effect.gen(function*() {
    const root = NodePath.resolve(options.path)
    const objectsDir = NodePath.join(root, "objects")
    const blobsDir = NodePath.join(root, "blobs")
    const tmpDir = NodePath.join(root, "tmp")

    const hashOf = (id: StorageModel.ObjectId): string =>
      Crypto.createHash("sha256").update(identityKey(id), "utf8").digest("hex")
    const recordPath = (hash: string) => NodePath.join(objectsDir, `${hash}.json`)
    const blobPath = (hash: string, generation: string) => NodePath.join(blobsDir, `${hash}.${generation}`)
    const tmpPath = (suffix: string) => NodePath.join(tmpDir, `${Crypto.randomUUID()}${suffix}`)

    const readRecordFile = async (hash: string): Promise<StoredRecord | undefined> => {
      let text: string
      try {
        text = await Fs.readFile(recordPath(hash), "utf8")
      } catch (error) {
        if (isNotFound(error)) return undefined
        throw error
      }
      return decodeRecord(text)
    }

    // The records most recently read or written, so reads and commits rarely read a record file. This process is
    // the only writer of the folder, and every change of a record goes through `remember`/`forget` under the
    // object's lock. A reader that read a record file remembers it only if no commit happened meanwhile, so an
    // older record read from disk never replaces a newer one.
    const cache = new Map<string, StoredRecord>()
    let commits = 0
    const remember = (hash: string, record: StoredRecord) => {
      cache.delete(hash)
      cache.set(hash, record)
      if (cache.size > RECORD_CACHE_SIZE) cache.delete(cache.keys().next().value!)
    }
    const committed = (hash: string, record: StoredRecord | undefined) => {
      commits++
      if (record === undefined) cache.delete(hash)
      else remember(hash, record)
    }
    const readRecord = async (hash: string): Promise<StoredRecord | undefined> => {
      const cached = cache.get(hash)
      if (cached !== undefined) return cached
      const before = commits
      const record = await readRecordFile(hash)
      if (record !== undefined && commits === before) remember(hash, record)
      return record
    }

    // Start: create the folders, drop leftovers of interrupted writes, drop blobs no record points at.
    yield* attempt("open", async () => {
      await Fs.mkdir(objectsDir, { recursive: true })
      await Fs.mkdir(blobsDir, { recursive: true })
      await Fs.rm(tmpDir, { recursive: true, force: true })
      await Fs.mkdir(tmpDir, { recursive: true })
      const live = new Set<string>()
      for (const name of await Fs.readdir(objectsDir)) {
        if (!name.endsWith(".json")) {
          await Fs.rm(NodePath.join(objectsDir, name), { force: true })
          continue
        }
        const hash = name.slice(0, -".json".length)
        try {
          const record = await readRecordFile(hash)
          if (record !== undefined) live.add(`${hash}.${record.info.generation}`)
        } catch {
          // an unreadable record cannot be served; keep it for inspection but do not crash
        }
      }
      for (const name of await Fs.readdir(blobsDir)) {
        if (!live.has(name)) await Fs.rm(NodePath.join(blobsDir, name), { force: true })
      }
    })

    // Commits (renames into place, metadata updates, deletes) of one object are serialised; nothing else is.
    const locked = makeKeyedLock()
    const syncObjects = makeDirectorySync(objectsDir)
    const syncBlobs = makeDirectorySync(blobsDir)

    const removeQuietly = (path: string) => Effect.promise(() => unlinkQuietly(path).catch(() => undefined))

    const writeChunk = async (handle: Fs.FileHandle, chunk: Uint8Array) => {
      let offset = 0
      while (offset < chunk.length) {
        const { bytesWritten } = await handle.write(chunk, offset, chunk.length - offset)
        offset += bytesWritten
      }
    }

    const writeBody = <E>(path: string, body: Stream.Stream<Uint8Array, E>) =>
      Effect.acquireUseRelease(
        attempt("put", () => Fs.open(path, "wx")),
        (handle) =>
          Effect.gen(function*() {
            let size = 0
            yield* Stream.runForEach(body, (chunk) =>
              attempt("put", async () => {
                await writeChunk(handle, chunk)
                size += chunk.length
              }))
            yield* attempt("put", () => handle.datasync())
            return size
          }),
        (handle) => Effect.promise(() => handle.close().catch(() => undefined))
      )

    /** A body held whole, written without a Stream. */
    const writeBytes = (path: string, bytes: Uint8Array) =>
      attempt("put", async () => {
        const handle = await Fs.open(path, "wx")
        try {
          await writeChunk(handle, bytes)
          await handle.datasync()
        } finally {
          await handle.close()
        }
        return bytes.length
      })

    const put = <E>(
      id: StorageModel.ObjectId,
      metadata: Metadata,
      body: Stream.Stream<Uint8Array, E>
    ): Effect.Effect<StorageModel.ObjectInfo, E | StorageModel.StorageError> =>
      store(id, metadata, (path) => writeBody(path, body))

    const putBytes = (id: StorageModel.ObjectId, metadata: Metadata, bytes: Uint8Array) =>
      store(id, metadata, (path) => writeBytes(path, bytes))

    const store = <E>(
      id: StorageModel.ObjectId,
      metadata: Metadata,
      write: (path: string) => Effect.Effect<number, E | StorageModel.StorageError>
    ): Effect.Effect<StorageModel.ObjectInfo, E | StorageModel.StorageError> => {
      const hash = hashOf(id)
      const generation = Crypto.randomUUID()
      const tmpBlob = tmpPath(".blob")
      const tmpRecord = tmpPath(".json")
      return Effect.gen(function*() {
        const size = yield* write(tmpBlob)
        const info: StorageModel.ObjectInfo = { metadata, size, generation }
        yield* attempt("put", () => writeFileSynced(tmpRecord, encodeRecord(id, info)))
        yield* locked(hash)(attempt("put", async () => {
          let previous: StoredRecord | undefined
          try {
            previous = await readRecord(hash)
          } catch {
            previous = undefined
          }
          await Fs.rename(tmpBlob, blobPath(hash, generation))
          // the blob's name must be durable before a durable record can name it
          await syncBlobs()
          await Fs.rename(tmpRecord, recordPath(hash))
          committed(hash, { id, info })
          await syncObjects()
          if (previous !== undefined && previous.info.generation !== generation) {
            await unlinkQuietly(blobPath(hash, previous.info.generation))
          }
        }))
        return info
      }).pipe(
        Effect.onExit((exit) =>
          Exit.isSuccess(exit) ? Effect.void : Effect.zipRight(removeQuietly(tmpBlob), removeQuietly(tmpRecord))
        )
      )
    }

    const chunkStream = (
      handle: Fs.FileHandle,
      start: number,
      end: number
    ): Stream.Stream<Uint8Array, StorageModel.StorageError> =>
      Stream.paginateEffect(start, (position) =>
        attempt("get", async () => {
          const length = Math.min(CHUNK_SIZE, end - position + 1)
          const buffer = new Uint8Array(length)
          const { bytesRead } = await handle.read(buffer, 0, length, position)
          const next = position + bytesRead
          const more = bytesRead > 0 && next <= end
          return [buffer.subarray(0, bytesRead), more ? Option.some(next) : Option.none()] as const
        })).pipe(Stream.filter((chunk) => chunk.length > 0))

    /**
     * Opens the blob of `record`: a small one is read whole at once and closed (no file stays open), a larger one
     * stays open until the scope closes. `undefined` when the blob is gone (the object was replaced meanwhile).
     */
    const openBlob = (hash: string, record: StoredRecord) =>
      Effect.uninterruptible(
        attempt("get", async () => {
          let handle: Fs.FileHandle
          try {
            handle = await Fs.open(blobPath(hash, record.info.generation), "r")
          } catch (error) {
            if (isNotFound(error)) return undefined
            throw error
          }
          if (record.info.size > SMALL_READ) return { _tag: "Open", handle } as const
          try {
            const bytes = new Uint8Array(record.info.size)
            let filled = 0
            while (filled < bytes.length) {
              const { bytesRead } = await handle.read(bytes, filled, bytes.length - filled, filled)
              if (bytesRead === 0) throw new Error("a blob is shorter than its record says")
              filled += bytesRead
            }
            return { _tag: "Read", bytes } as const
          } finally {
            await handle.close()
          }
        }).pipe(
          Effect.tap((blob) =>
            blob !== undefined && blob._tag === "Open"
              ? Effect.addFinalizer(() => Effect.promise(() => blob.handle.close().catch(() => undefined)))
              : Effect.void
          )
        )
      )

    const open = (id: StorageModel.ObjectId) =>
      Effect.gen(function*() {
        const hash = hashOf(id)
        for (let attemptNo = 0; attemptNo < 10; attemptNo++) {
          const record = yield* attempt("get", () => readRecord(hash))
          if (record === undefined) return Option.none<StorageModel.OpenedObject>()
          const blob = yield* openBlob(hash, record)
          if (blob === undefined) {
            cache.delete(hash)
            continue // replaced meanwhile: read the new record
          }
          const info = record.info
          if (blob._tag === "Read") {
            const bytes = blob.bytes
            return Option.some<StorageModel.OpenedObject>({
              ...info,
              read: (range) => sliceStream(bytes, range?.start ?? 0, range?.end ?? bytes.length - 1),
              readBytes: () => Effect.succeed(bytes)
            })
          }
          const handle = blob.handle
          return Option.some<StorageModel.OpenedObject>({
            ...info,
            read: (range) => {
              const start = range?.start ?? 0
              const end = range?.end ?? info.size - 1
              return end < start ? Stream.empty : chunkStream(handle, start, end)
            }
          })
        }
        return yield* new StorageModel.StorageError({ operation: "get", reason: "object keeps changing while opened" })
      })

    const head = (id: StorageModel.ObjectId) =>
      Effect.map(
        attempt("head", () => readRecord(hashOf(id))),
        (record) => Option.map(Option.fromNullable(record), (r) => r.info)
      )

    const deleteHash = async (hash: string, onlyIf?: (record: StoredRecord) => boolean): Promise<boolean> => {
      const record = await readRecord(hash)
      if (record === undefined) return false
      if (onlyIf !== undefined && !onlyIf(record)) return false
      await unlinkQuietly(recordPath(hash))
      committed(hash, undefined)
      await syncObjects()
      await unlinkQuietly(blobPath(hash, record.info.generation))
      return true
    }

    const remove = (id: StorageModel.ObjectId) => {
      const hash = hashOf(id)
      return locked(hash)(attempt("delete", () => deleteHash(hash)))
    }

    const setExpiry = (id: StorageModel.ObjectId, generation: string, timeExpires: bigint) => {
      const hash = hashOf(id)
      return locked(hash)(attempt("update", async () => {
        const record = await readRecord(hash)
        if (record === undefined || record.info.generation !== generation) return false
        const info: StorageModel.ObjectInfo = {
          ...record.info,
          metadata: { ...record.info.metadata, timeExpires }
        }
        const tmpRecord = tmpPath(".json")
        try {
          await writeFileSynced(tmpRecord, encodeRecord(record.id, info))
          await Fs.rename(tmpRecord, recordPath(hash))
        } catch (error) {
          await Fs.rm(tmpRecord, { force: true }).catch(() => undefined)
          throw error
        }
        committed(hash, { id: record.id, info })
        await syncObjects()
        return true
      }))
    }

    const recordHashes = attempt(
      "list",
      async () =>
        (await Fs.readdir(objectsDir)).filter((name) => name.endsWith(".json")).map((name) =>
          name.slice(0, -".json".length)
        )
    )

    const reap = (now: bigint) =>
      Effect.gen(function*() {
        let count = 0
        for (const hash of yield* recordHashes) {
          const deleted = yield* locked(hash)(
            attempt("reap", () => deleteHash(hash, (record) => isExpiredAt(record.info.metadata, now)))
          )
          if (deleted) count++
        }
        return count
      })

    const list = Effect.gen(function*() {
      const entries: Array<StorageModel.Entry> = []
      for (const hash of yield* recordHashes) {
        const record = yield* attempt("list", () => readRecord(hash))
        if (record !== undefined) entries.push({ id: record.id, ...record.info })
      }
      return entries
    })

    const service: StorageModel.ObjectStore = { put, putBytes, open, head, delete: remove, setExpiry, reap, list }
    return service
  })
