/**
 * The errors of the Objectstore client.
 *
 * Every Session operation fails with a union of the tagged errors below, and each operation lists only the
 * failures it can produce. Match them with `Effect.catchTag` or inspect `_tag`. None of them ever carries a
 * token, a secret key or a full request: fields are plain data chosen to be safe to log.
 *
 * @since 0.1.0
 */
import * as Schema from "effect/Schema"

/**
 * The object does not exist, or it has expired (an expired object is treated exactly like a missing one).
 *
 * `get` and `head` fail with it; `delete` treats a missing object as success.
 *
 * @since 0.1.0
 * @category errors
 */
export class NotFoundError extends Schema.TaggedError<NotFoundError>("@objectstore/client/NotFoundError")(
  "NotFoundError",
  {
    usecase: Schema.String,
    scope: Schema.String,
    key: Schema.String
  }
) {
  override get message(): string {
    return `object not found: ${this.key} (usecase ${this.usecase}, scope ${this.scope})`
  }
}

/**
 * A ranged `get` asked for bytes the object does not have: the range starts at or past its end, or the object is
 * empty (HTTP 416). `size` is the object's stored size when the server reported it (the compressed size for a
 * zstd object).
 *
 * @since 0.1.0
 * @category errors
 */
export class RangeNotSatisfiableError extends Schema.TaggedError<RangeNotSatisfiableError>(
  "@objectstore/client/RangeNotSatisfiableError"
)("RangeNotSatisfiableError", {
  usecase: Schema.String,
  scope: Schema.String,
  key: Schema.String,
  range: Schema.String,
  size: Schema.optional(Schema.Number)
}) {
  override get message(): string {
    const size = this.size === undefined ? "" : ` (the object has ${this.size} bytes)`
    return `range not satisfiable: ${this.range} of ${this.key}${size}`
  }
}

/**
 * Why a request was not authorized.
 *
 * - `MissingToken`: the server enforces auth and the request had no token (the server answers 400).
 * - `InvalidToken`: the token or signature is malformed, signed by an unknown key or has expired (401).
 * - `Forbidden`: the token is valid but does not grant this operation on this usecase and scope (403).
 * - `Signing`: the client could not produce a token (bad private key, permission the key does not hold).
 *
 * @since 0.1.0
 * @category models
 */
export const AuthErrorReason = Schema.Literal("MissingToken", "InvalidToken", "Forbidden", "Signing")

/**
 * @since 0.1.0
 * @category models
 */
export type AuthErrorReason = typeof AuthErrorReason.Type

/**
 * The request was rejected for lack of valid credentials or permissions, or the client could not sign a token.
 *
 * `status` is the HTTP status when the server answered (400, 401 or 403), and `detail` the server's message.
 * Auth errors are never retryable: the same request with the same token fails the same way.
 *
 * @since 0.1.0
 * @category errors
 */
export class AuthError extends Schema.TaggedError<AuthError>("@objectstore/client/AuthError")("AuthError", {
  reason: AuthErrorReason,
  status: Schema.optional(Schema.Number),
  detail: Schema.optional(Schema.String),
  /** The server's `causes` (PROTOCOL §14.1), outermost first, when it sent them. */
  causes: Schema.optional(Schema.Array(Schema.String))
}) {
  override get message(): string {
    const status = this.status === undefined ? "" : ` (HTTP ${this.status})`
    return `authorization failed: ${this.reason}${status}${this.detail === undefined ? "" : `: ${this.detail}`}`
  }
}

/**
 * Why the exchange with the server broke down.
 *
 * - `Transport`: the connection could not be made, was reset or closed early (a response body cut short), or the
 *   request body could not be sent.
 * - `Timeout`: a deadline passed: the connection was not made within `connectTimeout`, the response headers did not
 *   arrive within `timeout` of the request being sent, or an upload or download made no progress for `idleTimeout`.
 * - `Decode`: the response did not have the shape the protocol specifies.
 *
 * @since 0.1.0
 * @category models
 */
export const NetworkErrorReason = Schema.Literal("Transport", "Timeout", "Decode")

/**
 * @since 0.1.0
 * @category models
 */
export type NetworkErrorReason = typeof NetworkErrorReason.Type

/**
 * What the client's own retries did about a failed request, on the {@link NetworkError} or {@link ResponseError}
 * that reaches the caller (with `attempts`, the number of requests made).
 *
 * - `Exhausted`: the failure was transient and the request was retried until the retry schedule gave up.
 * - `Disabled`: the failure was transient, but retries are off (`retry: false`).
 * - `NotTransient`: the failure is not one a retry can fix (`retryable: false`), so it was not retried.
 * - `SingleUseBody`: the request body was a single-use stream, consumed by the attempt that failed; send it again
 *   yourself, or pass a byte array or `Body.replayable` so the client can.
 * - `NotIdempotent`: the request failed after the server may have processed it, and processing it twice is not
 *   harmless: an insert with a server-generated key (a second object) or the initiation of a multipart upload (a
 *   second upload). Failures the server certainly did not process (connection refused or timed out, 429, 503) are
 *   retried even for these.
 * - `BodyStreamed`: the response body was being streamed to the caller (`get`) when it failed; the bytes already
 *   delivered cannot be taken back, so the client does not retry. Whole-body reads (`getBytes`, `getText`) are
 *   retried instead.
 *
 * @since 0.1.0
 * @category models
 */
export const RetriesOutcome = Schema.Literal(
  "Exhausted",
  "Disabled",
  "NotTransient",
  "SingleUseBody",
  "NotIdempotent",
  "BodyStreamed"
)

/**
 * @since 0.1.0
 * @category models
 */
export type RetriesOutcome = typeof RetriesOutcome.Type

const retriesText: Record<RetriesOutcome, string> = {
  Exhausted: "retries exhausted",
  Disabled: "retries disabled",
  NotTransient: "not retried: not transient",
  SingleUseBody: "not retried: single-use request body",
  NotIdempotent: "not retried: the server may have processed it",
  BodyStreamed: "not retried: the body was being streamed to the caller"
}

const retryNote = (attempts: number | undefined, retries: RetriesOutcome | undefined): string => {
  if (attempts === undefined && retries === undefined) return ""
  const count = attempts === undefined ? [] : [`${attempts} attempt${attempts === 1 ? "" : "s"}`]
  return ` (${[...count, ...(retries === undefined ? [] : [retriesText[retries]])].join(", ")})`
}

/**
 * The request did not complete: no connection, a reset, a timeout, or an unreadable response.
 *
 * `retryable` says whether repeating the request may succeed (transport failures and timeouts are, a malformed
 * response is not). The client already retries retryable failures of replayable requests according to its retry
 * schedule: `attempts` says how many requests were made and `retries` whether they were exhausted or why none
 * were attempted (see {@link RetriesOutcome}). Both are set on every error that comes from a request.
 *
 * @since 0.1.0
 * @category errors
 */
export class NetworkError extends Schema.TaggedError<NetworkError>("@objectstore/client/NetworkError")(
  "NetworkError",
  {
    reason: NetworkErrorReason,
    retryable: Schema.Boolean,
    method: Schema.optional(Schema.String),
    /** The request path, without query string (a query may carry a token). */
    path: Schema.optional(Schema.String),
    detail: Schema.optional(Schema.String),
    /** How many requests were made (1 when the failure was not retried). */
    attempts: Schema.optional(Schema.Number),
    /** What the client's retries did about the failure. */
    retries: Schema.optional(RetriesOutcome)
  }
) {
  override get message(): string {
    const target = this.method === undefined ? "" : ` ${this.method} ${this.path ?? ""}`
    return `network error (${this.reason})${target}${this.detail === undefined ? "" : `: ${this.detail}`}${
      retryNote(this.attempts, this.retries)
    }`
  }
}

/**
 * What kind of server-side refusal a {@link ResponseError} is.
 *
 * - `BadRequest`: the server rejected the request as malformed (400, 405, 413, 415, 416, 422).
 * - `RateLimited`: 429; slow down and retry.
 * - `Overloaded`: 503 or another sign the service is at capacity; retry later.
 * - `Killswitched`: access to this usecase or scope is disabled by the operators (403 with a text body).
 * - `ServerError`: 500 and other 5xx the server reported as internal failures.
 * - `Unexpected`: any other status the protocol does not define for this operation.
 *
 * @since 0.1.0
 * @category models
 */
export const ResponseErrorReason = Schema.Literal(
  "BadRequest",
  "RateLimited",
  "Overloaded",
  "Killswitched",
  "ServerError",
  "Unexpected"
)

/**
 * @since 0.1.0
 * @category models
 */
export type ResponseErrorReason = typeof ResponseErrorReason.Type

/**
 * The server answered with a status the operation does not treat as success, other than the auth statuses and
 * not-found. Carries the server's JSON error detail (`detail`, `causes`) when it sent one, else its text body.
 * The server's answer is the outcome even when it came before the request body was sent in full (an early
 * 413, 429, 500 or 503 to a streamed upload).
 *
 * `retryable` is true for 429, 502, 503 and 504. As on {@link NetworkError}, `attempts` and `retries` say how many
 * requests were made and what the client's retries did; they are absent on the per-operation answers inside a
 * `many` batch, which are never retried on their own.
 *
 * @since 0.1.0
 * @category errors
 */
export class ResponseError extends Schema.TaggedError<ResponseError>("@objectstore/client/ResponseError")(
  "ResponseError",
  {
    reason: ResponseErrorReason,
    status: Schema.Number,
    retryable: Schema.Boolean,
    detail: Schema.optional(Schema.String),
    causes: Schema.optional(Schema.Array(Schema.String)),
    /** How many requests were made (1 when the failure was not retried). */
    attempts: Schema.optional(Schema.Number),
    /** What the client's retries did about the failure. */
    retries: Schema.optional(RetriesOutcome)
  }
) {
  override get message(): string {
    return `server answered ${this.status} (${this.reason})${this.detail === undefined ? "" : `: ${this.detail}`}${
      retryNote(this.attempts, this.retries)
    }`
  }
}

/**
 * The caller's input was rejected before any request was made: a bad usecase, scope, key, metadata value,
 * expiration policy, byte range or pre-signing request. `field` names the offending input and `reason` says
 * what is wrong with it.
 *
 * @since 0.1.0
 * @category errors
 */
export class InvalidInputError extends Schema.TaggedError<InvalidInputError>(
  "@objectstore/client/InvalidInputError"
)("InvalidInputError", {
  field: Schema.String,
  reason: Schema.String
}) {
  override get message(): string {
    return `invalid ${this.field}: ${this.reason}`
  }
}

/**
 * Why a file could not be used: `NotFound` (no such file, or a path through something that is not a directory),
 * `PermissionDenied`, `NotAFile` (a directory or another non-regular file), `Changed` (the file became shorter
 * while it was read), `NoFileSystem` (this runtime has no file system: no `FileSystem` service was provided and
 * the client was built without one) and `Unknown` (any other failure of the file system; see `detail`).
 *
 * @since 0.1.0
 * @category errors
 */
export const FileErrorReason = Schema.Literal(
  "NotFound",
  "PermissionDenied",
  "NotAFile",
  "Changed",
  "NoFileSystem",
  "Unknown"
)

/**
 * @since 0.1.0
 * @category errors
 */
export type FileErrorReason = typeof FileErrorReason.Type

const fileReasons: Record<FileErrorReason, string> = {
  NotFound: "no such file",
  PermissionDenied: "permission denied",
  NotAFile: "not a regular file",
  Changed: "the file changed while it was read",
  NoFileSystem: "no file system: provide @effect/platform's FileSystem (NodeClient.layer does)",
  Unknown: "file system error"
}

/**
 * A local file the caller named (an upload source, a `Batch.putFile`, an upload's `stateFile`) could not be read
 * or written. `path` is the file as given, `reason` says why (see {@link FileErrorReason}) and `detail` is the file
 * system's own message, when there is one. Nothing was sent for the file: an upload of it is aborted (or kept, as
 * `keepOnFailure` says), a batched put of it fails that operation alone.
 *
 * Files are read through `@effect/platform`'s `FileSystem` service: `NodeClient.layer` provides Node's; in a
 * runtime without one (a browser) a file path fails with reason `NoFileSystem`.
 *
 * @since 0.1.0
 * @category errors
 */
export class FileError extends Schema.TaggedError<FileError>("@objectstore/client/FileError")("FileError", {
  path: Schema.String,
  reason: FileErrorReason,
  detail: Schema.optional(Schema.String)
}) {
  override get message(): string {
    return `${JSON.stringify(this.path)}: ${fileReasons[this.reason]}${
      this.detail === undefined ? "" : ` (${this.detail})`
    }`
  }
}

/**
 * zstd compression or decompression failed: the codec is unavailable in this runtime, or a downloaded payload
 * is not valid zstd (for example a truncated or corrupt frame).
 *
 * @since 0.1.0
 * @category errors
 */
export class CompressionError extends Schema.TaggedError<CompressionError>("@objectstore/client/CompressionError")(
  "CompressionError",
  {
    operation: Schema.Literal("compress", "decompress"),
    detail: Schema.String
  }
) {
  override get message(): string {
    return `zstd ${this.operation} failed: ${this.detail}`
  }
}

/**
 * Completing a multipart upload failed although the server answered 200: the completion answer carried an error
 * document (PROTOCOL §11.5). `code` is the server's code (`InvalidPart` for a part that was never uploaded or
 * whose etag does not match; `internal error` for an unknown or finished upload, a missing write permission or a
 * backend failure) and `message` its text. The upload is left as it was, so completion can be retried (for
 * example with corrected etags).
 *
 * @since 0.1.0
 * @category errors
 */
export class MultipartCompleteError extends Schema.TaggedError<MultipartCompleteError>(
  "@objectstore/client/MultipartCompleteError"
)("MultipartCompleteError", {
  code: Schema.String,
  message: Schema.String,
  key: Schema.String
}) {}

/**
 * Every error the client can fail with.
 *
 * @since 0.1.0
 * @category errors
 */
export type ObjectstoreError =
  | NotFoundError
  | AuthError
  | NetworkError
  | ResponseError
  | InvalidInputError
  | FileError
  | CompressionError
  | RangeNotSatisfiableError
  | MultipartCompleteError
  | ResumableOffsetError
  | ResumableSessionGoneError
  | NotSupportedError
  | ExpiryRejectedError

/**
 * A resumable upload chunk did not start at the session's offset (HTTP 409, PROTOCOL §22.2). `offset` is the
 * server's authoritative offset: continue from there (a chunk whose response was lost, or a chunk the server
 * acknowledged only in part, leads here). `sent` is the offset the chunk claimed.
 *
 * @since 0.1.0
 * @category errors
 */
export class ResumableOffsetError extends Schema.TaggedError<ResumableOffsetError>(
  "@objectstore/client/ResumableOffsetError"
)("ResumableOffsetError", {
  key: Schema.String,
  offset: Schema.Number,
  sent: Schema.Number
}) {
  override get message(): string {
    return `resumable upload of ${this.key}: the session is at offset ${this.offset}, the chunk started at ${this.sent}`
  }
}

/**
 * The resumable upload session no longer exists: cancelled, expired, or already completed (HTTP 410), or unknown
 * to the server (HTTP 404; never created, or forgotten a while after it ended). Start a new upload.
 *
 * @since 0.1.0
 * @category errors
 */
export class ResumableSessionGoneError extends Schema.TaggedError<ResumableSessionGoneError>(
  "@objectstore/client/ResumableSessionGoneError"
)("ResumableSessionGoneError", {
  key: Schema.String,
  status: Schema.Number,
  detail: Schema.optional(Schema.String),
  /** The server's `causes` (PROTOCOL §14.1), when it sent them. */
  causes: Schema.optional(Schema.Array(Schema.String))
}) {
  override get message(): string {
    const what = this.status === 404 ? "unknown to the server" : "gone"
    return `resumable upload session of ${this.key} is ${what}${this.detail === undefined ? "" : `: ${this.detail}`}`
  }
}

/**
 * The server's storage backend cannot do this (HTTP 501): resumable uploads on a backend without them.
 * `session.upload` falls back to multipart by itself.
 *
 * @since 0.1.0
 * @category errors
 */
export class NotSupportedError extends Schema.TaggedError<NotSupportedError>("@objectstore/client/NotSupportedError")(
  "NotSupportedError",
  {
    operation: Schema.String,
    detail: Schema.optional(Schema.String),
    /** The server's `causes` (PROTOCOL §14.1), when it sent them. */
    causes: Schema.optional(Schema.Array(Schema.String))
  }
) {
  override get message(): string {
    return `not supported by the server: ${this.operation}${this.detail === undefined ? "" : ` (${this.detail})`}`
  }
}

/**
 * The server refused to extend an object's expiry (PROTOCOL §23): HTTP 409 when the object is not eligible (no
 * creation time to count from) or was replaced while the request ran, 422 when it did not accept the request
 * (a deadline it cannot represent). `detail` is the server's text.
 *
 * @since 0.1.0
 * @category errors
 */
export class ExpiryRejectedError extends Schema.TaggedError<ExpiryRejectedError>(
  "@objectstore/client/ExpiryRejectedError"
)("ExpiryRejectedError", {
  key: Schema.String,
  status: Schema.Number,
  detail: Schema.optional(Schema.String),
  /** The server's `causes` (PROTOCOL §14.1), when it sent them. */
  causes: Schema.optional(Schema.Array(Schema.String))
}) {
  override get message(): string {
    return `extending the expiry of ${this.key} was refused (HTTP ${this.status})${
      this.detail === undefined ? "" : `: ${this.detail}`
    }`
  }
}
