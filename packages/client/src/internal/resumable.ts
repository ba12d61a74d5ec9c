/**
 * The manual resumable upload API (PROTOCOL §22): create, chunk, offset query, cancel, resume.
 *
 * @since 0.1.0
 * @internal
 */
import type * as HttpClientResponse from "@effect/platform/HttpClientResponse"
import type * as HttpMethod from "@effect/platform/HttpMethod"
import * as Path from "@objectstore/protocol/Path"
import * as ResumableProtocol from "@objectstore/protocol/Resumable"
import type * as ProtocolScope from "@objectstore/protocol/Scope"
import * as Clock from "effect/Clock"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Schema from "effect/Schema"
import { NotSupportedError, ResumableOffsetError, ResumableSessionGoneError } from "../ObjectstoreError.js"
import type { NetworkError } from "../ObjectstoreError.js"
import type * as Resumable from "../Resumable.js"
import type * as Usecase from "../Usecase.js"
import * as Errors from "./errors.js"
import * as Http from "./http.js"
import * as Insert from "./insert.js"
import * as SizedBody from "./sizedBody.js"
import * as Spans from "./spans.js"
import * as Validation from "./validation.js"

/** @internal */
export interface Deps {
  readonly context: Http.ClientContext
  readonly usecase: Usecase.Usecase
  readonly components: ProtocolScope.Components
  readonly scope: string
}

const { invalid } = Validation

const Session = Schema.String.pipe(Schema.pattern(/^[A-Za-z0-9_-]+$/, { identifier: "Session" }))
const decodeCreate = Validation.decodeAnswer(Schema.Struct({ key: Schema.NonEmptyString, session: Session }))

type Target = { readonly method: string; readonly path: string }

const readJson = (response: HttpClientResponse.HttpClientResponse, target: Target) =>
  Effect.mapError(response.json, (error) => Errors.fromHttpClientError(error, target))

/** A response body's `detail` and `causes`, for errors (bounded by the server's answers being small). */
const detailOf = (response: HttpClientResponse.HttpClientResponse) =>
  Effect.map(Effect.orElseSucceed(response.text, () => ""), Errors.serverDetail)

/**
 * The answers every session request shares: 201 (committed), 204 (pending, with `Upload-Offset`), 404/410 (gone),
 * 501 (not supported); anything else is the usual status mapping.
 *
 * @internal
 */
const status = (
  key: string,
  operation: string,
  target: Target,
  response: HttpClientResponse.HttpClientResponse,
  sent: number | undefined
): Effect.Effect<
  Resumable.Status,
  Http.AttemptError<ResumableSessionGoneError | NotSupportedError | ResumableOffsetError>
> => {
  switch (response.status) {
    case 201:
    case 200:
      return Effect.flatMap(
        readJson(response, target),
        (json) =>
          Either.match(Validation.keyAnswer(json), {
            onLeft: (reason) =>
              Effect.fail(Errors.failure(Errors.decode(target, `a committed upload's answer: ${reason}`))),
            onRight: (key) => Effect.succeed<Resumable.Status>({ _tag: "Complete", key })
          })
      )
    case 204: {
      const offset = ResumableProtocol.parseOffset(response.headers[ResumableProtocol.UPLOAD_OFFSET] ?? "")
      return Effect.zipRight(
        Http.drain(response),
        Either.isRight(offset) && offset.right._tag === "At"
          ? Effect.succeed<Resumable.Status>({ _tag: "Pending", offset: offset.right.offset })
          : Effect.fail(Errors.failure(Errors.decode(target, "a 204 answer without a valid Upload-Offset")))
      )
    }
    case 409: {
      const offset = ResumableProtocol.parseOffset(response.headers[ResumableProtocol.UPLOAD_OFFSET] ?? "")
      if (sent === undefined || Either.isLeft(offset) || offset.right._tag !== "At") return Http.failStatus(response)
      const authoritative = offset.right.offset
      return Effect.zipRight(
        Http.drain(response),
        Effect.fail(Errors.failure(new ResumableOffsetError({ key, offset: authoritative, sent })))
      )
    }
    case 404:
    case 410:
      return Effect.flatMap(
        detailOf(response),
        (fields) =>
          Effect.fail(Errors.failure(new ResumableSessionGoneError({ key, status: response.status, ...fields })))
      )
    case 501:
      return Effect.flatMap(
        detailOf(response),
        (fields) => Effect.fail(Errors.failure(new NotSupportedError({ operation, ...fields })))
      )
    default:
      return Http.failStatus(response)
  }
}

/**
 * The `session.resumable` service.
 *
 * @internal
 */
export const make = (deps: Deps): Resumable.Service => {
  const { components, context, scope, usecase } = deps
  const { metrics } = context

  const basePath = (key: string | undefined) =>
    Path.objectPath({ basePath: context.basePath, resource: "objects", usecase: usecase.name, scope, key })

  const spec = (
    operation: Http.RequestSpec["operation"],
    method: HttpMethod.HttpMethod,
    requestPath: string,
    extra: Partial<Http.RequestSpec> = {}
  ): Http.RequestSpec => ({
    operation,
    usecase: usecase.name,
    scope: components,
    method,
    path: requestPath,
    replayable: true,
    idempotent: true,
    ...extra
  })

  const annotate = (key: string | undefined) =>
    Spans.annotate({
      "objectstore.usecase": usecase.name,
      "objectstore.scope": scope,
      ...(key === undefined ? {} : { "objectstore.key": key })
    })

  const handle = (key: string, session: string): Resumable.Upload => {
    const sessionPath = `${basePath(key)}?${ResumableProtocol.SESSION}=${session}`

    const put = (
      offset: number,
      body: Resumable.ChunkBody<unknown, unknown>,
      options: { readonly contentLength?: number | undefined } | undefined
    ) =>
      Spans.operation(
        "Resumable.put",
        context,
        "resumable.put",
        usecase.name,
        Effect.gen(function*() {
          yield* annotate(key)
          yield* Spans.annotate({ "objectstore.offset": offset })
          if (!Number.isSafeInteger(offset) || offset < 0) {
            return yield* invalid("offset", `must be a non-negative integer, got ${offset}`)
          }
          const callerContext = yield* Effect.context<unknown>()
          const { length, prepare, replayable } = yield* SizedBody.make(
            body,
            options?.contentLength,
            callerContext,
            context.transport === undefined
          )
          const start = yield* Clock.currentTimeMillis
          const target = { method: "PUT", path: sessionPath }
          const answer = yield* Http.executeAndRead(
            context,
            // a repeated chunk after a lost answer is a 409, not a harm, but the answer to it says nothing useful:
            // only requests that certainly did not arrive are repeated; callers re-synchronise with `offset()`
            spec("resumable.put", "PUT", sessionPath, {
              headers: { [ResumableProtocol.UPLOAD_OFFSET]: String(offset) },
              replayable,
              idempotent: false,
              body: prepare
            }),
            (response) => status(key, "resumable upload", target, response, offset)
          )
          const end = yield* Clock.currentTimeMillis
          yield* metrics.recordSize("resumable.put", usecase.name, {
            bytes: length,
            elapsed: Duration.millis(end - start)
          })
          return answer
        })
      )

    const offset = () =>
      Effect.gen(function*() {
        yield* annotate(key)
        const target = { method: "PUT", path: sessionPath }
        return yield* Http.executeAndRead(
          context,
          spec("resumable.offset", "PUT", sessionPath, { headers: { [ResumableProtocol.UPLOAD_OFFSET]: "*" } }),
          (response) => status(key, "resumable upload", target, response, undefined)
        )
      }).pipe(
        (effect) => Spans.traced("Resumable.offset", effect, { propagateTraces: context.propagateTraces }),
        (effect) => metrics.track("resumable.offset", usecase.name, effect)
      ) as Effect.Effect<Resumable.Status, Resumable.RequestError>

    const cancel = () =>
      Effect.gen(function*() {
        yield* annotate(key)
        const target = { method: "DELETE", path: sessionPath }
        yield* Http.executeAndRead(
          context,
          spec("resumable.cancel", "DELETE", sessionPath),
          (response) =>
            response.status === 204 || response.status === 200
              ? Http.drain(response)
              : Effect.asVoid(status(key, "resumable upload", target, response, undefined))
        )
      }).pipe(
        (effect) => Spans.traced("Resumable.cancel", effect, { propagateTraces: context.propagateTraces }),
        (effect) => metrics.track("resumable.cancel", usecase.name, effect)
      ) as Effect.Effect<void, Resumable.RequestError>

    return {
      key,
      session,
      put: <E, R>(
        at: number,
        body: Resumable.ChunkBody<E, R>,
        options?: { readonly contentLength?: number | undefined }
      ) =>
        put(at, body as Resumable.ChunkBody<unknown, unknown>, options) as unknown as Effect.Effect<
          Resumable.Status,
          E | Resumable.PutError,
          R
        >,
      offset,
      cancel
    }
  }

  const create = (options: Resumable.CreateOptions) =>
    Spans.operation(
      "Resumable.create",
      context,
      "resumable.create",
      usecase.name,
      Effect.gen(function*() {
        const given = options.key === undefined || options.key === "" ? undefined : options.key
        yield* annotate(given)
        if (given !== undefined) yield* Validation.newKey(given, context.nonPortableKeys)
        if (!Number.isSafeInteger(options.length) || options.length < 0) {
          return yield* invalid("length", `must be a non-negative integer, got ${options.length}`)
        }
        const chosen = yield* Insert.compression(usecase, options)
        const headers = yield* Insert.headers(usecase, options, {
          contentType: options.contentType,
          compression: options.encoding === "zstd" ? "zstd" : chosen
        })
        headers[ResumableProtocol.UPLOAD_LENGTH] = String(options.length)
        const requestPath = `${basePath(given)}?${ResumableProtocol.UPLOAD_TYPE}=resumable`
        const target = { method: given === undefined ? "POST" : "PUT", path: requestPath }
        const created = yield* Http.executeAndRead(
          context,
          // never repeat a processed create: each one makes a session
          spec("resumable.create", given === undefined ? "POST" : "PUT", requestPath, { headers, idempotent: false }),
          (response): Effect.Effect<
            { readonly key: string; readonly session: string },
            Http.AttemptError<NotSupportedError | NetworkError>
          > => {
            if (response.status === 501) {
              return Effect.flatMap(
                detailOf(response),
                (fields) =>
                  Effect.fail(Errors.failure(new NotSupportedError({ operation: "resumable upload", ...fields })))
              )
            }
            if (response.status !== 200 && response.status !== 201) return Http.failStatus(response)
            return Effect.flatMap(
              readJson(response, target),
              (json) =>
                Either.match(decodeCreate(json), {
                  onLeft: (reason) => Effect.fail(Errors.failure(Errors.decode(target, `a create answer: ${reason}`))),
                  onRight: Effect.succeed
                })
            )
          }
        )
        yield* annotate(created.key)
        return handle(created.key, created.session)
      })
    )

  return {
    create: (options) => create(options),
    resume: (key, session) =>
      Effect.gen(function*() {
        yield* Validation.key(key)
        if (!Schema.is(Session)(session)) {
          return yield* invalid("session", "must be the session text the server answered (unpadded base64url)")
        }
        return handle(key, session)
      })
  }
}
