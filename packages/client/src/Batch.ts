/**
 * Many operations at once: `session.many(operations, options)` over the batch endpoint (PROTOCOL §10).
 *
 * Operations are built with {@link put}, {@link putFile}, {@link get}, {@link head} and {@link delete}, mixed
 * freely, and given as an `Iterable` or a `Stream` of any length. The results come back as a `Stream` of
 * {@link Outcome}s, each tied to its operation by `index` (its position in the input) and `key`, and carrying that
 * operation's own value or typed error in `result`: a failure of one operation never hides the others.
 *
 * How operations travel (the upstream Rust client's algorithm, §10.5):
 *
 * - get, head and delete, and puts whose worst-case compressed size (`compressBound`) is at most 1 MiB, are
 *   packed greedily, in input order, into batch requests of at most 1000 operations and 100 MiB;
 * - larger puts, and puts of streams of unknown length, go as ordinary single-object requests;
 * - at most 3 batch requests and 5 individual requests are in flight (see {@link ManyOptions}).
 *
 * Memory is bounded by that window, not by the number of operations: a `Stream` of a million operations runs in
 * constant memory. A file put ({@link putFile}) is stat-ed when it is classified and opened only when its request
 * is sent. Gets decompress like `session.get`; a missing object is `Option.none()`, not an error.
 *
 * @example
 * ```ts
 * import { Batch, Session } from "@objectstore/client"
 * import * as Effect from "effect/Effect"
 *
 * const program = Effect.gen(function*() {
 *   const session = yield* Session.Session
 *   const outcomes = yield* Batch.collectAll(session.many([
 *     Batch.put("hello", { key: "greeting" }),
 *     Batch.get("greeting"),
 *     Batch.delete("old-key")
 *   ]))
 *   for (const outcome of outcomes) {
 *     if (outcome.result._tag === "Left") console.error(outcome.index, outcome.key, outcome.result.left.message)
 *   }
 * })
 * ```
 *
 * @since 0.1.0
 */
import * as Chunk from "effect/Chunk"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Option from "effect/Option"
import * as Stream from "effect/Stream"
import type * as Body from "./Body.js"
import type * as ObjectModel from "./ObjectModel.js"
import type {
  AuthError,
  CompressionError,
  FileError,
  InvalidInputError,
  NetworkError,
  ResponseError
} from "./ObjectstoreError.js"

/**
 * Upload `body` (bytes, a string, a stream or a replayable factory) with the options of `session.put`.
 *
 * @since 0.1.0
 * @category models
 */
export interface Put {
  readonly _tag: "Put"
  readonly body: Body.Input
  readonly options: ObjectModel.PutOptions | undefined
}

/**
 * Upload the file at `path` (stat-ed when classified, opened when its request is sent).
 *
 * @since 0.1.0
 * @category models
 */
export interface PutFile {
  readonly _tag: "PutFile"
  readonly path: string
  readonly options: ObjectModel.PutOptions | undefined
}

/**
 * Download an object into memory.
 *
 * @since 0.1.0
 * @category models
 */
export interface Get {
  readonly _tag: "Get"
  readonly key: string
  readonly options: ObjectModel.GetOptions | undefined
}

/**
 * Read an object's metadata.
 *
 * @since 0.1.0
 * @category models
 */
export interface Head {
  readonly _tag: "Head"
  readonly key: string
}

/**
 * Delete an object (deleting a missing object succeeds).
 *
 * @since 0.1.0
 * @category models
 */
export interface Delete {
  readonly _tag: "Delete"
  readonly key: string
}

/**
 * One operation of `session.many`.
 *
 * @since 0.1.0
 * @category models
 */
export type Operation = Put | PutFile | Get | Head | Delete

/**
 * A put of bytes, a string (UTF-8), a stream or a replayable factory. Bytes, strings and replayable factories
 * with a `contentLength` have a known size and can travel in a batch; streams always go as individual requests.
 * The body must not fail (map a stream's errors first).
 *
 * @since 0.1.0
 * @category constructors
 */
export const put = (body: Body.Input, options?: ObjectModel.PutOptions): Put => ({ _tag: "Put", body, options })

/**
 * A put of the file at `path`. Its size is read (`stat`) when the operation is classified, so a missing file, a
 * directory or an unreadable file fails this operation alone (`FileError` with the path and the reason); the file is
 * opened only when its request is sent, through `@effect/platform`'s `FileSystem` (`NodeClient.layer` provides
 * Node's; without one the operation fails with `FileError` `NoFileSystem`).
 *
 * @since 0.1.0
 * @category constructors
 */
export const putFile = (path: string, options?: ObjectModel.PutOptions): PutFile => ({ _tag: "PutFile", path, options })

/**
 * A get of `key`: the whole object in memory, decompressed like `session.get` unless `decompress: false`.
 *
 * @since 0.1.0
 * @category constructors
 */
export const get = (key: string, options?: ObjectModel.GetOptions): Get => ({ _tag: "Get", key, options })

/**
 * A head of `key`.
 *
 * @since 0.1.0
 * @category constructors
 */
export const head = (key: string): Head => ({ _tag: "Head", key })

const del = (key: string): Delete => ({ _tag: "Delete", key })

export {
  /**
   * A delete of `key`.
   *
   * @since 0.1.0
   * @category constructors
   */
  del as delete
}

/**
 * The kind of an operation as outcomes report it.
 *
 * @since 0.1.0
 * @category models
 */
export type Kind = "put" | "get" | "head" | "delete"

/**
 * What one operation can fail with: `InvalidInputError` before anything is sent (bad key or metadata), `FileError`
 * for a `putFile` whose file is missing or unreadable (named, with the reason), `AuthError` (`Forbidden` for a per-operation 403), `ResponseError` for other per-operation statuses,
 * `NetworkError` when the whole batch request failed (applied to each of its operations) or the server's answer
 * for the operation was missing or malformed, `CompressionError` for a get that could not be decompressed.
 *
 * @since 0.1.0
 * @category errors
 */
export type ManyError =
  | AuthError
  | NetworkError
  | ResponseError
  | InvalidInputError
  | FileError
  | CompressionError

/**
 * A downloaded object.
 *
 * @since 0.1.0
 * @category models
 */
export interface GetValue {
  readonly key: string
  readonly metadata: ObjectModel.ObjectMetadata
  readonly bytes: Uint8Array
}

/**
 * The outcome of one operation: its `index` in the input, its `key` (the generated one for a successful keyless
 * put; `undefined` for a keyless put that failed) and its `result`.
 *
 * @since 0.1.0
 * @category models
 */
export interface OutcomeOf<K extends Kind, A> {
  readonly kind: K
  readonly index: number
  readonly key: string | undefined
  readonly result: Either.Either<A, ManyError>
}

/**
 * A put's outcome: the object's key.
 *
 * @since 0.1.0
 * @category models
 */
export type PutOutcome = OutcomeOf<"put", string>

/**
 * A get's outcome: the object, or `None` when it is missing or expired.
 *
 * @since 0.1.0
 * @category models
 */
export type GetOutcome = OutcomeOf<"get", Option.Option<GetValue>>

/**
 * A head's outcome: the metadata, or `None` when the object is missing or expired.
 *
 * @since 0.1.0
 * @category models
 */
export type HeadOutcome = OutcomeOf<"head", Option.Option<ObjectModel.ObjectMetadata>>

/**
 * A delete's outcome.
 *
 * @since 0.1.0
 * @category models
 */
export type DeleteOutcome = OutcomeOf<"delete", void>

/**
 * The outcome of one operation of `session.many`.
 *
 * @since 0.1.0
 * @category models
 */
export type Outcome = PutOutcome | GetOutcome | HeadOutcome | DeleteOutcome

/**
 * A failed operation, as {@link collectErrors} reports it.
 *
 * @since 0.1.0
 * @category models
 */
export interface Failure {
  readonly kind: Kind
  readonly index: number
  readonly key: string | undefined
  readonly error: ManyError
}

/**
 * Options of `session.many`. The limits default to the protocol's (§10.5) and are only worth lowering.
 *
 * @since 0.1.0
 * @category models
 */
export interface ManyOptions {
  /** Batch requests in flight at once (default 3, minimum 1). */
  readonly batchConcurrency?: number | undefined
  /** Individual requests (large or streamed puts) in flight at once (default 5, minimum 1). */
  readonly individualConcurrency?: number | undefined
  /** Operations per batch request (default and maximum 1000). */
  readonly maxOperationsPerBatch?: number | undefined
  /** Estimated body bytes per batch request (default 100 MiB). */
  readonly maxBatchBytes?: number | undefined
  /** Largest put that travels in a batch, after worst-case compression (default and maximum 1 MiB). */
  readonly maxBatchInsertSize?: number | undefined
}

/**
 * The protocol defaults of {@link ManyOptions}.
 *
 * @since 0.1.0
 * @category constants
 */
export const defaults: {
  readonly batchConcurrency: number
  readonly individualConcurrency: number
  readonly maxOperationsPerBatch: number
  readonly maxBatchBytes: number
  readonly maxBatchInsertSize: number
} = {
  batchConcurrency: 3,
  individualConcurrency: 5,
  maxOperationsPerBatch: 1000,
  maxBatchBytes: 104_857_600,
  maxBatchInsertSize: 1_048_576
}

const byIndex = <A extends { readonly index: number }>(items: Chunk.Chunk<A>): Array<A> =>
  Chunk.toArray(items).sort((a, b) => a.index - b.index)

/**
 * Runs the outcomes to the end and returns them all, in operation (index) order.
 *
 * @since 0.1.0
 * @category combinators
 */
export const collectAll = <E, R>(outcomes: Stream.Stream<Outcome, E, R>): Effect.Effect<Array<Outcome>, E, R> =>
  Effect.map(Stream.runCollect(outcomes), byIndex)

/**
 * Runs the outcomes until the first failed operation and fails with its error (the remaining work is
 * interrupted); when none fails, returns every outcome in operation order.
 *
 * @since 0.1.0
 * @category combinators
 */
export const failFast = <E, R>(
  outcomes: Stream.Stream<Outcome, E, R>
): Effect.Effect<Array<Outcome>, ManyError | E, R> =>
  outcomes.pipe(
    Stream.mapEffect((outcome): Effect.Effect<Outcome, ManyError> => {
      const result: Either.Either<unknown, ManyError> = outcome.result
      return Either.isLeft(result) ? Effect.fail(result.left) : Effect.succeed(outcome)
    }),
    Stream.runCollect,
    Effect.map(byIndex)
  )

/**
 * Runs the outcomes to the end and returns only the failures, in operation order (empty when all succeeded).
 *
 * @since 0.1.0
 * @category combinators
 */
export const collectErrors = <E, R>(outcomes: Stream.Stream<Outcome, E, R>): Effect.Effect<Array<Failure>, E, R> =>
  outcomes.pipe(
    Stream.filterMap((outcome) => {
      const result: Either.Either<unknown, ManyError> = outcome.result
      return Either.isLeft(result)
        ? Option.some<Failure>({ kind: outcome.kind, index: outcome.index, key: outcome.key, error: result.left })
        : Option.none()
    }),
    Stream.runCollect,
    Effect.map(byIndex)
  )
