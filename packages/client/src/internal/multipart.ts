/**
 * The manual multipart API (PROTOCOL §11): initiate, put part, list parts (paged and followed), complete (with the
 * error-in-200 answer), abort, resume.
 *
 * @since 0.1.0
 * @internal
 */
import * as HttpBody from "@effect/platform/HttpBody"
import type * as HttpClientResponse from "@effect/platform/HttpClientResponse"
import type * as HttpMethod from "@effect/platform/HttpMethod"
import * as Path from "@objectstore/protocol/Path"
import type * as ProtocolScope from "@objectstore/protocol/Scope"
import * as Clock from "effect/Clock"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Schema from "effect/Schema"
import type * as Multipart from "../Multipart.js"
import { MultipartCompleteError } from "../ObjectstoreError.js"
import type { InvalidInputError, NetworkError } from "../ObjectstoreError.js"
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

const MAX_PART_NUMBER = 4_294_967_295

const { invalid } = Validation

const validateRef = (ref: Multipart.UploadRef): Effect.Effect<void, InvalidInputError> =>
  Effect.gen(function*() {
    yield* Validation.key(ref.key)
    if (typeof ref.uploadId !== "string" || ref.uploadId === "") {
      return yield* invalid("uploadId", "must be a non-empty string")
    }
  })

const base64Md5 = (md5: Uint8Array | string): Effect.Effect<string, InvalidInputError> =>
  Effect.suspend(() => {
    if (typeof md5 === "string") {
      const text = md5.trim()
      const valid = /^[A-Za-z0-9+/]{22}==$/.test(text)
      return valid ? Effect.succeed(text) : Effect.fail(invalid("contentMd5", "must be the base64 of 16 bytes"))
    }
    if (md5.length !== 16) return Effect.fail(invalid("contentMd5", `must be 16 bytes, got ${md5.length}`))
    let binary = ""
    for (const byte of md5) binary += String.fromCharCode(byte)
    return Effect.succeed(btoa(binary))
  })

const readJson = (
  response: HttpClientResponse.HttpClientResponse,
  target: { readonly method: string; readonly path: string }
): Effect.Effect<unknown, Errors.Failure<NetworkError>> =>
  Effect.mapError(response.json, (error) => Errors.fromHttpClientError(error, target))

const decodeEtag = Validation.decodeAnswer(Schema.Struct({ etag: Schema.String }))
const decodeInitiate = Validation.decodeAnswer(
  Schema.Struct({ key: Schema.NonEmptyString, upload_id: Schema.NonEmptyString })
)
const decodeComplete = Validation.decodeJson(Schema.Union(
  Schema.Struct({
    error: Schema.Struct({ code: Schema.optional(Schema.Unknown), message: Schema.optional(Schema.Unknown) })
  }),
  Schema.Struct({ key: Schema.NonEmptyString })
))
const decodeList = Validation.decodeAnswer(Schema.Struct({
  parts: Schema.Array(Schema.Struct({
    part_number: Schema.Number,
    etag: Schema.String,
    size: Schema.Number,
    last_modified: Schema.optional(Schema.NullOr(Schema.String))
  })),
  is_truncated: Schema.Boolean,
  next_part_number_marker: Schema.optional(Schema.NullOr(Schema.Number))
}))

/**
 * Parses a complete answer body (§11.5): whitespace around one JSON document, either `{"key"}` or
 * `{"error":{"code","message"}}`.
 *
 * @internal
 */
export const parseCompleteBody = (
  text: string,
  key: string
): Either.Either<string, MultipartCompleteError | string> =>
  Either.match(decodeComplete(text), {
    onLeft: (reason) =>
      Either.left(
        `the complete answer is not {"key"} or {"error"}: ${reason}; got ${Errors.truncate(text.trim(), 200)}`
      ),
    onRight: (answer) => {
      if ("key" in answer) return Either.right(answer.key)
      const { code, message } = answer.error
      return Either.left(
        new MultipartCompleteError({
          code: typeof code === "string" ? code : "unknown",
          message: typeof message === "string" ? message : JSON.stringify(answer.error),
          key
        })
      )
    }
  })

/**
 * The `session.multipart` service.
 *
 * @internal
 */
export const make = (deps: Deps): Multipart.Service => {
  const { components, context, scope, usecase } = deps
  const { metrics } = context

  const path = (resource: Path.Resource, key: string | undefined, query?: Record<string, string | number>) => {
    const encoded = Path.objectPath({ basePath: context.basePath, resource, usecase: usecase.name, scope, key })
    if (query === undefined) return encoded
    const params = Object.entries(query).map(([name, value]) => `${name}=${encodeURIComponent(String(value))}`)
    return `${encoded}?${params.join("&")}`
  }

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
    idempotent: method !== "POST",
    ...extra
  })

  const annotate = (key: string | undefined, uploadId?: string) =>
    Spans.annotate({
      "objectstore.usecase": usecase.name,
      "objectstore.scope": scope,
      ...(key === undefined ? {} : { "objectstore.key": key }),
      ...(uploadId === undefined ? {} : { "objectstore.upload_id": uploadId })
    })

  const handle = (ref: Multipart.UploadRef): Multipart.Upload => {
    const { key, uploadId } = ref

    const putPart = (
      partNumber: number,
      body: Multipart.PartBody<unknown, unknown>,
      options: Multipart.PutPartOptions | undefined
    ) =>
      Spans.operation(
        "Multipart.putPart",
        context,
        "multipart.put_part",
        usecase.name,
        Effect.gen(function*() {
          yield* annotate(key, uploadId)
          yield* Spans.annotate({ "objectstore.part_number": partNumber })
          if (!Number.isSafeInteger(partNumber) || partNumber < 1 || partNumber > MAX_PART_NUMBER) {
            return yield* invalid("partNumber", `must be an integer from 1 to ${MAX_PART_NUMBER}, got ${partNumber}`)
          }
          const headers: Record<string, string> = {}
          if (options?.contentMd5 !== undefined) headers["content-md5"] = yield* base64Md5(options.contentMd5)
          const callerContext = yield* Effect.context<unknown>()
          const { length, prepare, replayable } = yield* SizedBody.make(
            body,
            options?.contentLength,
            callerContext,
            context.transport === undefined
          )
          const start = yield* Clock.currentTimeMillis
          const requestPath = path("objects:multipart:parts", key, { upload_id: uploadId, part_number: partNumber })
          const target = { method: "PUT", path: requestPath }
          const etag = yield* Effect.scoped(Http.execute(
            context,
            spec("multipart.put_part", "PUT", requestPath, { headers, replayable, body: prepare }),
            (response): Effect.Effect<string, Http.AttemptError<never>> =>
              response.status === 200
                ? Effect.flatMap(readJson(response, target), (json) =>
                  Either.match(decodeEtag(json), {
                    onLeft: (reason) => Effect.fail(Errors.failure(Errors.decode(target, `part answer: ${reason}`))),
                    onRight: (answer) => Effect.succeed(answer.etag)
                  }))
                : Http.failStatus(response)
          ))
          const end = yield* Clock.currentTimeMillis
          yield* metrics.recordSize("multipart.put_part", usecase.name, {
            bytes: length,
            elapsed: Duration.millis(end - start)
          })
          return { partNumber, etag } satisfies Multipart.Part
        })
      )

    const listPartsPage = (
      options?: { readonly maxParts?: number | undefined; readonly partNumberMarker?: number | undefined }
    ) =>
      Spans.operation(
        "Multipart.listPartsPage",
        context,
        "multipart.list_parts",
        usecase.name,
        Effect.gen(function*() {
          yield* annotate(key, uploadId)
          const query: Record<string, string | number> = { upload_id: uploadId }
          if (options?.maxParts !== undefined) {
            if (!Number.isSafeInteger(options.maxParts) || options.maxParts < 1) {
              return yield* invalid("maxParts", "must be a positive integer")
            }
            query["max_parts"] = options.maxParts
          }
          if (options?.partNumberMarker !== undefined) {
            if (!Number.isSafeInteger(options.partNumberMarker) || options.partNumberMarker < 1) {
              return yield* invalid("partNumberMarker", "must be a positive integer")
            }
            query["part_number_marker"] = options.partNumberMarker
          }
          const requestPath = path("objects:multipart:parts", key, query)
          const target = { method: "GET", path: requestPath }
          return yield* Effect.scoped(Http.execute(
            context,
            spec("multipart.list_parts", "GET", requestPath),
            (response): Effect.Effect<Multipart.PartsPage, Http.AttemptError<never>> =>
              response.status === 200
                ? Effect.flatMap(readJson(response, target), (json) => {
                  const page = decodePage(json)
                  return Either.isRight(page)
                    ? Effect.succeed(page.right)
                    : Effect.fail(Errors.failure(Errors.decode(target, page.left)))
                })
                : Http.failStatus(response)
          ))
        })
      )

    const listParts = Effect.gen(function*() {
      const parts: Array<Multipart.ListedPart> = []
      let marker: number | undefined
      for (;;) {
        const page = yield* listPartsPage(marker === undefined ? undefined : { partNumberMarker: marker })
        parts.push(...page.parts)
        if (!page.isTruncated) return parts
        if (page.nextPartNumberMarker === undefined || (marker !== undefined && page.nextPartNumberMarker <= marker)) {
          return yield* Errors.decode(
            { method: "GET", path: path("objects:multipart:parts", key) },
            "malformed response: a truncated list of parts without a next marker"
          )
        }
        marker = page.nextPartNumberMarker
      }
    }).pipe((effect) => Spans.traced("Multipart.listParts", effect, { propagateTraces: context.propagateTraces }))

    const complete = (parts: ReadonlyArray<Multipart.Part>) =>
      Spans.operation(
        "Multipart.complete",
        context,
        "multipart.complete",
        usecase.name,
        Effect.gen(function*() {
          yield* annotate(key, uploadId)
          for (const part of parts) {
            if (!Number.isSafeInteger(part.partNumber) || part.partNumber < 1 || part.partNumber > MAX_PART_NUMBER) {
              return yield* invalid("parts", `part number ${part.partNumber} is out of range`)
            }
            if (typeof part.etag !== "string") return yield* invalid("parts", `part ${part.partNumber} has no etag`)
          }
          const sorted = [...parts].sort((a, b) => a.partNumber - b.partNumber)
          const payload = JSON.stringify({
            parts: sorted.map((part) => ({ part_number: part.partNumber, etag: part.etag }))
          })
          const requestPath = path("objects:multipart:complete", key, { upload_id: uploadId })
          const target = { method: "POST", path: requestPath }
          const outcome = yield* Effect.scoped(Http.execute(
            context,
            spec("multipart.complete", "POST", requestPath, {
              body: Effect.succeed({ body: HttpBody.text(payload, "application/json") })
            }),
            (response): Effect.Effect<Either.Either<string, MultipartCompleteError>, Http.AttemptError<never>> =>
              response.status === 200
                ? Effect.flatMap(
                  Effect.mapError(response.text, (error) => Errors.fromHttpClientError(error, target)),
                  (text): Effect.Effect<
                    Either.Either<string, MultipartCompleteError>,
                    Errors.Failure<NetworkError>
                  > => {
                    const parsed = parseCompleteBody(text, key)
                    if (Either.isRight(parsed)) return Effect.succeed(Either.right(parsed.right))
                    return typeof parsed.left === "string"
                      ? Effect.fail(Errors.failure(Errors.decode(target, parsed.left)))
                      : Effect.succeed(Either.left(parsed.left))
                  }
                )
                : Http.failStatus(response)
          ))
          if (Either.isLeft(outcome)) return yield* outcome.left
          return outcome.right
        })
      )

    const abort = Effect.gen(function*() {
      yield* annotate(key, uploadId)
      const requestPath = path("objects:multipart", key, { upload_id: uploadId })
      yield* Effect.scoped(Http.execute(
        context,
        spec("multipart.abort", "DELETE", requestPath),
        (response): Effect.Effect<void, Http.AttemptError<never>> =>
          response.status === 204 || response.status === 200 ? Http.drain(response) : Http.failStatus(response)
      ))
    }).pipe(
      (effect) => Spans.traced("Multipart.abort", effect, { propagateTraces: context.propagateTraces }),
      (effect) => metrics.track("multipart.abort", usecase.name, effect)
    )

    return {
      key,
      uploadId,
      putPart: <E, R>(partNumber: number, body: Multipart.PartBody<E, R>, options?: Multipart.PutPartOptions) =>
        putPart(partNumber, body as Multipart.PartBody<unknown, unknown>, options) as unknown as Effect.Effect<
          Multipart.Part,
          E | Multipart.RequestError,
          R
        >,
      listParts,
      listPartsPage: (options) => listPartsPage(options),
      complete: (parts) => complete(parts),
      abort
    }
  }

  const initiate = (options: Multipart.InitiateOptions | undefined) =>
    Spans.operation(
      "Multipart.initiate",
      context,
      "multipart.initiate",
      usecase.name,
      Effect.gen(function*() {
        const given = options?.key === undefined || options.key === "" ? undefined : options.key
        yield* annotate(given)
        if (given !== undefined) yield* Validation.newKey(given, context.nonPortableKeys)
        const chosen = yield* Insert.compression(usecase, options)
        const headers = yield* Insert.headers(usecase, options, {
          contentType: options?.contentType,
          compression: chosen
        })
        const requestPath = path("objects:multipart", given)
        const target = { method: given === undefined ? "POST" : "PUT", path: requestPath }
        const ref = yield* Effect.scoped(Http.execute(
          context,
          // never repeat a processed initiation: each one creates an upload
          spec("multipart.initiate", given === undefined ? "POST" : "PUT", requestPath, {
            headers,
            idempotent: false
          }),
          (response): Effect.Effect<Multipart.UploadRef, Http.AttemptError<never>> =>
            response.status === 200 || response.status === 201
              ? Effect.flatMap(
                readJson(response, target),
                (json) =>
                  Either.match(decodeInitiate(json), {
                    onLeft: (reason) =>
                      Effect.fail(Errors.failure(Errors.decode(target, `initiate answer: ${reason}`))),
                    onRight: (answer) => Effect.succeed({ key: answer.key, uploadId: answer.upload_id })
                  })
              )
              : Http.failStatus(response)
        ))
        yield* annotate(ref.key, ref.uploadId)
        return handle(ref)
      })
    )

  return {
    initiate: (options) => initiate(options),
    resume: (ref) => Effect.as(validateRef(ref), handle({ key: ref.key, uploadId: ref.uploadId }))
  }
}

const decodePage = (json: unknown): Either.Either<Multipart.PartsPage, string> =>
  Either.map(decodeList(json), (answer) => ({
    parts: answer.parts.map((part) => ({
      partNumber: part.part_number,
      etag: part.etag,
      size: part.size,
      lastModified: part.last_modified ?? ""
    })),
    isTruncated: answer.is_truncated,
    nextPartNumberMarker: answer.is_truncated ? answer.next_part_number_marker ?? undefined : undefined
  }))
