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
import * as Identifiers from "@objectstore/protocol/Identifiers"
import * as Path from "@objectstore/protocol/Path"
import type * as ProtocolScope from "@objectstore/protocol/Scope"
import * as Clock from "effect/Clock"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import type * as Multipart from "../Multipart.js"
import { InvalidInputError, MultipartCompleteError } from "../ObjectstoreError.js"
import type { NetworkError } from "../ObjectstoreError.js"
import type * as Usecase from "../Usecase.js"
import * as Errors from "./errors.js"
import * as Http from "./http.js"
import * as Insert from "./insert.js"
import * as SizedBody from "./sizedBody.js"

/** @internal */
export interface Deps {
  readonly context: Http.ClientContext
  readonly usecase: Usecase.Usecase
  readonly components: ProtocolScope.Components
  readonly scope: string
}

const MAX_PART_NUMBER = 4_294_967_295

const invalid = (field: string, reason: string) => new InvalidInputError({ field, reason })

const validateKey = (key: string): Effect.Effect<string, InvalidInputError> =>
  Either.match(Identifiers.validateKey(key), {
    onLeft: (reason) => Effect.fail(invalid("key", reason)),
    onRight: Effect.succeed
  })

const validateRef = (ref: Multipart.UploadRef): Effect.Effect<void, InvalidInputError> =>
  Effect.gen(function*() {
    yield* validateKey(ref.key)
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

const isRecord = (u: unknown): u is Record<string, unknown> => typeof u === "object" && u !== null && !Array.isArray(u)

/**
 * Parses a complete answer body (§11.5): whitespace around one JSON document, either `{"key"}` or
 * `{"error":{"code","message"}}`.
 *
 * @internal
 */
export const parseCompleteBody = (
  text: string,
  key: string
): Either.Either<string, MultipartCompleteError | string> => {
  let json: unknown
  try {
    json = JSON.parse(text.trim())
  } catch {
    return Either.left(`the complete answer is not JSON: ${Errors.truncate(text.trim(), 200)}`)
  }
  if (isRecord(json) && isRecord(json.error)) {
    const code = typeof json.error.code === "string" ? json.error.code : "unknown"
    const message = typeof json.error.message === "string" ? json.error.message : JSON.stringify(json.error)
    return Either.left(new MultipartCompleteError({ code, message, key }))
  }
  if (isRecord(json) && typeof json.key === "string" && json.key !== "") return Either.right(json.key)
  return Either.left("the complete answer has neither a key nor an error")
}

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
    Effect.annotateCurrentSpan({
      "objectstore.usecase": usecase.name,
      "objectstore.scope": scope,
      ...(key === undefined ? {} : { "objectstore.key": key }),
      ...(uploadId === undefined ? {} : { "objectstore.upload_id": uploadId })
    })

  const handle = (ref: Multipart.UploadRef): Multipart.Upload => {
    const { key, uploadId } = ref

    const putPart = Effect.fn("Multipart.putPart")(
      function*(
        partNumber: number,
        body: Multipart.PartBody<unknown, unknown>,
        options: Multipart.PutPartOptions | undefined
      ) {
        yield* annotate(key, uploadId)
        yield* Effect.annotateCurrentSpan("objectstore.part_number", partNumber)
        if (!Number.isSafeInteger(partNumber) || partNumber < 1 || partNumber > MAX_PART_NUMBER) {
          return yield* invalid("partNumber", `must be an integer from 1 to ${MAX_PART_NUMBER}, got ${partNumber}`)
        }
        const headers: Record<string, string> = {}
        if (options?.contentMd5 !== undefined) headers["content-md5"] = yield* base64Md5(options.contentMd5)
        const callerContext = yield* Effect.context<unknown>()
        const { length, prepare, replayable } = yield* SizedBody.make(body, options?.contentLength, callerContext)
        const start = yield* Clock.currentTimeMillis
        const requestPath = path("objects:multipart:parts", key, { upload_id: uploadId, part_number: partNumber })
        const target = { method: "PUT", path: requestPath }
        const etag = yield* Effect.scoped(Http.execute(
          context,
          spec("multipart.put_part", "PUT", requestPath, { headers, replayable, body: prepare }),
          (response): Effect.Effect<string, Http.AttemptError<never>> =>
            response.status === 200
              ? Effect.flatMap(readJson(response, target), (json) =>
                isRecord(json) && typeof json.etag === "string"
                  ? Effect.succeed(json.etag)
                  : Effect.fail(Errors.failure(Errors.decode(target, "part answer without an etag"))))
              : Http.failStatus(response)
        ))
        const end = yield* Clock.currentTimeMillis
        yield* metrics.recordSize("multipart.put_part", usecase.name, {
          bytes: length,
          elapsed: Duration.millis(end - start)
        })
        return { partNumber, etag } satisfies Multipart.Part
      },
      (effect) => metrics.track("multipart.put_part", usecase.name, effect)
    )

    const listPartsPage = Effect.fn("Multipart.listPartsPage")(
      function*(options?: { readonly maxParts?: number | undefined; readonly partNumberMarker?: number | undefined }) {
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
      },
      (effect) => metrics.track("multipart.list_parts", usecase.name, effect)
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
    }).pipe(Effect.withSpan("Multipart.listParts"))

    const complete = Effect.fn("Multipart.complete")(
      function*(parts: ReadonlyArray<Multipart.Part>) {
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
            body: Effect.succeed({
              body: HttpBody.text(payload, "application/json"),
              failed: Effect.succeedNone
            })
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
      },
      (effect) => metrics.track("multipart.complete", usecase.name, effect)
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
      Effect.withSpan("Multipart.abort"),
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

  const initiate = Effect.fn("Multipart.initiate")(
    function*(options: Multipart.InitiateOptions | undefined) {
      const given = options?.key === undefined || options.key === "" ? undefined : options.key
      yield* annotate(given)
      if (given !== undefined) yield* validateKey(given)
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
        spec("multipart.initiate", given === undefined ? "POST" : "PUT", requestPath, { headers, idempotent: false }),
        (response): Effect.Effect<Multipart.UploadRef, Http.AttemptError<never>> =>
          response.status === 200 || response.status === 201
            ? Effect.flatMap(
              readJson(response, target),
              (json) =>
                isRecord(json) && typeof json.key === "string" && json.key !== "" &&
                  typeof json.upload_id === "string" && json.upload_id !== ""
                  ? Effect.succeed({ key: json.key, uploadId: json.upload_id })
                  : Effect.fail(Errors.failure(Errors.decode(target, "initiate answer without key and upload_id")))
            )
            : Http.failStatus(response)
      ))
      yield* annotate(ref.key, ref.uploadId)
      return handle(ref)
    },
    (effect) => metrics.track("multipart.initiate", usecase.name, effect)
  )

  return {
    initiate: (options) => initiate(options),
    resume: (ref) => Effect.as(validateRef(ref), handle({ key: ref.key, uploadId: ref.uploadId }))
  }
}

const decodePage = (json: unknown): Either.Either<Multipart.PartsPage, string> => {
  if (!isRecord(json) || !Array.isArray(json.parts) || typeof json.is_truncated !== "boolean") {
    return Either.left("list answer without parts and is_truncated")
  }
  const parts: Array<Multipart.ListedPart> = []
  for (const part of json.parts as ReadonlyArray<unknown>) {
    if (
      !isRecord(part) || typeof part.part_number !== "number" || typeof part.etag !== "string" ||
      typeof part.size !== "number"
    ) {
      return Either.left("list answer with a malformed part")
    }
    parts.push({
      partNumber: part.part_number,
      etag: part.etag,
      size: part.size,
      lastModified: typeof part.last_modified === "string" ? part.last_modified : ""
    })
  }
  const marker = json.next_part_number_marker
  return Either.right({
    parts,
    isTruncated: json.is_truncated,
    nextPartNumberMarker: json.is_truncated && typeof marker === "number" ? marker : undefined
  })
}
