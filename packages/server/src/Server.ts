/**
 * The local Objectstore server: the HTTP app over a `Storage`, served over TCP (`layer`) or in-process as an
 * `HttpClient` with no socket (`layerHttpClient`).
 *
 * Every layer takes `options?: Partial<ServerConfig>` merged over `Config.defaults` (loopback, memory storage, auth
 * disabled, production expiration semantics). All time is read through Effect's `Clock`, so a `TestClock` drives
 * expiration, TTI bumps and the reaper.
 *
 * @example
 * ```ts
 * import * as HttpServer from "@effect/platform/HttpServer"
 * import * as Server from "@objectstore/server/Server"
 * import * as Effect from "effect/Effect"
 *
 * const program = HttpServer.addressFormattedWith((address) => Effect.log(`listening on ${address}`)).pipe(
 *   Effect.provide(Server.layer({ port: 0 }))
 * )
 * ```
 *
 * @since 0.1.0
 */
import * as NodeHttpServer from "@effect/platform-node/NodeHttpServer"
import * as HttpApp from "@effect/platform/HttpApp"
import type * as HttpBody from "@effect/platform/HttpBody"
import * as HttpClient from "@effect/platform/HttpClient"
import * as HttpClientError from "@effect/platform/HttpClientError"
import type * as HttpClientRequest from "@effect/platform/HttpClientRequest"
import * as HttpClientResponse from "@effect/platform/HttpClientResponse"
import * as HttpMiddleware from "@effect/platform/HttpMiddleware"
import * as HttpServer from "@effect/platform/HttpServer"
import type * as HttpServerError from "@effect/platform/HttpServerError"
import * as UrlParams from "@effect/platform/UrlParams"
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import type * as Runtime from "effect/Runtime"
import type * as Scope from "effect/Scope"
import * as Stream from "effect/Stream"
import * as Http from "node:http"
import type * as Auth from "./Auth.js"
import * as Config from "./Config.js"
import * as internalApp from "./internal/app.js"
import * as Routing from "./internal/routing.js"
import * as Storage from "./Storage.js"

/**
 * A running app: the `HttpApp` itself, the storage it serves, its effective configuration, and controls for tests
 * and kits.
 *
 * @since 0.1.0
 * @category models
 */
export interface Control {
  /** The HTTP app; it needs a `Scope` per request (provided by `HttpServer.serve` and web handlers). */
  readonly app: HttpApp.Default<never, Scope.Scope>
  readonly storage: Storage.Service
  readonly config: Config.ServerConfig
  /** Sets the readiness switch: while `true`, `/ready` answers 503 `Shutting down`. */
  readonly setShuttingDown: (shuttingDown: boolean) => Effect.Effect<void>
  /** Runs the reaper once now (it also runs every `reapInterval` when expiration is enforced). */
  readonly reapNow: Effect.Effect<number, Storage.StorageError>
}

/**
 * The running app of a server layer; tests reach its storage and switches through it.
 *
 * @since 0.1.0
 * @category services
 */
export class ServerControl extends Context.Tag("@objectstore/server/Server/ServerControl")<ServerControl, Control>() {}

/**
 * `options` merged over `Config.defaults`.
 *
 * @since 0.1.0
 * @category constructors
 */
export const resolveConfig = (options?: Partial<Config.ServerConfig>): Config.ServerConfig => ({
  ...Config.defaults,
  ...options
})

/**
 * Builds the app over the `Storage` in context. When expiration is enforced, the reaper runs in the given scope.
 *
 * @since 0.1.0
 * @category constructors
 */
export const makeApp = (
  options?: Partial<Config.ServerConfig>
): Effect.Effect<Control, Auth.AuthConfigError, Storage.Storage | Scope.Scope> =>
  internalApp.make(resolveConfig(options))

/**
 * The app and its storage (built from `options.storage`), without any transport.
 *
 * @since 0.1.0
 * @category layers
 */
export const layerControl = (
  options?: Partial<Config.ServerConfig>
): Layer.Layer<ServerControl | Storage.Storage, Auth.AuthConfigError | Storage.StorageError> => {
  const config = resolveConfig(options)
  return Layer.scoped(ServerControl, internalApp.make(config)).pipe(
    Layer.provideMerge(Storage.layer(config.storage))
  )
}

const isLoopback = (host: string): boolean =>
  host === "localhost" || host === "::1" || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(host) ||
  /^::ffff:127\./i.test(host)

/**
 * The warning `layer` logs at start when the configuration lets anyone who can reach the port read, write and
 * delete every object: auth not enforced on an address other than loopback (such as upstream's default
 * `0.0.0.0`). `undefined` when there is nothing to warn about.
 *
 * @since 0.1.0
 * @category constructors
 */
export const exposureWarning = (config: Config.ServerConfig): string | undefined =>
  config.auth.enforce || isLoopback(config.host)
    ? undefined
    : `auth is not enforced and the server listens on ${
      config.host.includes(":") ? `[${config.host}]` : config.host
    }:${config.port}, which other machines may reach: anyone who can connect can read, write and delete every ` +
      "object. Listen on 127.0.0.1 (OS__HTTP_ADDR=127.0.0.1:8888, --http-addr) or enforce auth (OS__AUTH__ENFORCE)."

/**
 * Serves the app over TCP with `node:http` on `host:port` (default `127.0.0.1:8888`; use `port: 0` in tests and read
 * the address with `HttpServer.addressFormattedWith`). The storage and the control are exposed as well. Logs a
 * warning at start when auth is not enforced on a non-loopback address (`exposureWarning`).
 *
 * @since 0.1.0
 * @category layers
 */
export const layer = (
  options?: Partial<Config.ServerConfig>
): Layer.Layer<
  HttpServer.HttpServer | ServerControl | Storage.Storage,
  HttpServerError.ServeError | Auth.AuthConfigError | Storage.StorageError
> => {
  const config = resolveConfig(options)
  const servers = new Set<Http.Server>()
  const listen = NodeHttpServer.layerServer(() => {
    // Header lines past `maxHeadersCount` are dropped by node:http: keep one more than the limit, so a request past
    // it is seen and refused with 431 instead of silently truncated. Host is not required (upstream does not
    // require it either), so a request whose Host line was among the dropped ones still gets that 431.
    const server = Http.createServer({ requireHostHeader: false })
    server.maxHeadersCount = internalApp.MAX_HEADERS + 1
    servers.add(server)
    server.once("close", () => servers.delete(server))
    return server
  }, { host: config.host, port: config.port })
  // Released before `listen` closes the server: a connection still carrying a half-sent request (a client that
  // stopped sending without closing its socket) would otherwise keep `server.close()` waiting forever.
  const closeConnections = Layer.scopedDiscard(
    Effect.addFinalizer(() => Effect.sync(() => servers.forEach((server) => server.closeAllConnections())))
  )
  // No platform span per request: building it (URL parsing, one attribute per header) cost more than serving a
  // small object.
  const serve = Layer.unwrapEffect(Effect.map(ServerControl, (control) => HttpServer.serve(control.app))).pipe(
    HttpMiddleware.withTracerDisabledWhen(() => true)
  )
  // with the port actually bound (the configuration may say 0)
  const warn = Layer.effectDiscard(Effect.flatMap(HttpServer.HttpServer, (server) => {
    const port = server.address._tag === "TcpAddress" ? server.address.port : config.port
    const warning = exposureWarning({ ...config, port })
    return warning === undefined ? Effect.void : Effect.logWarning(warning)
  }))
  return Layer.mergeAll(serve, closeConnections, warn).pipe(
    Layer.provideMerge(listen),
    Layer.provideMerge(layerControl(config))
  )
}

/**
 * The request target as the client built it (path exactly as encoded, then the query), so in-process routing sees
 * the same raw target a socket would carry.
 */
const rawTarget = (request: HttpClientRequest.HttpClientRequest): string => {
  const { path, query } = Routing.splitTarget(request.url)
  const params = UrlParams.toString(request.urlParams)
  const fullQuery = [query, params].filter((part) => part !== "").join("&")
  return fullQuery === "" ? path : `${path}?${fullQuery}`
}

const webBody = (
  body: HttpBody.HttpBody,
  runtime: Runtime.Runtime<never>
): { readonly body?: BodyInit; readonly duplex?: "half" } => {
  switch (body._tag) {
    case "Empty":
      return {}
    case "Uint8Array":
      return { body: body.body as BodyInit }
    case "Raw":
      return { body: body.body as BodyInit, duplex: "half" }
    case "FormData":
      return { body: body.formData }
    case "Stream":
      return { body: Stream.toReadableStreamRuntime(body.stream, runtime), duplex: "half" }
  }
}

/**
 * An `HttpClient` that runs the app of the `ServerControl` in context in-process: requests become web requests
 * whose raw target is kept, bodies stream both ways, and interrupting the client request interrupts the handler.
 *
 * @since 0.1.0
 * @category constructors
 */
export const makeHttpClient: Effect.Effect<HttpClient.HttpClient, never, ServerControl> = Effect.gen(function*() {
  const control = yield* ServerControl
  const runtime = yield* Effect.runtime<never>()
  const handler = HttpApp.toWebHandlerRuntime(runtime)(control.app)
  return HttpClient.make((request, url, signal) =>
    Effect.gen(function*() {
      const bodyRuntime = yield* Effect.runtime<never>()
      const hasBody = request.method !== "GET" && request.method !== "HEAD"
      const webRequest = yield* Effect.try({
        try: () =>
          new Request(url, {
            method: request.method,
            headers: request.headers,
            signal,
            ...(hasBody ? webBody(request.body, bodyRuntime) : {})
          } as RequestInit),
        catch: (cause) => new HttpClientError.RequestError({ request, reason: "Encode", cause })
      })
      const response = yield* Effect.tryPromise({
        try: () => handler(webRequest, Context.make(internalApp.RawTarget, rawTarget(request))),
        catch: (cause) => new HttpClientError.RequestError({ request, reason: "Transport", cause })
      })
      return HttpClientResponse.fromWeb(request, response)
    })
  )
})

/**
 * The app in-process as an `HttpClient` (no socket), with its storage and control. Give clients a base URL such
 * as `http://objectstore.test`; only its path and query reach the app.
 *
 * @since 0.1.0
 * @category layers
 */
export const layerHttpClient = (
  options?: Partial<Config.ServerConfig>
): Layer.Layer<
  HttpClient.HttpClient | ServerControl | Storage.Storage,
  Auth.AuthConfigError | Storage.StorageError
> => Layer.effect(HttpClient.HttpClient, makeHttpClient).pipe(Layer.provideMerge(layerControl(options)))
