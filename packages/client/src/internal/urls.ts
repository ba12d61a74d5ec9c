/**
 * Object URLs (PROTOCOL §4.4, §12.2, §12.3): the plain URL of an object and the same URL with a read-only token in
 * `os_auth`, as the Python client's `object_url`.
 *
 * @since 0.1.0
 * @internal
 */
import * as Path from "@objectstore/protocol/Path"
import type * as Permission from "@objectstore/protocol/Permission"
import type * as ProtocolScope from "@objectstore/protocol/Scope"
import type * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import * as Redacted from "effect/Redacted"
import type * as Auth from "../Auth.js"
import { AuthError } from "../ObjectstoreError.js"
import type { InvalidInputError } from "../ObjectstoreError.js"
import type * as Urls from "../Urls.js"
import * as Validation from "./validation.js"

/**
 * What URL building needs from a session.
 *
 * @internal
 */
export interface UrlContext {
  /** `scheme://host[:port]` (IPv6 hosts bracketed), from the client's base URL. */
  readonly origin: string
  /** The base URL's path prefix, decoded, without trailing `/`. */
  readonly basePath: string
  readonly usecase: string
  /** The rendered scope segment (`org=42;project=1337`, `_`). */
  readonly scope: string
  readonly components: ProtocolScope.Components
  readonly auth: Auth.Service
}

/**
 * The encoded path of an object (base path included).
 *
 * @internal
 */
export const objectPath = (context: UrlContext, key: string): string =>
  Path.objectPath({
    basePath: context.basePath,
    resource: "objects",
    usecase: context.usecase,
    scope: context.scope,
    key
  })

/**
 * The signer, or the `Signing` error of a client without a secret key.
 *
 * @internal
 */
export const requireSigner = (auth: Auth.Service, what: string): Effect.Effect<Auth.Signer, AuthError> =>
  Option.match(auth.signer, {
    onNone: () =>
      Effect.fail(
        new AuthError({
          reason: "Signing",
          detail: `${what} needs a secret key (Auth.layerSecretKey); this client has none`
        })
      ),
    onSome: Effect.succeed
  })

const READ: ReadonlyArray<Permission.Permission> = ["object.read"]

/**
 * `objectUrl(key, options)`: the object's URL, with `?os_auth=<read-only JWT>` when `tokenValidity` is given.
 *
 * @internal
 */
export const objectUrl = (
  context: UrlContext,
  key: string,
  options: Urls.ObjectUrlOptions | undefined
): Effect.Effect<string, InvalidInputError | AuthError> =>
  Effect.gen(function*() {
    yield* Validation.key(key)
    const url = context.origin + objectPath(context, key)
    if (options?.tokenValidity === undefined) return url
    const validity = yield* Validation.positiveDuration(options.tokenValidity, "tokenValidity")
    const signer = yield* requireSigner(context.auth, "a URL with a token")
    const token = yield* signer.mint({
      usecase: context.usecase,
      scope: context.components,
      permissions: READ,
      expiresIn: validity
    })
    // A JWT is base64url segments joined by `.`: nothing in it needs escaping in a query.
    return `${url}?os_auth=${Redacted.value(token)}`
  })

/**
 * Mints a token for a usecase and scope with the client's secret key (`mint_token` of the Python client). The
 * permissions must be among the key's (else `AuthError` `Signing`); the default is all of the key's permissions
 * and the key's configured expiry.
 *
 * @internal
 */
export const mintToken = (
  auth: Auth.Service,
  grant: {
    readonly usecase: string
    readonly components: ProtocolScope.Components
    readonly permissions?: ReadonlyArray<Permission.Permission> | undefined
    readonly expiry?: Duration.DurationInput | undefined
  }
): Effect.Effect<Redacted.Redacted<string>, AuthError | InvalidInputError> =>
  Effect.gen(function*() {
    const expiresIn = grant.expiry === undefined
      ? undefined
      : yield* Validation.positiveDuration(grant.expiry, "expiry")
    const signer = yield* requireSigner(auth, "minting a token")
    return yield* signer.mint({
      usecase: grant.usecase,
      scope: grant.components,
      permissions: grant.permissions,
      expiresIn
    })
  })
