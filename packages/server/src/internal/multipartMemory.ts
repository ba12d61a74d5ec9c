/**
 * Multipart uploads of the in-memory store: parts are byte arrays; completion streams them through the store's
 * `put`, so the object is replaced exactly as a single insert would replace it.
 *
 * @internal
 */
import * as Bytes from "@objectstore/protocol/Bytes"
import * as Effect from "effect/Effect"
import * as Stream from "effect/Stream"
import * as Crypto from "node:crypto"
import type * as StorageModel from "../StorageModel.js"
import { checkedBody, etagOf, nanosToMicros, noSuchUpload, resolveParts } from "./multipartStore.js"
import { identityKey, sliceStream } from "./storeCommon.js"

interface StoredPart {
  readonly info: StorageModel.PartInfo
  readonly bytes: Uint8Array
}

interface Upload {
  readonly id: StorageModel.ObjectId
  readonly uploadId: string
  readonly metadata: StorageModel.ObjectInfo["metadata"]
  readonly initiated: bigint
  readonly parts: Map<number, StoredPart>
}

/** @internal */
export const make = (objects: StorageModel.ObjectStore): StorageModel.MultipartStore => {
  const uploads = new Map<string, Upload>()
  const uploadKey = (id: StorageModel.ObjectId, uploadId: string) => JSON.stringify([identityKey(id), uploadId])
  const find = (id: StorageModel.ObjectId, uploadId: string) =>
    Effect.suspend(() => {
      const upload = uploads.get(uploadKey(id, uploadId))
      return upload === undefined ? Effect.fail(noSuchUpload()) : Effect.succeed(upload)
    })
  const lastActivity = (upload: Upload): bigint => {
    let last = upload.initiated
    for (const part of upload.parts.values()) {
      const micros = nanosToMicros(part.info.lastModified)
      if (micros > last) last = micros
    }
    return last
  }

  return {
    initiateUpload: (id, metadata, initiated) =>
      Effect.sync(() => {
        const uploadId = Crypto.randomUUID()
        uploads.set(uploadKey(id, uploadId), { id, uploadId, metadata, initiated, parts: new Map() })
        return uploadId
      }),
    putPart: <E>(
      id: StorageModel.ObjectId,
      uploadId: string,
      partNumber: number,
      body: Stream.Stream<Uint8Array, E>,
      expected: StorageModel.PartExpectation
    ) =>
      Effect.gen(function*() {
        yield* find(id, uploadId)
        const checked = checkedBody(body, expected)
        // copy: the chunks may be views into buffers the transport reuses
        const bytes = (yield* Bytes.collect(checked.stream)).slice()
        const { md5, size } = yield* checked.finish
        const upload = yield* find(id, uploadId) // aborted meanwhile: store nothing
        const info: StorageModel.PartInfo = { partNumber, etag: etagOf(md5), size, lastModified: expected.now }
        upload.parts.set(partNumber, { info, bytes })
        return info
      }),
    listParts: (id, uploadId) =>
      Effect.map(
        find(id, uploadId),
        (upload) => Array.from(upload.parts.values(), (part) => part.info).sort((a, b) => a.partNumber - b.partNumber)
      ),
    completeUpload: (id, uploadId, requested, options) =>
      Effect.gen(function*() {
        const upload = yield* find(id, uploadId)
        const parts = yield* resolveParts(upload.parts, requested, options)
        const body = Stream.flatMap(Stream.fromIterable(parts), (part) =>
          sliceStream(part.bytes, 0, part.bytes.length - 1))
        const info = yield* objects.put(id, upload.metadata, body)
        uploads.delete(uploadKey(id, uploadId))
        return info
      }),
    abortUpload: (id, uploadId) => Effect.sync(() => uploads.delete(uploadKey(id, uploadId))),
    listUploads: Effect.sync(() =>
      Array.from(uploads.values(), (upload): StorageModel.UploadEntry => {
        let size = 0
        for (const part of upload.parts.values()) size += part.info.size
        return {
          id: upload.id,
          uploadId: upload.uploadId,
          metadata: upload.metadata,
          initiated: upload.initiated,
          lastActivity: lastActivity(upload),
          parts: upload.parts.size,
          size
        }
      })
    ),
    reapUploads: (cutoff) =>
      Effect.sync(() => {
        let count = 0
        for (const [key, upload] of uploads) {
          if (lastActivity(upload) < cutoff) {
            uploads.delete(key)
            count++
          }
        }
        return count
      })
  }
}
