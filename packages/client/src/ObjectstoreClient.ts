/**
 * The Objectstore client: where the server is and how requests behave (deadlines, retries, trace propagation).
 * Sessions for a usecase and scope are made from it.
 *
 * The client needs an `HttpClient` plus the `Compression`, `Auth` and `Metrics` services; `NodeClient.layer`
 * provides all of them for Node in one line. Any `HttpClient` layer works (`FetchHttpClient.layer` in a browser);
 * a `Transport` in context (`NodeClient` provides one) gives the client finer control of its requests. File
 * sources (`session.upload({ path })`, `Batch.putFile`, upload state files) are read through `@effect/platform`'s
 * `FileSystem`: the one in context when the client is built (`NodeClient` provides Node's), else the caller's; without
 * one they fail with `FileError` `NoFileSystem`.
 *
 * @example
 * ```ts
 * import { ObjectstoreClient, Scope, Usecase } from "@objectstore/client"
 * import * as NodeClient from "@objectstore/client/NodeClient"
 * import * as Effect from "effect/Effect"
 *
 * const attachments = Usecase.make("attachments")
 *
 * const program = Effect.gen(function*() {
 *   const client = yield* ObjectstoreClient.ObjectstoreClient
 *   const session = yield* client.session(attachments, Scope.make({ org: 42, project: 1337 }))
 *   return yield* session.put("Hello, world!")
 * }).pipe(Effect.provide(NodeClient.layer({ baseUrl: "http://localhost:8888" })))
 * ```
 *
 * @since 0.1.0
 */
import * as FileSystem from "@effect/platform/FileSystem"
import * as HttpClient from "@effect/platform/HttpClient"
import * as Config from "effect/Config"
import type * as ConfigError from "effect/ConfigError"
import * as Context from "effect/Context"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as Schedule from "effect/Schedule"
import { Auth } from "./Auth.js"
import { Compression } from "./Compression.js"
import * as FetchDecoding from "./internal/fetchDecoding.js"
import * as SessionInternal from "./internal/session.js"
import * as Validation from "./internal/validation.js"
import { Metrics } from "./Metrics.js"
import { InvalidInputError } from "./ObjectstoreError.js"
import type * as Scope from "./Scope.js"
import type * as SessionModel from "./SessionModel.js"
import { Transport } from "./Transport.js"
import type * as Usecase from "./Usecase.js"

/**
 * Retry behaviour for transient failures (connection failures, timeouts, 429, 502, 503, 504).
 *
 * Only requests whose body can be sent again are retried (bytes, strings, `Body.replayable`), and an insert with
 * a server-generated key (POST) only when the server certainly did not process it (connection refused, 429,
 * 503). A `Retry-After` header lengthens the wait to what the server asked for.
 *
 * @since 0.1.0
 * @category models
 */
export interface RetryOptions {
  /** The delays between attempts. Default: exponential from 100 ms, with jitter. */
  readonly schedule?: Schedule.Schedule<unknown, unknown> | undefined
  /** The most retries after the first attempt. Default 3 (unlimited beyond the schedule's own limit when a schedule is given without `times`). */
  readonly times?: number | undefined
}

/**
 * @since 0.1.0
 * @category models
 */
export interface Options {
  /**
   * Where the server is, e.g. `http://localhost:8888`; may carry a path prefix (`http://host/objectstore`). The
   * prefix is percent-decoded once and encoded again with the rest of the path (§4.4), so
   * `http://host/my%20store` and `http://host/my store` both send `/my%20store/v1/…` (the Python client would
   * encode the `%` again). A default port is not written (`http://localhost` is port 80). No query, fragment or
   * credentials.
   */
  readonly baseUrl: string
  /**
   * How long each request attempt waits for the response headers once the request is sent (its body written in
   * full; for a request without a streamed body, from the start of the attempt). Past it the attempt fails with
   * `NetworkError` `Timeout` (retried like a transport failure). Default 30 seconds; `Duration.infinity` waits
   * forever. A long upload is governed by `idleTimeout`, not by this deadline.
   */
  readonly timeout?: Duration.DurationInput | undefined
  /**
   * The longest pause in a transfer: between two chunks of a request body taken by the connection, and between two
   * chunks of a response body arriving, while it is being read (a caller reading a `get` stream slowly does not
   * count). Past it the transfer fails with `NetworkError` `Timeout`. A transfer that keeps moving is never cut,
   * however long it takes. Default 30 seconds; `Duration.infinity` turns it off.
   */
  readonly idleTimeout?: Duration.DurationInput | undefined
  /** Retries of transient failures; `false` disables them. Default: 3 retries, exponential from 100 ms. */
  readonly retry?: RetryOptions | false | undefined
  /** Send `traceparent`/`b3` headers of the current span (default `false`). */
  readonly propagateTraces?: boolean | undefined
  /**
   * Trace every HTTP attempt with the transport's own `http.client` span, under the operation's span (default
   * `false`). Without it, each operation has one span (`Session.put`, `Session.get`, ...) that carries the HTTP
   * method, URL and last status itself; the per-attempt spans, with an attribute per header, cost about a fifth of
   * a small request's client CPU.
   */
  readonly httpSpans?: boolean | undefined
  /** The `User-Agent` header. */
  readonly userAgent?: string | undefined
  /**
   * What a write (put, a batch insert, a multipart or resumable upload with a key) does with a key outside
   * PROTOCOL §4.3's recommendations (`Identifiers.validatePortableKey`: a leading, trailing or doubled `/`, a `.`
   * or `..` segment, control characters, more than 512 UTF-8 bytes). Such keys are stored by the server and the
   * Python client writes them, but the Rust client and URL-based tools may not reach them. `"warn"` (the default)
   * logs a warning and writes; `"reject"` fails with `InvalidInputError` `key` before any request; `"allow"`
   * writes silently. Reading, checking, deleting and URLs accept every key regardless.
   */
  readonly nonPortableKeys?: "warn" | "reject" | "allow" | undefined
}

/**
 * @since 0.1.0
 * @category models
 */
export interface Service {
  /** The options the client was made with. */
  readonly options: Options
  /** A session for `usecase` and `scope`; fails with `InvalidInputError` when either is invalid. */
  readonly session: (
    usecase: Usecase.Usecase,
    scope: Scope.Scope
  ) => Effect.Effect<SessionModel.Service, InvalidInputError>
}

/**
 * @since 0.1.0
 * @category services
 */
export class ObjectstoreClient extends Context.Tag("@objectstore/client/ObjectstoreClient")<
  ObjectstoreClient,
  Service
>() {}

/**
 * The default `User-Agent`.
 *
 * @since 0.1.0
 * @category constants
 */
export const DEFAULT_USER_AGENT = "objectstore-client-ts/0.1.0"

/**
 * The default `timeout`: how long an attempt waits for the response headers once the request is sent.
 *
 * @since 0.1.0
 * @category constants
 */
export const DEFAULT_TIMEOUT: Duration.Duration = Duration.seconds(30)

/**
 * The default `idleTimeout`: the longest pause between two chunks of an upload or a download.
 *
 * @since 0.1.0
 * @category constants
 */
export const DEFAULT_IDLE_TIMEOUT: Duration.Duration = Duration.seconds(30)

/**
 * The default retry schedule: exponential from 100 ms with jitter, at most 3 retries.
 *
 * @since 0.1.0
 * @category constants
 */
export const defaultRetrySchedule: Schedule.Schedule<unknown, unknown> = Schedule.exponential("100 millis").pipe(
  Schedule.jittered,
  Schedule.intersect(Schedule.recurs(3))
)

const retrySchedule = (retry: Options["retry"]): Schedule.Schedule<unknown, unknown> | undefined => {
  if (retry === false) return undefined
  const times = retry?.times
  if (retry?.schedule !== undefined) {
    return times === undefined ? retry.schedule : Schedule.intersect(retry.schedule, Schedule.recurs(times))
  }
  if (times === undefined) return defaultRetrySchedule
  return Schedule.exponential("100 millis").pipe(Schedule.jittered, Schedule.intersect(Schedule.recurs(times)))
}

const parseBaseUrl = (baseUrl: string): Effect.Effect<{ origin: string; basePath: string }, InvalidInputError> =>
  Effect.gen(function*() {
    const invalid = (reason: string) => new InvalidInputError({ field: "baseUrl", reason })
    const url = yield* Effect.try({
      try: () => new URL(baseUrl),
      catch: () => invalid(`not a URL: ${JSON.stringify(baseUrl)}`)
    })
    if (url.protocol !== "http:" && url.protocol !== "https:") {
      return yield* invalid(`unsupported scheme ${url.protocol}`)
    }
    if (url.search !== "" || url.hash !== "") return yield* invalid("a base URL has no query or fragment")
    if (url.username !== "" || url.password !== "") return yield* invalid("a base URL has no credentials")
    const basePath = yield* Effect.try({
      try: () => decodeURIComponent(url.pathname),
      catch: () => invalid("the path prefix is not valid percent-encoded UTF-8")
    })
    return { origin: url.origin, basePath: basePath.replace(/\/+$/, "") }
  })

/**
 * Builds the client from its options and the services it needs.
 *
 * @since 0.1.0
 * @category constructors
 */
export const make = (
  options: Options
): Effect.Effect<Service, InvalidInputError, HttpClient.HttpClient | Compression | Auth | Metrics> =>
  Effect.gen(function*() {
    const { basePath, origin } = yield* parseBaseUrl(options.baseUrl)
    const deadline = (field: string, input: Duration.DurationInput | undefined, fallback: Duration.Duration) =>
      input === undefined
        ? Either.right(Duration.toMillis(fallback))
        : Either.map(
          Validation.check(field, Validation.duration(input, { infinite: true })),
          (duration) => Duration.toMillis(duration)
        )
    const headers = yield* deadline("timeout", options.timeout, DEFAULT_TIMEOUT)
    const idle = yield* deadline("idleTimeout", options.idleTimeout, DEFAULT_IDLE_TIMEOUT)
    if (
      options.retry !== undefined && options.retry !== false && options.retry.times !== undefined &&
      !(Number.isInteger(options.retry.times) && options.retry.times >= 0)
    ) {
      return yield* new InvalidInputError({ field: "retry.times", reason: "must be a non-negative integer" })
    }
    const policy = options.nonPortableKeys
    if (policy !== undefined && policy !== "warn" && policy !== "reject" && policy !== "allow") {
      return yield* new InvalidInputError({
        field: "nonPortableKeys",
        reason: `must be "warn", "reject" or "allow", got ${JSON.stringify(policy)}`
      })
    }
    const given = yield* HttpClient.HttpClient
    // The native transport behind the HttpClient, when one is declared (see `Transport`).
    const transport = Option.getOrUndefined(yield* Effect.serviceOption(Transport))
    const fetchMayDecode = Option.isSome(yield* Effect.serviceOption(FetchDecoding.FetchDecoding))
    // The file system for file sources, when one is in context (`NodeClient` provides Node's); else each call looks
    // in the caller's context (see `internal/files.ts`).
    const fileSystem = Option.getOrUndefined(yield* Effect.serviceOption(FileSystem.FileSystem))
    const httpSpans = options.httpSpans ?? false
    const propagate = options.propagateTraces ?? false
    const httpClient = httpSpans
      ? HttpClient.withTracerPropagation(given, propagate)
      : HttpClient.withTracerDisabledWhen(given, () => true)
    const context = {
      httpClient,
      transport,
      fetchMayDecode,
      fileSystem,
      // With the transport's spans off, the session annotates its own span and sends the trace headers itself.
      ownSpans: !httpSpans,
      propagateTraces: propagate && !httpSpans,
      origin,
      basePath,
      limits: { headers, idle },
      schedule: retrySchedule(options.retry),
      userAgent: options.userAgent ?? DEFAULT_USER_AGENT,
      nonPortableKeys: options.nonPortableKeys,
      auth: yield* Auth,
      metrics: yield* Metrics,
      compression: yield* Compression
    }
    return ObjectstoreClient.of({
      options,
      session: (usecase, scope) => SessionInternal.make(context, usecase, scope)
    })
  })

/**
 * @since 0.1.0
 * @category layers
 */
export const layer = (
  options: Options
): Layer.Layer<ObjectstoreClient, InvalidInputError, HttpClient.HttpClient | Compression | Auth | Metrics> =>
  Layer.effect(ObjectstoreClient, make(options))

/**
 * The client with options read from `Config`, e.g. `{ baseUrl: Config.string("OBJECTSTORE_URL") }`.
 *
 * @since 0.1.0
 * @category layers
 */
export const layerConfig = (
  options: Config.Config.Wrap<Options>
): Layer.Layer<
  ObjectstoreClient,
  InvalidInputError | ConfigError.ConfigError,
  HttpClient.HttpClient | Compression | Auth | Metrics
> => Layer.effect(ObjectstoreClient, Effect.flatMap(Config.unwrap(options), make))
