/**
 * The resumable way of `session.upload` (PROTOCOL §22): a file sent in chunks from the server's offset on, with
 * retries after transient failures and the session recorded in the state.
 *
 * @since 0.1.0
 * @internal
 */
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Exit from "effect/Exit"
import * as Option from "effect/Option"
import * as Schedule from "effect/Schedule"
import * as Body from "../Body.js"
import type * as Multipart from "../Multipart.js"
import type { NetworkError, ResponseError } from "../ObjectstoreError.js"
import type * as Resumable from "../Resumable.js"
import * as Files from "./files.js"
import * as UploadState from "./uploadState.js"

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

const retrying = <A, E extends { readonly _tag: string }>(effect: Effect.Effect<A, E>) =>
  Effect.retry(effect, { schedule: backoff, while: transient })

/**
 * What a resumable upload is given.
 *
 * @internal
 */
export interface Input {
  readonly resumable: Resumable.Service
  readonly files: Files.FileContext
  readonly file: Files.FileInfo
  readonly state: Multipart.ResumableState | undefined
  readonly resumeFromFile: boolean
  readonly chunkSize: number
  readonly compression: "zstd" | "none"
  readonly fallback: boolean
  readonly keep: boolean
  readonly stateFile: string | undefined
  readonly options: Multipart.UploadOptions | undefined
  readonly report: (progress: Multipart.Progress) => Effect.Effect<void>
}

/** The session: `state`'s (unless the server lost it and the state came from the state file), else a new one. */
const session = (
  input: Input
): Effect.Effect<Option.Option<{ upload: Resumable.Upload; status: Resumable.Status }>, Multipart.UploadError> =>
  Effect.gen(function*() {
    const { options, state } = input
    if (state !== undefined) {
      const handle = yield* input.resumable.resume(state.key, state.session)
      const asked = yield* Effect.either(retrying(handle.offset()))
      if (Either.isRight(asked)) return Option.some({ upload: handle, status: asked.right })
      if (!(asked.left._tag === "ResumableSessionGoneError" && input.resumeFromFile)) return yield* asked.left
      yield* Effect.logWarning(`objectstore: the upload session of ${state.key} is gone from the server; starting over`)
    }
    const created = yield* Effect.either(input.resumable.create({
      ...UploadState.putOptionsOf(options),
      ...(state === undefined ? {} : { key: state.key }),
      encoding: options?.encoding,
      length: input.file.size
    }))
    if (Either.isLeft(created)) {
      if (created.left._tag === "NotSupportedError" && input.fallback) return Option.none()
      return yield* created.left
    }
    return Option.some({ upload: created.right, status: { _tag: "Pending", offset: 0 } as Resumable.Status })
  })

/**
 * A resumable upload of a file: resumes `state` (starting over when the server no longer has the session and the
 * state came from the state file), or creates a session; then sends `chunkSize` chunks from the server's offset
 * on, continuing from whatever offset each answer acknowledges. A transient failure is retried after asking the
 * server for its offset. `None`: the server cannot do resumable uploads (501) and `fallback` is set.
 *
 * @internal
 */
export const upload = (input: Input): Effect.Effect<Option.Option<Multipart.UploadResult>, Multipart.UploadError> =>
  Effect.gen(function*() {
    const { file, files, options, stateFile } = input
    const started = yield* session(input)
    if (Option.isNone(started)) return Option.none()
    const { status, upload: u } = started.value
    const length = file.size
    const chunkSize = input.state?.partSize ?? input.chunkSize
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
          source: { path: file.path, size: file.size, mtimeMs: file.mtimeMs },
          offset
        }
        if (options?.onState !== undefined) yield* Effect.ignore(options.onState(current))
        if (stateFile !== undefined) yield* UploadState.write(files, stateFile, current)
      })

    const send = Effect.gen(function*() {
      let current = status
      let failures = 0
      if (current._tag === "Pending") yield* publish(current.offset)
      while (current._tag === "Pending") {
        const offset = current.offset
        const end = Math.min(length, offset + chunkSize)
        const body = Body.replayable(() => Files.stream(file, end, offset), { contentLength: end - offset })
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
          ? Files.removeQuietly(files, stateFile)
          : input.keep
          ? Effect.void
          : Effect.zipRight(Effect.ignore(u.cancel()), Files.removeQuietly(files, stateFile))
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
  })
