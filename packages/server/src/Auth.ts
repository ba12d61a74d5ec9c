/**
 * Token and pre-signed URL verification (PROTOCOL §12, §13) against a key directory.
 *
 * The three modes of §12.1:
 *
 * - **disabled** (`enforce: false`, no keys): tokens and pre-sign parameters are never looked at; everything is
 *   allowed.
 * - **evaluated, not enforced** (`enforce: false`, keys configured): requests are verified and authorized exactly as
 *   when enforced, but failures are only logged (`Effect.logWarning`) and the request proceeds.
 * - **enforced** (`enforce: true`): failures are returned as `AuthFailure`s (400/401/403) that the HTTP layer
 *   renders as `{"detail":"auth error: <message>","causes":["<message>"]}`.
 *
 * JWTs are verified with `node:crypto` Ed25519 rather than a JOSE library, so the upstream verification order of
 * §12.4 (kid before alg, one attempt per key version, strict base64url segments, 60 s `exp` leeway on Effect's
 * `Clock`) is followed step by step. Token material never reaches errors or logs.
 *
 * @since 0.1.0
 */
import * as Base64Url from "@objectstore/protocol/Base64Url"
import type * as Permission from "@objectstore/protocol/Permission"
import * as Presign from "@objectstore/protocol/Presign"
import type * as Scope from "@objectstore/protocol/Scope"
import * as Token from "@objectstore/protocol/Token"
import * as Clock from "effect/Clock"
import * as Context from "effect/Context"
import * as Data from "effect/Data"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as crypto from "node:crypto"

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
 * `enforce` and the key directory (kid → key versions and maximum permissions), as §12.6.
 *
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
 * The request authenticator: verifies a request's token or pre-signed URL against the key directory and says what
 * it may do (`Service.authenticate`). The HTTP app builds its own with `make`; the tag is for code that wants the
 * server's verification in its own handlers (`layer`, `layerDisabled`).
 *
 * @since 0.1.0
 * @category services
 */
export class Authenticator extends Context.Tag("@objectstore/server/Authenticator")<Authenticator, Service>() {}

/**
 * The key directory could not be loaded, or auth is enforced with no keys (the server refuses to start).
 *
 * @since 0.1.0
 * @category errors
 */
export class AuthConfigError extends Data.TaggedError("AuthConfigError")<{ readonly message: string }> {}

/**
 * The failure messages of §12.4, §12.5 and §13.4 (without the `auth error: ` prefix).
 *
 * @since 0.1.0
 * @category models
 */
export const messages = {
  noToken: "bad request: No authorization token provided",
  invalidQuery: "bad request: invalid query string",
  missingKid: "bad request: JWT header is missing `kid` field",
  unknownKey: "unknown key",
  invalidAlgorithm: "failed to decode token: InvalidAlgorithm",
  verifyFailed: "failed to verify token",
  notAllowed: "operation not allowed",
  presignMethod: "presigned URLs are not supported for this method",
  presignParams: "bad request: presigned URL has missing or invalid parameters",
  presignDuration: "bad request: presigned URL validity exceeds the maximum of 1 week",
  presignExpired: "presigned URL is expired or not yet valid",
  presignSignature: "failed to verify presigned URL signature"
} as const

const allowAll: AuthContext = { authorize: () => Effect.void }

const disabledService: Service = { authenticate: () => Effect.succeed(allowAll) }

const failure = (status: 400 | 401 | 403, message: string) => new AuthFailure({ status, message })
const decodeFailure = (reason: string) => failure(401, `failed to decode token: ${reason}`)

// ---------------------------------------------------------------------------------------------------------------
// Token transport (§12.2)

const BEARER = /^bearer /i

const bearer = (value: string | undefined): string | undefined =>
  value !== undefined && BEARER.test(value) ? value.slice("bearer ".length) : undefined

/**
 * Finds the token of a request (§12.2): a usable `x-os-auth` header, else (only when `x-os-auth` is absent) a usable
 * `Authorization` header, else the form-decoded `os_auth` query parameter (more than one is a 400).
 */
const findToken = (request: RequestInfo): Either.Either<string, AuthFailure> => {
  const xOsAuth = request.headers["x-os-auth"]
  const header = xOsAuth !== undefined ? bearer(xOsAuth) : bearer(request.headers["authorization"])
  if (header !== undefined) return Either.right(header)
  const found = Presign.parseQuery(request.rawQuery).filter(([name]) => name === "os_auth")
  if (found.length > 1) return Either.left(failure(400, messages.invalidQuery))
  if (found.length === 0) return Either.left(failure(400, messages.noToken))
  return Either.right(found[0]![1])
}

// ---------------------------------------------------------------------------------------------------------------
// Keys

interface LoadedKey {
  readonly versions: ReadonlyArray<crypto.KeyObject>
  readonly maxPermissions: ReadonlyArray<Permission.Permission>
}

const loadKeys = (keys: Readonly<Record<string, KeyEntry>>): Either.Either<Map<string, LoadedKey>, AuthConfigError> => {
  const loaded = new Map<string, LoadedKey>()
  for (const [kid, entry] of Object.entries(keys)) {
    const versions: Array<crypto.KeyObject> = []
    for (const [index, pem] of entry.publicKeys.entries()) {
      let key: crypto.KeyObject | undefined
      try {
        key = crypto.createPublicKey({ key: pem, format: "pem" })
      } catch {
        key = undefined
      }
      if (key === undefined || key.asymmetricKeyType !== "ed25519") {
        return Either.left(
          new AuthConfigError({
            message: `key ${JSON.stringify(kid)}: public key ${index + 1} is not an Ed25519 public key in PEM form`
          })
        )
      }
      versions.push(key)
    }
    loaded.set(kid, { versions, maxPermissions: entry.maxPermissions })
  }
  return Either.right(loaded)
}

// ---------------------------------------------------------------------------------------------------------------
// JWT verification (§12.4)

const utf8 = new TextDecoder("utf-8", { fatal: true })

const decodeJson = (segment: string): Either.Either<unknown, string> => {
  const bytes = Base64Url.decodeStrict(segment)
  if (Option.isNone(bytes)) return Either.left("invalid base64url")
  try {
    return Either.right(JSON.parse(utf8.decode(bytes.value)))
  } catch {
    return Either.left("invalid JSON")
  }
}

const isObject = (value: unknown): value is Record<string, unknown> =>
  typeof value === "object" && value !== null && !Array.isArray(value)

const tokenContext = (claims: Token.Claims, key: LoadedKey): AuthContext => {
  const granted = { res: claims.res, permissions: claims.permissions.filter((p) => key.maxPermissions.includes(p)) }
  return {
    authorize: (permission, usecase, scopes) =>
      Token.authorizes(granted, permission, usecase, scopes)
        ? Effect.void
        : Effect.fail(failure(403, messages.notAllowed))
  }
}

const verifyToken = (
  keys: ReadonlyMap<string, LoadedKey>,
  token: string,
  nowMillis: number
): Either.Either<AuthContext, AuthFailure> => {
  const segments = token.split(".")
  if (segments.length !== 3) return Either.left(decodeFailure("InvalidToken"))
  const [headerSegment, payloadSegment, signatureSegment] = segments as [string, string, string]
  const header = decodeJson(headerSegment)
  if (Either.isLeft(header)) return Either.left(decodeFailure(`${header.left} in header`))
  if (!isObject(header.right)) return Either.left(decodeFailure("header is not a JSON object"))
  const kid = header.right.kid
  if (kid === undefined || kid === null) return Either.left(failure(400, messages.missingKid))
  if (typeof kid !== "string") return Either.left(decodeFailure("invalid `kid` field"))
  const key = keys.get(kid)
  if (key === undefined) return Either.left(failure(401, messages.unknownKey))
  if (header.right.alg !== "EdDSA") return Either.left(failure(401, messages.invalidAlgorithm))

  const signature = Base64Url.decodeStrict(signatureSegment)
  if (Option.isNone(signature)) return Either.left(decodeFailure("invalid base64url in signature"))
  const signedBytes = Buffer.from(`${headerSegment}.${payloadSegment}`, "utf8")
  for (const version of key.versions) {
    if (signature.value.length !== 64 || !crypto.verify(null, signedBytes, version, signature.value)) continue
    // A version verified: every further problem is final.
    const payload = decodeJson(payloadSegment)
    if (Either.isLeft(payload)) return Either.left(decodeFailure(`${payload.left} in claims`))
    const claims = Token.validateClaims(payload.right)
    if (Either.isLeft(claims)) return Either.left(decodeFailure(claims.left))
    if (Token.isExpired(claims.right, Math.floor(nowMillis / 1000))) {
      return Either.left(decodeFailure("ExpiredSignature"))
    }
    return Either.right(tokenContext(claims.right, key))
  }
  return Either.left(failure(401, messages.verifyFailed))
}

// ---------------------------------------------------------------------------------------------------------------
// Pre-signed URLs (§13.4)

const presignedContext: AuthContext = {
  authorize: (permission) => permission === "object.read" ? Effect.void : Effect.fail(failure(403, messages.notAllowed))
}

const verifyPresigned = (
  keys: ReadonlyMap<string, LoadedKey>,
  request: RequestInfo,
  nowMillis: number
): Either.Either<AuthContext, AuthFailure> => {
  const method = request.method.toUpperCase()
  if (method !== "GET" && method !== "HEAD") return Either.left(failure(403, messages.presignMethod))
  const params = Presign.parseParams(request.rawQuery)
  if (Either.isLeft(params)) return Either.left(failure(400, messages.presignParams))
  const key = keys.get(params.right.kid)
  if (key === undefined) return Either.left(failure(401, messages.unknownKey))
  if (params.right.duration > Presign.MAX_DURATION_SECONDS) return Either.left(failure(400, messages.presignDuration))
  if (!Presign.isWithinWindow(params.right, nowMillis)) return Either.left(failure(401, messages.presignExpired))
  const signature = Base64Url.decodeStrict(params.right.signature)
  if (Option.isNone(signature) || signature.value.length !== 64) {
    return Either.left(failure(401, messages.presignSignature))
  }
  const canonical = Buffer.from(Presign.canonicalForm(request.method, request.rawPath, request.rawQuery), "utf8")
  if (!key.versions.some((version) => crypto.verify(null, canonical, version, signature.value))) {
    return Either.left(failure(401, messages.presignSignature))
  }
  if (!key.maxPermissions.includes("object.read")) return Either.left(failure(403, messages.notAllowed))
  return Either.right(presignedContext)
}

// ---------------------------------------------------------------------------------------------------------------

const verify = (keys: ReadonlyMap<string, LoadedKey>, request: RequestInfo, nowMillis: number) =>
  Presign.isPresigned(request.rawQuery)
    ? verifyPresigned(keys, request, nowMillis)
    : Either.flatMap(findToken(request), (token) => verifyToken(keys, token, nowMillis))

const logRefusal = (what: string, refusal: AuthFailure) =>
  Effect.logWarning(`auth not enforced: ${what}`).pipe(
    Effect.annotateLogs({ "auth.status": refusal.status, "auth.reason": refusal.message })
  )

/** Evaluated, not enforced: the real context's refusals are logged and then allowed. */
const lenient = (context: AuthContext): AuthContext => ({
  authorize: (permission, usecase, scopes) =>
    context.authorize(permission, usecase, scopes).pipe(
      Effect.catchAll((refusal) => logRefusal(`${permission} on usecase ${JSON.stringify(usecase)} refused`, refusal))
    )
})

/**
 * Builds the verifier for `options`. Fails when auth is enforced with no keys, or a public key is not an Ed25519
 * PEM (naming the kid).
 *
 * @since 0.1.0
 * @category constructors
 */
export const make = (options: Options): Effect.Effect<Service, AuthConfigError> =>
  Effect.gen(function*() {
    const hasKeys = Object.keys(options.keys).length > 0
    if (options.enforce && !hasKeys) {
      return yield* new AuthConfigError({
        message:
          "Auth enforcement is enabled but no keys are configured: configure auth keys (OS__AUTH__KEYS) or disable enforcement"
      })
    }
    const keys = yield* loadKeys(options.keys)
    if (!hasKeys) return Authenticator.of(disabledService)
    const authenticate = (request: RequestInfo) =>
      Effect.flatMap(Clock.currentTimeMillis, (now) => verify(keys, request, now))
    if (options.enforce) return Authenticator.of({ authenticate })
    return Authenticator.of({
      authenticate: (request) =>
        authenticate(request).pipe(
          Effect.map(lenient),
          Effect.catchAll((refusal) => Effect.as(logRefusal("request refused", refusal), allowAll))
        )
    })
  })

/**
 * @since 0.1.0
 * @category layers
 */
export const layer = (options: Options): Layer.Layer<Authenticator, AuthConfigError> =>
  Layer.effect(Authenticator, make(options))

/**
 * Auth disabled: every request is allowed and tokens are never looked at.
 *
 * @since 0.1.0
 * @category layers
 */
export const layerDisabled: Layer.Layer<Authenticator> = Layer.succeed(Authenticator, Authenticator.of(disabledService))
