/**
 * The one place where HTTP statuses and transport failures become client errors (STYLE §5).
 *
 * @since 0.1.0
 * @internal
 */
import type * as HttpClientError from "@effect/platform/HttpClientError"
import * as ApiError from "@objectstore/protocol/ApiError"
import * as Duration from "effect/Duration"
import * as Option from "effect/Option"
import type { RetriesOutcome } from "../ObjectstoreError.js"
import { AuthError, NetworkError, ResponseError } from "../ObjectstoreError.js"
import type * as Watchdog from "./watchdog.js"

/** Longest server text kept in an error (bytes of text, roughly). @internal */
export const MAX_DETAIL = 4096

/** @internal */
export const truncate = (text: string, max: number = MAX_DETAIL): string =>
  text.length <= max ? text : `${text.slice(0, max)}… (${text.length - max} more characters)`

/**
 * How a failed attempt may be retried.
 *
 * - `never`: not transient.
 * - `idempotent`: transient, but the server may have processed the request (retry only idempotent requests).
 * - `safe`: the server certainly did not process the request (connection refused, 429, 503).
 *
 * @internal
 */
export type RetryClass = "never" | "idempotent" | "safe"

/**
 * One failed attempt: the error the caller will see, how it may be retried and the server's `Retry-After`.
 *
 * @internal
 */
export interface Failure<E> {
  readonly error: E
  readonly retry: RetryClass
  readonly retryAfter: Duration.Duration | undefined
}

/** @internal */
export const failure = <E>(error: E, retry: RetryClass = "never", retryAfter?: Duration.Duration): Failure<E> => ({
  error,
  retry,
  retryAfter
})

/**
 * Parses `Retry-After`: delta seconds or an HTTP date (relative to `nowMillis`). Past dates are zero.
 *
 * @internal
 */
export const parseRetryAfter = (value: string | undefined, nowMillis: number): Duration.Duration | undefined => {
  if (value === undefined) return undefined
  const text = value.trim()
  if (/^[0-9]+$/.test(text)) return Duration.seconds(Number(text))
  const date = globalThis.Date.parse(text)
  if (Number.isNaN(date)) return undefined
  return Duration.millis(Math.max(0, date - nowMillis))
}

/**
 * The server's error text as error fields (PROTOCOL §14.1): `detail` and `causes` of a JSON error body, or the
 * plain-text body as `detail`; each shortened. Fields that are absent are left out, ready to spread into an error.
 *
 * @internal
 */
export const serverDetail = (
  body: string
): { readonly detail?: string; readonly causes?: ReadonlyArray<string> } => {
  const trimmed = body.trim()
  const parsed = ApiError.parse(trimmed)
  if (Option.isNone(parsed)) return trimmed === "" ? {} : { detail: truncate(trimmed) }
  const { causes, detail } = parsed.value
  return {
    ...(detail === undefined ? {} : { detail: truncate(detail) }),
    ...(causes === undefined ? {} : { causes: causes.map((cause) => truncate(cause)) })
  }
}

/**
 * Maps a non-success status (other than the 404 each operation interprets itself) to its typed error.
 *
 * @internal
 */
export const fromStatus = (options: {
  readonly status: number
  readonly body: string
  readonly retryAfter: Duration.Duration | undefined
}): Failure<AuthError | ResponseError> => {
  const { body, retryAfter, status } = options
  const parsed = ApiError.parse(body)
  const fields = serverDetail(body)
  const { detail } = fields
  const isAuthDetail = detail !== undefined && detail.startsWith("auth error:")
  const response = (reason: ResponseError["reason"], retryable: boolean) =>
    new ResponseError({ reason, status, retryable, ...fields })
  const auth = (reason: AuthError["reason"]) => new AuthError({ reason, status, ...fields })
  switch (status) {
    case 400:
      if (isAuthDetail) {
        return failure(auth(/no authorization token/i.test(detail) ? "MissingToken" : "InvalidToken"))
      }
      return failure(response("BadRequest", false))
    case 401:
      return failure(auth("InvalidToken"))
    case 403:
      // Auth failures are JSON (`auth error: …`); a killswitch answers with plain text.
      return Option.isSome(parsed) || isAuthDetail
        ? failure(auth("Forbidden"))
        : failure(response("Killswitched", false))
    case 405:
    case 413:
    case 415:
    case 416:
    case 422:
      return failure(response("BadRequest", false))
    case 429:
      return failure(response("RateLimited", true), "safe", retryAfter)
    case 503:
      return failure(response("Overloaded", true), "safe", retryAfter)
    case 502:
    case 504:
      return failure(response("Overloaded", true), "idempotent", retryAfter)
    case 500:
      return failure(response("ServerError", false))
    default:
      return failure(response(status >= 500 && status < 600 ? "ServerError" : "Unexpected", false))
  }
}

const codes = (cause: unknown): Array<string> => {
  const found: Array<string> = []
  let current: unknown = cause
  for (let depth = 0; depth < 6 && typeof current === "object" && current !== null; depth++) {
    const code = (current as { code?: unknown }).code
    if (typeof code === "string") found.push(code)
    const errors = (current as { errors?: unknown }).errors
    if (Array.isArray(errors)) {
      for (const inner of errors) {
        const innerCode = (inner as { code?: unknown } | null)?.code
        if (typeof innerCode === "string") found.push(innerCode)
      }
    }
    current = (current as { cause?: unknown }).cause
  }
  return found
}

const describe = (cause: unknown): string | undefined => {
  if (cause instanceof Error) {
    const code = (cause as { code?: unknown }).code
    const inner = cause.cause instanceof Error ? `: ${cause.cause.message}` : ""
    return truncate(`${typeof code === "string" ? `${code}: ` : ""}${cause.message}${inner}`, 512)
  }
  return cause === undefined ? undefined : truncate(String(cause), 512)
}

/** Codes meaning the request never reached a server. */
const notSent = new Set(["ECONNREFUSED", "ENOTFOUND", "EAI_AGAIN", "UND_ERR_CONNECT_TIMEOUT", "EHOSTUNREACH"])

/**
 * Maps a platform `HttpClientError` to a `NetworkError` WITHOUT keeping it: its request carries the token. Only
 * the underlying cause's message and code are kept.
 *
 * @internal
 */
export const fromHttpClientError = (
  error: HttpClientError.HttpClientError,
  target: { readonly method: string; readonly path: string }
): Failure<NetworkError> => {
  const found = codes(error.cause)
  const detail = describe(error.cause)
  const make = (reason: NetworkError["reason"], retryable: boolean) =>
    new NetworkError({
      reason,
      retryable,
      method: target.method,
      path: target.path,
      ...(detail === undefined ? {} : { detail })
    })
  if (error._tag === "RequestError") {
    if (error.reason === "InvalidUrl") return failure(make("Transport", false))
    if (found.includes("UND_ERR_CONNECT_TIMEOUT") || found.includes("ETIMEDOUT")) {
      return failure(make("Timeout", true), found.includes("UND_ERR_CONNECT_TIMEOUT") ? "safe" : "idempotent")
    }
    return failure(make("Transport", true), found.some((code) => notSent.has(code)) ? "safe" : "idempotent")
  }
  // Reading the response failed: the request was processed, the connection broke while reading.
  if (error.reason === "Decode") return failure(make("Transport", true), "idempotent")
  return failure(make("Decode", false))
}

const phaseText: Record<Watchdog.Phase, string> = {
  connect: "no connection",
  upload: "the upload made no progress",
  response: "no response headers",
  download: "the response body made no progress"
}

/**
 * A deadline of the client's watchdog passed (see `watchdog.ts`).
 *
 * @internal
 */
export const timeout = (
  target: { readonly method: string; readonly path: string },
  fired: Watchdog.Fired
): Failure<NetworkError> =>
  failure(
    new NetworkError({
      reason: "Timeout",
      retryable: true,
      method: target.method,
      path: target.path,
      detail: `${phaseText[fired.phase]} within ${Duration.format(Duration.millis(fired.limit))}${
        fired.phase === "response" ? " of the request being sent" : ""
      }`
    }),
    "idempotent"
  )

/**
 * The response body ended before the bytes its `Content-Length` promised: a transfer broken off, which an
 * idempotent request may repeat.
 *
 * @internal
 */
export const shortBody = (
  target: { readonly method: string; readonly path: string },
  received: number,
  expected: number
): Failure<NetworkError> =>
  failure(
    new NetworkError({
      reason: "Transport",
      retryable: true,
      method: target.method,
      path: target.path,
      detail: `the response body has ${received} of its ${expected} bytes`
    }),
    "idempotent"
  )

/**
 * The error with the number of requests made and what the retries did, for the errors that carry them
 * (`NetworkError`, `ResponseError`); any other error is returned as it is.
 *
 * @internal
 */
export const withRetries = <E>(error: E, attempts: number, retries: RetriesOutcome): E => {
  if (error instanceof NetworkError) {
    return new NetworkError({
      reason: error.reason,
      retryable: error.retryable,
      ...(error.method === undefined ? {} : { method: error.method }),
      ...(error.path === undefined ? {} : { path: error.path }),
      ...(error.detail === undefined ? {} : { detail: error.detail }),
      attempts,
      retries
    }) as E
  }
  if (error instanceof ResponseError) {
    return new ResponseError({
      reason: error.reason,
      status: error.status,
      retryable: error.retryable,
      ...(error.detail === undefined ? {} : { detail: error.detail }),
      ...(error.causes === undefined ? {} : { causes: error.causes }),
      attempts,
      retries
    }) as E
  }
  return error
}

/**
 * The response did not have the shape the protocol specifies.
 *
 * @internal
 */
export const decode = (target: { readonly method: string; readonly path: string }, detail: string) =>
  new NetworkError({ reason: "Decode", retryable: false, method: target.method, path: target.path, detail })
