/**
 * A session ties the client to one usecase and scope; every object operation goes through it.
 *
 * Obtain one from `ObjectstoreClient.session(usecase, scope)`, or provide `Session.layer(usecase, scope)` in an
 * app that only ever needs one. Operations are traced (`Session.put`, … spans with `objectstore.usecase`,
 * `objectstore.scope` and `objectstore.key` attributes) and measured through the `Metrics` service.
 *
 * @example
 * ```ts
 * import { ObjectstoreClient, Scope, Session, Usecase } from "@objectstore/client"
 * import * as Effect from "effect/Effect"
 *
 * const attachments = Usecase.make("attachments")
 *
 * const program = Effect.gen(function*() {
 *   const client = yield* ObjectstoreClient.ObjectstoreClient
 *   const session = yield* client.session(attachments, Scope.make({ org: 42, project: 1337 }))
 *   const key = yield* session.put("Hello, world!")
 *   const text = yield* session.getText(key)
 *   yield* session.delete(key)
 *   return text
 * })
 * ```
 *
 * @since 0.1.0
 */
import * as Bytes from "@objectstore/protocol/Bytes"
import type * as ExpirationPolicy from "@objectstore/protocol/ExpirationPolicy"
import type * as Permission from "@objectstore/protocol/Permission"
import type * as ProtocolScope from "@objectstore/protocol/Scope"
import * as Context from "effect/Context"
import type * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import type * as Redacted from "effect/Redacted"
import type * as EffectScope from "effect/Scope"
import type * as Stream from "effect/Stream"
import type * as Batch from "./Batch.js"
import type * as Body from "./Body.js"
import type * as Multipart from "./Multipart.js"
import { ObjectstoreClient } from "./ObjectstoreClient.js"
import type {
  AuthError,
  CompressionError,
  ExpiryRejectedError,
  InvalidInputError,
  NetworkError,
  NotFoundError,
  RangeNotSatisfiableError,
  ResponseError
} from "./ObjectstoreError.js"
import type * as Range from "./Range.js"
import type * as Resumable from "./Resumable.js"
import type * as Scope from "./Scope.js"
import type * as Urls from "./Urls.js"
import type * as Usecase from "./Usecase.js"

/**
 * Options of {@link Service.put}. Everything is optional; the usecase supplies the compression and expiration
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
 * Options of {@link Service.get}.
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

/**
 * @since 0.1.0
 * @category models
 */
export interface Service {
  readonly usecase: Usecase.Usecase
  /** The validated scope components, in order. */
  readonly components: ProtocolScope.Components
  /** The scope as it appears in URLs (`org=42;project=1337`, `_` when empty). */
  readonly scope: string
  /**
   * Uploads an object and returns its key (the given one, or the one the server generated). zstd compression
   * is streamed; a failure of the caller's stream fails `put` with that same error.
   */
  readonly put: <E = never, R = never>(
    body: Body.Input<E, R>,
    options?: PutOptions
  ) => Effect.Effect<string, E | PutError, R>
  /**
   * Starts downloading an object. The body stays open until the surrounding `Scope` closes, which cancels it.
   * A missing or expired object fails with `NotFoundError`.
   */
  readonly get: (
    key: string,
    options?: GetOptions
  ) => Effect.Effect<ObjectResponse, GetError | RangeNotSatisfiableError, EffectScope.Scope>
  /** Downloads a whole object into memory. */
  readonly getBytes: (
    key: string,
    options?: GetOptions
  ) => Effect.Effect<Uint8Array, GetError | RangeNotSatisfiableError | CompressionError>
  /** Downloads a whole object and decodes it as UTF-8. */
  readonly getText: (
    key: string,
    options?: GetOptions
  ) => Effect.Effect<string, GetError | RangeNotSatisfiableError | CompressionError>
  /** Reads an object's metadata without its payload. */
  readonly head: (key: string) => Effect.Effect<ObjectMetadata, GetError>
  /** Deletes an object; deleting a missing object succeeds. */
  readonly delete: (key: string) => Effect.Effect<void, DeleteError>
  /**
   * Moves an object's expiry later (PROTOCOL §23); never earlier: asking for a deadline the object already meets
   * succeeds and changes nothing, as it does for an object that never expires. The payload and the expiration
   * policy are kept.
   */
  readonly extendExpiry: (key: string, request: ExtendExpiry) => Effect.Effect<void, ExtendExpiryError>
  /**
   * The manual resumable upload API (PROTOCOL §22): `create` a session (with everything a `put` takes, and the
   * length), `put(offset, body)` chunks, ask its `offset()`, `cancel()` it, or `resume(key, session)` its handle.
   * See `Resumable`.
   */
  readonly resumable: Resumable.Service
  /**
   * The manual multipart API (PROTOCOL §11): `initiate` an upload (with everything a `put` takes) and get a handle
   * with `putPart`, `listParts`, `complete` and `abort`, or `resume` the handle of an upload from its key and
   * upload id. See `Multipart`.
   */
  readonly multipart: Multipart.Service
  /**
   * Uploads a stream or a file of any size: one streamed `put` up to `threshold` bytes, else a parallel multipart
   * upload in bounded memory (per-part zstd frames when compressing) that is aborted on failure or interruption
   * unless kept, reports progress, and can be resumed from its state. Large files that need no compression on the
   * fly go as a resumable upload where the server has them (`method`). A file is read through the `FileSystem`
   * service (`FileError` when it cannot be). Runs in a `Session.upload` span, with its requests nested under it.
   * See `Multipart` and `Resumable`.
   */
  readonly upload: <E = never, R = never>(
    source: Multipart.Source<E, R>,
    options?: Multipart.UploadOptions
  ) => Effect.Effect<Multipart.UploadResult, E | Multipart.UploadError, R>
  /**
   * The object's URL (`<origin><base path>/v1/objects/<usecase>/<scope>/<key>`, §4.4 encoding); with
   * `tokenValidity`, plus `?os_auth=<read-only token>` (needs a secret key). See `Urls`.
   */
  readonly objectUrl: (
    key: string,
    options?: Urls.ObjectUrlOptions
  ) => Effect.Effect<string, InvalidInputError | AuthError>
  /**
   * A URL pre-signed with the secret key for `GET` or `HEAD` of `key`, valid for `duration` (default 1 hour, at
   * most 7 days) from now. See `Urls`.
   *
   * The link serves the object as stored: a zstd object comes with `content-encoding: zstd`, which browsers and
   * `curl --compressed` decode but plain `curl` and the `fetch` of Node 20 and 22 do not. Store objects meant for such tools
   * with `compression: "none"`.
   */
  readonly presignedUrl: (
    method: Urls.PresignMethod,
    key: string,
    duration?: Duration.DurationInput
  ) => Effect.Effect<string, InvalidInputError | AuthError>
  /**
   * Mints a token for this session's usecase and scope with the secret key: `permissions` default to the key's
   * (asking for one it lacks fails with `AuthError` `Signing`), `expiry` to its configured expiry. See `Tokens`.
   */
  readonly mintToken: (options?: {
    readonly permissions?: ReadonlyArray<Permission.Permission> | undefined
    readonly expiry?: Duration.DurationInput | undefined
  }) => Effect.Effect<Redacted.Redacted<string>, AuthError | InvalidInputError>
  /**
   * Runs many put, get, head and delete operations (an `Iterable` or a `Stream` of any length) over the batch
   * endpoint, with large puts as individual requests (PROTOCOL §10.5). Each operation's outcome (its index, key
   * and own value or typed error) is emitted as soon as it is known; see `Batch`. Fails only for invalid options
   * or a failure of the input stream. Runs in a `Session.many` span, with its batch requests and individual puts
   * nested under it.
   */
  readonly many: <E = never, R = never>(
    operations: Iterable<Batch.Operation> | Stream.Stream<Batch.Operation, E, R>,
    options?: Batch.ManyOptions
  ) => Stream.Stream<Batch.Outcome, E | InvalidInputError, R>
}

/**
 * The session of an app that works with a single usecase and scope.
 *
 * @since 0.1.0
 * @category services
 */
export class Session extends Context.Tag("@objectstore/client/Session")<Session, Service>() {}

/**
 * Provides {@link Session} for `usecase` and `scope` from the `ObjectstoreClient`.
 *
 * @since 0.1.0
 * @category layers
 */
export const layer = (
  usecase: Usecase.Usecase,
  scope: Scope.Scope
): Layer.Layer<Session, InvalidInputError, ObjectstoreClient> =>
  Layer.effect(Session, Effect.flatMap(ObjectstoreClient, (client) => client.session(usecase, scope)))

/**
 * Collects a response's body into one byte array.
 *
 * @since 0.1.0
 * @category combinators
 */
export const collectBytes = <E>(
  response: { readonly stream: Stream.Stream<Uint8Array, E> }
): Effect.Effect<Uint8Array, E> => Bytes.collect(response.stream)

/**
 * Collects a response's body and decodes it as UTF-8.
 *
 * @since 0.1.0
 * @category combinators
 */
export const collectText = <E>(
  response: { readonly stream: Stream.Stream<Uint8Array, E> }
): Effect.Effect<string, E> => Effect.map(collectBytes(response), (bytes) => new TextDecoder().decode(bytes))
