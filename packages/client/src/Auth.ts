/**
 * How the client authenticates its requests (PROTOCOL §12).
 *
 * - {@link layerSecretKey}: an Ed25519 key (`kid` + PKCS#8 PEM). Every request gets an EdDSA JWT scoped to its
 *   usecase and scope, with protected header `{"alg":"EdDSA","kid":…,"typ":"JWT"}` and claims
 *   `{"res":{"os:usecase":…,…scopes},"permissions":[…],"exp":…}` in that order; `exp` is now (from Effect's
 *   `Clock`) plus the expiry (default 60 s), in whole seconds. The key also backs the `signer` for pre-signed URLs
 *   and minted tokens.
 * - {@link layerToken}: one pre-made token for every request.
 * - {@link layerNone}: no token (a server with auth disabled).
 *
 * Token cache: unlike the upstream clients, which sign for every request, the secret-key service reuses a token
 * for the same (usecase, scope, permissions) until less than a quarter of its lifetime or 10 seconds (whichever is
 * larger) remains; with the default 60 s expiry a token is reused for 45 s. Concurrent requests for the same grant
 * wait for a single signature. The cache keeps the 1024 most recently used grants. `Signer.mint` never caches.
 *
 * Secrets (the private key and every token) are `Redacted` and never appear in errors or logs.
 *
 * @example
 * ```ts
 * import * as Config from "effect/Config"
 * import * as Auth from "@objectstore/client/Auth"
 *
 * const AuthLive = Auth.layerSecretKeyConfig({
 *   kid: Config.string("OBJECTSTORE_KID"),
 *   privateKey: Config.redacted("OBJECTSTORE_PRIVATE_KEY")
 * })
 * ```
 *
 * @since 0.1.0
 */
import type * as Permission from "@objectstore/protocol/Permission"
import * as Config from "effect/Config"
import type * as ConfigError from "effect/ConfigError"
import * as Context from "effect/Context"
import type * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import type * as Redacted from "effect/Redacted"
import type { Service } from "./AuthModel.js"
import * as jwt from "./internal/jwt.js"
import type { AuthError } from "./ObjectstoreError.js"

/**
 * The models (`Grant`, `Signer`, `Service`), defined in the leaf module `AuthModel` so that the signer this module
 * builds on can use them without importing it.
 *
 * @since 0.1.0
 */
export * from "./AuthModel.js"

/**
 * @since 0.1.0
 * @category services
 */
export class Auth extends Context.Tag("@objectstore/client/Auth")<Auth, Service>() {}

/**
 * Options of the secret-key mode.
 *
 * @since 0.1.0
 * @category models
 */
export interface SecretKeyOptions {
  /** The key id the server knows the public key by (`kid` header); `[A-Za-z0-9._-]` is safest. */
  readonly kid: string
  /** The Ed25519 private key in PKCS#8 PEM (`-----BEGIN PRIVATE KEY-----`). */
  readonly privateKey: Redacted.Redacted<string>
  /** The permissions tokens grant by default, and the most `mint` may grant (default: all three). */
  readonly permissions?: ReadonlyArray<Permission.Permission> | undefined
  /** Token lifetime (default 60 seconds). */
  readonly expiry?: Duration.DurationInput | undefined
}

/**
 * Builds the secret-key service. Fails with `AuthError` (reason `Signing`) for a key that is not an Ed25519
 * PKCS#8 PEM, an empty `kid` or a non-positive expiry; the error never contains key material.
 *
 * @since 0.1.0
 * @category constructors
 */
export const makeSecretKey = (options: SecretKeyOptions): Effect.Effect<Service, AuthError> =>
  Effect.map(jwt.makeSecretKey(options), (secretKey) => Auth.of(secretKey.service))

/**
 * A service sending `token` unchanged with every request.
 *
 * @since 0.1.0
 * @category constructors
 */
export const makeToken = (token: Redacted.Redacted<string>): Service =>
  Auth.of({ token: () => Effect.succeed(Option.some(token)), signer: Option.none() })

/**
 * A service sending no token.
 *
 * @since 0.1.0
 * @category constructors
 */
export const none: Service = Auth.of({ token: () => Effect.succeed(Option.none()), signer: Option.none() })

/**
 * Signs a token per grant with an Ed25519 key (cached; see the module documentation).
 *
 * @since 0.1.0
 * @category layers
 */
export const layerSecretKey = (options: SecretKeyOptions): Layer.Layer<Auth, AuthError> =>
  Layer.effect(Auth, makeSecretKey(options))

/**
 * {@link layerSecretKey} from `Config`; read the key with `Config.redacted`.
 *
 * @since 0.1.0
 * @category layers
 */
export const layerSecretKeyConfig = (
  options: Config.Config.Wrap<SecretKeyOptions>
): Layer.Layer<Auth, AuthError | ConfigError.ConfigError> =>
  Layer.effect(Auth, Effect.flatMap(Config.unwrap(options), makeSecretKey))

/**
 * Sends one pre-made token with every request; no signer.
 *
 * @since 0.1.0
 * @category layers
 */
export const layerToken = (token: Redacted.Redacted<string>): Layer.Layer<Auth> => Layer.succeed(Auth, makeToken(token))

/**
 * {@link layerToken} from `Config`, for example `Config.redacted("OBJECTSTORE_TOKEN")`.
 *
 * @since 0.1.0
 * @category layers
 */
export const layerTokenConfig = (
  token: Config.Config<Redacted.Redacted<string>>
): Layer.Layer<Auth, ConfigError.ConfigError> => Layer.effect(Auth, Effect.map(token, makeToken))

/**
 * No authentication: `token` is always `None`.
 *
 * @since 0.1.0
 * @category layers
 */
export const layerNone: Layer.Layer<Auth> = Layer.succeed(Auth, none)
