/**
 * What the server's storage holds and how it fails: object identities and records, multipart parts and uploads,
 * resumable sessions, the three store interfaces (`ObjectStore`, `MultipartStore`, `ResumableStore`) and the storage
 * errors. It has no implementation and imports no other module of the server, so the memory and filesystem stores
 * and the HTTP app can all depend on it; `Storage` re-exports everything here.
 *
 * @since 0.1.0
 */
import type * as Metadata from "@objectstore/protocol/Metadata"
import type * as Scope from "@objectstore/protocol/Scope"
import type * as Effect from "effect/Effect"
import type * as Option from "effect/Option"
import * as Schema from "effect/Schema"
import type * as EffectScope from "effect/Scope"
import type * as Stream from "effect/Stream"

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
  /**
   * The whole payload at once, already in memory (no copy, no I/O), for readers that need it whole (a batch get, a
   * small GET). Optional: without it, `read()` is collected; the memory store has it, the filesystem store for
   * payloads up to 64 KiB (read when opened).
   */
  readonly readBytes?: (() => Effect.Effect<Uint8Array, StorageError>) | undefined
}

/**
 * An object read whole by `readWhole`: its info and its payload.
 *
 * @since 0.1.0
 * @category models
 */
export interface WholeObject extends ObjectInfo {
  readonly bytes: Uint8Array
}

/**
 * Synchronous forms of a store's single-object operations (`ObjectStore.immediate`), with the same semantics as
 * their effects, for a store that holds everything in memory and cannot fail: `undefined` where the effect
 * answers `None`. A defect is thrown.
 *
 * @since 0.1.0
 * @category models
 */
export interface ImmediateObjectStore {
  /** The effectful operations these mirror: the forms are used only while the store's own are these. */
  readonly of: Pick<ObjectStore, "putBytes" | "readWhole" | "head" | "delete" | "setExpiry">
  /** `body` may be a view into a larger buffer (a batch request's chunk): keep a copy, not the view. */
  readonly putBytes: (id: ObjectId, metadata: Metadata.Metadata, body: Uint8Array) => ObjectInfo
  readonly readWhole: (id: ObjectId) => WholeObject | undefined
  readonly head: (id: ObjectId) => ObjectInfo | undefined
  readonly delete: (id: ObjectId) => boolean
  readonly setExpiry: (id: ObjectId, generation: string, timeExpires: bigint) => boolean
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
 * A multipart upload failed for a reason the client caused or can act on:
 *
 * - `NoSuchUpload`: the upload id is unknown for this object (never initiated, aborted, completed or reaped);
 * - `InvalidPart`: complete listed a part that was never uploaded or whose etag does not match;
 * - `InvalidPartOrder`: complete listed part numbers that are not strictly ascending (one listed twice, or out of
 *   order);
 * - `EntityTooLarge`: the listed parts add up to more than the object size limit given to complete;
 * - `BadDigest`: a part's body does not match its `Content-MD5`;
 * - `IncompleteBody`: a part's body is not exactly `Content-Length` bytes long.
 *
 * @since 0.1.0
 * @category errors
 */
export class MultipartError extends Schema.TaggedError<MultipartError>("@objectstore/server/MultipartError")(
  "MultipartError",
  {
    reason: Schema.Literal(
      "NoSuchUpload",
      "InvalidPart",
      "InvalidPartOrder",
      "EntityTooLarge",
      "BadDigest",
      "IncompleteBody"
    ),
    detail: Schema.String
  }
) {
  override get message(): string {
    return this.detail
  }
}

/**
 * One uploaded part of a multipart upload.
 *
 * @since 0.1.0
 * @category models
 */
export interface PartInfo {
  readonly partNumber: number
  /** The quoted hex MD5 of the part as stored, e.g. `"5d41402abc4b2a76b9719d911017c592"` (quotes included). */
  readonly etag: string
  readonly size: number
  /** When the part was (last) uploaded, epoch nanoseconds. */
  readonly lastModified: bigint
}

/**
 * A part named in a completion request.
 *
 * @since 0.1.0
 * @category models
 */
export interface CompletePart {
  readonly partNumber: number
  readonly etag: string
}

/**
 * Limits of a completion: `maxSize`, the largest object it may assemble, in bytes.
 *
 * @since 0.1.0
 * @category models
 */
export interface CompleteOptions {
  readonly maxSize?: number | undefined
}

/**
 * What a part upload must match: its exact length and, when given, its MD5 digest (16 bytes).
 *
 * @since 0.1.0
 * @category models
 */
export interface PartExpectation {
  readonly contentLength: number
  readonly contentMd5?: Uint8Array | undefined
  /** The upload time recorded as the part's `lastModified`, epoch nanoseconds. */
  readonly now: bigint
}

/**
 * An unfinished multipart upload, as listed by `listUploads`.
 *
 * @since 0.1.0
 * @category models
 */
export interface UploadEntry {
  readonly id: ObjectId
  readonly uploadId: string
  readonly metadata: Metadata.Metadata
  /** Epoch microseconds of the initiation. */
  readonly initiated: bigint
  /** Epoch microseconds of the last initiation or part upload. */
  readonly lastActivity: bigint
  readonly parts: number
  /** Bytes stored in its parts. */
  readonly size: number
}

/**
 * A resumable session operation failed for a reason the client caused or can act on:
 *
 * - `NoSuchSession`: no session with this token for this object (never created, or forgotten);
 * - `Gone`: the session ended (`status` says how);
 * - `OffsetMismatch`: the chunk does not start at the persisted offset (`offset`);
 * - `Incomplete`: a commit was asked for before every byte arrived;
 * - `PastLength`: a chunk would run past the session's length.
 *
 * @since 0.1.0
 * @category errors
 */
export class ResumableError extends Schema.TaggedError<ResumableError>("@objectstore/server/ResumableError")(
  "ResumableError",
  {
    reason: Schema.Literal("NoSuchSession", "Gone", "OffsetMismatch", "Incomplete", "PastLength"),
    detail: Schema.String,
    offset: Schema.optional(Schema.Number)
  }
) {
  override get message(): string {
    return this.detail
  }
}

/**
 * Where a resumable session stands. Times are epoch microseconds.
 *
 * @since 0.1.0
 * @category models
 */
export type SessionStatus =
  | { readonly _tag: "Open"; readonly offset: number; readonly lastActivity: bigint }
  | { readonly _tag: "Committed"; readonly ended: bigint }
  | { readonly _tag: "Cancelled"; readonly ended: bigint }
  | { readonly _tag: "Expired"; readonly ended: bigint }

/**
 * A resumable session as `sessionInfo` and `listSessions` report it.
 *
 * @since 0.1.0
 * @category models
 */
export interface SessionEntry {
  readonly id: ObjectId
  readonly token: string
  /** The announced `Upload-Length`. */
  readonly length: number
  /** The metadata of the object to be, as given at create (times are set at commit). */
  readonly metadata: Metadata.Metadata
  readonly created: bigint
  readonly status: SessionStatus
}

/**
 * One chunk of a resumable session.
 *
 * @since 0.1.0
 * @category models
 */
export interface Chunk<E> {
  /** Where the chunk starts; must be the persisted offset. */
  readonly offset: number
  /** The chunk's exact length (its `Content-Length`). */
  readonly contentLength: number
  readonly body: Stream.Stream<Uint8Array, E>
  /** Epoch microseconds, recorded as the session's last activity. */
  readonly now: bigint
  /** Persist at most this many bytes of the chunk (the rest is read and discarded): a debug option. */
  readonly limit?: number | undefined
}

/**
 * The resumable upload operations of a store (PROTOCOL §22).
 *
 * @since 0.1.0
 * @category models
 */
export interface ResumableStore {
  /** Starts a session for `id` of `length` bytes whose object will carry `metadata`; returns its token (a UUID). */
  readonly createSession: (
    id: ObjectId,
    metadata: Metadata.Metadata,
    length: number,
    now: bigint
  ) => Effect.Effect<string, StorageError>
  /** The session, or `None` when the store has no record of it. */
  readonly sessionInfo: (id: ObjectId, token: string) => Effect.Effect<Option.Option<SessionEntry>, StorageError>
  /**
   * Appends a chunk at the persisted offset and returns the new persisted offset. The bytes that arrived are
   * persisted (durably, for the filesystem store) before this succeeds, and also when the body fails or the effect
   * is interrupted part way (the failure is then the body's). Chunks of one session are serialised.
   */
  readonly appendChunk: <E>(
    id: ObjectId,
    token: string,
    chunk: Chunk<E>
  ) => Effect.Effect<number, E | StorageError | ResumableError>
  /**
   * Writes the object from a session whose bytes all arrived (atomically, like `put`, with the metadata
   * `finalize` makes of the session's) and marks the session committed. Fails with `Incomplete` before the last
   * byte and `Gone` for an ended session.
   */
  readonly commitSession: (
    id: ObjectId,
    token: string,
    finalize: (metadata: Metadata.Metadata) => Metadata.Metadata,
    now: bigint
  ) => Effect.Effect<ObjectInfo, StorageError | ResumableError>
  /**
   * Ends an open session as cancelled or expired (its bytes are removed); `false` when it was not open (ended
   * before, or unknown).
   */
  readonly endSession: (
    id: ObjectId,
    token: string,
    status: "Cancelled" | "Expired",
    now: bigint
  ) => Effect.Effect<boolean, StorageError>
  /** Every session the store remembers, for inspection by tests and kits. */
  readonly listSessions: Effect.Effect<ReadonlyArray<SessionEntry>, StorageError>
  /**
   * Expires open sessions idle since before `now - maxAge` and forgets ended sessions that ended before it;
   * returns how many sessions changed.
   */
  readonly reapSessions: (now: bigint, maxAge: bigint) => Effect.Effect<number, StorageError>
}

/**
 * The single-object operations of a store.
 *
 * @since 0.1.0
 * @category models
 */
export interface ObjectStore {
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
  /**
   * As {@link put} for a body already held whole (a batch part, a small upload). Optional: a store without it is
   * given the bytes as a one-chunk stream; both stores have it, because running a stream costs more than storing a
   * small object.
   */
  readonly putBytes?:
    | ((id: ObjectId, metadata: Metadata.Metadata, body: Uint8Array) => Effect.Effect<ObjectInfo, StorageError>)
    | undefined
  /** Opens an object for reading; `None` when missing. */
  readonly open: (id: ObjectId) => Effect.Effect<Option.Option<OpenedObject>, StorageError, EffectScope.Scope>
  /**
   * As {@link open} for a store that holds every payload in memory: the object's info and whole payload, with
   * nothing left open (so no `Scope`). Optional: the memory store has it, and the batch endpoint uses it for its
   * gets, because opening under a scope of its own costs a batch get more than the read.
   */
  readonly readWhole?:
    | ((id: ObjectId) => Effect.Effect<Option.Option<WholeObject>, StorageError>)
    | undefined
  /**
   * The same operations as plain synchronous functions, for a store that holds everything in memory and never
   * fails. Optional: the memory store has it, and the batch endpoint runs a memory-store operation with it without
   * an Effect step of its own (a fiber step per operation cost a batch more than the store). Used only while the
   * store's `putBytes`, `readWhole`, `head`, `delete` and `setExpiry` are the very functions `immediate.of` names,
   * so a wrapper that replaces any of them (to inject faults, to count calls) is honoured without knowing about it.
   */
  readonly immediate?: ImmediateObjectStore | undefined
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
 * The multipart operations of a store (PROTOCOL §11).
 *
 * @since 0.1.0
 * @category models
 */
export interface MultipartStore {
  /** Starts an upload for `id` whose object will carry `metadata`; returns the new upload id (a UUID). */
  readonly initiateUpload: (
    id: ObjectId,
    metadata: Metadata.Metadata,
    initiated: bigint
  ) => Effect.Effect<string, StorageError>
  /**
   * Stores one part, replacing an earlier part with the same number once the whole body has arrived and matched
   * `expected`. If the body fails, does not match, or the effect is interrupted, nothing is stored.
   */
  readonly putPart: <E>(
    id: ObjectId,
    uploadId: string,
    partNumber: number,
    body: Stream.Stream<Uint8Array, E>,
    expected: PartExpectation
  ) => Effect.Effect<PartInfo, E | StorageError | MultipartError>
  /** The parts of an upload in ascending part number order. */
  readonly listParts: (
    id: ObjectId,
    uploadId: string
  ) => Effect.Effect<ReadonlyArray<PartInfo>, StorageError | MultipartError>
  /**
   * Assembles the listed parts, which must be in strictly ascending part number order (PROTOCOL §11.5), into the
   * object (atomically, like `put`) and removes the upload. With `options.maxSize`, fails with `EntityTooLarge`
   * before writing anything when the parts add up to more bytes. On failure the upload stays as it was.
   */
  readonly completeUpload: (
    id: ObjectId,
    uploadId: string,
    parts: ReadonlyArray<CompletePart>,
    options?: CompleteOptions | undefined
  ) => Effect.Effect<ObjectInfo, StorageError | MultipartError>
  /** Removes an upload and its parts; `false` when there was none. */
  readonly abortUpload: (id: ObjectId, uploadId: string) => Effect.Effect<boolean, StorageError>
  /** Every unfinished upload, for inspection by tests and kits. */
  readonly listUploads: Effect.Effect<ReadonlyArray<UploadEntry>, StorageError>
  /** Removes every upload whose last activity is before `cutoff` (epoch micros); returns how many. */
  readonly reapUploads: (cutoff: bigint) => Effect.Effect<number, StorageError>
}
