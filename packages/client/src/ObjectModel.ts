/**
 * What a session's single-object operations take and return: the options of `put` and `get`, an object's metadata,
 * a downloaded object, and the failures of each operation.
 *
 * A leaf module: it imports no other module of the client but the error family, so that `Batch`, `Multipart`,
 * `Resumable` and the internal operations can use these types without importing `Session`. `Session` re-exports
 * everything here; import them from there (`Session.PutOptions`).
 *
 * @since 0.1.0
 */
import type * as ExpirationPolicy from "@objectstore/protocol/ExpirationPolicy"
import type * as Duration from "effect/Duration"
import type * as Stream from "effect/Stream"
import type {
  AuthError,
  CompressionError,
  ExpiryRejectedError,
  InvalidInputError,
  NetworkError,
  NotFoundError,
  ResponseError
} from "./ObjectstoreError.js"
import type * as Range from "./Range.js"
import type * as Usecase from "./Usecase.js"

/**
 * Options of `put` (`Session.Service.put`). Everything is optional; the usecase supplies the compression and expiration
 * defaults.
 *
 * @since 0.1.0
 * @category models
 */
export interface PutOptions {
  /** The key to write (overwriting any object there). Absent or empty: the server generates a UUID key. */
  readonly key?: string | undefined
  /** Overrides the usecase's compression (`"none"` for data that is already compressed). */
  readonly compression?: Usecase.Compression | undefined
  /**
   * The media type stored with the object; default `application/octet-stream`. `"guess"` sniffs it from the first
   * bytes of the body (see `ContentType`), falling back to the default.
   */
  readonly contentType?: string | undefined
  /**
   * `"zstd"`: the body is already zstd-compressed. It is sent as it is and recorded as zstd (readers get it
   * decompressed), instead of being compressed again. Conflicts with `compression: "none"`.
   */
  readonly encoding?: "zstd" | undefined
  /**
   * Custom metadata. Names must be HTTP tokens and are stored lowercase; values must be visible ASCII.
   */
  readonly metadata?: Readonly<Record<string, string>> | undefined
  /** Overrides the usecase's expiration policy. */
  readonly expirationPolicy?: ExpirationPolicy.ExpirationPolicy | undefined
  /**
   * Where the payload originally came from, e.g. the uploader's IP address (visible ASCII). An empty string is
   * the same as none: no header is sent and readers see no origin, as with the Python client.
   */
  readonly origin?: string | undefined
  /** A file name for downloads (visible ASCII). */
  readonly filename?: string | undefined
}

/**
 * Options of `get` (`Session.Service.get`).
 *
 * @since 0.1.0
 * @category models
 */
export interface GetOptions {
  /**
   * Decompress zstd payloads (default `true`). With `false` the stored bytes are returned as they are and the
   * metadata keeps `compression: "zstd"`.
   */
  readonly decompress?: boolean | undefined
  /**
   * Encodings the caller takes as stored (`["zstd"]`, `["*"]`, or `Encoding.parseAcceptEncoding(header)`): when
   * the object's compression is among them, its bytes are returned as stored and the metadata keeps
   * `compression: "zstd"`.
   */
  readonly acceptEncoding?: ReadonlyArray<string> | undefined
  /**
   * Read only these bytes of the stored object (HTTP 206). For a zstd object they are compressed bytes, returned
   * as they are (see `Range`). A range that starts past the end fails with `RangeNotSatisfiableError`.
   */
  readonly range?: Range.ByteRange | undefined
}

/**
 * An object's metadata (PROTOCOL §6).
 *
 * @since 0.1.0
 * @category models
 */
export interface ObjectMetadata {
  readonly contentType: string
  /** `"zstd"` when the returned bytes are zstd-compressed; `"none"` after transparent decompression. */
  readonly compression: Usecase.Compression
  readonly expirationPolicy: ExpirationPolicy.ExpirationPolicy
  /** When the object was (last) written, to the millisecond. */
  readonly timeCreated: Date | undefined
  /** The exact server timestamp, e.g. `2023-11-14T22:13:20.123456Z` (microseconds). */
  readonly timeCreatedText: string | undefined
  /** When a time-to-live or time-to-idle object expires (as of before this access). */
  readonly timeExpires: Date | undefined
  /** The exact server timestamp of the expiry. */
  readonly timeExpiresText: string | undefined
  readonly origin: string | undefined
  readonly filename: string | undefined
  /** Custom metadata; names are lowercase. */
  readonly custom: Readonly<Record<string, string>>
}

/**
 * A downloaded object. The body is streamed: read it (or let the scope of `get` close) to release the
 * connection.
 *
 * @since 0.1.0
 * @category models
 */
export interface ObjectResponse {
  readonly key: string
  readonly metadata: ObjectMetadata
  readonly stream: Stream.Stream<Uint8Array, NetworkError | CompressionError>
  /** For a ranged read the server honoured (206): the offsets of the returned bytes and the stored size. */
  readonly range?: Range.RangeInfo | undefined
  /** The object's stored size in bytes, when the server said (ranged reads, or a `content-length`). */
  readonly size?: number | undefined
}

/**
 * The failures of `put` (plus the caller's own stream error).
 *
 * @since 0.1.0
 * @category errors
 */
export type PutError = AuthError | NetworkError | ResponseError | InvalidInputError | CompressionError

/**
 * The failures of `get` and `head`.
 *
 * @since 0.1.0
 * @category errors
 */
export type GetError = NotFoundError | AuthError | NetworkError | ResponseError | InvalidInputError

/**
 * The failures of `delete` (a missing object is success).
 *
 * @since 0.1.0
 * @category errors
 */
export type DeleteError = AuthError | NetworkError | ResponseError | InvalidInputError

/**
 * What `extendExpiry` asks for (PROTOCOL §23): a deadline (`at`: a `Date` or an RFC 3339 timestamp), or a
 * duration counted from now (`fromNow`) or from the object's creation (`fromCreation`). Durations are sent in
 * whole seconds, rounded up.
 *
 * @since 0.1.0
 * @category models
 */
export type ExtendExpiry =
  | { readonly at: Date | string }
  | { readonly fromNow: Duration.DurationInput }
  | { readonly fromCreation: Duration.DurationInput }

/**
 * The failures of `extendExpiry`: `NotFoundError` for a missing or expired object, `ExpiryRejectedError` when the
 * server refuses (409 not eligible or a concurrent write, 422).
 *
 * @since 0.1.0
 * @category errors
 */
export type ExtendExpiryError =
  | NotFoundError
  | ExpiryRejectedError
  | AuthError
  | NetworkError
  | ResponseError
  | InvalidInputError
