/**
 * A session: its operations, one function each (put, head and delete here, get and getBytes in `sessionGet.ts`),
 * and the session object that ties them to the other modules (multipart, resumable, upload, many, URLs).
 *
 * @since 0.1.0
 * @internal
 */
import type * as HttpClientResponse from "@effect/platform/HttpClientResponse"
import * as Metadata from "@objectstore/protocol/Metadata"
import type * as ProtocolScope from "@objectstore/protocol/Scope"
import * as Clock from "effect/Clock"
import * as Context from "effect/Context"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Exit from "effect/Exit"
import type * as Body from "../Body.js"
import * as Compression from "../Compression.js"
import type * as Metrics from "../Metrics.js"
import { InvalidInputError } from "../ObjectstoreError.js"
import type { NetworkError, NotFoundError } from "../ObjectstoreError.js"
import * as Scope from "../Scope.js"
import type * as Session from "../SessionModel.js"
import type * as Usecase from "../Usecase.js"
import * as BodyInternal from "./body.js"
import * as EncodingUpload from "./encodingUpload.js"
import * as Errors from "./errors.js"
import * as ExtendExpiryInternal from "./extendExpiry.js"
import * as Http from "./http.js"
import * as Insert from "./insert.js"
import * as ManyInternal from "./many.js"
import * as MultipartInternal from "./multipart.js"
import * as MultipartUpload from "./multipartUpload.js"
import * as PresignInternal from "./presign.js"
import * as ResumableInternal from "./resumable.js"
import * as Env from "./sessionEnv.js"
import * as SessionGet from "./sessionGet.js"
import * as Spans from "./spans.js"
import * as UrlsInternal from "./urls.js"
import * as Validation from "./validation.js"

/**
 * Validates the usecase and scope and builds the session.
 *
 * @internal
 */
export const make = (
  context: Env.SessionContext,
  usecase: Usecase.Usecase,
  scope: Scope.Scope
): Effect.Effect<Session.Service, InvalidInputError> =>
  Effect.gen(function*() {
    yield* Validation.usecase(usecase.name)
    if (usecase.compression !== "zstd" && usecase.compression !== "none") {
      return yield* new InvalidInputError({
        field: "compression",
        reason: `unknown compression ${usecase.compression}`
      })
    }
    const components: ProtocolScope.Components = yield* Scope.toComponents(scope)
    const rendered = yield* Scope.render(scope)
    return makeSession({ context, usecase, components, scope: rendered })
  })

const put = (env: Env.Env, body: Body.Input<unknown, unknown>, options: Session.PutOptions | undefined) => {
  const given = options?.key === undefined || options.key === "" ? undefined : options.key
  const upload = putIn(env, body, options, given)
  return Spans.operation(
    "Session.put",
    env.context,
    "put",
    env.usecase.name,
    // A stream body peeled for `contentType: "guess"` lives in a scope as long as the upload. Nothing else in a put
    // uses the Scope (`EncodingUpload.peels` says when `resolve` does), and making and closing one costs about 7 us,
    // a tenth of a small put's client work: other bodies go without it.
    EncodingUpload.peels(body, options?.contentType)
      ? Effect.scoped(upload)
      : upload as Effect.Effect<Effect.Effect.Success<typeof upload>, Effect.Effect.Error<typeof upload>>,
    () => Env.attributes(env, given)
  )
}

/**
 * The upload of one put, in the `Scope` {@link put} gives it when it needs one. The checks that need no effect come
 * first, and the steps are chained without a generator: every Effect step is a cost on each small put.
 */
const putIn = (
  env: Env.Env,
  body: Body.Input<unknown, unknown>,
  options: Session.PutOptions | undefined,
  given: string | undefined
): Effect.Effect<string, unknown, unknown> => {
  const { context, usecase } = env
  let warning: string | undefined
  if (given !== undefined) {
    const checked = Validation.checkNewKey(given, context.nonPortableKeys)
    if (Either.isLeft(checked)) return Effect.fail(checked.left)
    warning = checked.right.warning
  }
  const chosen = Insert.compression(usecase, options)
  if (Either.isLeft(chosen)) return Effect.fail(chosen.left)
  const base = Env.spec(env, given === undefined ? "POST" : "PUT", "put", given)
  const target = { method: base.method, path: base.path }
  const upload = Effect.withFiberRuntime<string, unknown, unknown>((fiber) => {
    const resolving = EncodingUpload.resolve(body, {
      contentType: options?.contentType,
      compression: chosen.right,
      requested: options?.compression,
      encoding: options?.encoding
    })
    const resolved = (resolved: EncodingUpload.Resolved<unknown, unknown>): Effect.Effect<string, unknown, unknown> => {
      const headers = Insert.headers(usecase, options, resolved)
      if (Either.isLeft(headers)) return Effect.fail(headers.left)
      // A small body already in memory is compressed here, once, in one call (a zstd stream per body costs more
      // than the request); it is then sent, and replayed, as bytes with a length.
      const inMemory = resolved.compress ? BodyInternal.inMemory(resolved.body) : undefined
      const oneShot = inMemory !== undefined && inMemory.length <= BodyInternal.ONE_SHOT_LIMIT
      const send = (payload: Body.Input<unknown, unknown>) => {
        const upload = BodyInternal.prepare(payload, {
          compression: resolved.compress && !oneShot ? "zstd" : "none",
          compress: context.compression.compress,
          context: fiber.currentContext as Context.Context<unknown>,
          contentType: headers.right[Metadata.CONTENT_TYPE] ?? Metadata.DEFAULT_CONTENT_TYPE
        })
        let counts: () => BodyInternal.Counts = upload.ready?.counts ?? (() => ({ raw: 0, sent: 0 }))
        const clock = Context.get(fiber.currentDefaultServices, Clock.Clock)
        const start = clock.unsafeCurrentTimeMillis()
        const sent = Http.executeAndRead(
          context,
          {
            ...base,
            headers: headers.right,
            replayable: upload.replayable,
            body: upload.ready !== undefined
              ? upload.ready.prepared
              : Effect.map(upload.attempt, (attempt) => {
                counts = attempt.counts
                return attempt.prepared
              })
          },
          (response): Effect.Effect<string, Http.AttemptError<never>> =>
            response.status === 200 || response.status === 201
              ? readKey(response, target)
              : Http.failStatus(response)
        )
        return Effect.flatMap(sent, (key) => {
          if (given === undefined) Spans.annotateSpan(fiber.currentSpan, { "objectstore.key": key })
          const { raw, sent } = counts()
          const sizes: Metrics.Sizes = {
            bytes: sent,
            compression: resolved.compression,
            uncompressedBytes: oneShot ? inMemory.length : resolved.compress ? raw : undefined,
            elapsed: Duration.millis(clock.unsafeCurrentTimeMillis() - start)
          }
          const recording = Spans.recordSizeOn(context.metrics, fiber, "put", usecase.name, sizes)
          return recording === undefined ? Effect.succeed(key) : Effect.as(recording, key)
        })
      }
      return oneShot
        ? Effect.flatMap(Compression.compressBytes(context.compression, inMemory), send)
        : send(resolved.body)
    }
    // Resolved at once unless a body must be read to guess its type.
    return !Either.isEither(resolving)
      ? Effect.flatMap(resolving, resolved)
      : Either.isLeft(resolving)
      ? Effect.fail(resolving.left)
      : resolved(resolving.right)
  })
  return warning === undefined ? upload : Effect.zipRight(Validation.warnNonPortable(warning), upload)
}

const readKey = (
  response: HttpClientResponse.HttpClientResponse,
  target: { readonly method: string; readonly path: string }
): Effect.Effect<string, Errors.Failure<NetworkError>> => {
  const keyOf = (json: unknown): Effect.Effect<string, Errors.Failure<NetworkError>> =>
    Either.match(Validation.keyAnswer(json), {
      onLeft: (reason) => Effect.fail(Errors.failure(Errors.decode(target, `insert response: ${reason}`))),
      onRight: Effect.succeed
    })
  const json = response.json
  // A body read whole is parsed at once.
  const known = Http.settled(json)
  return known !== undefined && Exit.isSuccess(known) ? keyOf(known.value) : Effect.matchEffect(json, {
    onFailure: (error) => Effect.fail(Errors.fromHttpClientError(error, target)),
    onSuccess: keyOf
  })
}

const head = (env: Env.Env, key: string): Effect.Effect<Session.ObjectMetadata, Session.GetError> => {
  const checked = Validation.key(key)
  return Spans.operation(
    "Session.head",
    env.context,
    "head",
    env.usecase.name,
    Either.isLeft(checked)
      ? Effect.fail<Session.GetError>(checked.left)
      : Http.executeAndRead(env.context, Env.spec(env, "HEAD", "head", key), (response): Effect.Effect<
        Session.ObjectMetadata,
        Http.AttemptError<NotFoundError>
      > => {
        if (response.status === 204 || response.status === 200) {
          return Http.drained(response, Env.toObjectMetadata(response))
        }
        if (response.status === 404) {
          return Effect.zipRight(Http.drain(response), Effect.fail(Errors.failure(Env.notFound(env, key))))
        }
        return Http.failStatus(response)
      }),
    () => Env.attributes(env, key)
  )
}

const del = (env: Env.Env, key: string): Effect.Effect<void, Session.DeleteError> => {
  const checked = Validation.key(key)
  return Spans.operation(
    "Session.delete",
    env.context,
    "delete",
    env.usecase.name,
    Either.isLeft(checked)
      ? Effect.fail<Session.DeleteError>(checked.left)
      : Http.executeAndRead(env.context, Env.spec(env, "DELETE", "delete", key), (response): Effect.Effect<
        void,
        Http.AttemptError<never>
      > => {
        if (response.status === 204 || response.status === 200 || response.status === 404) {
          return Http.drain(response)
        }
        return Http.failStatus(response)
      }),
    () => Env.attributes(env, key)
  )
}

/** `session.upload`: the automatic upload in a span of its own, with its requests (parts, chunks, put) under it. */
const upload = (
  env: Env.Env,
  multipart: Session.Service["multipart"],
  resumable: Session.Service["resumable"]
): Session.Service["upload"] => {
  const run = MultipartUpload.make({
    usecase: env.usecase,
    multipart,
    resumable,
    compression: env.context.compression,
    files: env.context,
    put: (body, options) => put(env, body as Body.Input<unknown, unknown>, options)
  })
  return (source, options) =>
    Spans.traced("Session.upload", run(source, options), {
      kind: "internal",
      propagateTraces: env.context.propagateTraces,
      attributes: {
        "objectstore.usecase": env.usecase.name,
        "objectstore.scope": env.scope,
        ...(options?.key === undefined || options.key === "" ? {} : { "objectstore.key": options.key })
      }
    })
}

const makeSession = (env: Env.Env): Session.Service => {
  const { components, context, scope, usecase } = env
  const urlContext: UrlsInternal.UrlContext = {
    origin: context.origin,
    basePath: context.basePath,
    usecase: usecase.name,
    scope,
    components,
    auth: context.auth
  }
  const multipart = MultipartInternal.make({ context, usecase, components, scope })
  const resumable = ResumableInternal.make({ context, usecase, components, scope })
  return {
    usecase,
    components,
    scope,
    put: <E, R>(body: Body.Input<E, R>, options?: Session.PutOptions) =>
      put(env, body as Body.Input<unknown, unknown>, options) as unknown as Effect.Effect<
        string,
        E | Session.PutError,
        R
      >,
    get: (key, options) => SessionGet.get(env, key, options),
    getBytes: (key, options) => SessionGet.getBytes(env, key, options),
    getText: (key, options) =>
      Effect.map(SessionGet.getBytes(env, key, options), (bytes) => new TextDecoder().decode(bytes)),
    head: (key) => head(env, key),
    delete: (key) => del(env, key),
    extendExpiry: ExtendExpiryInternal.make({ context, usecase, components, scope }),
    resumable,
    multipart,
    upload: upload(env, multipart, resumable),
    objectUrl: (key, options) => UrlsInternal.objectUrl(urlContext, key, options),
    presignedUrl: (method, key, duration) =>
      Effect.map(PresignInternal.presignedUrl(urlContext, method, key, duration), (signed) => signed.url),
    mintToken: (options) =>
      UrlsInternal.mintToken(context.auth, {
        usecase: usecase.name,
        components,
        permissions: options?.permissions,
        expiry: options?.expiry
      }),
    many: ManyInternal.make({
      context,
      usecase,
      components,
      scope,
      put: (body, options) => put(env, body as Body.Input<unknown, unknown>, options) as Effect.Effect<string, never>,
      toObjectMetadata: Env.toObjectMetadata
    })
  }
}
