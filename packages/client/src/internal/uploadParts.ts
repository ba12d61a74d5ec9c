/**
 * The multipart way of `session.upload` (PROTOCOL §11): parts read from a file's ranges or cut from a stream,
 * compressed one zstd frame each, sent `concurrency` at a time, skipped when the server already has them (resume),
 * and recorded in the state after each one.
 *
 * Memory: a part buffer is allocated only after a slot of the `concurrency` pool is free and is released when
 * its upload ends, so at most `concurrency` parts (each with its compressed copy while it is sent) are held.
 *
 * @since 0.1.0
 * @internal
 */
import * as Bytes from "@objectstore/protocol/Bytes"
import * as Cause from "effect/Cause"
import * as Deferred from "effect/Deferred"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Exit from "effect/Exit"
import * as FiberSet from "effect/FiberSet"
import * as Option from "effect/Option"
import * as Stream from "effect/Stream"
import type * as NodeCrypto from "node:crypto"
import type * as Compression from "../Compression.js"
import * as Multipart from "../Multipart.js"
import type { CompressionError, ResponseError } from "../ObjectstoreError.js"
import { importBuiltin } from "./builtin.js"
import * as Files from "./files.js"
import * as UploadState from "./uploadState.js"

/** A part's source bytes, dropped (`undefined`) as soon as they are no longer needed. */
interface PartBox {
  bytes: Uint8Array | undefined
}
type Md5 = (bytes: Uint8Array) => Uint8Array

let md5Module: Promise<Md5 | undefined> | undefined
const loadMd5: Effect.Effect<Md5 | undefined> = Effect.promise(() =>
  md5Module ??= importBuiltin<typeof NodeCrypto>("node:crypto").then(
    (crypto): Md5 => (bytes) => new Uint8Array(crypto.createHash("md5").update(bytes).digest()),
    () => undefined
  )
)

const hex = (bytes: Uint8Array): string => Array.from(bytes, (byte) => byte.toString(16).padStart(2, "0")).join("")

/**
 * What a multipart upload is given: a file or a stream, and the upload's settings.
 *
 * @internal
 */
export interface Input<E, R> {
  readonly multipart: Multipart.Service
  readonly codec: Compression.Service
  readonly files: Files.FileContext
  readonly file: Files.FileInfo | undefined
  /** The source when it is a stream (the read-ahead bytes first). */
  readonly stream: Stream.Stream<Uint8Array, E, R> | undefined
  readonly resume: Multipart.MultipartState | undefined
  readonly resumeFromFile: boolean
  readonly partSize: number
  readonly concurrency: number
  readonly compression: "zstd" | "none"
  readonly keep: boolean
  readonly stateFile: string | undefined
  readonly options: Multipart.UploadOptions | undefined
  readonly report: (progress: Multipart.Progress) => Effect.Effect<void>
}

interface Started {
  readonly upload: Multipart.Upload
  readonly listed: ReadonlyArray<Multipart.ListedPart>
  /** The state resumed, `undefined` when the upload was started now. */
  readonly resume: Multipart.MultipartState | undefined
}

/** The upload: resumed (with the parts the server has), or started now. */
const start = <E, R>(input: Input<E, R>): Effect.Effect<Started, Multipart.UploadError> =>
  Effect.gen(function*() {
    const { resume } = input
    if (resume !== undefined) {
      const upload = yield* input.multipart.resume({ key: resume.key, uploadId: resume.uploadId })
      const listed = yield* Effect.either(upload.listParts)
      if (Either.isRight(listed)) return { upload, listed: listed.right, resume }
      const gone = listed.left._tag === "ResponseError" && (listed.left as ResponseError).status === 404
      if (!(gone && input.resumeFromFile)) return yield* listed.left
      // the server no longer has the upload (aborted or expired): start over
      yield* Effect.logWarning(`objectstore: upload ${resume.uploadId} is gone from the server; starting over`)
    }
    const upload = yield* input.multipart.initiate(UploadState.putOptionsOf(input.options))
    return { upload, listed: [], resume: undefined }
  })

/** The parts done so far, published (state and progress) after each one. */
const tracker = <E, R>(input: Input<E, R>, upload: Multipart.Upload, partSize: number) =>
  Effect.gen(function*() {
    const { file, options, stateFile } = input
    const records = new Map<number, Multipart.PartRecord>()
    const totalParts = file === undefined ? undefined : Math.max(1, Math.ceil(file.size / partSize))
    const totals = { bytes: 0, sentBytes: 0, skipped: 0 }
    const lock = yield* Effect.makeSemaphore(1)
    const sorted = () => Array.from(records.values()).sort((a, b) => a.partNumber - b.partNumber)
    const publish = Effect.gen(function*() {
      const state: Multipart.State = {
        version: 1,
        key: upload.key,
        uploadId: upload.uploadId,
        partSize,
        compression: input.compression,
        source: file === undefined ? undefined : { path: file.path, size: file.size, mtimeMs: file.mtimeMs },
        parts: sorted()
      }
      if (options?.onState !== undefined) yield* Effect.ignore(options.onState(state))
      if (stateFile !== undefined) yield* UploadState.write(input.files, stateFile, state)
    })
    const record = (part: Multipart.PartRecord, sent: number, reused: boolean) =>
      lock.withPermits(1)(Effect.gen(function*() {
        records.set(part.partNumber, part)
        totals.bytes += part.size
        totals.sentBytes += sent
        if (reused) totals.skipped++
        yield* publish
        yield* Effect.ignore(input.report({
          bytes: totals.bytes,
          parts: records.size,
          totalBytes: file?.size,
          totalParts,
          sentBytes: totals.sentBytes
        }))
      }))
    yield* lock.withPermits(1)(publish)
    return { record, sorted, totals, totalParts }
  })

/**
 * Sends every part and completes the upload.
 */
const run = <E, R>(input: Input<E, R>, partSize: number, started: Started) =>
  Effect.gen(function*() {
    const { concurrency, file } = input
    const { listed, upload } = started
    const server = new Map(listed.map((part) => [part.partNumber, part]))
    const known = new Map((started.resume?.parts ?? []).map((part) => [part.partNumber, part]))
    const { record, sorted, totalParts, totals } = yield* tracker(input, upload, partSize)
    const md5 = yield* loadMd5

    /** Whether the server's part is the one we would send (same length and MD5, or recorded by us). */
    const matches = (partNumber: number, sent: Uint8Array, digest: string | undefined) => {
      const there = server.get(partNumber)
      if (there === undefined || there.size !== sent.length) return undefined
      if (digest !== undefined && there.etag === `"${digest}"`) return there
      const mine = known.get(partNumber)
      if (mine === undefined || mine.etag !== there.etag || mine.sentSize !== sent.length) return undefined
      return mine.md5 === digest ? there : undefined
    }

    /** The bytes to send; the box lets go of the source bytes, so a compressed part holds only its frame. */
    const prepare = (
      box: PartBox
    ): Effect.Effect<{ readonly sent: Uint8Array; readonly size: number }, CompressionError> => {
      const raw = box.bytes!
      box.bytes = undefined
      return input.compression === "zstd"
        ? Effect.map(Bytes.collect(input.codec.compress(Stream.make(raw))), (sent) => ({ sent, size: raw.length }))
        : Effect.succeed({ sent: raw, size: raw.length })
    }

    const processPart = (partNumber: number, box: PartBox) =>
      Effect.gen(function*() {
        const { sent, size } = yield* prepare(box)
        const digest = md5 === undefined ? undefined : md5(sent)
        const digestHex = digest === undefined ? undefined : hex(digest)
        const there = matches(partNumber, sent, digestHex)
        if (there !== undefined) {
          return yield* record({ partNumber, etag: there.etag, size, sentSize: sent.length, md5: digestHex }, 0, true)
        }
        const part = yield* upload.putPart(partNumber, sent, digest === undefined ? undefined : { contentMd5: digest })
        yield* record({ partNumber, etag: part.etag, size, sentSize: sent.length, md5: digestHex }, sent.length, false)
      })

    let partCount: number
    if (file !== undefined) {
      // a file: every part is read from its own range, `concurrency` at a time
      const count = totalParts!
      const numbers = Array.from({ length: count }, (_, i) => i + 1)
      yield* Effect.forEach(numbers, (partNumber) => {
        const start = (partNumber - 1) * partSize
        const length = Math.min(partSize, file.size - start)
        const mine = known.get(partNumber)
        const there = server.get(partNumber)
        // recorded by the interrupted run and still on the server: no need to read it again
        if (
          mine !== undefined && there !== undefined && mine.etag === there.etag && mine.sentSize === there.size &&
          mine.size === length
        ) {
          return record(mine, 0, true)
        }
        return Effect.flatMap(Files.readRange(file, start, length), (bytes) => processPart(partNumber, { bytes }))
      }, { concurrency, discard: true })
      partCount = count
    } else {
      partCount = yield* streamParts(input.stream!, partSize, concurrency, processPart)
    }

    const parts = sorted()
    if (parts.length !== partCount) {
      return yield* Effect.dieMessage(`multipart upload recorded ${parts.length} of ${partCount} parts`)
    }
    const key = yield* upload.complete(parts.map(({ etag, partNumber }) => ({ partNumber, etag })))
    yield* Files.removeQuietly(input.files, input.stateFile)
    return {
      key,
      method: "multipart",
      uploadId: upload.uploadId,
      parts: partCount,
      skippedParts: totals.skipped,
      bytes: totals.bytes,
      sentBytes: totals.sentBytes
    } satisfies Multipart.UploadResult
  })

/**
 * A multipart upload: resumed or started, its parts sent, completed; aborted on failure or interruption unless
 * kept (`keep`).
 *
 * @internal
 */
export const upload = <E, R>(input: Input<E, R>): Effect.Effect<Multipart.UploadResult, E | Multipart.UploadError, R> =>
  Effect.gen(function*() {
    let partSize = input.partSize
    if (input.resume !== undefined) {
      partSize = input.resume.partSize
    } else if (input.file !== undefined && Math.ceil(input.file.size / partSize) > Multipart.MAX_PARTS) {
      const needed = Math.ceil(input.file.size / Multipart.MAX_PARTS)
      partSize = Math.ceil(needed / (1024 * 1024)) * 1024 * 1024
    }
    if (partSize < Multipart.MIN_PART_SIZE) {
      yield* Effect.logWarning(
        `objectstore: multipart part size ${partSize} is below 5 MiB; production backends reject such parts`
      )
    }
    return yield* Effect.acquireUseRelease(
      start(input),
      (started) => run(input, partSize, started),
      ({ upload }, exit) =>
        Exit.isSuccess(exit) || input.keep
          ? Effect.void
          : Effect.zipRight(Effect.ignore(upload.abort), Files.removeQuietly(input.files, input.stateFile))
    )
  })

/**
 * Cuts a stream into `partSize` parts and processes them `concurrency` at a time. A part buffer is allocated only
 * once a slot is free, so at most `concurrency` parts are alive. Returns the number of parts (at least one: an
 * empty stream is one empty part).
 */
const streamParts = <E, R, E2, R2>(
  stream: Stream.Stream<Uint8Array, E, R>,
  partSize: number,
  concurrency: number,
  process: (partNumber: number, box: PartBox) => Effect.Effect<void, E2, R2>
): Effect.Effect<number, E | E2, R | R2> =>
  Effect.scoped(Effect.gen(function*() {
    const slots = yield* Effect.makeSemaphore(concurrency)
    const failed = yield* Deferred.make<never, E | E2>()
    const running = yield* FiberSet.make<void, never>()
    let current: Uint8Array | undefined
    let filled = 0
    let count = 0

    const dispatch = (bytes: Uint8Array) => {
      const partNumber = ++count
      return process(partNumber, { bytes }).pipe(
        Effect.catchAllCause((cause) =>
          Cause.isInterruptedOnly(cause) ? Effect.void : Deferred.failCause(failed, cause)
        ),
        Effect.ensuring(slots.release(1)),
        FiberSet.run(running) // finished fibers leave the set (a scope would keep every one until the end)
      )
    }

    const producer = Effect.gen(function*() {
      yield* Stream.runForEach(stream, (chunk) =>
        Effect.gen(function*() {
          let offset = 0
          while (offset < chunk.length) {
            if (current === undefined) {
              yield* slots.take(1)
              current = new Uint8Array(partSize)
              filled = 0
            }
            const n = Math.min(partSize - filled, chunk.length - offset)
            current.set(chunk.subarray(offset, offset + n), filled)
            filled += n
            offset += n
            if (filled === partSize) {
              const full = current
              current = undefined
              yield* dispatch(full)
            }
          }
        }))
      if (current !== undefined) {
        const last = current.subarray(0, filled)
        current = undefined
        yield* dispatch(last)
      } else if (count === 0) {
        yield* slots.take(1)
        yield* dispatch(new Uint8Array(0))
      }
      yield* slots.take(concurrency) // every part is done
      const outcome = yield* Deferred.poll(failed)
      if (Option.isSome(outcome)) return yield* outcome.value
      return count
    })
    return yield* Effect.raceFirst(producer, Deferred.await(failed))
  }))
