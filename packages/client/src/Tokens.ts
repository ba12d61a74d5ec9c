/**
 * Minting tokens for other services (PROTOCOL §12.3; the Python client's `mint_token`).
 *
 * A client configured with a secret key (`Auth.layerSecretKey`) can sign a JWT and hand it to a service that talks
 * to Objectstore without the key: `Session.mintToken` for the session's usecase and scope, or {@link mint} for any
 * usecase and scope. The token's `res` claim names the usecase and every scope component (values as strings), its
 * `permissions` are the requested ones (default: all the key holds) and it expires after `expiry` (default: the
 * key's configured expiry, 60 s unless set), rounded up to whole seconds from Effect's `Clock`.
 *
 * Asking for a permission the key does not hold fails with `AuthError` reason `Signing`, before anything is signed;
 * so does minting without a secret key. Tokens are `Redacted`: unwrap them with `Redacted.value` where they are
 * handed on, never log them.
 *
 * @example
 * ```ts
 * import { Scope, Tokens, Usecase } from "@objectstore/client"
 * import * as Effect from "effect/Effect"
 * import * as Redacted from "effect/Redacted"
 *
 * const readOnly = Tokens.mint({
 *   usecase: Usecase.make("attachments"),
 *   scope: Scope.make({ org: 42, project: "*" }),
 *   permissions: ["object.read"],
 *   expiry: "10 minutes"
 * }).pipe(Effect.map(Redacted.value))
 * ```
 *
 * @since 0.1.0
 */
import type * as Permission from "@objectstore/protocol/Permission"
import type * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import type * as Redacted from "effect/Redacted"
import { Auth } from "./Auth.js"
import * as UrlsInternal from "./internal/urls.js"
import * as Validation from "./internal/validation.js"
import type { AuthError } from "./ObjectstoreError.js"
import type { InvalidInputError } from "./ObjectstoreError.js"
import * as Scope from "./Scope.js"
import type * as Usecase from "./Usecase.js"

/**
 * The scope value that grants every value of a component (`Scope.make({ org: 42, project: Tokens.WILDCARD })`).
 *
 * @since 0.1.0
 * @category constants
 */
export const WILDCARD = "*"

/**
 * Options of `Session.mintToken`.
 *
 * @since 0.1.0
 * @category models
 */
export interface MintOptions {
  /** What the token grants; must be among the key's permissions. Default: all of them. */
  readonly permissions?: ReadonlyArray<Permission.Permission> | undefined
  /** How long the token is valid. Default: the secret key's configured expiry. */
  readonly expiry?: Duration.DurationInput | undefined
}

/**
 * Options of {@link mint}: the usecase and scope the token is for, plus {@link MintOptions}. Scope values may be
 * `"*"` (any value of that component).
 *
 * @since 0.1.0
 * @category models
 */
export interface MintForOptions extends MintOptions {
  readonly usecase: Usecase.Usecase | string
  readonly scope: Scope.Scope
}

/**
 * Mints a token for any usecase and scope with the secret key of the `Auth` service.
 *
 * @since 0.1.0
 * @category constructors
 */
export const mint = (
  options: MintForOptions
): Effect.Effect<Redacted.Redacted<string>, AuthError | InvalidInputError, Auth> =>
  Effect.flatMap(Auth, (auth) => mintWith(auth, options))

/**
 * {@link mint} with a given `Auth` service.
 *
 * @since 0.1.0
 * @category constructors
 */
export const mintWith = (
  auth: Auth["Type"],
  options: MintForOptions
): Effect.Effect<Redacted.Redacted<string>, AuthError | InvalidInputError> =>
  Effect.gen(function*() {
    const usecase = typeof options.usecase === "string" ? options.usecase : options.usecase.name
    yield* Validation.usecase(usecase)
    // `*` is not a valid scope value in a path, but is the wildcard of a grant (§12.5): validate the rest.
    const wildcards = options.scope.entries.map(([, value]) => value === WILDCARD)
    const checked = yield* Scope.toComponents({
      ...options.scope,
      entries: options.scope.entries.map(([name, value], i) => [name, wildcards[i] ? "0" : value] as const)
    })
    const components = checked.map(([name, value], i) => [name, wildcards[i] ? WILDCARD : value] as const)
    return yield* UrlsInternal.mintToken(auth, {
      usecase,
      components,
      permissions: options.permissions,
      expiry: options.expiry
    })
  })
