/**
 * The native transport behind the `HttpClient`: an optional service that lets `ObjectstoreClient` control the
 * requests its `HttpClient` sends beyond what the `HttpClient` interface offers.
 *
 * Any `HttpClient` layer works with `ObjectstoreClient` (`FetchHttpClient.layer`, `NodeHttpClient.layerUndici`, the
 * local server's in-process client...). Without a `Transport`, a request deadline interrupts the attempt, and a body
 * the caller stops reading is left to the `HttpClient`'s scope handling. A `Transport` in context declares that the
 * `HttpClient` in context sends through it, and then the client can do better: a deadline aborts the one exchange
 * (without interrupting a fiber), an unread response body is destroyed at once, and the bytes of a response body
 * are reported as they arrive (the download deadline sees progress however the body is read).
 *
 * `NodeClient.layerHttpClient` provides both, over one undici dispatcher. Its `HttpClient` may be wrapped by
 * `HttpClient` combinators (`mapRequest`, `tap`, ...): the transport's controls follow the fiber, not the request
 * object. Provide a `Transport` only with an `HttpClient` that sends through it: the deadlines of requests sent by
 * another client could not be enforced.
 *
 * A transport may also offer {@link Service.send}: `ObjectstoreClient` then sends its requests through the transport
 * directly, without building `HttpClient` request and response objects (about half the client CPU of a small request,
 * BENCHMARKS.md), unless `httpSpans` asks for the `HttpClient`'s own spans. `NodeClient.layer` uses such a transport
 * (`NodeClient.layerHttpClient({ direct: true })`): its `HttpClient` is internal to the layer, so there is nothing to
 * wrap. Compose `ObjectstoreClient.layer` with `NodeClient.layerHttpClient()` (no `direct`) to have every request go
 * through an `HttpClient` you wrap.
 *
 * This module imports nothing from Node.js: the client's root entry stays usable in browsers.
 *
 * @since 0.1.0
 */
import type * as HttpBody from "@effect/platform/HttpBody"
import type * as HttpClientError from "@effect/platform/HttpClientError"
import type * as HttpClientResponse from "@effect/platform/HttpClientResponse"
import type * as HttpMethod from "@effect/platform/HttpMethod"
import * as Context from "effect/Context"
import type * as Effect from "effect/Effect"

/**
 * @since 0.1.0
 * @category models
 */
export interface Service {
  /**
   * Runs `effect` so that the requests it sends through the transport's `HttpClient` carry `controller`'s signal:
   * aborting it aborts the request, or destroys the response body with the abort reason once the response has
   * arrived.
   */
  readonly abortWith: <A, E, R>(effect: Effect.Effect<A, E, R>, controller: AbortController) => Effect.Effect<A, E, R>
  /**
   * Destroys `response`'s body unless it was read to the end (readers then fail with `reason`); a no-op for bodies
   * already consumed and for responses of other clients.
   */
  readonly cancel: (response: HttpClientResponse.HttpClientResponse, reason?: Error) => void
  /**
   * Calls `onBytes` with the length of every chunk of `response`'s body as it arrives from the connection, however
   * the body is read; returns `false` (and does nothing) for responses of other clients.
   */
  readonly watchBody: (response: HttpClientResponse.HttpClientResponse, onBytes: (bytes: number) => void) => boolean
  /**
   * When present, sends one request through the transport itself (not through the `HttpClient`): aborting
   * `controller` aborts it, or destroys its response body once the response has arrived (as {@link abortWith}).
   * Fails with the `HttpClientError` the transport's `HttpClient` would fail with (`RequestError` `Transport` for a
   * connection that failed or was aborted). The response works with {@link cancel} and {@link watchBody}.
   */
  readonly send?:
    | ((request: Request, controller: AbortController) => Effect.Effect<
      HttpClientResponse.HttpClientResponse,
      HttpClientError.HttpClientError
    >)
    | undefined
  /**
   * When present, sends one request through the transport itself and reads its whole response body before
   * answering: the client uses it for the requests whose answer it reads whole within the attempt (put, head,
   * delete, `getBytes`), and {@link send} for the rest. `exchange` follows the request: the transport calls
   * {@link Exchange.onResponse} when the status and headers arrive, {@link Exchange.onBytes} for every chunk of
   * the body and {@link Exchange.onEnd} once it is over, after {@link Exchange.onStart} when the effect starts it. Fails as {@link send} does; the response's
   * readers (`text`, `json`, `arrayBuffer`, `stream`) answer from memory.
   */
  readonly sendWhole?:
    | ((request: Request, exchange: Exchange) => Effect.Effect<
      HttpClientResponse.HttpClientResponse,
      HttpClientError.HttpClientError
    >)
    | undefined
}

/**
 * How the client follows and stops one request sent with {@link Service.sendWhole} (its deadlines). Its callbacks are
 * methods: call them on the exchange (`exchange.onEnd()`), not detached.
 *
 * @since 0.1.0
 * @category models
 */
export interface Exchange {
  /** Called once, when the response's status and headers have arrived (not for `1xx` answers). */
  onResponse(): void
  /** Called with the length of every chunk of the response body as it arrives. */
  onBytes(bytes: number): void
  /**
   * Called once when the request is over, however it ended: answered, failed, aborted, or its effect interrupted
   * (whether or not the connection has let go of it yet).
   */
  onEnd(): void
  /**
   * Called once when the effect starts the request, with the function that aborts it whatever its state (queued,
   * sending, reading the body): the request then fails with a `RequestError` (`Transport`) whose `cause` is
   * `reason`. Once the request is over, `abort` does nothing.
   */
  onStart(abort: (reason: Error) => void): void
}

/**
 * One request for {@link Service.send} and {@link Service.sendWhole}.
 *
 * @since 0.1.0
 * @category models
 */
export interface Request {
  readonly method: HttpMethod.HttpMethod
  /** The scheme, host and port (`http://127.0.0.1:8888`). */
  readonly origin: string
  /** The encoded path and query. */
  readonly path: string
  /**
   * The headers, lower-case names (the body's `content-type` and `content-length` included). Secret ones
   * (`x-os-auth`, `authorization`) are sent but never kept in a response, an error or a span.
   */
  readonly headers: Readonly<Record<string, string>>
  readonly body: HttpBody.HttpBody
}

/**
 * @since 0.1.0
 * @category services
 */
export class Transport extends Context.Tag("@objectstore/client/Transport")<Transport, Service>() {}
