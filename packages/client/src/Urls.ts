/**
 * URLs that hand an object to someone without the SDK (PROTOCOL §4.4, §12.2, §13): `Session.objectUrl` and
 * `Session.presignedUrl`.
 *
 * - `objectUrl(key)`: `<origin><base path>/v1/objects/<usecase>/<scope>/<key>`, percent-encoded exactly as the
 *   Python client does (§4.4), with the base URL's scheme, an IPv6 host in brackets and its path prefix kept. It
 *   carries no credentials: against a server that enforces auth it needs a token in a header.
 * - `objectUrl(key, { tokenValidity })`: the same URL plus `?os_auth=<JWT>`, a read-only token for the session's
 *   usecase and scope that expires after `tokenValidity` (rounded up to whole seconds). Anyone holding the URL can
 *   read that object (and any other of the scope) until then. Needs a secret key.
 * - `presignedUrl(method, key, duration?)`: a URL signed with the secret key for `GET` or `HEAD` of one object,
 *   valid for `duration` (default 1 hour, at most 7 days, rounded up to whole seconds) from the current second of
 *   Effect's `Clock`. Its query is `os_kid`, `os_timestamp`, `os_duration`, `os_sig` in that order; the signature
 *   covers the exact path and query bytes (§13.2), so pass the URL on verbatim: an HTTP stack that re-encodes it
 *   breaks it. A URL signed for `GET` also works for `HEAD` and vice versa.
 *
 * Failures, all before any request: a method other than exactly `"GET"` or `"HEAD"` (the check is case-sensitive,
 * like Python's: `"get"` is refused), a duration over 7 days or not positive, or an invalid key is an
 * `InvalidInputError`; a client without a secret key (`Auth.layerToken`, `Auth.layerNone`) fails with
 * `AuthError` reason `Signing`, as does a read-only token from a key that may not grant `object.read`.
 *
 * @example
 * ```ts
 * import { ObjectstoreClient, Scope, Usecase } from "@objectstore/client"
 * import * as Effect from "effect/Effect"
 *
 * const shareLinks = (key: string) =>
 *   Effect.gen(function*() {
 *     const client = yield* ObjectstoreClient.ObjectstoreClient
 *     const session = yield* client.session(Usecase.make("attachments"), Scope.make({ org: 42 }))
 *     const download = yield* session.presignedUrl("GET", key, "15 minutes")
 *     const withToken = yield* session.objectUrl(key, { tokenValidity: "5 minutes" })
 *     return { download, withToken }
 *   })
 * ```
 *
 * @since 0.1.0
 */
import * as Presign from "@objectstore/protocol/Presign"
import * as Duration from "effect/Duration"

/**
 * The methods a URL can be pre-signed for.
 *
 * @since 0.1.0
 * @category models
 */
export type PresignMethod = "GET" | "HEAD"

/**
 * Options of `Session.objectUrl`.
 *
 * @since 0.1.0
 * @category models
 */
export interface ObjectUrlOptions {
  /** Embed a read-only token valid this long (`?os_auth=…`); needs a secret key. */
  readonly tokenValidity?: Duration.DurationInput | undefined
}

/**
 * The validity of a pre-signed URL when none is given: 1 hour.
 *
 * @since 0.1.0
 * @category constants
 */
export const DEFAULT_PRESIGN_DURATION: Duration.Duration = Duration.hours(1)

/**
 * The longest validity of a pre-signed URL: 7 days.
 *
 * @since 0.1.0
 * @category constants
 */
export const MAX_PRESIGN_DURATION: Duration.Duration = Duration.seconds(Presign.MAX_DURATION_SECONDS)
