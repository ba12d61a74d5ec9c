/**
 * The models of a session, with no implementation: its interface (`Service`, what
 * `ObjectstoreClient.session(usecase, scope)` returns and the `Session` tag holds) and, re-exported from
 * `ObjectModel`, the options, results and failures of its single-object operations.
 *
 * A module of its own so that `ObjectstoreClient` (which makes sessions) and the internal operations can name these
 * types without importing `Session`, whose `layer` needs the `ObjectstoreClient` tag. `Session` re-exports
 * everything here; refer to it from there (`Session.Service`, `Session.PutOptions`).
 *
 * @since 0.1.0
 */
import type * as Permission from "@objectstore/protocol/Permission"
import type * as ProtocolScope from "@objectstore/protocol/Scope"
import type * as Duration from "effect/Duration"
import type * as Effect from "effect/Effect"
import type * as Redacted from "effect/Redacted"
import type * as EffectScope from "effect/Scope"
import type * as Stream from "effect/Stream"
import type * as Batch from "./Batch.js"
import type * as Body from "./Body.js"
import type * as Multipart from "./Multipart.js"
import type {
  DeleteError,
  ExtendExpiry,
  ExtendExpiryError,
  GetError,
  GetOptions,
  ObjectMetadata,
  ObjectResponse,
  PutError,
  PutOptions
} from "./ObjectModel.js"
import type { AuthError, CompressionError, InvalidInputError, RangeNotSatisfiableError } from "./ObjectstoreError.js"
import type * as Resumable from "./Resumable.js"
import type * as Urls from "./Urls.js"
import type * as Usecase from "./Usecase.js"

/**
 * The options, results and failures of the single-object operations (`PutOptions`, `GetOptions`, `ObjectMetadata`,
 * `ObjectResponse`, `PutError`, …), defined in the leaf module `ObjectModel` so that `Batch`, `Multipart` and
 * `Resumable`, which this module's `Service` uses, can use them too.
 *
 * @since 0.1.0
 */
export * from "./ObjectModel.js"

/**
 * A session's operations on the objects of one usecase and scope.
 *
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
