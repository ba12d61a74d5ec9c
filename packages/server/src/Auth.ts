/**
 * Token and pre-signed URL verification (PROTOCOL §12, §13).
 *
 * CONTRACT STUB (owned by the server auth/config work): the interfaces and Tag below are fixed; `make`, `layer`
 * and `layerDisabled` are to be implemented.
 *
 * @since 0.1.0
 */
import type * as Permission from "@objectstore/protocol/Permission"
import type * as Scope from "@objectstore/protocol/Scope"
import * as Context from "effect/Context"
import * as Data from "effect/Data"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"

/**
 * What verification needs from a request: the method, the path exactly as received (still percent-encoded), the
 * raw query text without `?` (empty when absent) and the headers with lowercase names.
 *
 * @since 0.1.0
 * @category models
 */
export interface RequestInfo {
  readonly method: string
  readonly rawPath: string
  readonly rawQuery: string
  readonly headers: Readonly<Record<string, string | undefined>>
}

/**
 * A rejected request. `message` has no category prefix: the HTTP layer answers
 * `{"detail":"auth error: <message>","causes":["<message>"]}` with `status`.
 *
 * @since 0.1.0
 * @category errors
 */
export class AuthFailure extends Data.TaggedError("AuthFailure")<{
  readonly status: 400 | 401 | 403
  readonly message: string
}> {}

/**
 * The outcome of authentication, asked once per operation. When auth is disabled, or evaluated but not enforced,
 * `authorize` always succeeds (logging what it would have refused).
 *
 * @since 0.1.0
 * @category models
 */
export interface AuthContext {
  readonly authorize: (
    permission: Permission.Permission,
    usecase: string,
    scopes: Scope.Components
  ) => Effect.Effect<void, AuthFailure>
}

/**
 * One key id of the key directory: its public key versions (PEM SubjectPublicKeyInfo text) and the permissions
 * it may grant.
 *
 * @since 0.1.0
 * @category models
 */
export interface KeyEntry {
  readonly publicKeys: ReadonlyArray<string>
  readonly maxPermissions: ReadonlyArray<Permission.Permission>
}

/**
 * @since 0.1.0
 * @category models
 */
export interface Options {
  readonly enforce: boolean
  readonly keys: Readonly<Record<string, KeyEntry>>
}

/**
 * @since 0.1.0
 * @category models
 */
export interface Service {
  readonly authenticate: (request: RequestInfo) => Effect.Effect<AuthContext, AuthFailure>
}

/**
 * @since 0.1.0
 * @category services
 */
export class ServerAuth extends Context.Tag("@objectstore/server/Auth")<ServerAuth, Service>() {}

/**
 * The key directory could not be loaded, or auth is enforced with no keys (the server refuses to start).
 *
 * @since 0.1.0
 * @category errors
 */
export class AuthConfigError extends Data.TaggedError("AuthConfigError")<{ readonly message: string }> {}

/**
 * Builds the verifier for `options`.
 *
 * CONTRACT STUB: allows every request until the real verifier lands.
 *
 * @since 0.1.0
 * @category constructors
 */
export const make = (_options: Options): Effect.Effect<Service, AuthConfigError> =>
  Effect.succeed(ServerAuth.of({ authenticate: () => Effect.succeed({ authorize: () => Effect.void }) }))

/**
 * @since 0.1.0
 * @category layers
 */
export const layer = (options: Options): Layer.Layer<ServerAuth, AuthConfigError> =>
  Layer.effect(ServerAuth, make(options))
