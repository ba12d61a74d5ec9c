/**
 * Fault injection between the Objectstore client and the server (in-process or over TCP), as an `HttpClient`
 * middleware, so a test can see how its code (and the client's retries) handle failures.
 *
 * A {@link Rule} says which requests it matches (operation, method, usecase, key, path, any predicate, the nth
 * matching request, at most `times` injections, a seeded probability) and which {@link Fault}s it injects:
 *
 * | fault | what happens | what the client reports |
 * |---|---|---|
 * | {@link latency} | the request waits `duration` on Effect's `Clock` (so `TestClock` drives it), then proceeds | a `NetworkError` `Timeout` if it exceeds the client's `timeout` |
 * | {@link reset} | the connection is reset before the request is sent (`ECONNRESET`); the server never sees it | `NetworkError` `Transport`, retried for idempotent requests (not POST) |
 * | {@link refuse} | the connection is refused (`ECONNREFUSED`); the server never sees it | `NetworkError` `Transport`, retried for every replayable request |
 * | {@link status} | the server is not called; the client receives the status with an optional `Retry-After` and JSON body | the mapped error: 429 `RateLimited`, 503 `Overloaded` (retried, honouring `Retry-After`), 500 `ServerError`, 401 `AuthError`, … |
 * | {@link resetDuringBody} | the request is processed; the response body fails after `afterBytes` bytes | `NetworkError` `Transport` while reading (a `get` body stream fails midway) |
 * | {@link truncate} | the request is processed; the response body ends cleanly after `afterBytes` bytes, without `Content-Length` | a zstd `get` fails with `CompressionError`; an insert cannot read its key (`NetworkError`); an uncompressed `get` returns the short body (nothing on the wire says it is short) |
 * | {@link corruptZstd} | the request is processed; the first bytes (the zstd frame magic) of a `content-encoding: zstd` body are flipped | `CompressionError` from `get` (with `decompress: false` the corrupt bytes are returned) |
 *
 * Body faults (`resetDuringBody`, `truncate`, `corruptZstd`) leave responses that have no body (HEAD, 204)
 * unchanged, and `corruptZstd` leaves uncompressed bodies unchanged. `afterBytes` defaults to half the
 * `Content-Length`, or half of the first chunk when the length is unknown (the in-process server streams bodies
 * without one). A rule may list several faults: latencies apply first, then a
 * reset/refusal or a status, else the body faults in order.
 *
 * Rules are evaluated in order for every request; the first rule that matches and fires injects its faults, and
 * later rules do not see that request. Rules live in the {@link Faults} service and can be replaced at runtime
 * (`set`, `add`, `clear`), so a test can inject one failure and then heal; `injected` lists what was injected.
 *
 * @example
 * ```ts
 * import * as Faults from "@objectstore/testing/Faults"
 *
 * // the first GET of any key answers 503 with Retry-After: 1, later ones go through
 * const rules: ReadonlyArray<Faults.Rule> = [
 *   { operation: "get", times: 1, fault: Faults.status(503, { retryAfter: 1 }) }
 * ]
 * const FaultsLive = Faults.layer(rules) // wraps the HttpClient in context
 * ```
 *
 * @since 0.1.0
 */
import * as HttpClient from "@effect/platform/HttpClient"
import * as HttpClientError from "@effect/platform/HttpClientError"
import type * as HttpClientRequest from "@effect/platform/HttpClientRequest"
import * as HttpClientResponse from "@effect/platform/HttpClientResponse"
import * as ApiError from "@objectstore/protocol/ApiError"
import * as Context from "effect/Context"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Ref from "effect/Ref"
import * as Stream from "effect/Stream"
import * as Target from "./internal/target.js"
import * as Random from "./Random.js"

/**
 * A request as rules see it.
 *
 * @since 0.1.0
 * @category models
 */
export interface RequestInfo extends Target.Target {
  /** Lowercase request headers (the token included: predicates may look, nothing records it). */
  readonly headers: Readonly<Record<string, string>>
}

/**
 * An operation to match: one of the protocol operations, or `multipart` for every multipart step.
 *
 * @since 0.1.0
 * @category models
 */
export type OperationMatch = Target.Operation | "multipart"

/**
 * @since 0.1.0
 * @category models
 */
export type Fault =
  | { readonly _tag: "Latency"; readonly duration: Duration.Duration }
  | { readonly _tag: "Reset"; readonly code: "ECONNRESET" | "ECONNREFUSED" }
  | {
    readonly _tag: "Status"
    readonly status: number
    readonly headers: Readonly<Record<string, string>>
    readonly body: string
    readonly afterProcessing: boolean
  }
  | { readonly _tag: "ResetDuringBody"; readonly afterBytes: number | undefined }
  | { readonly _tag: "Truncate"; readonly afterBytes: number | undefined }
  | { readonly _tag: "CorruptZstd" }

/**
 * Which requests get which faults. Every given criterion must hold.
 *
 * @since 0.1.0
 * @category models
 */
export interface Rule {
  /** The fault(s) to inject. */
  readonly fault: Fault | ReadonlyArray<Fault>
  /** A label for `injected` (default: the rule's position). */
  readonly name?: string | undefined
  readonly operation?: OperationMatch | ReadonlyArray<OperationMatch> | undefined
  /** HTTP method(s), upper case. */
  readonly method?: string | ReadonlyArray<string> | undefined
  readonly usecase?: string | undefined
  /** The decoded key, or a predicate on it (requests without a key never match a key criterion). */
  readonly key?: string | ((key: string) => boolean) | undefined
  /** The encoded path, as a pattern or predicate. */
  readonly path?: RegExp | ((path: string) => boolean) | undefined
  /** Any predicate on the request. */
  readonly when?: ((request: RequestInfo) => boolean) | undefined
  /** Fire only on the nth matching request(s), counting from 1. */
  readonly nth?: number | ReadonlyArray<number> | undefined
  /** Fire at most this many times (then the rule heals). */
  readonly times?: number | undefined
  /** Fire with this probability (0–1), drawn from a generator seeded with `seed` (default 1): reproducible. */
  readonly probability?: number | undefined
  readonly seed?: number | undefined
}

/**
 * One injection, as recorded by the service.
 *
 * @since 0.1.0
 * @category models
 */
export interface Injection {
  readonly rule: string
  readonly faults: ReadonlyArray<Fault["_tag"]>
  readonly method: string
  readonly path: string
  readonly operation: Target.Operation
  readonly key: string | undefined
}

/**
 * @since 0.1.0
 * @category models
 */
export interface Service {
  /** Replaces every rule (their counters start again). */
  readonly set: (rules: ReadonlyArray<Rule>) => Effect.Effect<void>
  /** Appends a rule after the current ones. */
  readonly add: (rule: Rule) => Effect.Effect<void>
  /** Removes every rule: requests go through untouched. */
  readonly clear: Effect.Effect<void>
  /** What has been injected so far, oldest first (kept across `set` and `clear`). */
  readonly injected: Effect.Effect<ReadonlyArray<Injection>>
  /** Chooses the faults for a request (and records the injection); used by {@link inject}. */
  readonly select: (request: RequestInfo) => Effect.Effect<ReadonlyArray<Fault>>
}

/**
 * @since 0.1.0
 * @category services
 */
export class Faults extends Context.Tag("@objectstore/testing/Faults")<Faults, Service>() {}

// ---------------------------------------------------------------------------------------------------------------
// Fault constructors

/**
 * Delays the request by `duration` on Effect's `Clock` before it proceeds.
 *
 * @since 0.1.0
 * @category constructors
 */
export const latency = (duration: Duration.DurationInput): Fault => ({
  _tag: "Latency",
  duration: Duration.decode(duration)
})

/**
 * Resets the connection before the request is sent (`ECONNRESET`).
 *
 * @since 0.1.0
 * @category constructors
 */
export const reset: Fault = { _tag: "Reset", code: "ECONNRESET" }

/**
 * Refuses the connection (`ECONNREFUSED`): the request certainly never reached a server.
 *
 * @since 0.1.0
 * @category constructors
 */
export const refuse: Fault = { _tag: "Reset", code: "ECONNREFUSED" }

/**
 * Options of {@link status}.
 *
 * @since 0.1.0
 * @category models
 */
export interface StatusOptions {
  /** `Retry-After`: whole seconds, or the header text as is (e.g. an HTTP date). */
  readonly retryAfter?: number | string | undefined
  /** The JSON error detail (default `injected fault: <status>`); ignored when `body` is given. */
  readonly detail?: string | undefined
  /** A raw body instead of the JSON error (sent as `text/plain` unless `headers` say otherwise). */
  readonly body?: string | undefined
  readonly headers?: Readonly<Record<string, string>> | undefined
  /**
   * Send the request to the server first (it is processed, its response drained) and then answer `status`, like
   * a proxy failing after the backend did the work. Default `false`: the server never sees the request.
   */
  readonly afterProcessing?: boolean | undefined
}

/**
 * Answers with `status` (and a JSON error body, `Retry-After` and headers as given).
 *
 * @since 0.1.0
 * @category constructors
 */
export const status = (code: number, options?: StatusOptions): Fault => {
  const headers: Record<string, string> = {}
  let body: string
  if (options?.body !== undefined) {
    headers["content-type"] = "text/plain; charset=utf-8"
    body = options.body
  } else {
    headers["content-type"] = "application/json"
    body = ApiError.encode(options?.detail ?? `injected fault: ${code}`)
  }
  if (options?.retryAfter !== undefined) headers["retry-after"] = String(options.retryAfter)
  for (const [name, value] of Object.entries(options?.headers ?? {})) headers[name.toLowerCase()] = value
  return { _tag: "Status", status: code, headers, body, afterProcessing: options?.afterProcessing ?? false }
}

/**
 * Lets the request be processed, then fails the response body after `afterBytes` bytes (default: about half
 * of it), like a connection reset mid-download.
 *
 * @since 0.1.0
 * @category constructors
 */
export const resetDuringBody = (options?: { readonly afterBytes?: number | undefined }): Fault => ({
  _tag: "ResetDuringBody",
  afterBytes: options?.afterBytes
})

/**
 * Lets the request be processed, then ends the response body cleanly after `afterBytes` bytes (default: about
 * half of it) and drops `Content-Length`.
 *
 * @since 0.1.0
 * @category constructors
 */
export const truncate = (options?: { readonly afterBytes?: number | undefined }): Fault => ({
  _tag: "Truncate",
  afterBytes: options?.afterBytes
})

/**
 * Lets the request be processed, then flips the first four bytes (the zstd frame magic) of a
 * `content-encoding: zstd` response body, so decompression fails.
 *
 * @since 0.1.0
 * @category constructors
 */
export const corruptZstd: Fault = { _tag: "CorruptZstd" }

// ---------------------------------------------------------------------------------------------------------------
// Matching

const asArray = <A>(value: A | ReadonlyArray<A>): ReadonlyArray<A> =>
  Array.isArray(value) ? value as ReadonlyArray<A> : [value as A]

const matchesOperation = (wanted: OperationMatch, operation: Target.Operation): boolean =>
  wanted === operation || (wanted === "multipart" && operation.startsWith("multipart."))

const matches = (rule: Rule, request: RequestInfo): boolean => {
  if (rule.operation !== undefined && !asArray(rule.operation).some((op) => matchesOperation(op, request.operation))) {
    return false
  }
  if (rule.method !== undefined && !asArray(rule.method).some((method) => method.toUpperCase() === request.method)) {
    return false
  }
  if (rule.usecase !== undefined && rule.usecase !== request.usecase) return false
  if (rule.key !== undefined) {
    if (request.key === undefined) return false
    if (typeof rule.key === "string" ? rule.key !== request.key : !rule.key(request.key)) return false
  }
  if (rule.path !== undefined) {
    if (typeof rule.path === "function" ? !rule.path(request.path) : !rule.path.test(request.path)) return false
  }
  return rule.when === undefined || rule.when(request)
}

interface RuleState {
  readonly rule: Rule
  readonly label: string
  matched: number
  fired: number
  readonly random: () => number
}

const stateOf = (rule: Rule, index: number): RuleState => ({
  rule,
  label: rule.name ?? `rule ${index + 1}`,
  matched: 0,
  fired: 0,
  random: Random.seeded(rule.seed ?? 1)
})

/**
 * A service holding `rules` (none by default).
 *
 * @since 0.1.0
 * @category constructors
 */
export const make = (rules: ReadonlyArray<Rule> = []): Effect.Effect<Service> =>
  Effect.gen(function*() {
    const states = yield* Ref.make<ReadonlyArray<RuleState>>(rules.map(stateOf))
    const injections = yield* Ref.make<ReadonlyArray<Injection>>([])
    const select = (request: RequestInfo): Effect.Effect<ReadonlyArray<Fault>> =>
      Effect.flatMap(Ref.get(states), (current) =>
        Effect.suspend(() => {
          for (const state of current) {
            const { rule } = state
            if (!matches(rule, request)) continue
            state.matched++
            if (rule.nth !== undefined && !asArray(rule.nth).includes(state.matched)) continue
            if (rule.times !== undefined && state.fired >= rule.times) continue
            if (rule.probability !== undefined && !(state.random() < rule.probability)) continue
            state.fired++
            const faults = asArray(rule.fault)
            return Effect.as(
              Ref.update(injections, (list) => [...list, {
                rule: state.label,
                faults: faults.map((fault) => fault._tag),
                method: request.method,
                path: request.path,
                operation: request.operation,
                key: request.key
              }]),
              faults
            )
          }
          return Effect.succeed([])
        }))
    return Faults.of({
      set: (next) => Ref.set(states, next.map(stateOf)),
      add: (rule) => Ref.update(states, (current) => [...current, stateOf(rule, current.length)]),
      clear: Ref.set(states, []),
      injected: Ref.get(injections),
      select
    })
  })

// ---------------------------------------------------------------------------------------------------------------
// Injection

const networkCause = (code: string, message: string) => Object.assign(new Error(message), { code })

const isBodyless = (request: HttpClientRequest.HttpClientRequest, status: number) =>
  request.method === "HEAD" || status === 204 || status === 304 || (status >= 100 && status < 200)

const defaultAfter = (
  response: HttpClientResponse.HttpClientResponse,
  afterBytes: number | undefined
): number | undefined => {
  if (afterBytes !== undefined) return Math.max(0, Math.floor(afterBytes))
  const length = Number(response.headers["content-length"])
  return Number.isFinite(length) && length > 0 ? Math.floor(length / 2) : undefined
}

/** The first `limit` bytes of a stream (the rest is cancelled); no limit: half of the first chunk. */
const takeBytes = <E>(stream: Stream.Stream<Uint8Array, E>, fixed: number | undefined): Stream.Stream<Uint8Array, E> =>
  Stream.suspend(() => {
    let limit = fixed
    let seen = 0
    return stream.pipe(
      Stream.takeWhile((chunk) => {
        if (limit === undefined) limit = Math.max(1, Math.floor(chunk.length / 2))
        return seen < limit
      }),
      Stream.map((chunk) => {
        const part = chunk.subarray(0, Math.max(0, limit! - seen))
        seen += chunk.length
        return part
      }),
      Stream.filter((part) => part.length > 0)
    )
  })

const flipMagic = <E>(stream: Stream.Stream<Uint8Array, E>): Stream.Stream<Uint8Array, E> =>
  Stream.suspend(() => {
    let offset = 0
    return Stream.map(stream, (chunk) => {
      if (offset >= 4) {
        offset += chunk.length
        return chunk
      }
      const copy = new Uint8Array(chunk)
      for (let i = 0; i < copy.length && offset + i < 4; i++) copy[i] = copy[i]! ^ 0xff
      offset += chunk.length
      return copy
    })
  })

/** A response with the same status and headers (minus `drop`) whose body is `body`. */
const withBody = (
  request: HttpClientRequest.HttpClientRequest,
  response: HttpClientResponse.HttpClientResponse,
  body: Stream.Stream<Uint8Array, unknown>,
  drop: ReadonlyArray<string> = []
): Effect.Effect<HttpClientResponse.HttpClientResponse> =>
  Effect.map(Stream.toReadableStreamEffect(body), (readable) => {
    const headers = new globalThis.Headers()
    for (const [name, value] of Object.entries(response.headers)) {
      if (!drop.includes(name)) headers.set(name, value)
    }
    return HttpClientResponse.fromWeb(request, new Response(readable, { status: response.status, headers }))
  })

const applyBodyFault = (
  request: HttpClientRequest.HttpClientRequest,
  response: HttpClientResponse.HttpClientResponse,
  fault: Fault
): Effect.Effect<HttpClientResponse.HttpClientResponse> => {
  if (isBodyless(request, response.status)) return Effect.succeed(response)
  switch (fault._tag) {
    case "ResetDuringBody": {
      const after = defaultAfter(response, fault.afterBytes)
      const failure = networkCause("ECONNRESET", "connection reset during the response body (injected fault)")
      return withBody(request, response, Stream.concat(takeBytes(response.stream, after), Stream.fail(failure)))
    }
    case "Truncate": {
      const after = defaultAfter(response, fault.afterBytes)
      return withBody(request, response, takeBytes(response.stream, after), ["content-length"])
    }
    case "CorruptZstd":
      return (response.headers["content-encoding"] ?? "").toLowerCase().includes("zstd")
        ? withBody(request, response, flipMagic(response.stream))
        : Effect.succeed(response)
    default:
      return Effect.succeed(response)
  }
}

const statusResponse = (request: HttpClientRequest.HttpClientRequest, fault: Fault & { readonly _tag: "Status" }) =>
  HttpClientResponse.fromWeb(
    request,
    new Response(isBodyless(request, fault.status) ? null : fault.body, {
      status: fault.status,
      headers: fault.headers
    })
  )

/**
 * The faults of a request, applied around `send`.
 *
 * @internal
 */
const applyFaults = <E, R>(
  faults: ReadonlyArray<Fault>,
  request: HttpClientRequest.HttpClientRequest,
  send: Effect.Effect<HttpClientResponse.HttpClientResponse, E, R>
): Effect.Effect<HttpClientResponse.HttpClientResponse, E | HttpClientError.HttpClientError, R> =>
  Effect.gen(function*() {
    for (const fault of faults) {
      if (fault._tag === "Latency") yield* Effect.sleep(fault.duration)
    }
    const resetFault = faults.find((fault) => fault._tag === "Reset")
    if (resetFault !== undefined) {
      const code = resetFault.code
      return yield* new HttpClientError.RequestError({
        request,
        reason: "Transport",
        cause: networkCause(
          code,
          code === "ECONNREFUSED" ? "connection refused (injected fault)" : "connection reset (injected fault)"
        )
      })
    }
    const statusFault = faults.find((fault) => fault._tag === "Status")
    if (statusFault !== undefined) {
      if (statusFault.afterProcessing) {
        const processed = yield* send
        yield* Effect.ignore(processed.arrayBuffer)
      }
      return statusResponse(request, statusFault)
    }
    let response = yield* send
    for (const fault of faults) response = yield* applyBodyFault(request, response, fault)
    return response
  })

const infoOf = (request: HttpClientRequest.HttpClientRequest): RequestInfo => {
  const headers: Record<string, string> = {}
  for (const [name, value] of Object.entries(request.headers)) headers[name.toLowerCase()] = value
  return { ...Target.fromRequest(request), headers }
}

/**
 * Wraps an `HttpClient` so that the rules of `faults` apply to every request it executes.
 *
 * @since 0.1.0
 * @category combinators
 */
export const inject = (faults: Service) => <E, R>(client: HttpClient.HttpClient.With<E, R>) =>
  HttpClient.transform(
    client,
    (
      effect: Effect.Effect<HttpClientResponse.HttpClientResponse, E, R>,
      request: HttpClientRequest.HttpClientRequest
    ) =>
      Effect.flatMap(
        faults.select(infoOf(request)),
        (selected) => selected.length === 0 ? effect : applyFaults(selected, request, effect)
      )
  )

/**
 * Wraps the `HttpClient` in context with fault injection and provides the {@link Faults} service to change the
 * rules at runtime. Put it between the Objectstore client and the transport:
 * `ObjectstoreClient.layer(…).pipe(Layer.provide(Faults.layer(rules)), Layer.provide(transport))`, or use
 * `Layer.provideMerge` to reach the service from the test.
 *
 * @since 0.1.0
 * @category layers
 */
export const layer = (
  rules: ReadonlyArray<Rule> = []
): Layer.Layer<HttpClient.HttpClient | Faults, never, HttpClient.HttpClient> =>
  Layer.effectContext(Effect.gen(function*() {
    const service = yield* make(rules)
    const client = yield* HttpClient.HttpClient
    return Context.make(Faults, service).pipe(Context.add(HttpClient.HttpClient, inject(service)(client)))
  }))
