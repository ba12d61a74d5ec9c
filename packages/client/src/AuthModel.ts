/**
 * The models of authentication, with no implementation: what a token must grant (`Grant`), a signing key
 * (`Signer`), and the `Auth` service's interface (`Service`).
 *
 * A leaf module so that the signer (`internal/jwt.ts`), which `Auth` builds on, can use these types without
 * importing `Auth`. `Auth` re-exports everything here; refer to them from there (`Auth.Grant`).
 *
 * @since 0.1.0
 */
import type * as Permission from "@objectstore/protocol/Permission"
import type * as ProtocolScope from "@objectstore/protocol/Scope"
import type * as Duration from "effect/Duration"
import type * as Effect from "effect/Effect"
import type * as Option from "effect/Option"
import type * as Redacted from "effect/Redacted"
import type { AuthError } from "./ObjectstoreError.js"

/**
 * What a token must grant: a usecase, the ordered scope components, and permissions (default: the configured
 * ones).
 *
 * @since 0.1.0
 * @category models
 */
export interface Grant {
  readonly usecase: string
  readonly scope: ProtocolScope.Components
  readonly permissions?: ReadonlyArray<Permission.Permission> | undefined
}

/**
 * A configured Ed25519 signing key.
 *
 * @since 0.1.0
 * @category models
 */
export interface Signer {
  readonly kid: string
  /** The permissions this key may grant (default: all three). */
  readonly permissions: ReadonlyArray<Permission.Permission>
  /** Signs raw bytes with Ed25519 (pre-signed URLs). */
  readonly sign: (data: Uint8Array) => Effect.Effect<Uint8Array, AuthError>
  /** Mints a fresh JWT (never cached); fails with reason `Signing` for permissions the key does not hold. */
  readonly mint: (
    grant: Grant & { readonly expiresIn?: Duration.DurationInput | undefined }
  ) => Effect.Effect<Redacted.Redacted<string>, AuthError>
}

/**
 * What the `Auth` service gives the client: the token of each request, and the signing key if there is one.
 *
 * @since 0.1.0
 * @category models
 */
export interface Service {
  /** The token to send with a request for `grant`; `None` when no auth is configured. */
  readonly token: (grant: Grant) => Effect.Effect<Option.Option<Redacted.Redacted<string>>, AuthError>
  /** The signing key, when one is configured (needed for pre-signed URLs and minting tokens). */
  readonly signer: Option.Option<Signer>
}
