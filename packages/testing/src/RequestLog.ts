/**
 * A record of the requests a client made, for assertions: method, path, operation, status (or the transport
 * failure), headers without the token, and timing read from Effect's `Clock` (so under `TestClock` the times are
 * the test's virtual times).
 *
 * The log is an `HttpClient` middleware: {@link record} wraps a client, {@link layer} wraps the `HttpClient` in
 * context and provides the log. `ObjectstoreTest.layer` installs it between the Objectstore client and fault
 * injection, so every attempt (retries included) is recorded with what the client saw, injected faults included.
 *
 * Tokens never reach the log: `x-os-auth` and `authorization` are removed from the recorded headers
 * (`hasToken` says whether one was sent).
 *
 * @example
 * ```ts
 * import * as RequestLog from "@objectstore/testing/RequestLog"
 * import * as Effect from "effect/Effect"
 *
 * const puts = Effect.gen(function*() {
 *   const log = yield* RequestLog.RequestLog
 *   const entries = yield* log.entries
 *   return entries.filter((entry) => entry.operation === "put").length
 * })
 * ```
 *
 * @since 0.1.0
 */
import * as HttpClient from "@effect/platform/HttpClient"
import type * as HttpClientError from "@effect/platform/HttpClientError"
import type * as HttpClientRequest from "@effect/platform/HttpClientRequest"
import type * as HttpClientResponse from "@effect/platform/HttpClientResponse"
import * as Cause from "effect/Cause"
import * as Clock from "effect/Clock"
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as Predicate from "effect/Predicate"
import * as Ref from "effect/Ref"
import * as Target from "./internal/target.js"

/**
 * The protocol operation a request performs, from its method and path (PROTOCOL §3). `batch` is the
 * `objects:batch` endpoint (`Session.many`); `other` is anything else (health, unknown paths).
 *
 * @since 0.1.0
 * @category models
 */
export type Operation = Target.Operation

/**
 * One request as the client saw it.
 *
 * @since 0.1.0
 * @category models
 */
export interface Entry {
  /** Position in the log, from 1. */
  readonly sequence: number
  readonly method: string
  /** The path as sent (percent-encoded), without the query. */
  readonly path: string
  /** The query without `?`; pre-signed URLs carry their signature here. */
  readonly query: string
  readonly operation: Operation
  readonly usecase: string | undefined
  /** The scope as in the URL (`org=42;project=1337`, `_` for none). */
  readonly scope: string | undefined
  /** The decoded key, for requests that address one. */
  readonly key: string | undefined
  /** Request headers, lowercase names, without `x-os-auth` and `authorization`. */
  readonly requestHeaders: Readonly<Record<string, string>>
  /** Whether the request carried a token (`x-os-auth` or `authorization`). */
  readonly hasToken: boolean
  /** The response status; `undefined` when the request failed before a response (see `error`). */
  readonly status: number | undefined
  readonly responseHeaders: Readonly<Record<string, string>>
  /**
   * Why there was no response: the transport failure (`RequestError: Transport`, …), or `interrupted` (e.g. the
   * client's timeout fired first).
   */
  readonly error: string | undefined
  /** When the request was sent (epoch millis from `Clock`). */
  readonly startedAt: number
  /** Milliseconds from sending to the response headers (or the failure), on `Clock`. */
  readonly durationMillis: number
}

/**
 * @since 0.1.0
 * @category models
 */
export interface Service {
  /** Everything recorded so far, oldest first. */
  readonly entries: Effect.Effect<ReadonlyArray<Entry>>
  /** Forgets everything recorded so far (sequence numbers keep counting). */
  readonly clear: Effect.Effect<void>
  /** Records a request: used by {@link record}. */
  readonly append: (entry: Omit<Entry, "sequence">) => Effect.Effect<void>
}

/**
 * @since 0.1.0
 * @category services
 */
export class RequestLog extends Context.Tag("@objectstore/testing/RequestLog")<RequestLog, Service>() {}

/**
 * An empty log.
 *
 * @since 0.1.0
 * @category constructors
 */
export const make: Effect.Effect<Service> = Effect.gen(function*() {
  const state = yield* Ref.make<{ readonly next: number; readonly entries: ReadonlyArray<Entry> }>({
    next: 1,
    entries: []
  })
  return RequestLog.of({
    entries: Effect.map(Ref.get(state), (current) => current.entries),
    clear: Ref.update(state, (current) => ({ next: current.next, entries: [] })),
    append: (entry) =>
      Ref.update(state, (current) => ({
        next: current.next + 1,
        entries: [...current.entries, { ...entry, sequence: current.next }]
      }))
  })
})

const SECRET_HEADERS = new Set(["x-os-auth", "authorization"])

const safeHeaders = (headers: Readonly<Record<string, string>>): Record<string, string> => {
  const result: Record<string, string> = {}
  for (const [name, value] of Object.entries(headers)) {
    if (!SECRET_HEADERS.has(name.toLowerCase())) result[name.toLowerCase()] = value
  }
  return result
}

const describeExit = (exit: Exit.Exit<unknown, unknown>): string => {
  if (Exit.isSuccess(exit)) return "success"
  if (Cause.isInterruptedOnly(exit.cause)) return "interrupted"
  const failure = Cause.failureOption(exit.cause)
  if (Option.isSome(failure) && Predicate.hasProperty(failure.value, "_tag")) {
    const error = failure.value as HttpClientError.HttpClientError
    return `${error._tag}: ${error.reason}`
  }
  return "defect"
}

/**
 * Wraps an `HttpClient` so that every request it executes is appended to `log`, also when it fails or is
 * interrupted (e.g. by the client's timeout).
 *
 * @since 0.1.0
 * @category combinators
 */
export const record =
  (log: Service) => <E, R>(client: HttpClient.HttpClient.With<E, R>): HttpClient.HttpClient.With<E, R> =>
    HttpClient.transform(
      client,
      (
        effect: Effect.Effect<HttpClientResponse.HttpClientResponse, E, R>,
        request: HttpClientRequest.HttpClientRequest
      ) =>
        Effect.flatMap(
          Clock.currentTimeMillis,
          (startedAt) =>
            Effect.onExit(effect, (exit) =>
              Effect.flatMap(Clock.currentTimeMillis, (endedAt) => {
                const target = Target.fromRequest(request)
                const headers = request.headers as Readonly<Record<string, string>>
                const response = Exit.isSuccess(exit) ? exit.value : undefined
                return log.append({
                  method: target.method,
                  path: target.path,
                  query: target.query,
                  operation: target.operation,
                  usecase: target.usecase,
                  scope: target.scope,
                  key: target.key,
                  requestHeaders: safeHeaders(headers),
                  hasToken: Object.keys(headers).some((name) => SECRET_HEADERS.has(name.toLowerCase())),
                  status: response?.status,
                  responseHeaders: response === undefined ? {} : safeHeaders(response.headers),
                  error: Exit.isSuccess(exit) ? undefined : describeExit(exit),
                  startedAt,
                  durationMillis: endedAt - startedAt
                })
              }))
        )
    )

/**
 * Wraps the `HttpClient` in context with a fresh log and provides both.
 *
 * @since 0.1.0
 * @category layers
 */
export const layer: Layer.Layer<HttpClient.HttpClient | RequestLog, never, HttpClient.HttpClient> = Layer.effectContext(
  Effect.gen(function*() {
    const log = yield* make
    const client = yield* HttpClient.HttpClient
    return Context.make(RequestLog, log).pipe(Context.add(HttpClient.HttpClient, record(log)(client)))
  })
)
