/**
 * Ed25519 signing for the client: EdDSA JWTs with jose, raw signatures for pre-signed URLs, and the token cache.
 *
 * Keys are imported with WebCrypto (through jose) so nothing here needs `node:crypto`.
 *
 * @internal
 */
import * as Permission from "@objectstore/protocol/Permission"
import * as Token from "@objectstore/protocol/Token"
import * as Cache from "effect/Cache"
import * as Clock from "effect/Clock"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Equal from "effect/Equal"
import * as Exit from "effect/Exit"
import * as Hash from "effect/Hash"
import * as Option from "effect/Option"
import * as Redacted from "effect/Redacted"
import { CompactSign, importPKCS8 } from "jose"
import type { Grant, Service, Signer } from "../AuthModel.js"
import { AuthError } from "../ObjectstoreError.js"
import * as Validation from "./validation.js"

/** @internal */
export interface SecretKeyOptions {
  readonly kid: string
  readonly privateKey: Redacted.Redacted<string>
  readonly permissions?: ReadonlyArray<Permission.Permission> | undefined
  readonly expiry?: Duration.DurationInput | undefined
}

/** Test-only observation points. @internal */
export interface Hooks {
  /** Called each time a JWT is signed. */
  readonly onSign?: (() => void) | undefined
}

/** @internal */
export const DEFAULT_EXPIRY: Duration.Duration = Duration.seconds(60)
/** @internal */
export const CACHE_SIZE = 1024
/** A cached token is refreshed when less than this remains, or a quarter of its lifetime if that is more. @internal */
export const MIN_REFRESH_MARGIN: Duration.Duration = Duration.seconds(10)

const signingError = (detail: string) => new AuthError({ reason: "Signing", detail })

const encoder = new TextEncoder()

/** The key is imported once; its material never reaches an error or a log. */
const importKey = (privateKey: Redacted.Redacted<string>) =>
  Effect.tryPromise({
    try: () => importPKCS8(Redacted.value(privateKey), "EdDSA", { extractable: false }),
    catch: () => signingError("invalid private key: expected an Ed25519 private key in PKCS#8 PEM format")
  }).pipe(
    Effect.filterOrFail(
      (key) => key.algorithm.name === "Ed25519",
      () => signingError("invalid private key: expected an Ed25519 private key in PKCS#8 PEM format")
    )
  )

const positiveMillis = (input: Duration.DurationInput, name: string) =>
  Either.match(Validation.duration(input), {
    onLeft: (reason) => Effect.fail(signingError(`${name} ${reason}`)),
    onRight: (duration) => Effect.succeed(Duration.toMillis(duration))
  })

/** @internal */
export interface SecretKey {
  readonly service: Service
  readonly signer: Signer
}

/**
 * Builds the secret-key service: validates the options, imports the key, and returns the cached `token` and the
 * `signer`.
 *
 * @internal
 */
export const makeSecretKey = (options: SecretKeyOptions, hooks: Hooks = {}): Effect.Effect<SecretKey, AuthError> =>
  Effect.gen(function*() {
    const kid = options.kid
    if (kid.length === 0) return yield* signingError("the key id (kid) must not be empty")
    const keyPermissions: ReadonlyArray<Permission.Permission> = [...(options.permissions ?? Permission.all)]
    const unknown = keyPermissions.find((permission) => !Permission.isPermission(permission))
    if (unknown !== undefined) return yield* signingError(`unknown permission: ${String(unknown)}`)
    const expiryMillis = yield* positiveMillis(options.expiry ?? DEFAULT_EXPIRY, "expiry")
    const refreshMarginMillis = Math.max(expiryMillis / 4, Duration.toMillis(MIN_REFRESH_MARGIN))
    const key = yield* importKey(options.privateKey)

    const checkPermissions = (permissions: ReadonlyArray<Permission.Permission>) => {
      const missing = permissions.filter((permission) => !keyPermissions.includes(permission))
      return missing.length === 0
        ? Effect.void
        : Effect.fail(signingError(`key ${JSON.stringify(kid)} may not grant ${missing.join(", ")}`))
    }

    /** Signs a JWT expiring `lifetimeMillis` after now (rounded up to whole seconds). */
    const sign = (grant: Grant, permissions: ReadonlyArray<Permission.Permission>, lifetimeMillis: number) =>
      Effect.gen(function*() {
        const now = yield* Clock.currentTimeMillis
        const exp = Math.floor(now / 1000) + Math.ceil(lifetimeMillis / 1000)
        // The payload's bytes as the Python client writes them (scope order kept, non-ASCII escaped).
        const payload = Token.encodeClaims({ usecase: grant.usecase, scopes: grant.scope, permissions, exp })
        hooks.onSign?.()
        const jwt = yield* Effect.tryPromise({
          try: () =>
            new CompactSign(encoder.encode(payload))
              .setProtectedHeader({ alg: "EdDSA", kid, typ: "JWT" })
              .sign(key),
          catch: () => signingError("could not sign the token")
        })
        return { token: Redacted.make(jwt), exp, signedAt: now }
      })

    // Tokens by grant (the 1024 most recently used), each reused until less than `refreshMarginMillis` of its
    // lifetime remains; concurrent requests for a grant wait for one signature, and a failed signature is not kept.
    // Signing is uninterruptible (it is local and short), so that an interrupted request never fails the others
    // waiting for the same token. Effect's `Cache` replaced a hand-written LRU at no cost: a cache hit (the
    // per-request path) took about half the time of the old one's (100,000 `token` calls over 16 grants, three
    // interleaved runs: medians 14-18 us against 27-36 us a call on a 2-core machine at load 10-11).
    const cache = yield* Cache.makeWith<GrantKey, Signed, AuthError>({
      capacity: CACHE_SIZE,
      lookup: (key: GrantKey) => Effect.uninterruptible(sign(key.grant, key.permissions, expiryMillis)),
      // A failure lives until the clock moves (`token` invalidates it at once). The cache keeps an entry until the
      // clock is past its deadline: one millisecond before `exp - margin`, so a token is signed anew from then on.
      timeToLive: Exit.match({
        onFailure: () => Duration.zero,
        onSuccess: (signed) =>
          Duration.millis(Math.max(0, signed.exp * 1000 - refreshMarginMillis - 1 - signed.signedAt))
      })
    })

    // The tokens the cache last handed out, by grant: a token the cache would still hand out by the fiber's clock is
    // answered from here, without the cache's lookup (about 17 Effect steps on every request). Bounded like the
    // cache; an entry is replaced whenever the cache hands out another token for its grant.
    const recent = new Map<string, Signed>()
    /** The last millisecond the cache keeps `signed` (its `timeToLive`, from when it was signed). */
    const keptUntil = (signed: Signed) => signed.exp * 1000 - refreshMarginMillis - 1

    const token = (grant: Grant) => {
      const permissions = grant.permissions ?? keyPermissions
      const id = JSON.stringify([grant.usecase, grant.scope, permissions])
      const looked = Effect.gen(function*() {
        yield* checkPermissions(permissions)
        const key = new GrantKey(id, grant, permissions)
        const signed = yield* cache.get(key).pipe(
          Effect.tapError(() => cache.invalidate(key)),
          Effect.uninterruptible
        )
        if (recent.size >= CACHE_SIZE && !recent.has(id)) recent.clear()
        recent.set(id, signed)
        return Option.some(signed.token)
      })
      return Effect.clockWith((clock) => {
        // Only a grant whose permissions were checked is in `recent`.
        const known = recent.get(id)
        return known !== undefined && clock.unsafeCurrentTimeMillis() < keptUntil(known)
          ? Effect.succeed(Option.some(known.token))
          : looked
      })
    }

    const signer: Signer = {
      kid,
      permissions: keyPermissions,
      sign: (data) =>
        Effect.tryPromise({
          try: async () => new Uint8Array(await globalThis.crypto.subtle.sign("Ed25519", key, new Uint8Array(data))),
          catch: () => signingError("could not sign the data")
        }),
      mint: (grant) =>
        Effect.gen(function*() {
          const permissions = grant.permissions ?? keyPermissions
          yield* checkPermissions(permissions)
          const lifetime = yield* positiveMillis(grant.expiresIn ?? expiryMillis, "expiresIn")
          const signed = yield* sign(grant, permissions, lifetime)
          return signed.token
        })
    }

    return { service: { token, signer: Option.some(signer) }, signer }
  })

interface Signed {
  readonly token: Redacted.Redacted<string>
  readonly exp: number
  /** The clock's epoch millis when it was signed. */
  readonly signedAt: number
}

/** A grant as a cache key: equal when usecase, scope and permissions are. */
class GrantKey implements Equal.Equal {
  constructor(
    readonly id: string,
    readonly grant: Grant,
    readonly permissions: ReadonlyArray<Permission.Permission>
  ) {}
  [Equal.symbol](that: Equal.Equal): boolean {
    return that instanceof GrantKey && that.id === this.id
  }
  [Hash.symbol](): number {
    return Hash.cached(this, Hash.string(this.id))
  }
}
