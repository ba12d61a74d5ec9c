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
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import type * as Stream from "effect/Stream"
import { ObjectstoreClient } from "./ObjectstoreClient.js"
import type { InvalidInputError } from "./ObjectstoreError.js"
import type * as Scope from "./Scope.js"
import type { Service } from "./SessionModel.js"
import type * as Usecase from "./Usecase.js"

/**
 * The session's interface (`Service`) and the options, results and failures of its operations (`PutOptions`,
 * `GetOptions`, `ObjectMetadata`, `ObjectResponse`, `PutError`, …), defined in `SessionModel` (and its leaf
 * `ObjectModel`) so that `ObjectstoreClient`, `Batch`, `Multipart`, `Resumable` and the operations can use them
 * without importing this module.
 *
 * @since 0.1.0
 */
export * from "./SessionModel.js"

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
