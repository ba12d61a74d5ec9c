/**
 * Pre-signed URLs on the client (PROTOCOL §13.3, the Python 0.2.0 algorithm).
 *
 * @since 0.1.0
 * @internal
 */
import * as Base64Url from "@objectstore/protocol/Base64Url"
import * as Presign from "@objectstore/protocol/Presign"
import * as Clock from "effect/Clock"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import type * as Auth from "../Auth.js"
import type { AuthError } from "../ObjectstoreError.js"
import { InvalidInputError } from "../ObjectstoreError.js"
import type * as Urls from "../Urls.js"
import { objectPath, requireSigner, type UrlContext } from "./urls.js"
import * as Validation from "./validation.js"

const encoder = new TextEncoder()

/** @internal */
export const DEFAULT_DURATION: Duration.Duration = Duration.hours(1) // Urls.DEFAULT_PRESIGN_DURATION

/**
 * The parts of a pre-signed URL, for tests and for callers that assemble URLs themselves.
 *
 * @internal
 */
export interface Signed {
  readonly url: string
  readonly path: string
  readonly query: string
  readonly canonical: string
  readonly signature: string
}

/**
 * Signs `method` on `path` at `epochSeconds` for `durationSeconds` with `signer` (steps 3–5 of §13.3).
 *
 * @internal
 */
export const sign = (
  signer: Auth.Signer,
  request: {
    readonly origin: string
    readonly method: Urls.PresignMethod
    readonly path: string
    readonly epochSeconds: number
    readonly durationSeconds: number
  }
): Effect.Effect<Signed, AuthError> =>
  Effect.gen(function*() {
    const query = Presign.signedQuery({
      kid: signer.kid,
      epochSeconds: request.epochSeconds,
      durationSeconds: request.durationSeconds
    })
    const canonical = Presign.canonicalForm(request.method, request.path, query)
    const signature = Base64Url.encode(yield* signer.sign(encoder.encode(canonical)))
    return {
      url: `${request.origin}${request.path}?${query}&${Presign.PARAM_SIGNATURE}=${signature}`,
      path: request.path,
      query,
      canonical,
      signature
    }
  })

/**
 * `presignedUrl(method, key, duration)`: checks in the Python order (method, secret key, duration), then signs at
 * the `Clock`'s current second.
 *
 * @internal
 */
export const presignedUrl = (
  context: UrlContext,
  method: Urls.PresignMethod,
  key: string,
  duration: Duration.DurationInput | undefined
): Effect.Effect<Signed, InvalidInputError | AuthError> =>
  Effect.gen(function*() {
    // Case-sensitive, like the Python client: "get" is refused.
    if ((method as string) !== "GET" && (method as string) !== "HEAD") {
      return yield* new InvalidInputError({
        field: "method",
        reason: `pre-signed URLs support only GET and HEAD, got ${JSON.stringify(method)}`
      })
    }
    const signer = yield* requireSigner(context.auth, "a pre-signed URL")
    const validity = yield* Validation.positiveDuration(duration ?? DEFAULT_DURATION, "duration")
    const millis = Duration.toMillis(validity)
    if (millis > Presign.MAX_DURATION_SECONDS * 1000) {
      return yield* new InvalidInputError({
        field: "duration",
        reason: `at most ${Presign.MAX_DURATION_SECONDS} seconds (7 days), got ${Duration.format(validity)}`
      })
    }
    yield* Validation.key(key)
    const now = yield* Clock.currentTimeMillis
    return yield* sign(signer, {
      origin: context.origin,
      method,
      path: objectPath(context, key),
      epochSeconds: Math.floor(now / 1000),
      durationSeconds: Math.ceil(millis / 1000)
    })
  })
