/**
 * Resumable uploads (PROTOCOL §22): one object sent as sequential chunks to a server-side session, which survives
 * lost connections, client restarts and server restarts; the object appears atomically when its last byte arrives.
 *
 * **Automatic** — `session.upload({ path }, options)` uses a resumable upload for files of at least
 * {@link AUTOMATIC_THRESHOLD} bytes that need no compression on the fly (compression `"none"`, or `encoding: "zstd"`
 * for a file that already is zstd), and falls back to multipart when the server answers 501. See `Multipart`.
 *
 * **Manual** — `session.resumable.create({ length, ...putOptions })` starts a session and returns an {@link Upload}
 * handle; `session.resumable.resume(key, session)` rebuilds it from what you stored, without a network call.
 * `put(offset, body)` sends a chunk and answers where the session stands; `offset()` asks (do so after any failure:
 * the server may have kept part of a chunk); `cancel()` ends the session. Chunks are sent exactly as given:
 * `compression` at create is only recorded (`Content-Encoding`), as with multipart (§7).
 *
 * @example
 * ```ts
 * import { Resumable, Session } from "@objectstore/client"
 * import * as Effect from "effect/Effect"
 *
 * const data = new Uint8Array(10 * 1024 * 1024)
 *
 * const program = Effect.gen(function*() {
 *   const session = yield* Session.Session
 *   const upload = yield* session.resumable.create({ key: "big.bin", length: data.length, compression: "none" })
 *   let status: Resumable.Status = { _tag: "Pending", offset: 0 }
 *   while (status._tag === "Pending") {
 *     const offset: number = status.offset
 *     status = yield* upload.put(offset, data.subarray(offset, offset + 4 * 1024 * 1024)).pipe(
 *       // a chunk that failed may have been kept in part: ask the server where to go on
 *       Effect.catchTag("NetworkError", () => upload.offset())
 *     )
 *   }
 *   return status.key
 * })
 * ```
 *
 * @since 0.1.0
 */
import type * as Effect from "effect/Effect"
import type * as Body from "./Body.js"
import type * as ObjectModel from "./ObjectModel.js"
import type {
  AuthError,
  InvalidInputError,
  NetworkError,
  NotSupportedError,
  ResponseError,
  ResumableOffsetError,
  ResumableSessionGoneError
} from "./ObjectstoreError.js"

/**
 * Files of at least this many bytes go resumable in `session.upload` (32 MiB, as the upstream clients).
 *
 * @since 0.1.0
 * @category constants
 */
export const AUTOMATIC_THRESHOLD = 32 * 1024 * 1024

/**
 * Options of `create`: everything a `put` takes, plus the exact number of bytes that will be sent (the compressed
 * length when the chunks are zstd). The metadata is fixed now; `x-sn-time-created` is set when the object commits.
 *
 * @since 0.1.0
 * @category models
 */
export interface CreateOptions extends ObjectModel.PutOptions {
  readonly length: number
}

/**
 * Where a session stands: bytes still missing from `offset` on, or the object committed under `key`.
 *
 * @since 0.1.0
 * @category models
 */
export type Status =
  | { readonly _tag: "Pending"; readonly offset: number }
  | { readonly _tag: "Complete"; readonly key: string }

/**
 * A chunk's body: bytes, a replayable stream factory, or a stream with `contentLength`.
 *
 * @since 0.1.0
 * @category models
 */
export type ChunkBody<E = never, R = never> = Body.Sized<E, R>

/**
 * The failures of every session request (chunk, offset query, cancel).
 *
 * @since 0.1.0
 * @category errors
 */
export type RequestError =
  | AuthError
  | NetworkError
  | ResponseError
  | InvalidInputError
  | ResumableSessionGoneError
  | NotSupportedError

/**
 * The failures of `put`: those of every request, plus an offset the server does not agree with.
 *
 * @since 0.1.0
 * @category errors
 */
export type PutError = RequestError | ResumableOffsetError

/**
 * The failures of `create`.
 *
 * @since 0.1.0
 * @category errors
 */
export type CreateError = AuthError | NetworkError | ResponseError | InvalidInputError | NotSupportedError

/**
 * A resumable upload session.
 *
 * @since 0.1.0
 * @category models
 */
export interface Upload {
  readonly key: string
  /** The session as the server gave it (its query form); store it to resume, pass it back verbatim. */
  readonly session: string
  /**
   * Sends the bytes of `body` starting at `offset`, which must be the server's offset (else
   * `ResumableOffsetError` with the right one). The answer may acknowledge fewer bytes than were sent: continue
   * from the returned offset. Byte arrays and replayable bodies are retried when the request certainly did not
   * reach the server; after any other failure ask `offset()` before sending again.
   */
  readonly put: <E = never, R = never>(
    offset: number,
    body: ChunkBody<E, R>,
    options?: { readonly contentLength?: number | undefined }
  ) => Effect.Effect<Status, E | PutError, R>
  /** Asks where the session stands (and commits an upload whose bytes all arrived but was not committed). */
  readonly offset: () => Effect.Effect<Status, RequestError>
  /** Ends the session; an existing object under the key is untouched. Cancelling twice succeeds. */
  readonly cancel: () => Effect.Effect<void, RequestError>
}

/**
 * The manual API on a session: `session.resumable`.
 *
 * @since 0.1.0
 * @category models
 */
export interface Service {
  /** Starts a session (the server generates the key when none is given). */
  readonly create: (options: CreateOptions) => Effect.Effect<Upload, CreateError>
  /** The handle of an existing session, without a network call. */
  readonly resume: (key: string, session: string) => Effect.Effect<Upload, InvalidInputError>
}
