/**
 * Resumable uploads R1–R5 (PROTOCOL §22) on the object routes, in the order of §22.6, and the sweeper of abandoned
 * sessions.
 *
 * Any object `POST`/`PUT`/`DELETE` whose query names `upload_type` or `session` is handled here and never falls
 * through to a plain insert or delete (§22.1: a create must never produce an empty object).
 *
 * @internal
 */
import * as Headers from "@effect/platform/Headers"
import type * as HttpServerRequest from "@effect/platform/HttpServerRequest"
import * as HttpServerResponse from "@effect/platform/HttpServerResponse"
import type * as ExpirationPolicy from "@objectstore/protocol/ExpirationPolicy"
import * as Metadata from "@objectstore/protocol/Metadata"
import * as Resumable from "@objectstore/protocol/Resumable"
import type * as Scope from "@objectstore/protocol/Scope"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Option from "effect/Option"
import type * as EffectScope from "effect/Scope"
import * as Stream from "effect/Stream"
import * as Crypto from "node:crypto"
import type * as Auth from "../Auth.js"
import type * as Config from "../Config.js"
import * as Storage from "../Storage.js"
import * as Admission from "./admission.js"
import * as Expiration from "./expiration.js"
import { parseQuery, pause, queryError } from "./multipartHttp.js"
import * as RequestBody from "./requestBody.js"
import * as Responses from "./responses.js"
import { gone } from "./resumableStore.js"
import type * as Routing from "./routing.js"

/** @internal */
export interface Deps {
  readonly config: Config.ServerConfig
  readonly storage: Storage.Service
  readonly limiter: Admission.Limiter
  readonly nowMicros: Effect.Effect<bigint>
  readonly checkUsecaseRules: (usecase: string, policy: ExpirationPolicy.ExpirationPolicy) => string | undefined
}

/** @internal */
export interface Request {
  readonly request: HttpServerRequest.HttpServerRequest
  readonly target: Routing.Target
  readonly context: Auth.AuthContext
  readonly usecase: string
  readonly scopes: Scope.Components
  readonly key: string | undefined
}

type Response = HttpServerResponse.HttpServerResponse

/** @internal */
export interface Handler {
  /** The answer to a resumable request, or `undefined` when the request is not one (no resumable parameter). */
  readonly handle: (request: Request) => Effect.Effect<Response, never, EffectScope.Scope> | undefined
}

const { jsonBody, jsonError } = Responses

const clientError = (status: number, reason: string) => jsonError(status, `client error: ${reason}`, [reason])

class BodyError extends Error {
  readonly _tag = "BodyError"
}

/** Whether the request carries a body: a `Content-Length` other than 0, or a chunked body. */
const hasBodyHeaders = (request: HttpServerRequest.HttpServerRequest): "none" | "some" | "chunked" => {
  const length = request.headers["content-length"]
  if (length !== undefined) return length.trim() === "0" ? "none" : "some"
  return request.headers["transfer-encoding"] !== undefined ? "chunked" : "none"
}

/** For a chunked body: whether any byte arrives. */
const anyByte = (request: HttpServerRequest.HttpServerRequest): Effect.Effect<boolean> =>
  RequestBody.stream(request, () => undefined).pipe(
    Stream.runFoldWhile(0, (n) => n === 0, (n, chunk: Uint8Array) => n + chunk.length),
    Effect.map((n) => n > 0),
    Effect.orElseSucceed(() => true)
  )

/** Drains what is left of the body, then answers; closes the connection when the body cannot be drained. */
const after = (request: HttpServerRequest.HttpServerRequest, response: Response) =>
  Effect.map(
    RequestBody.drain(request),
    (ended) => ended ? response : HttpServerResponse.setHeader(response, "connection", "close")
  )

/** @internal */
export const make = (deps: Deps): Effect.Effect<Handler, never, EffectScope.Scope> =>
  Effect.gen(function*() {
    const { config, limiter, storage } = deps
    const maxAge = Expiration.micros(config.resumableMaxAge)

    // The sweeper: as the others, it pauses briefly outside the Clock before reading the time, so a TestClock jump
    // runs it once at the final time.
    yield* Effect.sleep(config.reapInterval).pipe(
      Effect.zipRight(pause(25)),
      Effect.zipRight(Effect.flatMap(deps.nowMicros, (now) => storage.reapSessions(now, maxAge))),
      Effect.catchAll((error) => Effect.logWarning("objectstore: removing abandoned upload sessions failed", error)),
      Effect.forever,
      Effect.interruptible,
      Effect.forkScoped
    )

    const failure = (error: Storage.StorageError | Storage.ResumableError | Admission.Overloaded): Response => {
      if (error instanceof Admission.Overloaded) {
        return jsonError(429, "service error: concurrency limit reached", ["concurrency limit reached"])
      }
      if (error instanceof Storage.StorageError) {
        return jsonError(500, `service error: ${error.message}`, [error.message])
      }
      switch (error.reason) {
        case "NoSuchSession":
          return clientError(404, error.detail)
        case "Gone":
          return clientError(410, error.detail)
        case "OffsetMismatch":
          return HttpServerResponse.setHeader(
            clientError(409, error.detail),
            Resumable.UPLOAD_OFFSET,
            String(error.offset ?? 0)
          )
        case "Incomplete":
        case "PastLength":
          return clientError(400, error.detail)
      }
    }

    /** Runs a storage operation under admission; its failures become responses. */
    const backend = <A, E>(
      effect: Effect.Effect<A, E | Storage.StorageError | Storage.ResumableError>,
      onError?: (error: E) => Response
    ): Effect.Effect<Either.Either<A, Response>> =>
      limiter.run(effect).pipe(
        Effect.map(Either.right),
        Effect.catchAll((error) => {
          if (
            error instanceof Admission.Overloaded || error instanceof Storage.StorageError ||
            error instanceof Storage.ResumableError
          ) {
            return Effect.succeed(Either.left(failure(error)))
          }
          return onError === undefined ? Effect.die(error) : Effect.succeed(Either.left(onError(error as E)))
        })
      )

    const authorize = (request: Request) =>
      Effect.match(request.context.authorize("object.write", request.usecase, request.scopes), {
        onFailure: (failure) => jsonError(failure.status, `auth error: ${failure.message}`, [failure.message]),
        onSuccess: () => undefined
      })

    const finalize = (now: bigint) => (metadata: Metadata.Metadata): Metadata.Metadata => {
      const deadline = Expiration.deadline(metadata.expirationPolicy, now)
      return {
        ...metadata,
        timeCreated: now,
        timeExpires: Either.getOrElse(deadline, () => Expiration.MAX_TIME_MICROS)
      }
    }

    const committed = (key: string) => jsonBody(201, { key })
    const progress = (offset: number) =>
      HttpServerResponse.empty({
        status: 204,
        headers: Headers.fromInput({ [Resumable.UPLOAD_OFFSET]: String(offset) })
      })

    // -- R1 / R2 create --------------------------------------------------------------------------------------

    const create = (request: Request, uploadType: string) =>
      Effect.gen(function*() {
        const http = request.request
        if (uploadType !== "resumable") {
          return queryError(`upload_type: unknown variant \`${uploadType}\`, expected \`resumable\``)
        }
        const lengthHeader = http.headers[Resumable.UPLOAD_LENGTH]
        if (lengthHeader === undefined) return clientError(400, "Upload-Length header is required")
        const length = Resumable.parseLength(lengthHeader)
        if (Either.isLeft(length)) return clientError(400, length.left)
        const body = hasBodyHeaders(http)
        if (body === "some" || (body === "chunked" && (yield* anyByte(http)))) {
          return yield* after(http, clientError(400, "a resumable upload is created with an empty body"))
        }
        const parsed = Metadata.parseInsertHeaders(http.headers)
        if (Either.isLeft(parsed)) {
          const reason = parsed.left
          return jsonError(400, `service error: metadata error: ${reason}`, [`metadata error: ${reason}`, reason])
        }
        const now = yield* deps.nowMicros
        const policy = parsed.right.expirationPolicy
        const expires = Expiration.deadline(policy, now)
        if (Either.isLeft(expires)) {
          const reason = expires.left
          return jsonError(400, `service error: metadata error: ${reason}`, [`metadata error: ${reason}`, reason])
        }
        const violation = deps.checkUsecaseRules(request.usecase, policy)
        if (violation !== undefined) return jsonError(400, violation)
        if (config.maxBodySize !== undefined && length.right > config.maxBodySize) {
          return clientError(413, `request body exceeds the limit of ${config.maxBodySize} bytes`)
        }
        const denied = yield* authorize(request)
        if (denied !== undefined) return denied
        const key = request.key ?? Crypto.randomUUID()
        const id: Storage.ObjectId = { usecase: request.usecase, scopes: request.scopes, key }
        const metadata: Metadata.Metadata = { ...parsed.right, timeCreated: undefined, timeExpires: undefined }
        const token = yield* backend(storage.createSession(id, metadata, length.right, now))
        if (Either.isLeft(token)) return token.left
        return jsonBody(200, { key, session: Resumable.encodeSession(token.right) })
      })

    // -- R3 / R4 / R5 ------------------------------------------------------------------------------------------

    /** The session, expired on the spot when it has been idle for too long. */
    const lookup = (
      id: Storage.ObjectId,
      token: string
    ): Effect.Effect<Either.Either<Storage.SessionEntry, Response>> =>
      Effect.gen(function*() {
        const found = yield* backend(storage.sessionInfo(id, token))
        if (Either.isLeft(found)) return Either.left(found.left)
        if (Option.isNone(found.right)) return Either.left(clientError(404, "upload session not found"))
        const session = found.right.value
        const now = yield* deps.nowMicros
        if (session.status._tag === "Open" && session.status.lastActivity < now - maxAge) {
          const ended = yield* backend(storage.endSession(id, token, "Expired", now))
          if (Either.isLeft(ended)) return Either.left(ended.left)
          return Either.right({ ...session, status: { _tag: "Expired", ended: now } })
        }
        return Either.right(session)
      })

    const commit = (id: Storage.ObjectId, token: string) =>
      Effect.gen(function*() {
        const now = yield* deps.nowMicros
        const done = yield* backend(storage.commitSession(id, token, finalize(now), now))
        return Either.isLeft(done) ? done.left : committed(id.key)
      })

    const withSession = (request: Request, sessionText: string) =>
      Effect.gen(function*() {
        const http = request.request
        const token = Resumable.decodeSession(sessionText)
        if (Option.isNone(token)) return queryError("session: invalid session token")
        const id: Storage.ObjectId = { usecase: request.usecase, scopes: request.scopes, key: request.key! }

        if (http.method === "DELETE") {
          const denied = yield* authorize(request)
          if (denied !== undefined) return denied
          const found = yield* lookup(id, token.value)
          if (Either.isLeft(found)) return found.left
          const status = found.right.status
          if (status._tag === "Cancelled") return HttpServerResponse.empty({ status: 204 })
          if (status._tag !== "Open") return failure(gone(status._tag))
          const ended = yield* backend(storage.endSession(id, token.value, "Cancelled", yield* deps.nowMicros))
          if (Either.isLeft(ended)) return ended.left
          return HttpServerResponse.empty({ status: 204 })
        }

        const offsetHeader = http.headers[Resumable.UPLOAD_OFFSET]
        if (offsetHeader === undefined) return yield* after(http, clientError(400, "Upload-Offset header is required"))
        const offset = Resumable.parseOffset(offsetHeader)
        if (Either.isLeft(offset)) return yield* after(http, clientError(400, offset.left))
        let contentLength = 0
        if (offset.right._tag === "Query") {
          const body = hasBodyHeaders(http)
          if (body === "some" || (body === "chunked" && (yield* anyByte(http)))) {
            return yield* after(http, clientError(400, "an offset query (Upload-Offset: *) has no body"))
          }
        } else {
          const declared = http.headers["content-length"]
          if (declared === undefined || !/^\d+$/.test(declared.trim())) {
            return yield* after(http, jsonError(400, "client error: Content-Length header is required"))
          }
          contentLength = Number(declared.trim())
        }
        const denied = yield* authorize(request)
        if (denied !== undefined) return yield* after(http, denied)
        const found = yield* lookup(id, token.value)
        if (Either.isLeft(found)) return yield* after(http, found.left)
        const session = found.right
        const status = session.status

        if (offset.right._tag === "Query") {
          if (status._tag === "Committed") return committed(id.key)
          if (status._tag !== "Open") return failure(gone(status._tag))
          // every byte arrived but the commit did not happen (a crash in between): commit now
          if (status.offset === session.length) return yield* commit(id, token.value)
          return progress(status.offset)
        }

        const at = offset.right.offset
        if (status._tag === "Committed") {
          if (at === session.length && contentLength === 0) return committed(id.key)
          return yield* after(
            http,
            failure(
              new Storage.ResumableError({
                reason: "OffsetMismatch",
                detail: `upload offset mismatch: the upload is complete at offset ${session.length}`,
                offset: session.length
              })
            )
          )
        }
        if (status._tag !== "Open") {
          return yield* after(http, failure(gone(status._tag)))
        }
        if (at !== status.offset) {
          return yield* after(
            http,
            failure(
              new Storage.ResumableError({
                reason: "OffsetMismatch",
                detail: `upload offset mismatch: the session is at offset ${status.offset}, the request says ${at}`,
                offset: status.offset
              })
            )
          )
        }
        if (at + contentLength > session.length) {
          return yield* after(
            http,
            clientError(400, `the chunk runs past Upload-Length: ${at} + ${contentLength} > ${session.length}`)
          )
        }
        let received = 0
        const body = Stream.mapEffect(
          RequestBody.stream(http, (reason) => new BodyError(reason)),
          (chunk) => {
            received += chunk.length
            return received > contentLength
              ? Effect.fail(new BodyError("the body is longer than its Content-Length"))
              : Effect.succeed(chunk)
          }
        )
        const appended = yield* backend(
          storage.appendChunk(id, token.value, {
            offset: at,
            contentLength,
            body,
            now: yield* deps.nowMicros,
            limit: config.resumableChunkLimit
          }),
          (error: BodyError) => clientError(400, `failed to read request body: ${error.message}`)
        )
        if (Either.isLeft(appended)) return yield* after(http, appended.left)
        if (appended.right === session.length) return yield* commit(id, token.value)
        return progress(appended.right)
      })

    const handle = (request: Request): Effect.Effect<Response, never, EffectScope.Scope> | undefined => {
      const query = parseQuery(request.target.query, [Resumable.UPLOAD_TYPE, Resumable.SESSION])
      if (Either.isRight(query)) {
        const { session, upload_type: uploadType } = query.right
        if (uploadType === undefined && session === undefined) return undefined
      }
      return Effect.gen(function*() {
        const http = request.request
        if (Either.isLeft(query)) return yield* after(http, query.left)
        const { session, upload_type: uploadType } = query.right
        const method = http.method
        if (uploadType !== undefined && session !== undefined) {
          return yield* after(http, queryError("`upload_type` and `session` cannot be combined"))
        }
        if (uploadType !== undefined && method !== "POST" && method !== "PUT") {
          return yield* after(http, queryError("`upload_type` applies to POST and PUT only"))
        }
        if (session !== undefined && ((method !== "PUT" && method !== "DELETE") || request.key === undefined)) {
          return yield* after(http, queryError("`session` applies to PUT and DELETE of a key only"))
        }
        if (!config.resumable) {
          return yield* after(http, jsonError(501, "service error: not implemented", ["not implemented"]))
        }
        return uploadType !== undefined ? yield* create(request, uploadType) : yield* withSession(request, session!)
      })
    }

    return { handle }
  })
