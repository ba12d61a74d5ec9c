/**
 * The request machinery shared by every Session operation: URL building, auth header, header redaction,
 * per-attempt deadlines (see `watchdog.ts`), retries (with `Retry-After`) and the mapping of transport failures.
 *
 * The token never reaches a span, an error or a log: it is redacted in the transport's span attributes
 * (`Headers.currentRedactedNames`), NodeClient's transport hands out the request without it, and the request's
 * headers serialise (`JSON.stringify`, `util.inspect`, Effect's `Inspectable`) with `x-os-auth` redacted wherever
 * they end up, for transports that keep the request as it was given.
 *
 * @since 0.1.0
 * @internal
 */
import * as Headers from "@effect/platform/Headers"
import * as HttpBody from "@effect/platform/HttpBody"
import * as HttpClient from "@effect/platform/HttpClient"
import type * as HttpClientError from "@effect/platform/HttpClientError"
import * as HttpClientRequest from "@effect/platform/HttpClientRequest"
import type * as HttpClientResponse from "@effect/platform/HttpClientResponse"
import type * as HttpMethod from "@effect/platform/HttpMethod"
import * as HttpTraceContext from "@effect/platform/HttpTraceContext"
import type * as ProtocolScope from "@objectstore/protocol/Scope"
import * as Arr from "effect/Array"
import * as Channel from "effect/Channel"
import * as Chunk from "effect/Chunk"
import * as Clock from "effect/Clock"
import * as Context from "effect/Context"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import type * as Fiber from "effect/Fiber"
import * as Inspectable from "effect/Inspectable"
import * as Option from "effect/Option"
import * as Redacted from "effect/Redacted"
import * as Schedule from "effect/Schedule"
import type * as EffectScope from "effect/Scope"
import * as Stream from "effect/Stream"
import type * as Auth from "../Auth.js"
import type * as Metrics from "../Metrics.js"
import type { AuthError, NetworkError, ResponseError, RetriesOutcome } from "../ObjectstoreError.js"
import type * as Transport from "../Transport.js"
import * as Errors from "./errors.js"
import * as Spans from "./spans.js"
import * as Watchdog from "./watchdog.js"

/**
 * What every request needs from the client.
 *
 * @internal
 */
export interface ClientContext {
  readonly httpClient: HttpClient.HttpClient
  /**
   * The native transport `httpClient` comes from, when one was provided (`Transport`): deadlines then abort its
   * requests, and scoped bodies are cancelled by a finalizer of their own instead of `HttpClient.withScope`.
   */
  readonly transport?: Transport.Service | undefined
  /** Whether the transport's `fetch` may decode zstd bodies itself (`FetchClient`, see `fetchDecoding.ts`). */
  readonly fetchMayDecode?: boolean | undefined
  /**
   * Whether the transport's `http.client` spans are off: the operation's span then gets the HTTP attributes
   * (method, URL, status).
   */
  readonly ownSpans?: boolean | undefined
  /** Whether to send the current span's trace headers (when the transport does not). */
  readonly propagateTraces?: boolean | undefined
  readonly origin: string
  /** The base URL's path prefix, decoded, without trailing `/` (empty for none). */
  readonly basePath: string
  /** The deadlines of every attempt (and of a `get` body read by the caller). */
  readonly limits: Watchdog.Limits
  /** `undefined` when retries are disabled. */
  readonly schedule: Schedule.Schedule<unknown, unknown> | undefined
  readonly userAgent: string
  /** What writes do with keys outside §4.3's recommendations (default `"warn"`). */
  readonly nonPortableKeys?: "warn" | "reject" | "allow" | undefined
  readonly auth: Auth.Service
  readonly metrics: Metrics.Service
}

/**
 * A request body prepared for one attempt, with a way to learn whether the caller's stream failed.
 *
 * @internal
 */
export interface PreparedBody {
  readonly body: HttpBody.HttpBody
  /**
   * The caller's own failure (stream error or compression error), if the body failed while being sent; absent for a
   * body that cannot fail (bytes).
   */
  readonly failed?: Effect.Effect<Option.Option<unknown>> | undefined
}

/**
 * @internal
 */
export interface RequestSpec {
  readonly operation: Metrics.Operation
  readonly usecase: string
  readonly scope: ProtocolScope.Components
  readonly method: HttpMethod.HttpMethod
  /** The encoded path (from `Path.objectPath`). */
  readonly path: string
  readonly headers?: Readonly<Record<string, string>> | undefined
  /** Builds the body of one attempt, or is it (a body every attempt sends as it is). */
  readonly body?: Effect.Effect<PreparedBody> | PreparedBody | undefined
  /** Whether the body can be sent again (bytes, strings, replayable factories, no body). */
  readonly replayable: boolean
  /** Whether repeating a processed request is harmless (everything but POST). */
  readonly idempotent: boolean
  /**
   * Whether the response body may outlive `handle`, read by the caller until the surrounding `Scope` closes, which
   * cancels it (default `true`). Pass `false` when `handle` reads the whole body itself (`drain`, `failStatus`,
   * `json`): the request then skips `HttpClient.withScope`, whose abort on every scope close costs about 50 us a
   * request; an interrupted read still aborts the request.
   */
  readonly bodyInScope?: boolean | undefined
  /**
   * Whether `handle` reads the answer as a stream (a batch's, parsed as it arrives): it is then not read whole
   * before `handle` sees it (see `Transport.sendWhole`), which the other answers read within the attempt are.
   */
  readonly streamsAnswer?: boolean | undefined
}

/**
 * Failure of one attempt; `E` is what the handler adds.
 *
 * @internal
 */
export type AttemptError<E> = Errors.Failure<E | AuthError | NetworkError | ResponseError>

/**
 * Reads an error response's body (bounded) and maps its status.
 *
 * @internal
 */
export const failStatus = (
  response: HttpClientResponse.HttpClientResponse
): Effect.Effect<never, Errors.Failure<AuthError | ResponseError>> =>
  Effect.gen(function*() {
    const body = yield* Effect.orElseSucceed(response.text, () => "")
    const now = yield* Clock.currentTimeMillis
    return yield* Effect.fail(Errors.fromStatus({
      status: response.status,
      body,
      retryAfter: Errors.parseRetryAfter(response.headers["retry-after"], now)
    }))
  })

/**
 * Drains a response body whose content does not matter.
 *
 * @internal
 */
export const drain = (response: HttpClientResponse.HttpClientResponse): Effect.Effect<void> =>
  response === wholeAtHand ? Effect.void : Effect.ignore(response.text)

/**
 * The outcome of `effect` when it is already known without running it (an `Exit`, as `Effect.succeed` and
 * `Effect.fail` make, and as the readers of a response read whole answer), or `undefined`: a caller on the request
 * path then goes on at once instead of through an Effect step.
 *
 * @internal
 */
export const settled = <A, E, R>(effect: Effect.Effect<A, E, R>): Exit.Exit<A, E> | undefined =>
  Exit.isExit(effect) ? effect as Exit.Exit<A, E> : undefined

/**
 * {@link drain}, then `value`.
 *
 * @internal
 */
export const drained = <A>(response: HttpClientResponse.HttpClientResponse, value: A): Effect.Effect<A> =>
  response === wholeAtHand ? Effect.succeed(value) : Effect.as(Effect.ignore(response.text), value)

/**
 * The response the transport read whole (`Transport.sendWhole`) whose handler is being built: its handler need not
 * drain it. Set only while the handler is called (handlers drain as they are built; one that drains later reads the
 * body from memory, as any reader of such a response does).
 */
let wholeAtHand: HttpClientResponse.HttpClientResponse | undefined = undefined

const retrySchedule = (schedule: Schedule.Schedule<unknown, unknown>) =>
  Schedule.intersect(
    schedule,
    Schedule.addDelay(
      Schedule.identity<Errors.Failure<unknown>>(),
      (failure) => failure.retryAfter ?? Duration.zero
    )
  )

const spanAttributes = (method: string, url: string) => ({ "http.request.method": method, "url.full": url })

type ScopedClient = HttpClient.HttpClient.With<HttpClientError.HttpClientError, EffectScope.Scope>

const scopedClients = new WeakMap<HttpClient.HttpClient, ScopedClient>()

/** `HttpClient.withScope(client)`, made once per client. */
const scoped = (client: HttpClient.HttpClient): ScopedClient => {
  let found = scopedClients.get(client)
  if (found === undefined) {
    found = HttpClient.withScope(client)
    scopedClients.set(client, found)
  }
  return found
}

/**
 * Sends a request (retrying transient failures as the options allow) and hands the response to `handle`.
 * The request lives in the caller's `Scope`: closing it cancels the response body.
 *
 * @internal
 */
export const execute = <A, E>(
  context: ClientContext,
  spec: RequestSpec,
  handle: (
    response: HttpClientResponse.HttpClientResponse,
    attempt: number
  ) => Effect.Effect<A, AttemptError<E>, EffectScope.Scope>
): Effect.Effect<A, E | AuthError | NetworkError | ResponseError, EffectScope.Scope> =>
  run(context, spec, handle, spec.bodyInScope !== false)

/**
 * Sends a request (retrying as {@link execute} does) and reads its answer within the attempt: `handle` consumes the
 * whole response body (put, head, delete, `getBytes`, a batch), so a body broken off is retried like any failed
 * attempt and nothing needs the caller's `Scope` (no per-request scope, no body cancellation).
 *
 * @internal
 */
export const executeAndRead = <A, E>(
  context: ClientContext,
  spec: Omit<RequestSpec, "bodyInScope">,
  handle: (response: HttpClientResponse.HttpClientResponse, attempt: number) => Effect.Effect<A, AttemptError<E>>
): Effect.Effect<A, E | AuthError | NetworkError | ResponseError> =>
  // Without `bodyInScope`, `run` never touches the Scope: the requirement is only in its type.
  run(context, spec, handle, false) as Effect.Effect<
    A,
    E | AuthError | NetworkError | ResponseError
  >

/** Request bodies larger than this are sent as a stream of slices this large, so their progress can be watched. */
const SLICE = 256 * 1024

/**
 * `self` as a request body under `dog`, one piece of at most {@link SLICE} bytes at a time. Until the transport first
 * asks for a piece (it connects first), the response deadline of the attempt's start runs; then the upload deadline
 * runs from each piece handed to the transport until the transport asks for the next one (the time the caller's
 * stream takes to produce a chunk does not count); once the body has ended, the response deadline runs again.
 *
 * One piece at a time: a transport takes whole chunks (a chunk of many arrays, or one large array, would be handed
 * over at once), so progress is only visible, and the response deadline only starts once the last piece is taken,
 * if they are small.
 */
const watchUpload = <E, R>(
  self: Stream.Stream<Uint8Array, E, R>,
  dog: Watchdog.Watchdog,
  limits: Watchdog.Limits
): Stream.Stream<Uint8Array, E, R> => {
  type Loop = Channel.Channel<Chunk.Chunk<Uint8Array>, Chunk.Chunk<Uint8Array>, E, E, void, unknown>
  const emit = (pieces: ReadonlyArray<Uint8Array>, index: number, offset: number): Loop => {
    if (index >= pieces.length) return loop
    const piece = pieces[index]!
    const end = Math.min(piece.length, offset + SLICE)
    dog.arm("upload", limits.idle)
    return Channel.flatMap(Channel.write(Chunk.of(piece.subarray(offset, end))), () => {
      dog.disarm()
      return end >= piece.length ? emit(pieces, index + 1, 0) : emit(pieces, index, end)
    })
  }
  const loop: Loop = Channel.readWithCause({
    onInput: (chunk: Chunk.Chunk<Uint8Array>) => Channel.suspend(() => emit(Chunk.toReadonlyArray(chunk), 0, 0)),
    onFailure: Channel.failCause,
    onDone: () => {
      dog.arm("response", limits.headers)
      return Channel.void
    }
  })
  return Stream.pipeThroughChannel(
    self,
    Channel.suspend(() => {
      dog.disarm()
      return loop
    })
  )
}

/**
 * The body of one attempt, watched by `dog` when it is a stream. A large byte array becomes one only for `NodeClient`'s
 * transport (`sliceBytes`), which sends a stream with its `Content-Length`: `fetch` would send it chunked, which the
 * server refuses for multipart parts (PROTOCOL §20 item 16), so other transports get the bytes whole, and their
 * response deadline counts from the start of the attempt.
 */
const watchedBody = (
  body: HttpBody.HttpBody,
  dog: Watchdog.Watchdog,
  limits: Watchdog.Limits,
  sliceBytes: boolean
): HttpBody.HttpBody | undefined => {
  if (body._tag === "Stream") {
    return HttpBody.stream(watchUpload(body.stream, dog, limits), body.contentType, body.contentLength)
  }
  if (sliceBytes && body._tag === "Uint8Array" && body.body.length > SLICE) {
    return HttpBody.stream(watchUpload(Stream.succeed(body.body), dog, limits), body.contentType, body.body.length)
  }
  return undefined
}

const ProtectedHeaders = Object.create(Object.getPrototypeOf(Headers.empty), {
  toJSON: {
    value(this: Headers.Headers) {
      return Inspectable.toJSON(Headers.redact(this, secretHeaders))
    }
  },
  [Inspectable.NodeInspectSymbol]: {
    value(this: Headers.Headers) {
      return Inspectable.toJSON(Headers.redact(this, secretHeaders))
    }
  },
  [Inspectable.symbolRedactable]: {
    value(this: Headers.Headers) {
      return Headers.redact(this, secretHeaders)
    }
  }
})

/**
 * The headers every serialisation of a request the client made redacts, whatever fiber serialises it (and that a
 * transport sending directly keeps out of the request its responses and errors show).
 *
 * @internal
 */
export const secretHeaders: ReadonlyArray<string> = [
  "x-os-auth",
  "authorization",
  "proxy-authorization",
  "cookie",
  "set-cookie",
  "x-api-key"
]

/** `request` whose headers serialise with the secret ones redacted (see the module documentation). */
const protect = (request: HttpClientRequest.HttpClientRequest): HttpClientRequest.HttpClientRequest =>
  Object.assign(Object.create(Object.getPrototypeOf(request)), request, {
    headers: Object.assign(Object.create(ProtectedHeaders), request.headers)
  })

/** What the retries did about a failure they did not retry (`schedule` says whether retries are on). */
const notRetried = (
  failure: Errors.Failure<unknown>,
  spec: RequestSpec,
  retriesOn: boolean
): RetriesOutcome =>
  failure.retry === "never"
    ? "NotTransient"
    : !retriesOn
    ? "Disabled"
    : !spec.replayable
    ? "SingleUseBody"
    : "NotIdempotent"

/** Whether a failed attempt of `spec` may be retried. */
const retryable = (spec: RequestSpec, failure: Errors.Failure<unknown>): boolean =>
  spec.replayable && (failure.retry === "safe" || (failure.retry === "idempotent" && spec.idempotent))

/** The request's failure, with what its attempts and retries came to. */
const giveUp = <E>(failure: Errors.Failure<E>, attempts: number, retries: RetriesOutcome): Effect.Effect<never, E> =>
  Effect.fail(Errors.withRetries(failure.error, attempts, retries))

/** A controller the transport's request carries, aborted when `dog` fires. */
const abortedByDeadline = (dog: Watchdog.Watchdog): AbortController => {
  const aborts = new AbortController()
  dog.onFire = (fired) => aborts.abort(new Watchdog.DeadlineError(fired))
  return aborts
}

/**
 * The exchange of a whole answer (`Transport.sendWhole`), followed by `dog`: the response deadline from the start
 * (until the transport takes the first chunk of a streamed body, or for a request without one until the answer),
 * then the download deadline from the headers, pushed out by every chunk. One object per request, its callbacks
 * methods.
 */
class WatchedExchange implements Transport.Exchange {
  readonly #dog: Watchdog.Watchdog
  readonly #limits: Watchdog.Limits
  constructor(dog: Watchdog.Watchdog, limits: Watchdog.Limits) {
    this.#dog = dog
    this.#limits = limits
  }
  onStart(abort: (reason: Error) => void): void {
    this.#dog.onFire = (fired) => abort(new Watchdog.DeadlineError(fired))
    this.#dog.arm("response", this.#limits.headers)
  }
  onResponse(): void {
    this.#dog.arm("download", this.#limits.idle)
  }
  onBytes(): void {
    this.#dog.progress()
  }
  onEnd(): void {
    this.#dog.stop()
  }
}

const noBody: PreparedBody = { body: HttpBody.empty }

const run = <A, E>(
  context: ClientContext,
  spec: RequestSpec,
  handle: (
    response: HttpClientResponse.HttpClientResponse,
    attempt: number
  ) => Effect.Effect<A, AttemptError<E>, EffectScope.Scope>,
  inScope: boolean
): Effect.Effect<A, E | AuthError | NetworkError | ResponseError, EffectScope.Scope> => {
  const target = { method: spec.method, path: spec.path }
  const transport = context.transport
  // Sent by the transport itself where it can, unless the `HttpClient`'s own spans are wanted (`httpSpans`); an
  // answer read within the attempt, and not as a stream, is read whole by the transport.
  const direct = context.ownSpans === true ? transport?.send : undefined
  const whole = direct !== undefined && !inScope && spec.streamsAnswer !== true ? transport!.sendWhole : undefined
  const client = !inScope || transport !== undefined ? context.httpClient : scoped(context.httpClient)
  const { limits } = context
  const grant = { usecase: spec.usecase, scope: spec.scope }
  /** Attempt `number`: its deadlines, token and body, sent; its answer handed to `handle`. */
  const attempt = (number: number): Effect.Effect<A, AttemptError<E>, EffectScope.Scope> =>
    Effect.withFiberRuntime((fiber) => attemptOn(fiber, number))
  const attemptOn = (
    fiber: Fiber.RuntimeFiber<unknown, unknown>,
    number: number
  ): Effect.Effect<A, AttemptError<E>, EffectScope.Scope> => {
    const dog = new Watchdog.Watchdog(Context.get(fiber.currentDefaultServices, Clock.Clock))
    const span = fiber.currentSpan
    /** The request with its token and prepared body, sent; its answer handed to `handle`. */
    const send = (
      token: Option.Option<Redacted.Redacted<string>>,
      prepared: PreparedBody
    ): Effect.Effect<A, AttemptError<E>, EffectScope.Scope> => {
      const failed = prepared.failed
      const body = watchedBody(prepared.body, dog, limits, transport !== undefined) ?? prepared.body
      const trace = context.propagateTraces === true && span?._tag === "Span" ? span : undefined
      if (context.ownSpans === true && span !== undefined) {
        Spans.annotateSpan(span, spanAttributes(spec.method, context.origin + spec.path))
      }
      let executed: Effect.Effect<
        HttpClientResponse.HttpClientResponse,
        HttpClientError.HttpClientError,
        EffectScope.Scope
      >
      if (direct !== undefined) {
        // The transport sends it itself: the headers as the `HttpClient` would have sent them, without its objects.
        const headers: Record<string, string> = {}
        if (body._tag !== "Empty" && body._tag !== "FormData") {
          if (body.contentType !== undefined && body.contentType !== "") headers["content-type"] = body.contentType
          if (body.contentLength !== undefined) headers["content-length"] = String(body.contentLength)
        }
        headers["user-agent"] = context.userAgent
        if (spec.headers !== undefined) {
          for (const name in spec.headers) headers[name.toLowerCase()] = spec.headers[name]!
        }
        if (Option.isSome(token)) headers["x-os-auth"] = `Bearer ${Redacted.value(token.value)}`
        if (trace !== undefined) Object.assign(headers, HttpTraceContext.toHeaders(trace))
        const request = { method: spec.method, origin: context.origin, path: spec.path, headers, body }
        if (whole !== undefined) {
          // The answer arrives read: the download deadline runs from the headers, pushed out by every chunk.
          executed = whole(request, new WatchedExchange(dog, limits))
        } else {
          executed = direct(request, abortedByDeadline(dog))
        }
      } else {
        let request = HttpClientRequest.setBody(HttpClientRequest.make(spec.method)(context.origin + spec.path), body)
        request = HttpClientRequest.setHeaders(request, { "user-agent": context.userAgent, ...spec.headers })
        if (Option.isSome(token)) {
          request = HttpClientRequest.setHeader(request, "x-os-auth", `Bearer ${Redacted.value(token.value)}`)
        }
        if (trace !== undefined) request = HttpClientRequest.setHeaders(request, HttpTraceContext.toHeaders(trace))
        if (transport !== undefined) {
          executed = transport.abortWith(client.execute(request), abortedByDeadline(dog))
        } else {
          executed = client.execute(protect(request))
        }
      }
      // Until the transport takes the first chunk of a streamed body, or for a request without one until the
      // answer, the response deadline runs from now (for a whole answer, from the start of the exchange).
      if (whole === undefined) dog.arm("response", limits.headers)
      return Effect.matchEffect(executed, {
        onFailure: (error): Effect.Effect<never, AttemptError<E>> => {
          const fail = (): Effect.Effect<never, AttemptError<E>> =>
            Effect.fail(
              dog.fired !== undefined ? Errors.timeout(target, dog.fired) : Errors.fromHttpClientError(error, target)
            )
          return failed === undefined ?
            fail() :
            Effect.flatMap(failed, (own) => Option.isSome(own) ? Effect.fail(Errors.failure(own.value as E)) : fail())
        },
        onSuccess: (response) => {
          if (context.ownSpans === true && span !== undefined) {
            Spans.annotateSpan(span, { "http.response.status_code": response.status })
          }
          const recording = Spans.recordResponseOn(
            context.metrics,
            fiber,
            spec.operation,
            spec.usecase,
            response.status
          )
          let handled: Effect.Effect<A, AttemptError<E>, EffectScope.Scope>
          if (whole !== undefined) {
            // Nothing is left to wait for: the exchange has stopped the deadlines (`onEnd`), and nothing to drain.
            wholeAtHand = response
            try {
              handled = handle(response, number)
            } finally {
              wholeAtHand = undefined
            }
          } else {
            // Reads of the body within the attempt (`handle`) have the download deadline; a body handed on to the
            // caller (a `get` stream) gets deadlines of its own once the attempt is over.
            dog.arm("download", limits.idle)
            if (transport !== undefined) transport.watchBody(response, () => dog.progress())
            handled = Effect.catchAll(
              handle(response, number),
              (failure) => Effect.fail(dog.fired !== undefined ? Errors.timeout(target, dog.fired) : failure)
            )
            if (transport !== undefined && inScope) {
              handled = Effect.zipRight(
                Effect.addFinalizer(() => Effect.sync(() => transport.cancel(response))),
                handled
              )
            }
          }
          // A server may answer before it notices the body broke off (an in-process server answers 400): the
          // caller's own failure is still what happened, not the server's complaint about the truncated body.
          const checked = failed === undefined ? handled : Effect.flatMap(failed, (own) =>
            Option.isSome(own)
              ? Effect.zipRight(drain(response), Effect.fail(Errors.failure(own.value as E)))
              : handled)
          return recording === undefined ? checked : Effect.zipRight(recording, checked)
        }
      })
    }
    const withToken = (token: Option.Option<Redacted.Redacted<string>>) =>
      spec.body === undefined
        ? send(token, noBody)
        : Effect.isEffect(spec.body)
        ? Effect.flatMap(spec.body, (prepared) => send(token, prepared))
        : send(token, spec.body)
    // A token already at hand (no auth, a static token) is used as it is.
    const token = context.auth.token(grant)
    const known = settled(token)
    const sent: Effect.Effect<A, AttemptError<E>, EffectScope.Scope> = known !== undefined && Exit.isSuccess(known)
      ? withToken(known.value)
      : Effect.matchEffect(token, {
        onFailure: (error) => Effect.fail(Errors.failure(error)),
        onSuccess: withToken
      })
    // The whole answer's exchange stops the deadlines itself, however it ends (`onEnd`).
    const watched = whole !== undefined ? sent : Effect.ensuring(sent, Effect.sync(() => dog.stop()))
    // Request headers reach spans only through the transport's own spans: redact the token there.
    const redacted = context.ownSpans === true
      ? watched
      : Effect.locallyWith(watched, Headers.currentRedactedNames, Arr.append("x-os-auth"))
    if (transport !== undefined) return redacted
    // Another transport cannot be aborted from outside: the deadline interrupts the attempt instead. Both sides are
    // interruptible even where the caller is not (a request made while acquiring a resource, such as the initiation
    // of a multipart upload): the race interrupts its loser, and an uninterruptible loser would never end.
    return Effect.raceFirst(
      Effect.interruptible(redacted),
      Effect.interruptible(Effect.async<never, AttemptError<E>>((resume) => {
        if (dog.fired !== undefined) return resume(Effect.fail(Errors.timeout(target, dog.fired)))
        dog.onFire = (fired) => resume(Effect.fail(Errors.timeout(target, fired)))
      }))
    )
  }
  const schedule = context.schedule
  type Outcome = Effect.Effect<A, E | AuthError | NetworkError | ResponseError, EffectScope.Scope>
  if (schedule === undefined) {
    return Effect.catchAll(attempt(1), (failure) => giveUp(failure, 1, notRetried(failure, spec, false)))
  }
  // `Effect.retry` with the schedule, entered only once a first attempt has failed in a retryable way (that failure
  // is replayed to it first, so the schedule sees every failure): most requests succeed at once, and `Effect.retry`
  // builds its schedule driver and wraps the attempt up front. Around every request it cost 1.08x the SDK's client
  // CPU of a 1 KiB request against the lazy hand-written loop it replaced (`npm run bench:quick -- --only small`,
  // median of 20 cases over two interleaved rounds at load 11-13; within noise relative to raw undici in the same
  // runs), so only this entry is hand-written.
  return Effect.catchAll(attempt(1), (first): Outcome => {
    // A retryable failure that ends the retries did so because the schedule was exhausted; any other was not retried.
    if (!retryable(spec, first)) return giveUp(first, 1, notRetried(first, spec, true))
    // Counted for this run of the request (the handler runs once per failed first attempt).
    let attempts = 1
    let replay: AttemptError<E> | undefined = first
    const again = Effect.suspend(() => {
      if (replay !== undefined) {
        const failure = replay
        replay = undefined
        return Effect.fail(failure)
      }
      // Each attempt after the first is counted as a retry before it starts. After the backoff, the I/O that arrived
      // while it ran is handled first: a connection the server reset or closed after its answer (an early 429 or
      // 503) is known dead, and the retry does not go out on it.
      attempts++
      return Effect.zipRight(
        Effect.zipRight(context.metrics.recordRetry(spec.operation, spec.usecase), Watchdog.pendingIo),
        attempt(attempts)
      )
    })
    return Effect.catchAll(
      Effect.retry(again, { schedule: retrySchedule(schedule), while: (failure) => retryable(spec, failure) }),
      (failure) => giveUp(failure, attempts, retryable(spec, failure) ? "Exhausted" : notRetried(failure, spec, true))
    )
  })
}
