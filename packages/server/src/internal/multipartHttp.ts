/**
 * The multipart endpoints M1–M6 (PROTOCOL §11), in the evaluation order of §3.2, and the sweeper of abandoned
 * uploads.
 *
 * Choices of this dev server where upstream leaves room (§17.3):
 *
 * - upload ids are random UUIDs; part etags are the quoted hex MD5 of the part;
 * - an unknown upload id on part upload or list answers 404 with the JSON error
 *   `service error: storage backend error: multipart upload not found` (upstream's filesystem backend answers 500);
 * - a part whose body does not match its `Content-MD5` is rejected with 400 (`client error: Content-MD5
 *   mismatch: …`) and not stored (production backends verify it too, but surface a 5xx); a malformed
 *   `Content-MD5` header (not the base64 of 16 bytes) is a 400 as well;
 * - complete always writes one space before its JSON document (and another every second while assembling), so
 *   clients exercise the whitespace trimming they must do;
 * - unfinished uploads with no activity (initiation or part upload) for `multipartMaxAge` are removed by a
 *   sweeper that runs every `reapInterval`.
 *
 * @internal
 */
import type * as HttpServerRequest from "@effect/platform/HttpServerRequest"
import * as HttpServerResponse from "@effect/platform/HttpServerResponse"
import type * as ExpirationPolicy from "@objectstore/protocol/ExpirationPolicy"
import * as Metadata from "@objectstore/protocol/Metadata"
import type * as Scope from "@objectstore/protocol/Scope"
import * as Timestamp from "@objectstore/protocol/Timestamp"
import * as Clock from "effect/Clock"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Schedule from "effect/Schedule"
import type * as EffectScope from "effect/Scope"
import * as Stream from "effect/Stream"
import * as Crypto from "node:crypto"
import type * as Auth from "../Auth.js"
import type * as Config from "../Config.js"
import * as Storage from "../Storage.js"
import * as Admission from "./admission.js"
import * as Expiration from "./expiration.js"
import * as RequestBody from "./requestBody.js"
import * as Responses from "./responses.js"
import type * as Routing from "./routing.js"

/** @internal */
export interface Deps {
  readonly config: Config.ServerConfig
  readonly storage: Storage.Service
  readonly limiter: Admission.Limiter
  /** The usecase expiration rules (§6.7): an error text when `policy` is not allowed. */
  readonly checkUsecaseRules: (usecase: string, policy: ExpirationPolicy.ExpirationPolicy) => string | undefined
}

/** @internal */
export interface Request {
  readonly request: HttpServerRequest.HttpServerRequest
  readonly target: Routing.Target
  readonly resource: Routing.Resource
  readonly context: Auth.AuthContext
  readonly usecase: string
  readonly scopes: Scope.Components
  /** `undefined` for the collection route (M1). */
  readonly key: string | undefined
}

/** @internal */
export interface Handler {
  readonly handle: (request: Request) => Effect.Effect<HttpServerResponse.HttpServerResponse, never, EffectScope.Scope>
}

/** Largest accepted complete body (§11.5). @internal */
export const MAX_COMPLETE_BODY = 2 * 1024 * 1024

const MAX_PART_NUMBER = 4_294_967_295

// ---------------------------------------------------------------------------------------------------------------
// responses

const { jsonBody, jsonError, textResponse } = Responses

const NOT_FOUND_DETAIL = "service error: storage backend error: multipart upload not found"

const multipartFailure = (error: Storage.MultipartError) => {
  switch (error.reason) {
    case "NoSuchUpload":
      return jsonError(404, NOT_FOUND_DETAIL, ["storage backend error: multipart upload not found", error.detail])
    case "BadDigest":
      return jsonError(400, `client error: ${error.detail}`, [error.detail])
    case "IncompleteBody":
      return jsonError(400, `client error: failed to read request body: ${error.detail}`, [
        `failed to read request body: ${error.detail}`
      ])
    case "InvalidPart":
    case "InvalidPartOrder":
      return jsonError(400, `client error: ${error.detail}`, [error.detail])
    case "EntityTooLarge":
      return jsonError(413, `client error: ${error.detail}`, [error.detail])
  }
}

const storageFailure = (error: Storage.StorageError) =>
  jsonError(500, `service error: ${error.message}`, [error.message])

const overloaded = () => jsonError(429, "service error: concurrency limit reached", ["concurrency limit reached"])

// ---------------------------------------------------------------------------------------------------------------
// query strings (§4.5, §11): plain-text 400 `Failed to deserialize query string: …`

/** @internal */
export type Query = Readonly<Record<string, string | undefined>>

/** @internal */
export const queryError = (reason: string) => textResponse(400, `Failed to deserialize query string: ${reason}`)

/** The named fields of a query string; a field given twice is an error (as serde's). @internal */
export const parseQuery = (
  raw: string,
  fields: ReadonlyArray<string>
): Either.Either<Query, HttpServerResponse.HttpServerResponse> => {
  const out: Record<string, string> = {}
  for (const [name, value] of new URLSearchParams(raw)) {
    if (!fields.includes(name)) continue
    if (Object.prototype.hasOwnProperty.call(out, name)) return Either.left(queryError(`duplicate field \`${name}\``))
    out[name] = value
  }
  return Either.right(out)
}

/**
 * Upload ids are opaque, but the server refuses the ones that could address something else (§11.1): empty, a
 * `..` path component, a leading `/` or `./`, or exactly `.`.
 *
 * @internal
 */
export const isValidUploadId = (uploadId: string): boolean =>
  uploadId !== "" && uploadId !== "." && !uploadId.startsWith("/") && !uploadId.startsWith("./") &&
  !uploadId.split(/[/\\]/).includes("..")

const uploadIdOf = (query: Query): Either.Either<string, HttpServerResponse.HttpServerResponse> => {
  const uploadId = query["upload_id"]
  if (uploadId === undefined) return Either.left(queryError("missing field `upload_id`"))
  if (!isValidUploadId(uploadId)) {
    return Either.left(queryError(`upload_id: invalid upload id ${JSON.stringify(uploadId)}`))
  }
  return Either.right(uploadId)
}

/** An unsigned 32-bit integer field; `nonZero` rejects 0. `undefined` when absent. */
const integerOf = (
  query: Query,
  name: string,
  nonZero: boolean
): Either.Either<number | undefined, HttpServerResponse.HttpServerResponse> => {
  const text = query[name]
  if (text === undefined) return Either.right(undefined)
  if (!/^\+?\d+$/.test(text)) return Either.left(queryError(`${name}: invalid digit found in string`))
  const value = Number(text)
  if (value > MAX_PART_NUMBER) return Either.left(queryError(`${name}: number too large to fit in target type`))
  if (nonZero && value === 0) {
    return Either.left(queryError(`${name}: invalid value: integer \`0\`, expected a nonzero u32`))
  }
  return Either.right(value)
}

// ---------------------------------------------------------------------------------------------------------------
// request bodies

class BodyError extends Error {
  readonly _tag = "BodyError"
}

/** The request body as a stream that leaves the socket usable when reading stops early. */
const bodyStream = (request: HttpServerRequest.HttpServerRequest): Stream.Stream<Uint8Array, BodyError> =>
  RequestBody.stream(request, (reason) => new BodyError(reason))

const drain = RequestBody.drain

const decodeContentMd5 = (value: string): Uint8Array | undefined => {
  const text = value.trim()
  if (!/^[A-Za-z0-9+/]{22}==$/.test(text)) return undefined
  const bytes = Buffer.from(text, "base64")
  return bytes.length === 16 ? new Uint8Array(bytes) : undefined
}

/** Parses the complete body (§11.5): `{"parts":[{"part_number":N,"etag":"…"}, …]}`. */
const parseCompleteBody = (
  value: unknown
): Either.Either<ReadonlyArray<Storage.CompletePart>, string> => {
  if (typeof value !== "object" || value === null || Array.isArray(value)) {
    return Either.left("invalid type: expected struct CompleteRequest")
  }
  const parts = (value as { parts?: unknown }).parts
  if (parts === undefined) return Either.left("missing field `parts`")
  if (!Array.isArray(parts)) return Either.left("parts: invalid type: expected a sequence")
  const out: Array<Storage.CompletePart> = []
  for (let i = 0; i < parts.length; i++) {
    const part: unknown = parts[i]
    if (typeof part !== "object" || part === null || Array.isArray(part)) {
      return Either.left(`parts[${i}]: invalid type: expected struct Part`)
    }
    const partNumber = (part as { part_number?: unknown }).part_number
    const etag = (part as { etag?: unknown }).etag
    if (partNumber === undefined) return Either.left(`parts[${i}]: missing field \`part_number\``)
    if (typeof partNumber !== "number" || !Number.isInteger(partNumber) || partNumber < 0) {
      return Either.left(`parts[${i}].part_number: invalid type: expected a nonzero u32`)
    }
    if (partNumber === 0 || partNumber > MAX_PART_NUMBER) {
      return Either.left(`parts[${i}].part_number: invalid value: integer \`${partNumber}\`, expected a nonzero u32`)
    }
    if (etag === undefined) return Either.left(`parts[${i}]: missing field \`etag\``)
    if (typeof etag !== "string") return Either.left(`parts[${i}].etag: invalid type: expected a string`)
    out.push({ partNumber, etag })
  }
  return Either.right(out)
}

// ---------------------------------------------------------------------------------------------------------------
// time

/** Now in epoch nanoseconds (consistent with the microsecond clock of the object endpoints). */
const nowNanos: Effect.Effect<bigint> = Effect.zipWith(
  Clock.currentTimeMillis,
  Clock.currentTimeNanos,
  (millis, nanos) => {
    const ms = BigInt(Math.floor(millis))
    return nanos / 1_000_000n === ms ? nanos : ms * 1_000_000n
  }
)

/** Waits `millis` of real time without the `Clock` (see the sweeper). @internal */
export const pause = (millis: number) =>
  Effect.async<void>((resume) => {
    const timer = setTimeout(() => resume(Effect.void), millis)
    return Effect.sync(() => clearTimeout(timer))
  })

const micros = Expiration.micros

// ---------------------------------------------------------------------------------------------------------------

/**
 * Builds the handler and starts the sweeper of abandoned uploads in the given scope.
 *
 * @internal
 */
export const make = (deps: Deps): Effect.Effect<Handler, never, EffectScope.Scope> =>
  Effect.gen(function*() {
    const { config, limiter, storage } = deps
    const maxAge = micros(config.multipartMaxAge)

    // The sweeper: as the object reaper, it pauses briefly outside the Clock before reading the time, so a
    // TestClock jump runs it once at the final time.
    yield* Effect.sleep(config.reapInterval).pipe(
      Effect.zipRight(pause(25)),
      Effect.zipRight(Effect.flatMap(nowNanos, (now) => storage.reapUploads(now / 1000n - maxAge))),
      Effect.catchAll((error) => Effect.logWarning("objectstore: removing abandoned multipart uploads failed", error)),
      Effect.forever,
      Effect.interruptible,
      Effect.forkScoped
    )

    /** Runs a storage operation under admission; maps its failures to responses. */
    const backend = <A, E>(
      effect: Effect.Effect<A, E | Storage.StorageError | Storage.MultipartError>,
      onError?: (error: E) => HttpServerResponse.HttpServerResponse | undefined
    ): Effect.Effect<Either.Either<A, HttpServerResponse.HttpServerResponse>> =>
      limiter.run(effect).pipe(
        Effect.map(Either.right),
        Effect.catchAll((error) => {
          if (error instanceof Admission.Overloaded) return Effect.succeed(Either.left(overloaded()))
          if (error instanceof Storage.StorageError) return Effect.succeed(Either.left(storageFailure(error)))
          if (error instanceof Storage.MultipartError) return Effect.succeed(Either.left(multipartFailure(error)))
          const mapped = onError?.(error as E)
          return mapped === undefined ? Effect.die(error) : Effect.succeed(Either.left(mapped))
        })
      )

    const authorize = (request: Request) =>
      Effect.match(request.context.authorize("object.write", request.usecase, request.scopes), {
        onFailure: (failure) => jsonError(failure.status, `auth error: ${failure.message}`, [failure.message]),
        onSuccess: () => undefined
      })

    const idOf = (request: Request): Storage.ObjectId => ({
      usecase: request.usecase,
      scopes: request.scopes,
      key: request.key!
    })

    // -- M1 / M2 initiate ------------------------------------------------------------------------------------

    const initiate = (request: Request) =>
      Effect.gen(function*() {
        const parsed = Metadata.parseInsertHeaders(request.request.headers)
        if (Either.isLeft(parsed)) {
          const reason = parsed.left
          return jsonError(400, `service error: metadata error: ${reason}`, [`metadata error: ${reason}`, reason])
        }
        const now = (yield* nowNanos) / 1000n
        const policy = parsed.right.expirationPolicy
        const expires = Expiration.deadline(policy, now)
        if (Either.isLeft(expires)) {
          const reason = expires.left
          return jsonError(400, `service error: metadata error: ${reason}`, [`metadata error: ${reason}`, reason])
        }
        const metadata: Metadata.Metadata = { ...parsed.right, timeCreated: now, timeExpires: expires.right }
        const violation = deps.checkUsecaseRules(request.usecase, policy)
        if (violation !== undefined) return jsonError(400, violation)
        const denied = yield* authorize(request)
        if (denied !== undefined) return denied
        const key = request.key ?? Crypto.randomUUID()
        const started = yield* backend(storage.initiateUpload({ ...idOf(request), key }, metadata, now))
        if (Either.isLeft(started)) return started.left
        return jsonBody(200, { key, upload_id: started.right })
      })

    // -- M3 upload part ----------------------------------------------------------------------------------------

    const putPart = (request: Request) =>
      Effect.gen(function*() {
        const query = parseQuery(request.target.query, ["upload_id", "part_number"])
        if (Either.isLeft(query)) return query.left
        const uploadId = uploadIdOf(query.right)
        if (Either.isLeft(uploadId)) return uploadId.left
        const partNumber = integerOf(query.right, "part_number", true)
        if (Either.isLeft(partNumber)) return partNumber.left
        if (partNumber.right === undefined) return queryError("missing field `part_number`")
        const declared = request.request.headers["content-length"]
        if (declared === undefined || !/^\d+$/.test(declared.trim())) {
          return jsonError(400, "client error: Content-Length header is required")
        }
        const contentLength = Number(declared.trim())
        let contentMd5: Uint8Array | undefined
        const md5Header = request.request.headers["content-md5"]
        if (md5Header !== undefined) {
          contentMd5 = decodeContentMd5(md5Header)
          if (contentMd5 === undefined) {
            const reason = "invalid Content-MD5 header: expected the base64 of a 16-byte MD5 digest"
            return jsonError(400, `client error: ${reason}`, [reason])
          }
        }
        const denied = yield* authorize(request)
        if (denied !== undefined) return denied
        const now = yield* nowNanos
        const stored = yield* backend(
          storage.putPart(idOf(request), uploadId.right, partNumber.right, bodyStream(request.request), {
            contentLength,
            contentMd5,
            now
          }),
          (error: BodyError) =>
            jsonError(400, `client error: failed to read request body: ${error.message}`, [
              `failed to read request body: ${error.message}`
            ])
        )
        if (Either.isLeft(stored)) {
          const ended = yield* drain(request.request)
          return ended ? stored.left : HttpServerResponse.setHeader(stored.left, "connection", "close")
        }
        return jsonBody(200, { etag: stored.right.etag })
      })

    // -- M4 list parts -----------------------------------------------------------------------------------------

    const listParts = (request: Request) =>
      Effect.gen(function*() {
        const query = parseQuery(request.target.query, ["upload_id", "max_parts", "part_number_marker"])
        if (Either.isLeft(query)) return query.left
        const uploadId = uploadIdOf(query.right)
        if (Either.isLeft(uploadId)) return uploadId.left
        const maxParts = integerOf(query.right, "max_parts", false)
        if (Either.isLeft(maxParts)) return maxParts.left
        const marker = integerOf(query.right, "part_number_marker", true)
        if (Either.isLeft(marker)) return marker.left
        const denied = yield* authorize(request)
        if (denied !== undefined) return denied
        const listed = yield* backend(storage.listParts(idOf(request), uploadId.right))
        if (Either.isLeft(listed)) return listed.left
        const after = listed.right.filter((part) => marker.right === undefined || part.partNumber > marker.right)
        const limit = maxParts.right
        const page = limit === undefined ? after : after.slice(0, limit)
        const truncated = page.length < after.length
        const last = page[page.length - 1]
        return jsonBody(200, {
          parts: page.map((part) => ({
            part_number: part.partNumber,
            etag: part.etag,
            last_modified: Timestamp.formatSmart(part.lastModified),
            size: part.size
          })),
          is_truncated: truncated,
          ...(truncated && last !== undefined ? { next_part_number_marker: last.partNumber } : {})
        })
      })

    // -- M5 complete -------------------------------------------------------------------------------------------

    const readCompleteBody = (request: HttpServerRequest.HttpServerRequest) =>
      RequestBody.readBounded(request, MAX_COMPLETE_BODY)

    const errorDocument = (code: string, message: string) => ({ error: { code, message } })

    const complete = (request: Request) =>
      Effect.gen(function*() {
        const query = parseQuery(request.target.query, ["upload_id"])
        if (Either.isLeft(query)) return query.left
        const uploadId = uploadIdOf(query.right)
        if (Either.isLeft(uploadId)) return uploadId.left
        if (!RequestBody.isJsonContentType(request.request.headers["content-type"])) {
          return textResponse(415, "Expected request with `Content-Type: application/json`")
        }
        const text = yield* readCompleteBody(request.request)
        if (Either.isLeft(text)) return text.left
        const json = Either.try({
          try: (): unknown => JSON.parse(text.right),
          catch: (error) => (error as Error).message
        })
        if (Either.isLeft(json)) return textResponse(400, `Failed to parse the request body as JSON: ${json.left}`)
        const parts = parseCompleteBody(json.right)
        if (Either.isLeft(parts)) {
          return textResponse(422, `Failed to deserialize the JSON body into the target type: ${parts.left}`)
        }

        // 200 is committed from here on: permission and the outcome are reported in the body (§11.5).
        const id = idOf(request)
        const work: Effect.Effect<unknown> = Effect.gen(function*() {
          const permitted = yield* Effect.either(request.context.authorize("object.write", id.usecase, id.scopes))
          if (Either.isLeft(permitted)) return errorDocument("internal error", `auth error: ${permitted.left.message}`)
          const completing = storage.completeUpload(id, uploadId.right, parts.right, { maxSize: config.maxBodySize })
          return yield* limiter.run(completing).pipe(
            Effect.map(() => ({ key: id.key })),
            Effect.catchAll((error) => {
              if (error instanceof Admission.Overloaded) {
                return Effect.succeed(errorDocument("internal error", "service error: concurrency limit reached"))
              }
              if (error instanceof Storage.MultipartError) {
                return Effect.succeed(
                  error.reason === "NoSuchUpload"
                    ? errorDocument("internal error", NOT_FOUND_DETAIL)
                    : errorDocument(error.reason, error.detail)
                )
              }
              return Effect.succeed(errorDocument("internal error", `service error: ${error.message}`))
            })
          )
        })
        const keepAlive = Stream.fromSchedule(Schedule.spaced(Duration.seconds(1))).pipe(Stream.as(" "))
        const result = Stream.fromEffect(Effect.map(work, (document) => JSON.stringify(document)))
        const body = Stream.concat(Stream.make(" "), Stream.merge(keepAlive, result, { haltStrategy: "right" })).pipe(
          Stream.encodeText
        )
        return HttpServerResponse.stream(body, { status: 200, contentType: "application/json" })
      })

    // -- M6 abort ----------------------------------------------------------------------------------------------

    const abort = (request: Request) =>
      Effect.gen(function*() {
        const query = parseQuery(request.target.query, ["upload_id"])
        if (Either.isLeft(query)) return query.left
        const uploadId = uploadIdOf(query.right)
        if (Either.isLeft(uploadId)) return uploadId.left
        const denied = yield* authorize(request)
        if (denied !== undefined) return denied
        const aborted = yield* backend(storage.abortUpload(idOf(request), uploadId.right))
        if (Either.isLeft(aborted)) return aborted.left
        return HttpServerResponse.empty({ status: 204 })
      })

    const handle = (
      request: Request
    ): Effect.Effect<HttpServerResponse.HttpServerResponse, never, EffectScope.Scope> => {
      const method = request.request.method
      switch (request.resource) {
        case "objects:multipart":
          if (request.key === undefined || method === "PUT") return initiate(request)
          return abort(request)
        case "objects:multipart:parts":
          return method === "PUT" ? putPart(request) : listParts(request)
        default:
          return complete(request)
      }
    }

    return { handle }
  })
