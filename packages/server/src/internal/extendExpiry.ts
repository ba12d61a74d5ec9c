/**
 * `PATCH /v1/objects/{usecase}/{scopes}/{key}`: extending an object's expiry (PROTOCOL §23), in the order of
 * §3.2. The deadline only ever moves later; the update is conditional on the object's write generation, so an
 * overwrite that races with it gets 409 instead of a deadline on the wrong object.
 *
 * @internal
 */
import type * as HttpServerRequest from "@effect/platform/HttpServerRequest"
import * as HttpServerResponse from "@effect/platform/HttpServerResponse"
import * as ExtendExpiry from "@objectstore/protocol/ExtendExpiry"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Option from "effect/Option"
import type * as Auth from "../Auth.js"
import type * as Config from "../Config.js"
import type * as Storage from "../Storage.js"
import * as Admission from "./admission.js"
import * as Expiration from "./expiration.js"
import * as RequestBody from "./requestBody.js"
import * as Responses from "./responses.js"

/** Largest accepted body. @internal */
export const MAX_BODY = 64 * 1024

/** @internal */
export interface Deps {
  readonly config: Config.ServerConfig
  readonly storage: Storage.Service
  readonly limiter: Admission.Limiter
  readonly nowMicros: Effect.Effect<bigint>
}

const { jsonError, textResponse } = Responses

const unprocessable = (reason: string) =>
  textResponse(422, `Failed to deserialize the JSON body into the target type: ${reason}`)

/** @internal */
export const handle = (
  deps: Deps,
  request: HttpServerRequest.HttpServerRequest,
  context: Auth.AuthContext,
  id: Storage.ObjectId
): Effect.Effect<HttpServerResponse.HttpServerResponse> =>
  Effect.gen(function*() {
    if (!RequestBody.isJsonContentType(request.headers["content-type"])) {
      yield* RequestBody.drain(request)
      return textResponse(415, "Expected request with `Content-Type: application/json`")
    }
    const text = yield* RequestBody.readBounded(request, MAX_BODY)
    if (Either.isLeft(text)) return text.left
    const json = Either.try({ try: (): unknown => JSON.parse(text.right), catch: (error) => (error as Error).message })
    if (Either.isLeft(json)) return textResponse(400, `Failed to parse the request body as JSON: ${json.left}`)
    const parsed = ExtendExpiry.parse(json.right)
    if (Either.isLeft(parsed)) return unprocessable(parsed.left)
    const denied = yield* Effect.match(context.authorize("object.write", id.usecase, id.scopes), {
      onFailure: (failure) => jsonError(failure.status, `auth error: ${failure.message}`, [failure.message]),
      onSuccess: () => undefined
    })
    if (denied !== undefined) return denied

    const work = Effect.gen(function*() {
      const info = yield* deps.storage.head(id)
      const now = yield* deps.nowMicros
      if (Option.isNone(info)) return HttpServerResponse.empty({ status: 404 })
      const metadata = info.value.metadata
      const expired = metadata.expirationPolicy._tag !== "Manual" && metadata.timeExpires !== undefined &&
        metadata.timeExpires < now
      if (expired && deps.config.enforceExpiration) return HttpServerResponse.empty({ status: 404 })
      const request = parsed.right
      let deadline: bigint
      if (request._tag === "At") {
        deadline = request.at
      } else {
        const from = request.from === "now" ? now : metadata.timeCreated
        if (from === undefined) {
          return jsonError(409, "client error: the object has no creation time to extend its expiry from", [
            "the object has no creation time to extend its expiry from"
          ])
        }
        deadline = from + BigInt(request.seconds) * 1_000_000n
      }
      if (deadline > Expiration.MAX_TIME_MICROS) {
        return unprocessable("extend_expiry: the deadline falls after 9999-12-31T23:59:59.999999Z")
      }
      // A manual object never expires: every deadline is already met. An expiry is never shortened.
      if (metadata.expirationPolicy._tag === "Manual") return HttpServerResponse.empty({ status: 204 })
      if (metadata.timeExpires !== undefined && metadata.timeExpires >= deadline) {
        return HttpServerResponse.empty({ status: 204 })
      }
      const updated = yield* deps.storage.setExpiry(id, info.value.generation, deadline)
      if (!updated) {
        return jsonError(409, "client error: the object was replaced or deleted while its expiry was extended", [
          "the object was replaced or deleted while its expiry was extended"
        ])
      }
      return HttpServerResponse.empty({ status: 204 })
    })
    return yield* deps.limiter.run(work).pipe(
      Effect.catchAll((error) =>
        Effect.succeed(
          error instanceof Admission.Overloaded
            ? jsonError(429, "service error: concurrency limit reached", ["concurrency limit reached"])
            : jsonError(500, `service error: ${error.message}`, [error.message])
        )
      )
    )
  })
