/**
 * Ed25519 signing for the client: EdDSA JWTs with jose, raw signatures for pre-signed URLs, and the token cache.
 *
 * Keys are imported with WebCrypto (through jose) so nothing here needs `node:crypto`.
 *
 * @internal
 */
import * as Permission from "@objectstore/protocol/Permission"
import * as Token from "@objectstore/protocol/Token"
import * as Clock from "effect/Clock"
import * as Deferred from "effect/Deferred"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Exit from "effect/Exit"
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
        return { token: Redacted.make(jwt), exp }
      })

    const cache = new TokenCache(CACHE_SIZE)

    const token = (grant: Grant) =>
      Effect.gen(function*() {
        const permissions = grant.permissions ?? keyPermissions
        yield* checkPermissions(permissions)
        const cacheKey = JSON.stringify([grant.usecase, grant.scope, permissions])
        const now = yield* Clock.currentTimeMillis
        const candidate = yield* Deferred.make<Signed, AuthError>()
        const entry = cache.lookupOrInsert(cacheKey, now, candidate)
        if (entry.deferred === candidate) {
          // This fiber signs; concurrent requests for the same grant wait on the same Deferred.
          yield* sign(grant, permissions, expiryMillis).pipe(
            Effect.exit,
            Effect.tap((exit) =>
              Effect.sync(() => {
                if (Exit.isSuccess(exit)) entry.freshUntil = exit.value.exp * 1000 - refreshMarginMillis
                else cache.remove(cacheKey, entry)
              })
            ),
            Effect.flatMap((exit) => Deferred.done(candidate, exit)),
            Effect.uninterruptible
          )
        }
        const signed = yield* Deferred.await(entry.deferred)
        return Option.some(signed.token)
      })

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
}

interface Entry {
  readonly deferred: Deferred.Deferred<Signed, AuthError>
  /** Epoch millis until which the token is reused; infinite while it is being signed. */
  freshUntil: number
}

/** A small LRU of signed tokens by grant. @internal */
class TokenCache {
  readonly entries = new Map<string, Entry>()
  constructor(readonly capacity: number) {}

  /** The usable entry for `key`, or a new entry for `deferred` (evicting the least recently used one). */
  lookupOrInsert(key: string, now: number, deferred: Deferred.Deferred<Signed, AuthError>): Entry {
    const existing = this.entries.get(key)
    this.entries.delete(key)
    if (existing !== undefined && now < existing.freshUntil) {
      this.entries.set(key, existing)
      return existing
    }
    const entry: Entry = { deferred, freshUntil: Infinity }
    this.entries.set(key, entry)
    while (this.entries.size > this.capacity) {
      const oldest = this.entries.keys().next()
      if (oldest.done) break
      this.entries.delete(oldest.value)
    }
    return entry
  }

  remove(key: string, entry: Entry): void {
    if (this.entries.get(key) === entry) this.entries.delete(key)
  }
}
