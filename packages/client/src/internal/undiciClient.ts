/**
 * A lean `HttpClient` over an undici `Dispatcher`, used by `NodeClient`.
 *
 * `@effect/platform-node`'s undici client builds on `HttpClient.make`, whose per-request work (a URL parse, an
 * `AbortController` and a `FinalizationRegistry` entry per request, a response wrapper that re-reads the headers on
 * every access, an `Effect.cached` per body reader, and an abort when every body stream ends) costs about 2.5× raw
 * undici's CPU for a small request. This client does the same job with less: it is built with
 * `HttpClient.makeWith`, so every `HttpClient` combinator works on it, and it keeps the platform's semantics:
 *
 * - the `http.client` span, with the same attributes (headers redacted by `Headers.currentRedactedNames`), honouring
 *   `currentTracerDisabledWhen`, `currentTracerPropagation` and `SpanNameGenerator`;
 * - interruption before the response aborts the request; interruption while reading a body destroys it;
 * - `HttpClient.withScope` cancels an unread body when the scope closes;
 * - a response dropped unread frees its connection when it is garbage-collected.
 *
 * It is offered as a `Transport` (see that module). It adds {@link cancel}: the session's own scope handling destroys an unread body without an `AbortController`
 * (whose `abort()` builds a `DOMException`, the costliest step of `withScope`); {@link abortWith}, so the session's
 * deadlines abort a request without interrupting a fiber; and {@link watchBody}, which reports the bytes of a body
 * as they arrive, however it is read.
 *
 * Responses and errors carry the request with its secret headers (those of `Headers.currentRedactedNames` when it
 * was sent) replaced by `<redacted>`: a span's exit, an error or a response can be logged, inspected or serialised
 * without the token.
 *
 * @internal
 */
import type * as Undici from "@effect/platform-node/Undici"
import * as Cookies from "@effect/platform/Cookies"
import * as Headers from "@effect/platform/Headers"
import * as HttpClient from "@effect/platform/HttpClient"
import * as HttpClientError from "@effect/platform/HttpClientError"
import * as HttpClientRequest from "@effect/platform/HttpClientRequest"
import * as HttpClientResponse from "@effect/platform/HttpClientResponse"
import * as IncomingMessage from "@effect/platform/HttpIncomingMessage"
import * as HttpTraceContext from "@effect/platform/HttpTraceContext"
import * as UrlParams from "@effect/platform/UrlParams"
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as FiberRef from "effect/FiberRef"
import { globalValue } from "effect/GlobalValue"
import * as Inspectable from "effect/Inspectable"
import * as Option from "effect/Option"
import * as Stream from "effect/Stream"
import type * as Tracer from "effect/Tracer"
import { Readable } from "node:stream"
import type * as Transport from "../Transport.js"
import * as Http from "./http.js"
import * as NodeBody from "./nodeBody.js"
import * as PullReadable from "./pullReadable.js"

/**
 * The requests `HttpClient.withScope` has registered, with the controller its scope aborts. This is the platform's
 * own map (a `globalValue`, shared by key): honouring it makes `withScope` work on this client as on the platform's.
 */
const scopedRequests = globalValue(
  "@effect/platform/HttpClient/scopedRequests",
  () => new WeakMap<HttpClientRequest.HttpClientRequest, AbortController>()
)

/**
 * The controller whose signal the requests sent by the current fiber carry (see {@link abortWith}). A fiber's value,
 * not a property of the request: requests mapped by `HttpClient` combinators (a new request object) keep it.
 */
const currentController = globalValue(
  "@objectstore/client/undiciClient/currentController",
  () => FiberRef.unsafeMake<AbortController | undefined>(undefined)
)

/**
 * Runs `effect` so that the requests it sends through a client made by {@link make} (directly or through
 * `HttpClient` combinators) carry `controller`'s signal: aborting it aborts the request, or destroys its body with
 * the abort reason once the response has arrived.
 *
 * @internal
 */
export const abortWith = <A, E, R>(
  effect: Effect.Effect<A, E, R>,
  controller: AbortController
): Effect.Effect<A, E, R> => Effect.locally(effect, currentController, controller)

/** Destroys the bodies of responses that were dropped unread. */
const unread = globalValue(
  "@objectstore/client/undiciClient/unread",
  () =>
    new FinalizationRegistry<Readable>((body) => {
      if (!body.destroyed) body.destroy()
    })
)

const noop = () => {}

/**
 * Destroys the response's body unless it was read to the end; a no-op for responses of other clients and for bodies
 * already consumed.
 *
 * @internal
 */
export const cancel = (response: HttpClientResponse.HttpClientResponse, reason?: Error): void => {
  if (response instanceof UndiciResponse) response.cancel(reason)
}

/**
 * Calls `onBytes` with the length of every chunk of the response body as it arrives from the connection, however
 * the body is read (whole or as a stream); `false` for responses of other clients.
 *
 * @internal
 */
export const watchBody = (
  response: HttpClientResponse.HttpClientResponse,
  onBytes: (bytes: number) => void
): boolean => {
  if (!(response instanceof UndiciResponse)) return false
  response.watch(onBytes)
  return true
}

/**
 * `request` with the values of its secret headers (`names`, as in `Headers.redact`) replaced by `<redacted>`; the
 * same request when it has none.
 *
 * @internal
 */
export const redactRequest = (
  request: HttpClientRequest.HttpClientRequest,
  names: ReadonlyArray<string | RegExp>
): HttpClientRequest.HttpClientRequest => {
  const source = request.headers
  let headers: Record<string, string> | undefined
  const hide = (name: string) => {
    ;(headers ??= { ...source })[name] = "<redacted>"
  }
  for (const key of names) {
    if (typeof key === "string") {
      const name = key.toLowerCase()
      if (name in source) hide(name)
    } else {
      for (const name in source) if (key.test(name)) hide(name)
    }
  }
  if (headers === undefined) return request
  return Object.assign(Object.create(Object.getPrototypeOf(request)), request, { headers: Headers.fromInput(headers) })
}

/** The `Content-Type` (with the boundary) of a form encoded by {@link sendBody}. */
const formContentType = Symbol("formContentType")

type RequestBody = Exclude<Undici.Dispatcher.DispatchOptions["body"], undefined>

const sendBody = (body: HttpClientRequest.HttpClientRequest["body"]): Effect.Effect<RequestBody> => {
  switch (body._tag) {
    case "Empty":
      return Effect.succeed(null)
    case "Uint8Array":
      return Effect.succeed(body.body)
    case "Raw":
      return Effect.succeed(body.body as RequestBody)
    case "FormData":
      // Encoded by the runtime's own `Response`: undici's package cannot encode the global `FormData` of the
      // undici bundled with Node.js (a different class), so the form is sent as a stream with its boundary.
      return Effect.sync(() => {
        const encoded = new Response(body.formData)
        return Object.assign(Readable.fromWeb(encoded.body! as never), {
          [formContentType]: encoded.headers.get("content-type")
        })
      })
    case "Stream":
      return PullReadable.make(body.stream)
  }
}

const transportError = (request: HttpClientRequest.HttpClientRequest, cause: unknown) =>
  new HttpClientError.RequestError({ request, reason: "Transport", cause })

/** What {@link dispatch} sends: the request's parts, without an `HttpClientRequest` when sent directly. */
interface Outgoing {
  readonly method: string
  readonly headers: Readonly<Record<string, string>>
  readonly origin: string
  readonly path: string
  readonly body: HttpClientRequest.HttpClientRequest["body"]
  /** The request as responses and errors show it (secret headers redacted), made only when one needs it. */
  readonly shown: () => HttpClientRequest.HttpClientRequest
}

/**
 * The options undici dispatches `outgoing` with, its body as undici takes it (a form's boundary in the content
 * type). Timeouts are left to Effect (the session's watchdog), as the platform client does.
 */
const dispatchOptions = (outgoing: Outgoing, body: RequestBody) => {
  const form = body !== null && typeof body === "object" && formContentType in body
    ? (body as { [formContentType]: string | null })[formContentType]
    : null
  return {
    method: outgoing.method as Undici.Dispatcher.HttpMethod,
    headers: form === null ? outgoing.headers : { ...outgoing.headers, "content-type": form },
    origin: outgoing.origin,
    path: outgoing.path,
    body,
    headersTimeout: 60 * 60 * 1000,
    bodyTimeout: 0
  }
}

/** `sent` with `outgoing`'s body as undici takes it; bodies already in memory skip a step. */
const withBody = (
  outgoing: Outgoing,
  sent: (body: RequestBody) => Effect.Effect<HttpClientResponse.HttpClientResponse, HttpClientError.HttpClientError>
): Effect.Effect<HttpClientResponse.HttpClientResponse, HttpClientError.HttpClientError> => {
  const body = outgoing.body
  return body._tag === "Uint8Array"
    ? sent(body.body)
    : body._tag === "Empty"
    ? sent(null)
    : Effect.flatMap(sendBody(body), sent)
}

const dispatch = (
  dispatcher: Undici.Dispatcher,
  outgoing: Outgoing,
  controller: AbortController | undefined,
  scoped: boolean
): Effect.Effect<HttpClientResponse.HttpClientResponse, HttpClientError.HttpClientError> =>
  withBody(
    outgoing,
    (body) =>
      Effect.suspend(() => {
        // Without a scope's controller, interruption before the response still needs one to abort the request.
        const abort = controller ?? new AbortController()
        let done = false
        return interruptedBy(
          Effect.async<HttpClientResponse.HttpClientResponse, HttpClientError.HttpClientError>((resume) => {
            dispatcher.request({ ...dispatchOptions(outgoing, body), signal: abort.signal }, (cause, data) => {
              done = true
              if (cause !== null) return resume(Effect.fail(transportError(outgoing.shown(), cause)))
              const response = new UndiciResponse(outgoing.shown, data)
              if (!scoped) unread.register(response, data.body, response)
              resume(Effect.succeed(response))
            })
          }),
          () => {
            if (!done) abort.abort()
          }
        )
      })
  )

const send = (
  dispatcher: Undici.Dispatcher,
  request: HttpClientRequest.HttpClientRequest,
  shown: HttpClientRequest.HttpClientRequest,
  url: URL,
  controller: AbortController | undefined,
  scoped: boolean
): Effect.Effect<HttpClientResponse.HttpClientResponse, HttpClientError.HttpClientError> =>
  dispatch(
    dispatcher,
    {
      method: request.method,
      headers: request.headers,
      origin: url.origin,
      path: url.pathname + url.search + url.hash,
      body: request.body,
      shown: () => shown
    },
    controller,
    scoped
  )

/**
 * A {@link Transport.Request} as {@link dispatch} sends it; the request it shows is made on first use, with the
 * secret headers redacted (`Http.secretHeaders`), as `redactRequest` does for the HttpClient's requests.
 */
const outgoingOf = (request: Transport.Request): Outgoing => {
  let shown: HttpClientRequest.HttpClientRequest | undefined
  return {
    method: request.method,
    headers: request.headers,
    origin: request.origin,
    path: request.path,
    body: request.body,
    shown: () =>
      shown ??= redactRequest(
        HttpClientRequest.make(request.method)(request.origin + request.path, { headers: request.headers }),
        Http.secretHeaders
      )
  }
}

/**
 * {@link Transport.Service.send} over `dispatcher`: the request is sent as given, without `HttpClient` objects; the
 * response is the same as the `HttpClient`'s.
 */
const sendDirect = (dispatcher: Undici.Dispatcher) =>
(
  request: Transport.Request,
  controller: AbortController
): Effect.Effect<HttpClientResponse.HttpClientResponse, HttpClientError.HttpClientError> =>
  dispatch(dispatcher, outgoingOf(request), controller, false)

/**
 * {@link Transport.Service.sendWhole} over `dispatcher`: the request sent as given, its whole response body collected
 * by a dispatch handler of our own (no body stream, no `AbortController`, no finalization entry), and answered as a
 * {@link WholeResponse}.
 */
const sendWhole = (dispatcher: Undici.Dispatcher) =>
(
  request: Transport.Request,
  exchange: Transport.Exchange
): Effect.Effect<HttpClientResponse.HttpClientResponse, HttpClientError.HttpClientError> => {
  const outgoing = outgoingOf(request)
  return withBody(
    outgoing,
    (body) =>
      Effect.suspend(() => {
        let sent: WholeHandler | undefined
        return interruptedBy(
          Effect.async<HttpClientResponse.HttpClientResponse, HttpClientError.HttpClientError>((resume) => {
            const handler = sent = new WholeHandler(exchange, outgoing.shown, resume)
            exchange.onStart((reason) => handler.abort(reason))
            dispatcher.dispatch(dispatchOptions(outgoing, body), handler)
          }),
          () => {
            sent?.abort(new Error("interrupted"))
            sent?.end()
          }
        )
      })
  )
}

/**
 * `self`, with `cleanup` run when it is interrupted: `Effect.onInterrupt`, around an `Effect.async` that returns no
 * canceler.
 *
 * Not the canceler `Effect.async` takes: with one, more of each request stays reachable after it has ended, and the
 * young generation's collections promote it instead of freeing it. That is a measurement, not a reading of Effect's
 * runtime: against the local server, 5,000 whole GETs through this transport (`--trace-gc-nvp`, the collections
 * during the run) promoted 1,190 bytes per request with the canceler and 610 with this form; with no interruption
 * handling at all, 134; raw undici, about 20 (`bench/profile/promotion.ts`).
 */
const interruptedBy = <A, E>(self: Effect.Effect<A, E>, cleanup: () => void): Effect.Effect<A, E> =>
  Effect.onInterrupt(self, () => Effect.sync(cleanup))

const RELEASED: Transport.Exchange = {
  onStart: noop,
  onResponse: noop,
  onBytes: noop,
  onEnd: noop
}

/**
 * The dispatch handler of {@link sendWhole}: collects the body, reports progress to the exchange, and answers once.
 * An abort before undici has started the request is kept and applied when it starts (as undici's own request
 * handler does with a signal).
 */
class WholeHandler implements Undici.Dispatcher.DispatchHandler {
  #exchange: Transport.Exchange
  readonly #show: () => HttpClientRequest.HttpClientRequest
  #resume: (
    effect: Effect.Effect<HttpClientResponse.HttpClientResponse, HttpClientError.HttpClientError>
  ) => void
  #controller: Undici.Dispatcher.DispatchController | undefined
  #reason: Error | undefined
  #done = false
  #ended = false
  #status = 0
  #headers: Record<string, string | Array<string>> = {}
  #chunks: Array<Uint8Array> = []
  #length = 0

  constructor(
    exchange: Transport.Exchange,
    show: () => HttpClientRequest.HttpClientRequest,
    resume: (effect: Effect.Effect<HttpClientResponse.HttpClientResponse, HttpClientError.HttpClientError>) => void
  ) {
    this.#exchange = exchange
    this.#show = show
    this.#resume = resume
  }

  /** Tells the exchange it is over (once). */
  end(): void {
    if (this.#ended) return
    this.#ended = true
    this.#exchange.onEnd()
  }

  abort(reason: Error): void {
    if (this.#done || this.#reason !== undefined) return
    this.#reason = reason
    this.#controller?.abort(reason)
  }

  onRequestStart(controller: Undici.Dispatcher.DispatchController): void {
    this.#controller = controller
    if (this.#reason !== undefined) controller.abort(this.#reason)
  }

  onResponseStart(
    _controller: Undici.Dispatcher.DispatchController,
    statusCode: number,
    headers: Record<string, string | Array<string> | undefined>
  ): void {
    // 1xx answers are informational: the response follows.
    if (statusCode < 200) return
    this.#status = statusCode
    this.#headers = headers as Record<string, string | Array<string>>
    this.#exchange.onResponse()
  }

  onResponseData(_controller: Undici.Dispatcher.DispatchController, chunk: Uint8Array): void {
    this.#chunks.push(chunk)
    this.#length += chunk.length
    this.#exchange.onBytes(chunk.length)
  }

  onResponseEnd(): void {
    if (this.#done) return
    this.#done = true
    const chunks = this.#chunks
    let body: Uint8Array
    if (chunks.length === 1 && chunks[0]!.byteOffset === 0 && chunks[0]!.buffer.byteLength === this.#length) {
      body = chunks[0]!
    } else {
      body = new Uint8Array(this.#length)
      let offset = 0
      for (const chunk of chunks) {
        body.set(chunk, offset)
        offset += chunk.length
      }
    }
    this.end()
    const resume = this.#resume
    const response = new WholeResponse(this.#show, this.#status, this.#headers, body)
    this.#release()
    resume(Effect.succeed(response))
  }

  /**
   * Drops what the handler holds once it has answered: the fiber (through `resume`), the exchange, the headers and
   * the body chunks (not `#show`: the response keeps it). Kept, they outlived the request and the young generation's collections promoted them instead of
   * freeing them (about 3 KB per `getBytes`). The likely reason: a handler promoted while its request was in flight
   * keeps what it points to alive until a full collection, even once it is garbage itself.
   */
  #release(): void {
    this.#resume = noop
    this.#exchange = RELEASED
    this.#headers = {}
    this.#chunks = []
    this.#controller = undefined
  }

  onResponseError(_controller: Undici.Dispatcher.DispatchController, error: Error): void {
    if (this.#done) return
    this.#done = true
    this.end()
    const resume = this.#resume
    const failure = transportError(this.#show(), error)
    this.#release()
    resume(Effect.fail(failure))
  }
}

const ATTR_URL_QUERY = "url.query"

const traced = (
  span: Tracer.Span,
  request: HttpClientRequest.HttpClientRequest,
  url: URL,
  redacted: ReadonlyArray<string | RegExp>
): void => {
  span.attribute("http.request.method", request.method)
  span.attribute("server.address", url.origin)
  if (url.port !== "") span.attribute("server.port", +url.port)
  span.attribute("url.full", url.toString())
  span.attribute("url.path", url.pathname)
  span.attribute("url.scheme", url.protocol.slice(0, -1))
  const query = url.search.slice(1)
  if (query !== "") span.attribute(ATTR_URL_QUERY, query)
  const headers = Headers.redact(request.headers, redacted)
  for (const name in headers) span.attribute(`http.request.header.${name}`, String(headers[name]))
}

const tracedResponse = (
  span: Tracer.Span,
  response: HttpClientResponse.HttpClientResponse,
  redacted: ReadonlyArray<string | RegExp>
) => {
  span.attribute("http.response.status_code", response.status)
  const headers = Headers.redact(response.headers, redacted)
  for (const name in headers) span.attribute(`http.response.header.${name}`, String(headers[name]))
}

/**
 * An `HttpClient` sending every request through `dispatcher`, and the `Transport` that controls its requests and
 * responses.
 *
 * @internal
 */
export const make = (
  dispatcher: Undici.Dispatcher,
  direct: boolean
): { httpClient: HttpClient.HttpClient; transport: Transport.Service } => ({
  httpClient: build(dispatcher),
  transport: direct
    ? { abortWith, cancel, watchBody, send: sendDirect(dispatcher), sendWhole: sendWhole(dispatcher) }
    : { abortWith, cancel, watchBody }
})

const build = (dispatcher: Undici.Dispatcher): HttpClient.HttpClient => {
  const client = HttpClient.makeWith<never, never, HttpClientError.HttpClientError, never>(
    (effect) =>
      Effect.flatMap(
        effect,
        (request) =>
          Effect.withFiberRuntime<HttpClientResponse.HttpClientResponse, HttpClientError.HttpClientError>((fiber) => {
            const redacted = fiber.getFiberRef(Headers.currentRedactedNames)
            const shown = redactRequest(request, redacted)
            const made = UrlParams.makeUrl(request.url, request.urlParams, request.hash)
            if (made._tag === "Left") {
              return Effect.fail(
                new HttpClientError.RequestError({ request: shown, reason: "InvalidUrl", cause: made.left })
              )
            }
            const url = made.right
            const controller = scopedRequests.get(request)
            const scoped = controller !== undefined
            const signal = controller ?? fiber.getFiberRef(currentController)
            const tracerOff = !fiber.getFiberRef(FiberRef.currentTracerEnabled) ||
              fiber.getFiberRef(HttpClient.currentTracerDisabledWhen)(request)
            if (tracerOff) return send(dispatcher, request, shown, url, signal, scoped)
            const name = Context.get(fiber.currentContext, HttpClient.SpanNameGenerator)(request)
            return Effect.useSpan(name, { kind: "client", captureStackTrace: false }, (span) => {
              traced(span, request, url, redacted)
              const sent = fiber.getFiberRef(HttpClient.currentTracerPropagation)
                ? HttpClientRequest.setHeaders(request, HttpTraceContext.toHeaders(span))
                : request
              return send(dispatcher, sent, shown, url, signal, scoped).pipe(
                Effect.withParentSpan(span),
                Effect.tap((response) => tracedResponse(span, response, redacted))
              )
            })
          })
      ),
    Effect.succeed
  )
  return client
}

/** A JSON body as the platform's responses read it: empty is `null`. */
const parseJson = (text: string): unknown => text === "" ? null : JSON.parse(text) as unknown

/** What both kinds of response share: the request as shown, the status, the headers converted once. */
abstract class ResponseBase extends Inspectable.Class implements HttpClientResponse.HttpClientResponse {
  readonly [HttpClientResponse.TypeId]: HttpClientResponse.TypeId = HttpClientResponse.TypeId
  readonly [IncomingMessage.TypeId]: IncomingMessage.TypeId = IncomingMessage.TypeId
  readonly #request: () => HttpClientRequest.HttpClientRequest
  readonly #raw: Readonly<Record<string, string | ReadonlyArray<string> | undefined>>
  #headers: Headers.Headers | undefined
  #cookies: Cookies.Cookies | undefined
  abstract readonly status: number
  abstract readonly stream: Stream.Stream<Uint8Array, HttpClientError.ResponseError>
  abstract readonly text: Effect.Effect<string, HttpClientError.ResponseError>
  abstract readonly arrayBuffer: Effect.Effect<ArrayBuffer, HttpClientError.ResponseError>
  abstract readonly formData: Effect.Effect<FormData, HttpClientError.ResponseError>

  constructor(
    request: () => HttpClientRequest.HttpClientRequest,
    headers: Readonly<Record<string, string | ReadonlyArray<string> | undefined>>
  ) {
    super()
    this.#request = request
    this.#raw = headers
  }

  get request(): HttpClientRequest.HttpClientRequest {
    return this.#request()
  }

  get headers(): Headers.Headers {
    if (this.#headers !== undefined) return this.#headers
    // undici's names are lower-case already; repeated headers are joined as `Headers.fromInput` does.
    const raw = this.#raw
    const out: Record<string, string> = {}
    for (const name in raw) {
      const value = raw[name]
      if (typeof value === "string") out[name] = value
      else if (value !== undefined) out[name] = value.join(", ")
    }
    return this.#headers = Headers.unsafeFromRecord(out)
  }

  get cookies(): Cookies.Cookies {
    if (this.#cookies !== undefined) return this.#cookies
    const header = this.#raw["set-cookie"]
    return this.#cookies = header === undefined
      ? Cookies.empty
      : Cookies.fromSetCookie(typeof header === "string" ? [header] : header)
  }

  get remoteAddress(): Option.Option<string> {
    return Option.none()
  }

  protected decodeError(cause: unknown) {
    return new HttpClientError.ResponseError({ request: this.request, response: this, reason: "Decode", cause })
  }

  get json(): Effect.Effect<unknown, HttpClientError.ResponseError> {
    return Effect.flatMap(this.text, (text) =>
      Effect.try({
        try: () => parseJson(text),
        catch: (cause) => this.decodeError(cause)
      }))
  }

  get urlParamsBody(): Effect.Effect<UrlParams.UrlParams, HttpClientError.ResponseError> {
    return Effect.flatMap(this.text, (text) =>
      Effect.try({
        try: () => UrlParams.fromInput(new URLSearchParams(text)),
        catch: (cause) => this.decodeError(cause)
      }))
  }

  toJSON(): unknown {
    return IncomingMessage.inspect(this, {
      _id: "@effect/platform/HttpClientResponse",
      request: this.request.toJSON(),
      status: this.status
    })
  }
}

/**
 * A response over undici's `ResponseData`: headers converted once, body readers made on first use.
 */
class UndiciResponse extends ResponseBase {
  readonly #source: Undici.Dispatcher.ResponseData
  #reads: Map<string, Promise<unknown>> | undefined

  constructor(request: () => HttpClientRequest.HttpClientRequest, source: Undici.Dispatcher.ResponseData) {
    super(request, source.headers)
    this.#source = source
    // Errors reach readers through the body's own API; an unread body's error must not crash the process.
    source.body.on("error", noop)
  }

  get status(): number {
    return this.#source.statusCode
  }

  /** Destroys the body unless it has been read to the end (with `reason`, readers fail with it). */
  cancel(reason?: Error): void {
    const body = this.#source.body
    if (!body.destroyed && !NodeBody.isComplete(body)) body.destroy(reason)
  }

  /** Reports the length of every chunk the connection delivers to the body from now on. */
  watch(onBytes: (bytes: number) => void): void {
    const body = this.#source.body
    const push = body.push
    body.push = function(this: typeof body, chunk: unknown, encoding?: BufferEncoding) {
      if (chunk !== null && chunk !== undefined) onBytes((chunk as Uint8Array).length)
      return push.call(this, chunk, encoding)
    }
  }

  /** Reads the whole body once; interruption of the reader destroys the body. */
  #read<A>(
    kind: string,
    read: (body: Undici.Dispatcher.ResponseData["body"]) => Promise<A>
  ): Effect.Effect<A, HttpClientError.ResponseError> {
    return Effect.async<A, HttpClientError.ResponseError>((resume) => {
      unread.unregister(this)
      const reads = this.#reads ??= new Map()
      let promise = reads.get(kind) as Promise<A> | undefined
      if (promise === undefined) {
        promise = read(this.#source.body)
        reads.set(kind, promise)
      }
      promise.then((value) => resume(Effect.succeed(value)), (cause) => resume(Effect.fail(this.decodeError(cause))))
      return Effect.sync(() => this.cancel())
    })
  }

  /** The body in one stage that reads it directly (see `nodeBody.ts`), metered there when the session meters it. */
  get stream(): Stream.Stream<Uint8Array, HttpClientError.ResponseError> {
    unread.unregister(this)
    const length = this.#source.headers["content-length"]
    return NodeBody.stream(
      this.#source.body,
      (cause) => this.decodeError(cause),
      typeof length === "string" && /^\d+$/.test(length) ? Number(length) : undefined
    )
  }

  get text(): Effect.Effect<string, HttpClientError.ResponseError> {
    return this.#read("text", (body) => body.text())
  }

  get arrayBuffer(): Effect.Effect<ArrayBuffer, HttpClientError.ResponseError> {
    return this.#read("arrayBuffer", (body) => body.arrayBuffer())
  }

  get formData(): Effect.Effect<FormData, HttpClientError.ResponseError> {
    return this.#read("formData", (body) => body.formData() as Promise<FormData>)
  }
}

const utf8 = new TextDecoder()

/**
 * A response whose body was read whole before it was handed over ({@link sendWhole}): every reader answers from
 * memory, any number of times.
 */
class WholeResponse extends ResponseBase {
  readonly status: number
  readonly #body: Uint8Array

  constructor(
    request: () => HttpClientRequest.HttpClientRequest,
    status: number,
    headers: Readonly<Record<string, string | ReadonlyArray<string>>>,
    body: Uint8Array
  ) {
    super(request, headers)
    this.status = status
    this.#body = body
  }

  get stream(): Stream.Stream<Uint8Array, HttpClientError.ResponseError> {
    return this.#body.length === 0 ? Stream.empty : Stream.succeed(this.#body)
  }

  // The readers answer at once (an `Exit`): the body is in memory, and a caller may take the result without running
  // an effect (`Http.settled`).
  get text(): Effect.Effect<string, HttpClientError.ResponseError> {
    return Effect.succeed(utf8.decode(this.#body))
  }

  override get json(): Effect.Effect<unknown, HttpClientError.ResponseError> {
    try {
      return Effect.succeed(parseJson(utf8.decode(this.#body)))
    } catch (cause) {
      return Effect.fail(this.decodeError(cause))
    }
  }

  get arrayBuffer(): Effect.Effect<ArrayBuffer, HttpClientError.ResponseError> {
    const body = this.#body
    return Effect.succeed(
      body.byteOffset === 0 && body.byteLength === body.buffer.byteLength
        ? body.buffer as ArrayBuffer
        : body.slice().buffer as ArrayBuffer
    )
  }

  get formData(): Effect.Effect<FormData, HttpClientError.ResponseError> {
    return Effect.tryPromise({
      try: () =>
        new Response(this.#body as Uint8Array<ArrayBuffer>, {
          headers: { "content-type": this.headers["content-type"] ?? "" }
        }).formData(),
      catch: (cause) => this.decodeError(cause)
    }) as Effect.Effect<FormData, HttpClientError.ResponseError>
  }
}
