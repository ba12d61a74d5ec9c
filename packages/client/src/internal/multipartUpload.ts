/**
 * The automatic upload (`session.upload`): one streamed `put` for small sources, else a resumable upload
 * (`uploadResumable.ts`) or a parallel multipart upload with per-part zstd frames (`uploadParts.ts`), with bounded
 * memory, abort on failure, progress and resumable state (`uploadState.ts`).
 *
 * This module decides: it checks the options, reads the state to resume, looks at the file, and chooses the way.
 *
 * @since 0.1.0
 * @internal
 */
import * as Bytes from "@objectstore/protocol/Bytes"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Option from "effect/Option"
import type * as Scope from "effect/Scope"
import * as Stream from "effect/Stream"
import * as Body from "../Body.js"
import type * as Compression from "../Compression.js"
import * as Multipart from "../Multipart.js"
import * as Resumable from "../Resumable.js"
import type * as Session from "../SessionModel.js"
import type * as Usecase from "../Usecase.js"
import * as Files from "./files.js"
import * as UploadParts from "./uploadParts.js"
import * as UploadResumable from "./uploadResumable.js"
import * as UploadState from "./uploadState.js"
import * as Validation from "./validation.js"

/** @internal */
export interface Deps {
  readonly usecase: Usecase.Usecase
  readonly multipart: Multipart.Service
  readonly resumable: Resumable.Service
  readonly compression: Compression.Service
  readonly files: Files.FileContext
  readonly put: (
    body: Body.Input<unknown, unknown>,
    options: Session.PutOptions
  ) => Effect.Effect<string, unknown, unknown>
}

const { invalid } = Validation

const positiveInteger = (field: string, value: number | undefined, fallback: number) =>
  Effect.suspend(() => {
    if (value === undefined) return Effect.succeed(fallback)
    return Number.isSafeInteger(value) && value > 0
      ? Effect.succeed(value)
      : Effect.fail(invalid(field, "must be a positive integer"))
  })

/** The options checked, the state to resume and the file looked at. */
interface Plan {
  readonly compression: "zstd" | "none"
  readonly concurrency: number
  readonly partSize: number
  readonly threshold: number
  readonly file: Files.FileInfo | undefined
  readonly stateFile: string | undefined
  readonly keep: boolean
  readonly resume: Multipart.State | undefined
  readonly resumeFromFile: boolean
  readonly method: "auto" | "multipart" | "resumable"
  /** Compressed on the fly: bytes that may differ on a rerun, so never resumable (§22.8). */
  readonly onTheFly: boolean
}

const plan = (
  deps: Deps,
  source: Multipart.Source<unknown, unknown>,
  options: Multipart.UploadOptions | undefined
): Effect.Effect<Plan, Multipart.UploadError> =>
  Effect.gen(function*() {
    const compression = options?.compression ?? deps.usecase.compression
    if (compression !== "zstd" && compression !== "none") {
      return yield* invalid("compression", `unknown compression ${compression}`)
    }
    const concurrency = yield* positiveInteger("concurrency", options?.concurrency, Multipart.DEFAULT_CONCURRENCY)
    const partSize = yield* positiveInteger("partSize", options?.partSize, Multipart.DEFAULT_PART_SIZE)
    const threshold = options?.threshold ?? partSize
    if (!(Number.isSafeInteger(threshold) && threshold >= 0)) {
      return yield* invalid("threshold", "must be a non-negative integer")
    }
    const isStream = typeof source === "object" && source !== null && Stream.StreamTypeId in source
    const path = isStream ? undefined : (source as { readonly path?: unknown }).path
    if (!isStream && typeof path !== "string") return yield* invalid("source", "must be a Stream or { path }")
    const stateFile = options?.stateFile
    let resume = options?.resume
    let resumeFromFile = false
    if (resume === undefined && stateFile !== undefined) {
      const stored = yield* UploadState.read(deps.files, stateFile)
      if (Option.isSome(stored)) {
        resume = stored.value
        resumeFromFile = true
      }
    }
    const file = typeof path === "string" ? yield* Files.stat(deps.files, path) : undefined
    if (resume !== undefined) yield* checkResume(resume, file, options)
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
    return {
      compression,
      concurrency,
      partSize,
      threshold,
      file,
      stateFile,
      keep: options?.keepOnFailure ?? stateFile !== undefined,
      resume,
      resumeFromFile,
      method,
      onTheFly
    }
  })

/** A state to resume must be for this key, compression and (unchanged) file. */
const checkResume = (
  resume: Multipart.State,
  file: Files.FileInfo | undefined,
  options: Multipart.UploadOptions | undefined
) =>
  Effect.gen(function*() {
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
  })

const singleResult = (key: string, size: number): Multipart.UploadResult => ({
  key,
  method: "put",
  uploadId: undefined,
  parts: 1,
  skippedParts: 0,
  bytes: size,
  sentBytes: size
})

/**
 * A stream read ahead until the threshold is passed or it ends: ended, its bytes (sent with one put); else the
 * stream to upload in parts, the read-ahead chunks first (each handed on once and released), then the rest.
 */
const readAhead = <E, R>(
  source: Stream.Stream<Uint8Array, E, R>,
  threshold: number
): Effect.Effect<Either.Either<Uint8Array, Stream.Stream<Uint8Array, E, R>>, E, R | Scope.Scope> =>
  Effect.gen(function*() {
    const pull = yield* Stream.toPull(source)
    const prefix: Array<Uint8Array> = []
    let size = 0
    while (size <= threshold) {
      const next = yield* Effect.either(pull)
      if (Either.isLeft(next)) {
        if (Option.isSome(next.left)) return yield* Effect.fail(next.left.value)
        return Either.right(Bytes.concat(prefix))
      }
      for (const chunk of next.right) {
        prefix.push(chunk)
        size += chunk.length
      }
    }
    const ahead = Stream.repeatEffectOption(
      Effect.suspend(() => {
        const next = prefix.shift()
        return next === undefined ? Effect.fail(Option.none()) : Effect.succeed(next)
      })
    )
    return Either.left(Stream.concat(ahead, Stream.repeatEffectChunkOption(pull)))
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
    const chosen = yield* plan(deps, source as Multipart.Source<unknown, unknown>, options)
    const { file, resume, threshold } = chosen
    const report = options?.onProgress ?? (() => Effect.void)
    const put = (body: Body.Input<unknown, unknown>, size: number) =>
      Effect.gen(function*() {
        const key = yield* deps.put(body, UploadState.putOptionsOf(options)) as Effect.Effect<
          string,
          Multipart.UploadError
        >
        yield* Effect.ignore(report({ bytes: size, parts: 1, totalBytes: size, totalParts: 1, sentBytes: size }))
        return singleResult(key, size)
      })

    const goResumable = resume?.kind === "resumable" || (resume === undefined && file !== undefined &&
      file.size > threshold &&
      (chosen.method === "resumable" ||
        (chosen.method === "auto" && !chosen.onTheFly && file.size >= Resumable.AUTOMATIC_THRESHOLD)))
    if (goResumable) {
      const done = yield* UploadResumable.upload({
        resumable: deps.resumable,
        files: deps.files,
        file: file!,
        state: resume?.kind === "resumable" ? resume : undefined,
        resumeFromFile: chosen.resumeFromFile,
        chunkSize: chosen.partSize,
        compression: chosen.compression,
        fallback: chosen.method === "auto" && resume === undefined,
        keep: chosen.keep,
        stateFile: chosen.stateFile,
        options,
        report
      })
      if (Option.isSome(done)) return done.value
    }
    const multipartResume = resume?.kind === "resumable" ? undefined : resume

    // small sources: one streamed put
    let stream: Stream.Stream<Uint8Array, E, R> | undefined
    if (file === undefined) {
      const all = source as Stream.Stream<Uint8Array, E, R>
      if (multipartResume === undefined) {
        const ahead = yield* readAhead(all, threshold)
        if (Either.isRight(ahead)) return yield* put(ahead.right, ahead.right.length)
        stream = ahead.left
      } else {
        stream = all
      }
    } else if (multipartResume === undefined && file.size <= threshold) {
      return yield* put(Body.replayable(() => Files.stream(file), { contentLength: file.size }), file.size)
    }

    return yield* UploadParts.upload({
      multipart: deps.multipart,
      codec: deps.compression,
      files: deps.files,
      file,
      stream,
      resume: multipartResume,
      resumeFromFile: chosen.resumeFromFile,
      partSize: chosen.partSize,
      concurrency: chosen.concurrency,
      compression: chosen.compression,
      keep: chosen.keep,
      stateFile: chosen.stateFile,
      options,
      report
    })
  })) as Effect.Effect<Multipart.UploadResult, E | Multipart.UploadError, R>
