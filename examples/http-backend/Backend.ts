/**
 * An Effect HTTP backend that keeps user files in Objectstore, composing the client as a layer.
 *
 * - `POST /files`: streams the request body into `session.put` (nothing is buffered) and answers `201 {"key"}`.
 * - `GET /files/:key`: streams the object back with its content type; `404` when it does not exist.
 *
 * It runs on `NodeHttpServer` (a failed download aborts the Node response). Upstream failures become gateway answers: an overloaded or rate-limited Objectstore (after the client's own
 * retries) → `503` with `Retry-After`, any other upstream failure → `502`, an invalid key → `400`.
 *
 * Configuration comes from the environment through `Config`:
 *
 * | variable | meaning | default |
 * |---|---|---|
 * | `OBJECTSTORE_URL` | `http(s)://…` of a server, or `memory:` / `file:<folder>` to embed one | required |
 * | `OBJECTSTORE_USECASE` | the usecase files are stored under | `files` |
 * | `OBJECTSTORE_SCOPE` | the scope, `org=42;project=1337` (or space-separated) | `app=backend` |
 * | `OBJECTSTORE_TOKEN` | a static token (optional) | none |
 */
import * as NodeHttpServerRequest from "@effect/platform-node/NodeHttpServerRequest"
import * as HttpRouter from "@effect/platform/HttpRouter"
import * as HttpServer from "@effect/platform/HttpServer"
import * as HttpServerRequest from "@effect/platform/HttpServerRequest"
import * as HttpServerResponse from "@effect/platform/HttpServerResponse"
import type { ObjectstoreClient, ObjectstoreError } from "@objectstore/client"
import { Scope, Session, Usecase } from "@objectstore/client"
import * as Embedded from "@objectstore/testing/Embedded"
import * as Config from "effect/Config"
import type * as ConfigError from "effect/ConfigError"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as Stream from "effect/Stream"

/** Where files go: usecase and scope. */
export const FilesConfig = Config.all({
  usecase: Config.string("OBJECTSTORE_USECASE").pipe(Config.withDefault("files")),
  scope: Scope.config("OBJECTSTORE_SCOPE").pipe(Config.withDefault(Scope.make({ app: "backend" })))
})

/** The session the handlers use, from `FilesConfig` and the `ObjectstoreClient` in context. */
export const SessionLive: Layer.Layer<
  Session.Session,
  ObjectstoreError.InvalidInputError | ConfigError.ConfigError,
  ObjectstoreClient.ObjectstoreClient
> = Layer.unwrapEffect(
  Effect.map(FilesConfig, ({ scope, usecase }) => Session.layer(Usecase.make(usecase), scope))
)

/** The Objectstore client from `OBJECTSTORE_URL` (embedded for `memory:` / `file:`) and `OBJECTSTORE_TOKEN`. */
export const ClientLive = Layer.unwrapEffect(
  Effect.map(
    Config.all({
      baseUrl: Config.string("OBJECTSTORE_URL"),
      token: Config.option(Config.redacted("OBJECTSTORE_TOKEN"))
    }),
    ({ baseUrl, token }) => Embedded.layerFromUrl({ baseUrl, token: Option.getOrUndefined(token) })
  )
)

/** Upstream failures as HTTP answers. */
const answer = (error: ObjectstoreError.ObjectstoreError): HttpServerResponse.HttpServerResponse => {
  switch (error._tag) {
    case "NotFoundError":
      return HttpServerResponse.unsafeJson({ error: "not found" }, { status: 404 })
    case "InvalidInputError":
      return HttpServerResponse.unsafeJson({ error: error.message }, { status: 400 })
    case "ResponseError":
      return error.retryable
        ? HttpServerResponse.unsafeJson({ error: "storage busy, retry later" }, {
          status: 503,
          headers: { "retry-after": "1" }
        })
        : HttpServerResponse.unsafeJson({ error: "storage failed" }, { status: 502 })
    default:
      return HttpServerResponse.unsafeJson({ error: "storage unavailable" }, { status: 502 })
  }
}

/**
 * The answer to an upstream failure; a 5xx is logged with what Objectstore said, since the caller only sees
 * "storage failed" (the SDK's errors carry no token, so they are safe to log).
 */
const upstreamFailure = (
  error: ObjectstoreError.ObjectstoreError
): Effect.Effect<HttpServerResponse.HttpServerResponse> => {
  const response = answer(error)
  if (response.status < 500) return Effect.succeed(response)
  return Effect.as(
    Effect.logError(`objectstore: ${error.message}`).pipe(
      Effect.annotateLogs({ error: error._tag, answered: response.status })
    ),
    response
  )
}

const upload = Effect.gen(function*() {
  const request = yield* HttpServerRequest.HttpServerRequest
  const session = yield* Session.Session
  const key = yield* session.put(request.stream, {
    contentType: request.headers["content-type"] ?? "application/octet-stream"
  })
  return HttpServerResponse.unsafeJson({ key }, { status: 201 })
}).pipe(
  Effect.catchTags({
    RequestError: () => Effect.succeed(HttpServerResponse.unsafeJson({ error: "upload interrupted" }, { status: 400 }))
  }),
  Effect.catchAll(upstreamFailure)
)

const download = Effect.gen(function*() {
  const { key } = yield* HttpRouter.params
  const session = yield* Session.Session
  // the object's body stays open until the request's scope closes, after the response is sent
  const object = yield* session.get(key ?? "")
  // A chunked response that ends early looks complete to the receiver, and @effect/platform-node ends the
  // response normally when its body stream fails. Abort the connection instead, so a broken download is seen
  // as broken rather than as a short file.
  const request = yield* HttpServerRequest.HttpServerRequest
  const body = object.stream.pipe(
    Stream.tapErrorCause(() => Effect.sync(() => NodeHttpServerRequest.toServerResponse(request).destroy()))
  )
  return HttpServerResponse.stream(body, { contentType: object.metadata.contentType })
}).pipe(Effect.catchAll(upstreamFailure))

/** The routes. */
export const router = HttpRouter.empty.pipe(
  HttpRouter.post("/files", upload),
  HttpRouter.get("/files/:key", download)
)

/** The backend served by the `HttpServer` in context, with its session; needs an `ObjectstoreClient`. */
export const HttpLive = HttpServer.serve(router).pipe(Layer.provide(SessionLive))
