/**
 * Multipart uploads of the filesystem store.
 *
 * Layout under `<root>/uploads/<dir>/`, `<dir>` = hex SHA-256 of the object identity and the upload id (neither is
 * ever used as a path):
 *
 * - `upload.json`: the upload record (object identity, upload id, initiation time, the final object's metadata);
 * - `part-<n>.json`: the current record of part `n` (etag, size, last modified, the name of its blob);
 * - `blob-<uuid>`: immutable part payloads;
 * - `tmp-<uuid>`: parts being received; removed when the upload of a part fails or is interrupted, and at start.
 *
 * A part streams into a temp file while its length and MD5 are checked, is fsynced, and then (under the lock of its
 * upload; other uploads are not affected) renamed to a blob; its record is renamed over `part-<n>.json` (the commit
 * point), the folder is fsynced and the blob of a replaced part is removed. Completion opens every listed blob first (so a concurrent re-upload or abort
 * cannot pull a file from under it), streams them in order through the object store's `put` (temp file, fsync,
 * rename), then removes the upload folder.
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
import type * as StorageModel from "../StorageModel.js"
import { attempt, isNotFound, syncDirectory, writeFileSynced } from "./filesystemIo.js"
import { decodeRecord, encodeRecord } from "./filesystemRecord.js"
import { makeKeyedLock } from "./keyedLock.js"
import { checkedBody, etagOf, nanosToMicros, noSuchUpload, resolveParts } from "./multipartStore.js"
import { CHUNK_SIZE, identityKey } from "./storeCommon.js"

interface UploadJson {
  readonly version: 1
  readonly uploadId: string
  readonly initiated: string
  /** The object record (as the object store encodes it) of the final object. */
  readonly record: string
}

interface PartJson {
  readonly partNumber: number
  readonly etag: string
  readonly size: number
  readonly lastModified: string
  readonly blob: string
}

interface UploadRecord {
  readonly id: StorageModel.ObjectId
  readonly uploadId: string
  readonly initiated: bigint
  readonly metadata: StorageModel.ObjectInfo["metadata"]
}

interface StoredPart {
  readonly info: StorageModel.PartInfo
  readonly blob: string
}

const PART_RECORD = /^part-(\d+)\.json$/

/** @internal */
export const make = (
  objects: StorageModel.ObjectStore,
  options: { readonly path: string }
): Effect.Effect<StorageModel.MultipartStore, StorageModel.StorageError> =>
  Effect.gen(function*() {
    const uploadsDir = NodePath.join(NodePath.resolve(options.path), "uploads")

    const dirOf = (id: StorageModel.ObjectId, uploadId: string) =>
      NodePath.join(
        uploadsDir,
        Crypto.createHash("sha256").update(JSON.stringify([identityKey(id), uploadId]), "utf8").digest("hex")
      )

    const readUpload = async (dir: string): Promise<UploadRecord | undefined> => {
      let text: string
      try {
        text = await Fs.readFile(NodePath.join(dir, "upload.json"), "utf8")
      } catch (error) {
        if (isNotFound(error) || (error as { code?: unknown }).code === "ENOTDIR") return undefined
        throw error
      }
      const json = JSON.parse(text) as UploadJson
      if (json.version !== 1) throw new Error(`unknown upload record version ${String(json.version)}`)
      const record = decodeRecord(json.record)
      return {
        id: record.id,
        uploadId: json.uploadId,
        initiated: BigInt(json.initiated),
        metadata: record.info.metadata
      }
    }

    const readParts = async (dir: string): Promise<Map<number, StoredPart>> => {
      const parts = new Map<number, StoredPart>()
      let names: Array<string>
      try {
        names = await Fs.readdir(dir)
      } catch (error) {
        if (isNotFound(error)) return parts
        throw error
      }
      for (const name of names) {
        if (!PART_RECORD.test(name)) continue
        let text: string
        try {
          text = await Fs.readFile(NodePath.join(dir, name), "utf8")
        } catch (error) {
          if (isNotFound(error)) continue
          throw error
        }
        const json = JSON.parse(text) as PartJson
        parts.set(json.partNumber, {
          info: {
            partNumber: json.partNumber,
            etag: json.etag,
            size: json.size,
            lastModified: BigInt(json.lastModified)
          },
          blob: json.blob
        })
      }
      return parts
    }

    const lastActivity = (upload: UploadRecord, parts: ReadonlyMap<number, StoredPart>): bigint => {
      let last = upload.initiated
      for (const part of parts.values()) {
        const micros = nanosToMicros(part.info.lastModified)
        if (micros > last) last = micros
      }
      return last
    }

    // Start: drop temp files of interrupted part uploads, blobs no part record names, and folders of uploads
    // whose initiation never finished.
    yield* attempt("open", async () => {
      await Fs.mkdir(uploadsDir, { recursive: true })
      for (const name of await Fs.readdir(uploadsDir)) {
        const dir = NodePath.join(uploadsDir, name)
        let upload: UploadRecord | undefined
        try {
          upload = await readUpload(dir)
        } catch {
          continue // unreadable: keep it for inspection
        }
        if (upload === undefined) {
          await Fs.rm(dir, { recursive: true, force: true })
          continue
        }
        const live = new Set(Array.from((await readParts(dir)).values(), (part) => part.blob))
        for (const file of await Fs.readdir(dir)) {
          if (file.startsWith("tmp-") || (file.startsWith("blob-") && !live.has(file))) {
            await Fs.rm(NodePath.join(dir, file), { force: true })
          }
        }
      }
    })

    // Commits, aborts and removals of one upload are serialised (keyed by its folder); nothing else is.
    const locked = makeKeyedLock()
    const removeQuietly = (path: string) => Effect.promise(() => Fs.rm(path, { force: true }).catch(() => undefined))

    const find = (id: StorageModel.ObjectId, uploadId: string, operation: string) =>
      Effect.flatMap(
        attempt(operation, () => readUpload(dirOf(id, uploadId))),
        (upload) =>
          upload === undefined || upload.uploadId !== uploadId ? Effect.fail(noSuchUpload()) : Effect.succeed(upload)
      )

    const initiateUpload = (
      id: StorageModel.ObjectId,
      metadata: StorageModel.ObjectInfo["metadata"],
      initiated: bigint
    ) => {
      const uploadId = Crypto.randomUUID()
      const dir = dirOf(id, uploadId)
      const json: UploadJson = {
        version: 1,
        uploadId,
        initiated: initiated.toString(),
        record: encodeRecord(id, { metadata, size: 0, generation: uploadId })
      }
      return attempt("initiate", async () => {
        await Fs.mkdir(dir, { recursive: true })
        const tmp = NodePath.join(dir, `tmp-${Crypto.randomUUID()}`)
        try {
          await writeFileSynced(tmp, JSON.stringify(json))
          await Fs.rename(tmp, NodePath.join(dir, "upload.json"))
          await syncDirectory(dir)
          await syncDirectory(uploadsDir)
        } catch (error) {
          await Fs.rm(dir, { recursive: true, force: true }).catch(() => undefined)
          throw error
        }
        return uploadId
      })
    }

    const writePart = <E>(path: string, body: Stream.Stream<Uint8Array, E>) =>
      Effect.acquireUseRelease(
        Effect.catchIf(
          attempt("put part", () => Fs.open(path, "wx")),
          (error) => isNotFound(error.cause),
          () => Effect.fail(noSuchUpload()) // the folder went away: aborted
        ),
        (handle) =>
          Effect.zipRight(
            Stream.runForEach(body, (chunk) =>
              attempt("put part", async () => {
                let offset = 0
                while (offset < chunk.length) {
                  const { bytesWritten } = await handle.write(chunk, offset, chunk.length - offset)
                  offset += bytesWritten
                }
              })),
            attempt("put part", () => handle.sync())
          ),
        (handle) => Effect.promise(() => handle.close().catch(() => undefined))
      )

    const putPart = <E>(
      id: StorageModel.ObjectId,
      uploadId: string,
      partNumber: number,
      body: Stream.Stream<Uint8Array, E>,
      expected: StorageModel.PartExpectation
    ): Effect.Effect<StorageModel.PartInfo, E | StorageModel.StorageError | StorageModel.MultipartError> => {
      const dir = dirOf(id, uploadId)
      const tmp = NodePath.join(dir, `tmp-${Crypto.randomUUID()}`)
      const tmpRecord = NodePath.join(dir, `tmp-${Crypto.randomUUID()}`)
      const blob = `blob-${Crypto.randomUUID()}`
      return Effect.gen(function*() {
        yield* find(id, uploadId, "put part")
        const checked = checkedBody(body, expected)
        yield* writePart(tmp, checked.stream)
        const { md5, size } = yield* checked.finish
        const info: StorageModel.PartInfo = { partNumber, etag: etagOf(md5), size, lastModified: expected.now }
        const json: PartJson = {
          partNumber,
          etag: info.etag,
          size,
          lastModified: expected.now.toString(),
          blob
        }
        yield* attempt("put part", () => writeFileSynced(tmpRecord, JSON.stringify(json)))
        yield* locked(dir)(Effect.gen(function*() {
          yield* find(id, uploadId, "put part") // aborted or completed meanwhile: store nothing
          yield* attempt("put part", async () => {
            const recordPath = NodePath.join(dir, `part-${partNumber}.json`)
            let previous: PartJson | undefined
            try {
              previous = JSON.parse(await Fs.readFile(recordPath, "utf8")) as PartJson
            } catch {
              previous = undefined
            }
            await Fs.rename(tmp, NodePath.join(dir, blob))
            await Fs.rename(tmpRecord, recordPath)
            await syncDirectory(dir)
            if (previous !== undefined && previous.blob !== blob) {
              await Fs.rm(NodePath.join(dir, previous.blob), { force: true })
            }
          })
        }))
        return info
      }).pipe(
        Effect.onExit((exit) =>
          Exit.isSuccess(exit) ? Effect.void : Effect.zipRight(removeQuietly(tmp), removeQuietly(tmpRecord))
        )
      )
    }

    const listParts = (id: StorageModel.ObjectId, uploadId: string) =>
      Effect.gen(function*() {
        yield* find(id, uploadId, "list parts")
        const parts = yield* attempt("list parts", () => readParts(dirOf(id, uploadId)))
        return Array.from(parts.values(), (part) => part.info).sort((a, b) => a.partNumber - b.partNumber)
      })

    const readBlob = (handle: Fs.FileHandle, size: number): Stream.Stream<Uint8Array, StorageModel.StorageError> =>
      size === 0 ? Stream.empty : Stream.paginateEffect(0, (position) =>
        attempt("complete", async () => {
          const length = Math.min(CHUNK_SIZE, size - position)
          const buffer = new Uint8Array(length)
          const { bytesRead } = await handle.read(buffer, 0, length, position)
          if (bytesRead === 0) throw new Error("a part file is shorter than its record says")
          const next = position + bytesRead
          return [buffer.subarray(0, bytesRead), next < size ? Option.some(next) : Option.none()] as const
        }))

    const completeUpload = (
      id: StorageModel.ObjectId,
      uploadId: string,
      requested: ReadonlyArray<StorageModel.CompletePart>,
      options?: StorageModel.CompleteOptions | undefined
    ) =>
      Effect.scoped(Effect.gen(function*() {
        const dir = dirOf(id, uploadId)
        const upload = yield* find(id, uploadId, "complete")
        const stored = yield* attempt("complete", () => readParts(dir))
        const parts = yield* resolveParts(stored, requested, options)
        const handles = new Map<string, Fs.FileHandle>()
        for (const part of parts) {
          if (handles.has(part.blob)) continue
          const handle = yield* Effect.acquireRelease(
            attempt("complete", () => Fs.open(NodePath.join(dir, part.blob), "r")),
            (handle) => Effect.promise(() => handle.close().catch(() => undefined))
          )
          handles.set(part.blob, handle)
        }
        const body = Stream.flatMap(
          Stream.fromIterable(parts),
          (part) => readBlob(handles.get(part.blob)!, part.info.size)
        )
        const info = yield* objects.put(id, upload.metadata, body)
        yield* locked(dir)(attempt("complete", () => Fs.rm(dir, { recursive: true, force: true })))
        return info
      }))

    const abortUpload = (id: StorageModel.ObjectId, uploadId: string) => {
      const dir = dirOf(id, uploadId)
      return locked(dir)(attempt("abort", async () => {
        const upload = await readUpload(dir)
        await Fs.rm(dir, { recursive: true, force: true })
        return upload !== undefined
      }))
    }

    const uploadDirs = attempt("list uploads", async () => {
      const names = await Fs.readdir(uploadsDir)
      return names.map((name) => NodePath.join(uploadsDir, name))
    })

    const listUploads = Effect.gen(function*() {
      const entries: Array<StorageModel.UploadEntry> = []
      for (const dir of yield* uploadDirs) {
        const found = yield* attempt("list uploads", async () => {
          const upload = await readUpload(dir)
          return upload === undefined ? undefined : { upload, parts: await readParts(dir) }
        })
        if (found === undefined) continue
        let size = 0
        for (const part of found.parts.values()) size += part.info.size
        entries.push({
          id: found.upload.id,
          uploadId: found.upload.uploadId,
          metadata: found.upload.metadata,
          initiated: found.upload.initiated,
          lastActivity: lastActivity(found.upload, found.parts),
          parts: found.parts.size,
          size
        })
      }
      return entries
    })

    const reapUploads = (cutoff: bigint) =>
      Effect.gen(function*() {
        let count = 0
        for (const dir of yield* uploadDirs) {
          const removed = yield* locked(dir)(attempt("reap uploads", async () => {
            const upload = await readUpload(dir)
            if (upload === undefined) return false
            if (lastActivity(upload, await readParts(dir)) >= cutoff) return false
            await Fs.rm(dir, { recursive: true, force: true })
            return true
          }))
          if (removed) count++
        }
        return count
      })

    const store: StorageModel.MultipartStore = {
      initiateUpload,
      putPart,
      listParts,
      completeUpload,
      abortUpload,
      listUploads,
      reapUploads
    }
    return store
  })
