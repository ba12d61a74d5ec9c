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
import type * as ExpirationPolicy from "@objectstore/protocol/ExpirationPolicy"
import type * as ProtocolScope from "@objectstore/protocol/Scope"
import * as Chunk from "effect/Chunk"
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import type * as EffectScope from "effect/Scope"
import * as Stream from "effect/Stream"
import type * as Body from "./Body.js"
import { ObjectstoreClient } from "./ObjectstoreClient.js"
import type {
  AuthError,
  CompressionError,
  InvalidInputError,
  NetworkError,
  NotFoundError,
  ResponseError
} from "./ObjectstoreError.js"
import type * as Scope from "./Scope.js"
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
  /** The media type stored with the object; default `application/octet-stream`. */
  readonly contentType?: string | undefined
  /**
   * Custom metadata. Names must be HTTP tokens and are stored lowercase; values must be visible ASCII.
   */
  readonly metadata?: Readonly<Record<string, string>> | undefined
  /** Overrides the usecase's expiration policy. */
  readonly expirationPolicy?: ExpirationPolicy.ExpirationPolicy | undefined
  /** Where the payload originally came from, e.g. the uploader's IP address (visible ASCII). */
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
  ) => Effect.Effect<ObjectResponse, GetError, EffectScope.Scope>
  /** Downloads a whole object into memory. */
  readonly getBytes: (
    key: string,
    options?: GetOptions
  ) => Effect.Effect<Uint8Array, GetError | CompressionError>
  /** Downloads a whole object and decodes it as UTF-8. */
  readonly getText: (
    key: string,
    options?: GetOptions
  ) => Effect.Effect<string, GetError | CompressionError>
  /** Reads an object's metadata without its payload. */
  readonly head: (key: string) => Effect.Effect<ObjectMetadata, GetError>
  /** Deletes an object; deleting a missing object succeeds. */
  readonly delete: (key: string) => Effect.Effect<void, DeleteError>
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
): Effect.Effect<Uint8Array, E> =>
  Effect.map(Stream.runCollect(response.stream), (chunks) => {
    const parts = Chunk.toReadonlyArray(chunks)
    if (parts.length === 1) return parts[0]
    let length = 0
    for (const part of parts) length += part.length
    const bytes = new Uint8Array(length)
    let offset = 0
    for (const part of parts) {
      bytes.set(part, offset)
      offset += part.length
    }
    return bytes
  })

/**
 * Collects a response's body and decodes it as UTF-8.
 *
 * @since 0.1.0
 * @category combinators
 */
export const collectText = <E>(
  response: { readonly stream: Stream.Stream<Uint8Array, E> }
): Effect.Effect<string, E> => Effect.map(collectBytes(response), (bytes) => new TextDecoder().decode(bytes))
