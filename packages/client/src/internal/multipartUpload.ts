/**
 * The automatic upload (`session.upload`): one streamed `put` for small sources, else a parallel multipart upload
 * with per-part zstd frames, bounded memory, abort on failure, progress and resumable state.
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
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Exit from "effect/Exit"
import * as FiberSet from "effect/FiberSet"
import * as Option from "effect/Option"
import * as Schedule from "effect/Schedule"
import * as Stream from "effect/Stream"
import type * as NodeCrypto from "node:crypto"
import type * as FsPromises from "node:fs/promises"
import * as Body from "../Body.js"
import type * as Compression from "../Compression.js"
import * as Multipart from "../Multipart.js"
import { InvalidInputError } from "../ObjectstoreError.js"
import type { CompressionError, NetworkError, ResponseError } from "../ObjectstoreError.js"
import * as Resumable from "../Resumable.js"
import type * as Session from "../SessionModel.js"
import type * as Usecase from "../Usecase.js"
import { importBuiltin } from "./builtin.js"

/** @internal */
export interface Deps {
  readonly usecase: Usecase.Usecase
  readonly multipart: Multipart.Service
  readonly resumable: Resumable.Service
  readonly compression: Compression.Service
  readonly put: (
    body: Body.Input<unknown, unknown>,
    options: Session.PutOptions
  ) => Effect.Effect<string, unknown, unknown>
}

type Fs = typeof FsPromises

/** A part's source bytes, dropped (`undefined`) as soon as they are no longer needed. */
interface PartBox {
  bytes: Uint8Array | undefined
}
type Md5 = (bytes: Uint8Array) => Uint8Array

const invalid = (field: string, reason: string) => new InvalidInputError({ field, reason })

let fsModule: Promise<Fs | undefined> | undefined
const loadFs: Effect.Effect<Fs, InvalidInputError> = Effect.flatMap(
  Effect.promise(() => (fsModule ??= importBuiltin<Fs>("node:fs/promises").catch(() => undefined))),
  (fs) =>
    fs === undefined
      ? Effect.fail(invalid("path", "file sources and state files need node:fs (Node.js, Bun or Deno)"))
      : Effect.succeed(fs)
)

let md5Module: Promise<Md5 | undefined> | undefined
const loadMd5: Effect.Effect<Md5 | undefined> = Effect.promise(() =>
  md5Module ??= importBuiltin<typeof NodeCrypto>("node:crypto").then(
    (crypto): Md5 => (bytes) => new Uint8Array(crypto.createHash("md5").update(bytes).digest()),
    () => undefined
  )
)

const hex = (bytes: Uint8Array): string => Array.from(bytes, (byte) => byte.toString(16).padStart(2, "0")).join("")

const fsError = (path: string, cause: unknown) =>
  invalid("path", `${path}: ${cause instanceof Error ? cause.message : String(cause)}`)

const FILE_CHUNK = 1024 * 1024

/** Reads `[start, start + length)` of an open file into one buffer. */
const readRange = (handle: FsPromises.FileHandle, path: string, start: number, length: number) =>
  Effect.tryPromise({
    try: async () => {
      const buffer = new Uint8Array(length)
      let filled = 0
      while (filled < length) {
        const { bytesRead } = await handle.read(buffer, filled, length - filled, start + filled)
        if (bytesRead === 0) throw new Error("the file is shorter than when the upload started")
        filled += bytesRead
      }
      return buffer
    },
    catch: (cause) => fsError(path, cause)
  })

/** Bytes `[start, end)` of a file as a stream of 1 MiB chunks (each run opens the file again: replayable). */
const fileStream = (fs: Fs, path: string, end: number, start = 0): Stream.Stream<Uint8Array, InvalidInputError> =>
  Stream.unwrapScoped(Effect.map(
    Effect.acquireRelease(
      Effect.tryPromise({ try: () => fs.open(path, "r"), catch: (cause) => fsError(path, cause) }),
      (handle) => Effect.promise(() => handle.close().catch(() => undefined))
    ),
    (handle) =>
      end <= start ? Stream.empty : Stream.paginateEffect(start, (position) =>
        Effect.map(
          readRange(handle, path, position, Math.min(FILE_CHUNK, end - position)),
          (chunk) =>
            [chunk, position + chunk.length < end ? Option.some(position + chunk.length) : Option.none()] as const
        ))
  ))

const writeState = (fs: Fs, file: string, state: Multipart.State) =>
  Effect.tryPromise({
    try: async () => {
      const tmp = `${file}.tmp`
      await fs.writeFile(tmp, JSON.stringify(state))
      await fs.rename(tmp, file)
    },
    catch: (cause) => invalid("stateFile", `${file}: ${cause instanceof Error ? cause.message : String(cause)}`)
  })

const readState = (fs: Fs, file: string): Effect.Effect<Option.Option<Multipart.State>, InvalidInputError> =>
  Effect.gen(function*() {
    const text = yield* Effect.tryPromise({
      try: () =>
        fs.readFile(file, "utf8").catch((error: { code?: unknown }) => {
          if (error.code === "ENOENT") return undefined
          throw error
        }),
      catch: (cause) => invalid("stateFile", `${file}: ${cause instanceof Error ? cause.message : String(cause)}`)
    })
    if (text === undefined) return Option.none()
    const json = yield* Effect.try({
      try: () => JSON.parse(text) as unknown,
      catch: () => invalid("stateFile", `${file} is not JSON`)
    })
    return yield* Either.match(Multipart.decodeState(json), {
      onLeft: (reason) => Effect.fail(invalid("stateFile", `${file}: ${reason}`)),
      onRight: (state) => Effect.succeed(Option.some(state))
    })
  })

const removeFile = (fs: Fs | undefined, file: string | undefined) =>
  fs === undefined || file === undefined
    ? Effect.void
    : Effect.promise(() => fs.rm(file, { force: true }).catch(() => undefined))

const positiveInteger = (field: string, value: number | undefined, fallback: number) =>
  Effect.suspend(() => {
    if (value === undefined) return Effect.succeed(fallback)
    return Number.isSafeInteger(value) && value > 0
      ? Effect.succeed(value)
      : Effect.fail(invalid(field, "must be a positive integer"))
  })

const putOptionsOf = (options: Multipart.UploadOptions | undefined): Session.PutOptions => ({
  key: options?.key,
  compression: options?.compression,
  contentType: options?.contentType,
  metadata: options?.metadata,
  expirationPolicy: options?.expirationPolicy,
  origin: options?.origin,
  filename: options?.filename
})

/**
 * `session.upload`.
 *
 * @internal
 */
export const make = (deps: Deps) =>
<E, R>(
  source: Multipart.Source<E, R>,
  options?: Multipart.UploadOptions
): Effect.Effect<Multipart.UploadResult, E | Multipart.UploadError, R> =>
  Effect.scoped(Effect.gen(function*() {
    const compression = options?.compression ?? deps.usecase.compression
    if (compression !== "zstd" && compression !== "none") {
      return yield* invalid("compression", `unknown compression ${compression}`)
    }
    const concurrency = yield* positiveInteger("concurrency", options?.concurrency, Multipart.DEFAULT_CONCURRENCY)
    let partSize = yield* positiveInteger("partSize", options?.partSize, Multipart.DEFAULT_PART_SIZE)
    const threshold = options?.threshold ?? partSize
    if (!(Number.isSafeInteger(threshold) && threshold >= 0)) {
      return yield* invalid("threshold", "must be a non-negative integer")
    }
    const isStream = typeof source === "object" && source !== null && Stream.StreamTypeId in source
    const given = isStream ? undefined : (source as { readonly path?: unknown }).path
    if (!isStream && typeof given !== "string") return yield* invalid("source", "must be a Stream or { path }")
    const path = typeof given === "string" ? given : undefined
    const stateFile = options?.stateFile
    const fs = path !== undefined || stateFile !== undefined ? yield* loadFs : undefined
    const keep = options?.keepOnFailure ?? stateFile !== undefined

    let resume = options?.resume
    let resumeFromFile = false
    if (resume === undefined && stateFile !== undefined) {
      const stored = yield* readState(fs!, stateFile)
      if (Option.isSome(stored)) {
        resume = stored.value
        resumeFromFile = true
      }
    }

    // the file, opened once for every positional read
    let file: { readonly handle: FsPromises.FileHandle; readonly size: number; readonly mtimeMs: number } | undefined
    if (path !== undefined) {
      const handle = yield* Effect.acquireRelease(
        Effect.tryPromise({ try: () => fs!.open(path, "r"), catch: (cause) => fsError(path, cause) }),
        (handle) => Effect.promise(() => handle.close().catch(() => undefined))
      )
      const stat = yield* Effect.tryPromise({ try: () => handle.stat(), catch: (cause) => fsError(path, cause) })
      file = { handle, size: stat.size, mtimeMs: stat.mtimeMs }
    }

    if (resume !== undefined) {
      if (options?.key !== undefined && options.key !== "" && options.key !== resume.key) {
        return yield* invalid("resume", `the state is for key ${resume.key}, not ${options.key}`)
      }
      if (options?.compression !== undefined && options.compression !== resume.compression) {
        return yield* invalid("resume", `the state uses compression ${resume.compression}`)
      }
      if (file !== undefined) {
        const recorded = resume.source
        if (recorded === undefined || recorded.size !== file.size || recorded.mtimeMs !== file.mtimeMs) {
          return yield* invalid("resume", "the file changed since the upload started (size or modification time)")
        }
      }
    }

    const report = options?.onProgress ?? (() => Effect.void)

    // -- resumable uploads (PROTOCOL §22) ----------------------------------------------------------------------
    const method = options?.method ?? "auto"
    if (method !== "auto" && method !== "multipart" && method !== "resumable") {
      return yield* invalid("method", "must be \"auto\", \"multipart\" or \"resumable\"")
    }
    // Bytes compressed on the fly may differ on a rerun (another codec or version), so an offset into them could
    // not be resumed: such uploads stay multipart, as the Python client decides (§22.8).
    const onTheFly = compression === "zstd" && options?.encoding !== "zstd"
    if (method === "resumable" || resume?.kind === "resumable") {
      if (file === undefined) return yield* invalid("method", "resumable uploads need a file source ({ path })")
      if (onTheFly) {
        return yield* invalid(
          "method",
          "resumable uploads send the file as it is: use compression \"none\", or encoding \"zstd\" for a zstd file"
        )
      }
    }
    const goResumable = resume?.kind === "resumable" || (resume === undefined && file !== undefined &&
      file.size > threshold &&
      (method === "resumable" || (method === "auto" && !onTheFly && file.size >= Resumable.AUTOMATIC_THRESHOLD)))
    if (goResumable) {
      const done = yield* resumableUpload({
        deps,
        fs: fs!,
        path: path!,
        file: file!,
        state: resume?.kind === "resumable" ? resume : undefined,
        resumeFromFile,
        chunkSize: partSize,
        compression,
        fallback: method === "auto" && resume === undefined,
        keep,
        stateFile,
        options,
        report
      })
      if (Option.isSome(done)) return done.value
    }
    let multipartResume: Multipart.MultipartState | undefined = resume?.kind === "resumable" ? undefined : resume

    // -- small sources: one streamed put ----------------------------------------------------------------------
    let streamSource: Stream.Stream<Uint8Array, E, R> | undefined
    if (multipartResume === undefined) {
      if (file !== undefined && file.size <= threshold) {
        const size = file.size
        const key = yield* deps.put(
          Body.replayable(() => fileStream(fs!, path!, size), { contentLength: size }),
          putOptionsOf(options)
        ) as Effect.Effect<string, Multipart.UploadError>
        yield* Effect.ignore(report({ bytes: size, parts: 1, totalBytes: size, totalParts: 1, sentBytes: size }))
        return { key, method: "put", uploadId: undefined, parts: 1, skippedParts: 0, bytes: size, sentBytes: size }
      }
      if (file === undefined) {
        // read ahead until the threshold is passed or the stream ends
        const pull = yield* Stream.toPull(source as Stream.Stream<Uint8Array, E, R>)
        const prefix: Array<Uint8Array> = []
        let size = 0
        let ended = false
        while (size <= threshold) {
          const next = yield* Effect.either(pull)
          if (Either.isLeft(next)) {
            if (Option.isSome(next.left)) return yield* Effect.fail(next.left.value)
            ended = true
            break
          }
          for (const chunk of next.right) {
            prefix.push(chunk)
            size += chunk.length
          }
        }
        if (ended) {
          const bytes = Bytes.concat(prefix)
          const key = yield* deps.put(bytes, putOptionsOf(options)) as Effect.Effect<string, Multipart.UploadError>
          yield* Effect.ignore(report({ bytes: size, parts: 1, totalBytes: size, totalParts: 1, sentBytes: size }))
          return { key, method: "put", uploadId: undefined, parts: 1, skippedParts: 0, bytes: size, sentBytes: size }
        }
        // the read-ahead chunks are handed on one by one (and released), then the rest of the source
        const ahead = Stream.repeatEffectOption(
          Effect.suspend(() => {
            const next = prefix.shift()
            return next === undefined ? Effect.fail(Option.none()) : Effect.succeed(next)
          })
        )
        streamSource = Stream.concat(ahead, Stream.repeatEffectChunkOption(pull))
      }
    } else if (file === undefined) {
      streamSource = source as Stream.Stream<Uint8Array, E, R>
    }

    // -- multipart --------------------------------------------------------------------------------------------
    if (multipartResume !== undefined) {
      partSize = multipartResume.partSize
    } else if (file !== undefined && Math.ceil(file.size / partSize) > Multipart.MAX_PARTS) {
      const needed = Math.ceil(file.size / Multipart.MAX_PARTS)
      partSize = Math.ceil(needed / (1024 * 1024)) * 1024 * 1024
    }
    if (partSize < Multipart.MIN_PART_SIZE) {
      yield* Effect.logWarning(
        `objectstore: multipart part size ${partSize} is below 5 MiB; production backends reject such parts`
      )
    }
    const md5 = yield* loadMd5

    // the upload: resumed, or started now; aborted on failure or interruption unless kept
    const acquire: Effect.Effect<
      { upload: Multipart.Upload; listed: ReadonlyArray<Multipart.ListedPart> },
      Multipart.UploadError
    > = Effect.gen(function*() {
      if (multipartResume !== undefined) {
        const upload = yield* deps.multipart.resume({ key: multipartResume.key, uploadId: multipartResume.uploadId })
        const listed = yield* Effect.either(upload.listParts)
        if (Either.isRight(listed)) return { upload, listed: listed.right }
        const gone = listed.left._tag === "ResponseError" && (listed.left as ResponseError).status === 404
        if (!(gone && resumeFromFile)) return yield* listed.left
        // the server no longer has the upload (aborted or expired): start over
        yield* Effect.logWarning(
          `objectstore: upload ${multipartResume.uploadId} is gone from the server; starting over`
        )
        multipartResume = undefined
      }
      const upload = yield* deps.multipart.initiate(putOptionsOf(options))
      return { upload, listed: [] }
    })

    const run = ({ listed, upload }: { upload: Multipart.Upload; listed: ReadonlyArray<Multipart.ListedPart> }) =>
      Effect.gen(function*() {
        const server = new Map(listed.map((part) => [part.partNumber, part]))
        const known = new Map((multipartResume?.parts ?? []).map((part) => [part.partNumber, part]))
        const records = new Map<number, Multipart.PartRecord>()
        const totalParts = file === undefined ? undefined : Math.max(1, Math.ceil(file.size / partSize))
        let bytes = 0
        let sentBytes = 0
        let skipped = 0
        const lock = yield* Effect.makeSemaphore(1)

        const stateOf = (): Multipart.State => ({
          version: 1,
          key: upload.key,
          uploadId: upload.uploadId,
          partSize,
          compression,
          source: file === undefined ? undefined : { path: path!, size: file.size, mtimeMs: file.mtimeMs },
          parts: Array.from(records.values()).sort((a, b) => a.partNumber - b.partNumber)
        })
        const publish = Effect.gen(function*() {
          const state = stateOf()
          if (options?.onState !== undefined) yield* Effect.ignore(options.onState(state))
          if (stateFile !== undefined) yield* writeState(fs!, stateFile, state)
        })
        const record = (part: Multipart.PartRecord, sent: number, reused: boolean) =>
          lock.withPermits(1)(Effect.gen(function*() {
            records.set(part.partNumber, part)
            bytes += part.size
            sentBytes += sent
            if (reused) skipped++
            yield* publish
            yield* Effect.ignore(report({
              bytes,
              parts: records.size,
              totalBytes: file?.size,
              totalParts,
              sentBytes
            }))
          }))
        yield* lock.withPermits(1)(publish)

        /** Whether the server's part is the one we would send (same length and MD5, or recorded by us). */
        const matches = (partNumber: number, sent: Uint8Array, digest: string | undefined) => {
          const there = server.get(partNumber)
          if (there === undefined || there.size !== sent.length) return undefined
          if (digest !== undefined && there.etag === `"${digest}"`) return there
          const mine = known.get(partNumber)
          if (mine === undefined || mine.etag !== there.etag || mine.sentSize !== sent.length) return undefined
          return mine.md5 === digest ? there : undefined
        }

        const compressPart = (raw: Uint8Array) => Bytes.collect(deps.compression.compress(Stream.make(raw)))

        /** The bytes to send; the box lets go of the source bytes, so a compressed part holds only its frame. */
        const prepare = (
          box: PartBox
        ): Effect.Effect<{ readonly sent: Uint8Array; readonly size: number }, CompressionError> => {
          const raw = box.bytes!
          box.bytes = undefined
          return compression === "zstd"
            ? Effect.map(compressPart(raw), (sent) => ({ sent, size: raw.length }))
            : Effect.succeed({ sent: raw, size: raw.length })
        }

        const processPart = (partNumber: number, box: PartBox) =>
          Effect.gen(function*() {
            const { sent, size } = yield* prepare(box)
            const digest = md5 === undefined ? undefined : md5(sent)
            const digestHex = digest === undefined ? undefined : hex(digest)
            const there = matches(partNumber, sent, digestHex)
            if (there !== undefined) {
              return yield* record(
                { partNumber, etag: there.etag, size, sentSize: sent.length, md5: digestHex },
                0,
                true
              )
            }
            const part = yield* upload.putPart(
              partNumber,
              sent,
              digest === undefined ? undefined : { contentMd5: digest }
            )
            yield* record(
              { partNumber, etag: part.etag, size, sentSize: sent.length, md5: digestHex },
              sent.length,
              false
            )
          })

        let partCount: number
        if (file !== undefined) {
          // a file: every part is read from its own range, `concurrency` at a time
          const count = totalParts!
          const numbers = Array.from({ length: count }, (_, i) => i + 1)
          yield* Effect.forEach(numbers, (partNumber) => {
            const start = (partNumber - 1) * partSize
            const length = Math.min(partSize, file!.size - start)
            const mine = known.get(partNumber)
            const there = server.get(partNumber)
            // recorded by the interrupted run and still on the server: no need to read it again
            if (
              mine !== undefined && there !== undefined && mine.etag === there.etag && mine.sentSize === there.size &&
              mine.size === length
            ) {
              return record(mine, 0, true)
            }
            return Effect.flatMap(
              readRange(file!.handle, path!, start, length),
              (bytes) => processPart(partNumber, { bytes })
            )
          }, { concurrency, discard: true })
          partCount = count
        } else {
          partCount = yield* streamParts(streamSource!, partSize, concurrency, processPart)
        }

        const parts = Array.from(records.values()).sort((a, b) => a.partNumber - b.partNumber)
        if (parts.length !== partCount) {
          return yield* Effect.dieMessage(`multipart upload recorded ${parts.length} of ${partCount} parts`)
        }
        const key = yield* upload.complete(parts.map(({ etag, partNumber }) => ({ partNumber, etag })))
        yield* removeFile(fs, stateFile)
        return {
          key,
          method: "multipart",
          uploadId: upload.uploadId,
          parts: partCount,
          skippedParts: skipped,
          bytes,
          sentBytes
        } satisfies Multipart.UploadResult
      })

    return yield* Effect.acquireUseRelease(
      acquire,
      run,
      ({ upload }, exit) =>
        Exit.isSuccess(exit) || keep
          ? Effect.void
          : Effect.zipRight(Effect.ignore(upload.abort), removeFile(fs, stateFile))
    )
  })) as Effect.Effect<Multipart.UploadResult, E | Multipart.UploadError, R>

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

/** Retries of a resumable upload after transient failures, each followed by an offset query (as upstream). */
const RESUMABLE_RETRIES = 3

/** The failures worth another try (PROTOCOL §22.8: 408, 429, 500, 502, 503, 504, timeouts, broken connections). */
const transient = (error: { readonly _tag: string }): boolean => {
  if (error._tag === "NetworkError") return (error as NetworkError).retryable
  if (error._tag !== "ResponseError") return false
  const response = error as ResponseError
  return response.retryable || response.status === 408 || response.status === 500
}

const backoff = Schedule.exponential("50 millis").pipe(Schedule.intersect(Schedule.recurs(RESUMABLE_RETRIES)))

/**
 * A resumable upload of a file (PROTOCOL §22): resumes `state` (starting over when the server no longer has the
 * session and the state came from the state file), or creates a session; then sends `chunkSize` chunks from the
 * server's offset on, continuing from whatever offset each answer acknowledges. A transient failure is retried after
 * asking the server for its offset. `None`: the server cannot do resumable uploads (501) and `fallback` is set.
 */
const resumableUpload = <E, R>(input: {
  readonly deps: Deps
  readonly fs: Fs
  readonly path: string
  readonly file: { readonly size: number; readonly mtimeMs: number }
  readonly state: Multipart.ResumableState | undefined
  readonly resumeFromFile: boolean
  readonly chunkSize: number
  readonly compression: "zstd" | "none"
  readonly fallback: boolean
  readonly keep: boolean
  readonly stateFile: string | undefined
  readonly options: Multipart.UploadOptions | undefined
  readonly report: (progress: Multipart.Progress) => Effect.Effect<void>
}): Effect.Effect<Option.Option<Multipart.UploadResult>, E | Multipart.UploadError, R> =>
  Effect.gen(function*() {
    const { deps, file, fs, options, path, state, stateFile } = input
    const length = file.size
    const chunkSize = state?.partSize ?? input.chunkSize
    const retrying = <A, E2 extends { readonly _tag: string }>(effect: Effect.Effect<A, E2>) =>
      Effect.retry(effect, { schedule: backoff, while: transient })

    let upload: Resumable.Upload | undefined
    let status: Resumable.Status = { _tag: "Pending", offset: 0 }
    if (state !== undefined) {
      const handle = yield* deps.resumable.resume(state.key, state.session)
      const asked = yield* Effect.either(retrying(handle.offset()))
      if (Either.isRight(asked)) {
        upload = handle
        status = asked.right
      } else if (asked.left._tag === "ResumableSessionGoneError" && input.resumeFromFile) {
        yield* Effect.logWarning(
          `objectstore: the upload session of ${state.key} is gone from the server; starting over`
        )
      } else {
        return yield* asked.left
      }
    }
    if (upload === undefined) {
      const created = yield* Effect.either(deps.resumable.create({
        ...putOptionsOf(options),
        ...(state === undefined ? {} : { key: state.key }),
        encoding: options?.encoding,
        length
      }))
      if (Either.isLeft(created)) {
        if (created.left._tag === "NotSupportedError" && input.fallback) return Option.none()
        return yield* created.left
      }
      upload = created.right
    }
    const u = upload
    const totalParts = Math.max(1, Math.ceil(length / chunkSize))
    let sentBytes = 0
    let chunks = 0
    const publish = (offset: number) =>
      Effect.gen(function*() {
        const current: Multipart.ResumableState = {
          version: 1,
          kind: "resumable",
          key: u.key,
          session: u.session,
          partSize: chunkSize,
          compression: input.compression,
          length,
          source: { path, size: file.size, mtimeMs: file.mtimeMs },
          offset
        }
        if (options?.onState !== undefined) yield* Effect.ignore(options.onState(current))
        if (stateFile !== undefined) yield* writeState(fs, stateFile, current)
      })

    const send = Effect.gen(function*() {
      let current = status
      let failures = 0
      if (current._tag === "Pending") yield* publish(current.offset)
      while (current._tag === "Pending") {
        const offset = current.offset
        const end = Math.min(length, offset + chunkSize)
        const body = Body.replayable(() => fileStream(fs, path, end, offset), { contentLength: end - offset })
        const answer = yield* Effect.either(u.put(offset, body))
        if (Either.isRight(answer)) {
          failures = 0
          chunks++
          current = answer.right
          const reached = current._tag === "Pending" ? current.offset : length
          sentBytes += reached - offset
          if (current._tag === "Pending") yield* publish(current.offset)
          yield* Effect.ignore(
            input.report({ bytes: reached, parts: chunks, totalBytes: length, totalParts, sentBytes })
          )
          continue
        }
        const error = answer.left
        if (error._tag === "ResumableOffsetError" && ++failures <= RESUMABLE_RETRIES) {
          // the server knows better (a lost answer, a chunk kept in part): go on from its offset
          current = { _tag: "Pending", offset: error.offset }
          continue
        }
        if (!transient(error) || ++failures > RESUMABLE_RETRIES) return yield* error
        yield* Effect.sleep(Duration.millis(50 * 2 ** (failures - 1)))
        current = yield* retrying(u.offset())
      }
      return current.key
    })

    const key = yield* send.pipe(
      Effect.onExit((exit) =>
        Exit.isSuccess(exit)
          ? removeFile(fs, stateFile)
          : input.keep
          ? Effect.void
          : Effect.zipRight(Effect.ignore(u.cancel()), removeFile(fs, stateFile))
      )
    )
    return Option.some<Multipart.UploadResult>({
      key,
      method: "resumable",
      session: u.session,
      uploadId: undefined,
      parts: chunks,
      skippedParts: 0,
      bytes: length,
      sentBytes
    })
  }) as Effect.Effect<Option.Option<Multipart.UploadResult>, E | Multipart.UploadError, R>
