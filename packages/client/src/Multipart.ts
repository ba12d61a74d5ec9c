/**
 * Large objects: multipart uploads (PROTOCOL §11), by hand or automatically.
 *
 * **Automatic** — `session.upload(source, options)` takes a `Stream<Uint8Array>` or `{ path }` of any size. Up to
 * `threshold` bytes it makes one streamed `put`; above, it uploads `partSize` parts, `concurrency` at a time,
 * holding at most about `partSize × concurrency` bytes in memory (plus the compressed copy of the parts in flight).
 * When the compression is zstd each part is compressed on its own into one frame (the object then decodes as
 * concatenated frames, which every reader of this SDK and the upstream clients handle). A failure or interruption
 * aborts the upload on the server, unless `keepOnFailure` is set. The upload reports progress through
 * `onProgress` and its resumable {@link State} through `onState` (or into `stateFile`); give the state back as
 * `resume` (or call again with the same `stateFile`) to upload only the parts the server does not have.
 *
 * **Manual** — `session.multipart.initiate(options)` returns an {@link Upload} handle with `putPart`,
 * `listParts`, `complete` and `abort`; `session.multipart.resume({ key, uploadId })` rebuilds the handle without a
 * network call. The manual API sends parts exactly as given: compressing them is the caller's choice (§7).
 *
 * @example
 * ```ts
 * import { Multipart, Session } from "@objectstore/client"
 * import * as Effect from "effect/Effect"
 *
 * // a file of any size, resumable after a crash: run the same program again and it continues
 * const program = Effect.gen(function*() {
 *   const session = yield* Session.Session
 *   const result = yield* session.upload({ path: "/var/backups/db.tar" }, {
 *     key: "backups/db.tar",
 *     partSize: 16 * 1024 * 1024,
 *     concurrency: 4,
 *     stateFile: "/var/backups/db.tar.upload.json",
 *     onProgress: (progress: Multipart.Progress) =>
 *       Effect.log(`${progress.bytes} of ${progress.totalBytes} bytes, ${progress.parts} parts`)
 *   })
 *   return result.key
 * })
 * ```
 *
 * @since 0.1.0
 */
import type * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as ParseResult from "effect/ParseResult"
import * as Schema from "effect/Schema"
import type * as Stream from "effect/Stream"
import type * as Body from "./Body.js"
import type * as ObjectModel from "./ObjectModel.js"
import type {
  AuthError,
  CompressionError,
  FileError,
  InvalidInputError,
  MultipartCompleteError,
  NetworkError,
  ResponseError
} from "./ObjectstoreError.js"
import type * as Resumable from "./Resumable.js"

/**
 * The default part size of automatic uploads: 8 MiB (above the 5 MiB minimum production backends require of
 * every part but the last; 8 MiB × 10,000 parts ≈ 78 GiB before files get larger parts automatically).
 *
 * @since 0.1.0
 * @category constants
 */
export const DEFAULT_PART_SIZE = 8 * 1024 * 1024

/**
 * The default number of parts uploaded at the same time by automatic uploads.
 *
 * @since 0.1.0
 * @category constants
 */
export const DEFAULT_CONCURRENCY = 4

/**
 * The smallest part size production backends accept for every part but the last (GCS/S3: 5 MiB). Automatic
 * uploads with a smaller `partSize` log a warning; nothing is enforced (the local server has no minimum).
 *
 * @since 0.1.0
 * @category constants
 */
export const MIN_PART_SIZE = 5 * 1024 * 1024

/**
 * The most parts an upload may have on production backends. Automatic uploads of files raise the part size so
 * the file fits.
 *
 * @since 0.1.0
 * @category constants
 */
export const MAX_PARTS = 10_000

// ---------------------------------------------------------------------------------------------------------------
// manual API

/**
 * Options of `session.multipart.initiate`: everything a `put` takes. The metadata (and the expiration times) of
 * the final object are fixed now. `compression` is only *recorded* (§7): with `"zstd"` the caller must send parts
 * that are zstd frames.
 *
 * @since 0.1.0
 * @category models
 */
export type InitiateOptions = ObjectModel.PutOptions

/**
 * Where an upload can be found again: the object's key and the server's upload id (kept verbatim).
 *
 * @since 0.1.0
 * @category models
 */
export interface UploadRef {
  readonly key: string
  readonly uploadId: string
}

/**
 * An uploaded part as `complete` needs it.
 *
 * @since 0.1.0
 * @category models
 */
export interface Part {
  readonly partNumber: number
  /** Opaque; may contain double quotes. Pass it back verbatim. */
  readonly etag: string
}

/**
 * A part as the server lists it.
 *
 * @since 0.1.0
 * @category models
 */
export interface ListedPart extends Part {
  /** Bytes as uploaded (compressed, when the part was). */
  readonly size: number
  /** RFC 3339 time of the upload, as the server wrote it. */
  readonly lastModified: string
}

/**
 * One page of `listPartsPage`.
 *
 * @since 0.1.0
 * @category models
 */
export interface PartsPage {
  readonly parts: ReadonlyArray<ListedPart>
  readonly isTruncated: boolean
  /** The marker for the next page; only when `isTruncated`. */
  readonly nextPartNumberMarker: number | undefined
}

/**
 * A part's body: bytes, a replayable stream factory, or a stream (then `contentLength` is required: the server
 * needs the exact length up front).
 *
 * @since 0.1.0
 * @category models
 */
export type PartBody<E = never, R = never> = Body.Sized<E, R>

/**
 * Options of `putPart`.
 *
 * @since 0.1.0
 * @category models
 */
export interface PutPartOptions {
  /** The exact length of the body; required for streams, checked against byte arrays. */
  readonly contentLength?: number | undefined
  /**
   * The MD5 digest of the body as sent (16 bytes, or its standard base64). The server rejects a part whose body
   * does not match.
   */
  readonly contentMd5?: Uint8Array | string | undefined
}

/**
 * The failures of the part, list and abort requests.
 *
 * @since 0.1.0
 * @category errors
 */
export type RequestError = AuthError | NetworkError | ResponseError | InvalidInputError

/**
 * The failures of `complete`.
 *
 * @since 0.1.0
 * @category errors
 */
export type CompleteError = RequestError | MultipartCompleteError

/**
 * A multipart upload in progress. An unknown upload id (aborted, completed, or removed by the server after
 * being abandoned) makes part uploads and listing fail with the server's status (the local server: a 404
 * `ResponseError`) and completion with `MultipartCompleteError`.
 *
 * @since 0.1.0
 * @category models
 */
export interface Upload extends UploadRef {
  /**
   * Uploads part `partNumber` (1 … 4,294,967,295; production backends allow 1 … 10,000). Uploading a number
   * again replaces the part. Byte arrays and replayable bodies are retried after transient failures.
   */
  readonly putPart: <E = never, R = never>(
    partNumber: number,
    body: PartBody<E, R>,
    options?: PutPartOptions
  ) => Effect.Effect<Part, E | RequestError, R>
  /** Every uploaded part in part number order, following the server's pagination. */
  readonly listParts: Effect.Effect<ReadonlyArray<ListedPart>, RequestError>
  /** One page of parts. */
  readonly listPartsPage: (options?: {
    readonly maxParts?: number | undefined
    readonly partNumberMarker?: number | undefined
  }) => Effect.Effect<PartsPage, RequestError>
  /**
   * Assembles the object from `parts` (sorted by part number before sending; parts not listed are discarded)
   * and returns its key. The server answers 200 even when it fails: such an answer fails with
   * `MultipartCompleteError` and the upload stays.
   */
  readonly complete: (parts: ReadonlyArray<Part>) => Effect.Effect<string, CompleteError>
  /** Removes the upload and its parts (a no-op for an unknown upload). */
  readonly abort: Effect.Effect<void, RequestError>
}

/**
 * The manual API on a session: `session.multipart`.
 *
 * @since 0.1.0
 * @category models
 */
export interface Service {
  /** Starts an upload (the server generates the key when none is given). */
  readonly initiate: (options?: InitiateOptions) => Effect.Effect<Upload, RequestError>
  /** The handle of an existing upload, without a network call. */
  readonly resume: (ref: UploadRef) => Effect.Effect<Upload, InvalidInputError>
}

// ---------------------------------------------------------------------------------------------------------------
// automatic upload

/**
 * What `session.upload` reads: a stream of any length, or a file (read in part-sized ranges, never whole, through
 * `@effect/platform`'s `FileSystem`: `NodeClient.layer` provides Node's; without one a file fails with `FileError`
 * `NoFileSystem`).
 *
 * @since 0.1.0
 * @category models
 */
export type Source<E = never, R = never> = Stream.Stream<Uint8Array, E, R> | { readonly path: string }

/**
 * A part of an automatic upload, as remembered in the {@link State}.
 *
 * @since 0.1.0
 * @category models
 */
export interface PartRecord {
  readonly partNumber: number
  readonly etag: string
  /** Source bytes in the part. */
  readonly size: number
  /** Bytes sent (the compressed size when compressed). */
  readonly sentSize: number
  /** Hex MD5 of the bytes sent, when the runtime has MD5 (`node:crypto`). */
  readonly md5: string | undefined
}

/**
 * Everything needed to resume an automatic upload, as plain JSON-serialisable data: persist it (see `onState` /
 * `stateFile`) and pass it back as `resume`. `kind` says which way the upload went.
 *
 * @since 0.1.0
 * @category models
 */
export type State = MultipartState | ResumableState

/**
 * The state of an automatic multipart upload (`kind` is absent in states written before resumable uploads).
 *
 * @since 0.1.0
 * @category models
 */
export interface MultipartState {
  readonly version: 1
  readonly kind?: "multipart" | undefined
  readonly key: string
  readonly uploadId: string
  readonly partSize: number
  readonly compression: "zstd" | "none"
  /** The file being uploaded (resuming checks that it did not change), or `undefined` for a stream. */
  readonly source:
    | { readonly path: string; readonly size: number; readonly mtimeMs: number }
    | undefined
  /** The parts known to be uploaded, by part number. */
  readonly parts: ReadonlyArray<PartRecord>
}

/**
 * The state of an automatic resumable upload (PROTOCOL §22): the session, and the offset acknowledged last (the
 * server's offset is asked again when resuming; this one is for inspection).
 *
 * @since 0.1.0
 * @category models
 */
export interface ResumableState {
  readonly version: 1
  readonly kind: "resumable"
  readonly key: string
  /** The session as the server answered it. */
  readonly session: string
  /** Bytes per chunk. */
  readonly partSize: number
  readonly compression: "zstd" | "none"
  /** Bytes of the object (the file's size). */
  readonly length: number
  readonly source: { readonly path: string; readonly size: number; readonly mtimeMs: number }
  readonly offset: number
}

/**
 * Progress of an automatic upload, reported after each part (and once at the end of a single put).
 *
 * @since 0.1.0
 * @category models
 */
export interface Progress {
  /** Source bytes done (uploaded, or found on the server when resuming). */
  readonly bytes: number
  /** Parts done. */
  readonly parts: number
  /** The source size, when known (files; streams once they ended). */
  readonly totalBytes: number | undefined
  /** The number of parts, when known. */
  readonly totalParts: number | undefined
  /** Bytes put on the wire so far (compressed when compressed). */
  readonly sentBytes: number
}

/**
 * Options of `session.upload`: everything a `put` takes, plus how to split, parallelise, report and resume.
 *
 * @since 0.1.0
 * @category models
 */
export interface UploadOptions extends ObjectModel.PutOptions {
  /**
   * How sources above `threshold` are sent. `"auto"` (default): a resumable upload (PROTOCOL §22) for files of at
   * least `Resumable.AUTOMATIC_THRESHOLD` bytes that need no compression on the fly (compression `"none"`, or
   * `encoding: "zstd"`), falling back to multipart when the server answers 501; multipart otherwise.
   * `"resumable"`: always resumable (a file source without compression on the fly; 501 fails with
   * `NotSupportedError`). `"multipart"`: always multipart.
   */
  readonly method?: "auto" | "multipart" | "resumable" | undefined
  /** Source bytes per part; default {@link DEFAULT_PART_SIZE}. Sizes under 5 MiB log a warning. */
  readonly partSize?: number | undefined
  /** Sources of at most this many bytes are sent with one streamed `put`; default: `partSize`. */
  readonly threshold?: number | undefined
  /** Parts uploaded at the same time; default {@link DEFAULT_CONCURRENCY}. */
  readonly concurrency?: number | undefined
  /**
   * Keep the upload on the server when the upload fails or is interrupted, so it can be resumed. Default `false`
   * (the upload is aborted), except with `stateFile`, where it defaults to `true`.
   */
  readonly keepOnFailure?: boolean | undefined
  /** Called after each part; the effect's failures are ignored. */
  readonly onProgress?: ((progress: Progress) => Effect.Effect<void>) | undefined
  /** Called with the resumable state after initiation and after each part. */
  readonly onState?: ((state: State) => Effect.Effect<void>) | undefined
  /**
   * A file to keep the state in: if it exists, the upload resumes from it; it is rewritten (atomically) after
   * initiation and after each part, and removed when the upload completes or is aborted.
   */
  readonly stateFile?: string | undefined
  /** Resume this upload: only the parts the server does not have (or has with different content) are sent. */
  readonly resume?: State | undefined
}

/**
 * What an automatic upload did.
 *
 * @since 0.1.0
 * @category models
 */
export interface UploadResult {
  readonly key: string
  /** How the object was sent. */
  readonly method: "put" | "multipart" | "resumable"
  /** The resumable session; `undefined` unless `method` is `"resumable"`. */
  readonly session?: string | undefined
  /** The multipart upload id; `undefined` when a single `put` was made. */
  readonly uploadId: string | undefined
  /** Parts of the object (1 for a single `put`; for a resumable upload, the chunks this call sent). */
  readonly parts: number
  /** Parts that were already on the server (resumed uploads). */
  readonly skippedParts: number
  /** Source bytes. */
  readonly bytes: number
  /** Bytes sent by this call (compressed when compressed). */
  readonly sentBytes: number
}

/**
 * The failures of `session.upload` (plus the source stream's own error). A file source or state file that is
 * missing, unreadable or not a regular file fails with `FileError` (its path and the reason); a state file that is
 * not a valid state with `InvalidInputError` on `stateFile`.
 *
 * @since 0.1.0
 * @category errors
 */
export type UploadError = CompleteError | CompressionError | FileError | Resumable.PutError

// ---------------------------------------------------------------------------------------------------------------

const Count = Schema.Int.pipe(Schema.nonNegative())
const PositiveCount = Schema.Int.pipe(Schema.positive())
const CompressionName = Schema.Literal("zstd", "none")
const SourceFile = Schema.Struct({ path: Schema.String, size: Count, mtimeMs: Schema.Number })

const MultipartStateSchema = Schema.Struct({
  version: Schema.Literal(1),
  kind: Schema.optional(Schema.NullOr(Schema.Literal("multipart"))),
  key: Schema.NonEmptyString,
  uploadId: Schema.NonEmptyString,
  partSize: PositiveCount,
  compression: CompressionName,
  source: Schema.optional(Schema.NullOr(SourceFile)),
  parts: Schema.Array(Schema.Struct({
    partNumber: PositiveCount,
    etag: Schema.String,
    size: Count,
    sentSize: Count,
    md5: Schema.optional(Schema.NullOr(Schema.String))
  }))
})

const ResumableStateSchema = Schema.Struct({
  version: Schema.Literal(1),
  kind: Schema.Literal("resumable"),
  key: Schema.NonEmptyString,
  session: Schema.String.pipe(Schema.pattern(/^[A-Za-z0-9_-]+$/)),
  partSize: PositiveCount,
  compression: CompressionName,
  length: Count,
  source: SourceFile,
  offset: Count
}).pipe(Schema.filter((state) => state.offset <= state.length || "offset must be at most length"))

const decodeAnyState = Schema.decodeUnknownEither(Schema.Union(ResumableStateSchema, MultipartStateSchema))

/**
 * Checks that `input` (for example parsed JSON) is a {@link State}; `Left` says what is wrong (Schema's account of
 * the first field that does not fit, with the value it got).
 *
 * @since 0.1.0
 * @category constructors
 */
export const decodeState = (input: unknown): Either.Either<State, string> =>
  Either.match(decodeAnyState(input), {
    onLeft: (error) => Either.left(`not an upload state: ${ParseResult.TreeFormatter.formatErrorSync(error)}`),
    onRight: (state): Either.Either<State, string> => {
      if (state.kind === "resumable") {
        const { source } = state
        return Either.right({ ...state, source: { path: source.path, size: source.size, mtimeMs: source.mtimeMs } })
      }
      const source = state.source ?? undefined
      return Either.right({
        version: 1,
        key: state.key,
        uploadId: state.uploadId,
        partSize: state.partSize,
        compression: state.compression,
        source: source === undefined ? undefined : { path: source.path, size: source.size, mtimeMs: source.mtimeMs },
        parts: state.parts.map((part) => ({
          partNumber: part.partNumber,
          etag: part.etag,
          size: part.size,
          sentSize: part.sentSize,
          md5: part.md5 ?? undefined
        }))
      })
    }
  })
