/**
 * The HTTP app: routing (PROTOCOL §3), single-object handlers (§5), metadata (§6), expiration (§8), ranges (§9),
 * errors and admission (§14), health (§15), resumable uploads (§22, `resumableHttp`) and extending an expiry (§23,
 * `extendExpiry`).
 *
 * @internal
 */
import * as Headers from "@effect/platform/Headers"
import type * as HttpApp from "@effect/platform/HttpApp"
import * as HttpServerRequest from "@effect/platform/HttpServerRequest"
import * as HttpServerResponse from "@effect/platform/HttpServerResponse"
import * as Bytes from "@objectstore/protocol/Bytes"
import * as ExpirationPolicy from "@objectstore/protocol/ExpirationPolicy"
import * as Humantime from "@objectstore/protocol/Humantime"
import * as Metadata from "@objectstore/protocol/Metadata"
import type * as Permission from "@objectstore/protocol/Permission"
import * as Range from "@objectstore/protocol/Range"
import * as Scope from "@objectstore/protocol/Scope"
import * as Cause from "effect/Cause"
import * as Clock from "effect/Clock"
import * as Context from "effect/Context"
import * as Data from "effect/Data"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Option from "effect/Option"
import type * as EffectScope from "effect/Scope"
import * as Stream from "effect/Stream"
import * as Crypto from "node:crypto"
import * as Auth from "../Auth.js"
import type * as Config from "../Config.js"
import * as Storage from "../Storage.js"
import * as Admission from "./admission.js"
import * as Batch from "./batch.js"
import * as Expiration from "./expiration.js"
import * as ExtendExpiry from "./extendExpiry.js"
import * as Multipart from "./multipartHttp.js"
import * as RequestBody from "./requestBody.js"
import * as Responses from "./responses.js"
import * as Resumable from "./resumableHttp.js"
import * as Routing from "./routing.js"

/** @internal */
export const SERVER_HEADER = "objectstore/0.1.0"

/**
 * The raw request target of an in-process request, which a web `Request` cannot carry unnormalised.
 *
 * @internal
 */
export class RawTarget extends Context.Tag("@objectstore/server/internal/RawTarget")<RawTarget, string>() {}

/** @internal */
export interface Handle {
  readonly app: HttpApp.Default<never, EffectScope.Scope>
  readonly storage: Storage.Service
  readonly config: Config.ServerConfig
  readonly setShuttingDown: (shuttingDown: boolean) => Effect.Effect<void>
  readonly reapNow: Effect.Effect<number, Storage.StorageError>
}

// ---------------------------------------------------------------------------------------------------------------
// responses

const { jsonBody, jsonError, textResponse } = Responses

/** A request that ends with a prepared response (an error answer). */
class Reply extends Data.TaggedError("Reply")<{ readonly response: HttpServerResponse.HttpServerResponse }> {}

const reply = (response: HttpServerResponse.HttpServerResponse) => Effect.fail(new Reply({ response }))

const overloaded = () => jsonError(429, "service error: concurrency limit reached", ["concurrency limit reached"])

const storageFailure = (error: Storage.StorageError) =>
  jsonError(500, `service error: ${error.message}`, [error.message])

/** The request body could not be read to the end (client went away or sent a broken stream). */
class BodyError extends Data.TaggedError("BodyError")<{ readonly reason: string }> {}

/** The request body exceeds `maxBodySize`. */
class BodyTooLarge extends Data.TaggedError("BodyTooLarge")<{ readonly limit: number }> {}

/** Bodies up to this size are read whole before a GET answers (one write, with a length); larger ones stream. */
const SMALL_BODY = 64 * 1024

/** Uploads of a declared length up to this size are read whole and stored with `putBytes`; larger ones stream. */
const WHOLE_BODY = 1024 * 1024

const bodyTooLarge = (limit: number) =>
  jsonError(413, `client error: request body exceeds the limit of ${limit} bytes`, [
    `request body exceeds the limit of ${limit} bytes`
  ])

/**
 * The most header lines a request may carry (PROTOCOL §6.6): upstream's HTTP server (hyper) parses at most 100 and
 * answers 431 past them. `Server.layer` lets `node:http` keep one more than this, so that a request over the limit
 * is seen (and refused) rather than silently cut short.
 *
 * @internal
 */
export const MAX_HEADERS = 100

const headerLines = (request: HttpServerRequest.HttpServerRequest): number => {
  const source = RequestBody.incomingMessage(request)
  return source !== undefined ? source.rawHeaders.length / 2 : Object.keys(request.headers).length
}

// the request's body (if any) is not read: the connection cannot carry another request
const headersTooMany = () =>
  HttpServerResponse.empty({ status: 431, headers: Headers.fromInput({ connection: "close" }) })

// ---------------------------------------------------------------------------------------------------------------
// time

/** Waits `millis` of real time without the `Clock` (see the reaper). */
const pause = (millis: number) =>
  Effect.async<void>((resume) => {
    const timer = setTimeout(() => resume(Effect.void), millis)
    return Effect.sync(() => clearTimeout(timer))
  })

/**
 * Now in epoch microseconds. Milliseconds come from `currentTimeMillis`; the sub-millisecond part from
 * `currentTimeNanos` only when both agree on the millisecond (a `TestClock` derives nanos from millis through a
 * float product that can be off by a few hundred nanoseconds either way).
 *
 * @internal
 */
export const nowMicros: Effect.Effect<bigint> = Effect.zipWith(
  Clock.currentTimeMillis,
  Clock.currentTimeNanos,
  (millis, nanos) => microsOf(millis, nanos)
)

const microsOf = (millis: number, nanos: bigint): bigint => {
  const ms = BigInt(Math.floor(millis))
  return nanos / 1_000_000n === ms ? ms * 1000n + (nanos / 1000n) % 1000n : ms * 1000n
}

/** {@link nowMicros} read from a clock without an effect (a batch reads its clock once per group). @internal */
export const clockMicros = (clock: Clock.Clock): bigint =>
  microsOf(clock.unsafeCurrentTimeMillis(), clock.unsafeCurrentTimeNanos())

const micros = Expiration.micros

const DAY_MICROS = 86_400_000_000n

const isExpired = (metadata: Metadata.Metadata, now: bigint): boolean =>
  metadata.expirationPolicy._tag !== "Manual" && metadata.timeExpires !== undefined && metadata.timeExpires < now

/**
 * The TTI deadline to persist on an access at `now`, if any (§8: debounce = min(D/4, 24 h)).
 *
 * @internal
 */
export const ttiBump = (metadata: Metadata.Metadata, now: bigint): bigint | undefined => {
  const policy = metadata.expirationPolicy
  if (policy._tag !== "TimeToIdle" || metadata.timeExpires === undefined) return undefined
  const d = micros(policy.duration)
  const debounce = d / 4n < DAY_MICROS ? d / 4n : DAY_MICROS
  if (metadata.timeExpires >= now + d - debounce) return undefined
  // never past what a timestamp can carry (§6.3)
  return now + d > Expiration.MAX_TIME_MICROS ? Expiration.MAX_TIME_MICROS : now + d
}

// ---------------------------------------------------------------------------------------------------------------
// usecase expiration rules (§6.7)

/** @internal */
export const checkUsecaseRules = (
  usecases: Config.ServerConfig["usecases"],
  usecase: string,
  policy: ExpirationPolicy.ExpirationPolicy
): string | undefined => {
  if (!Object.prototype.hasOwnProperty.call(usecases, usecase)) return undefined
  const rules = usecases[usecase]!
  const rule = policy._tag === "Manual" ? rules.manual : policy._tag === "TimeToLive" ? rules.ttl : rules.tti
  if (rule !== undefined && rule.allowed === false) {
    return `client error: expiration policy '${
      ExpirationPolicy.format(policy)
    }' is not allowed for use case '${usecase}'`
  }
  if (policy._tag === "Manual") return undefined
  const max = policy._tag === "TimeToLive" ? rules.ttl?.max : rules.tti?.max
  if (max !== undefined && Duration.greaterThan(policy.duration, max)) {
    return `client error: expiration duration ${Humantime.format(policy.duration)} exceeds maximum of ${
      Humantime.format(max)
    } for use case '${usecase}'`
  }
  return undefined
}

// ---------------------------------------------------------------------------------------------------------------
// the app

/**
 * Builds the app over the `Storage` in context. The reaper (when expiration is enforced) runs in the given scope.
 *
 * @internal
 */
export const make = (
  config: Config.ServerConfig
): Effect.Effect<Handle, Auth.AuthConfigError, Storage.Storage | EffectScope.Scope> =>
  Effect.gen(function*() {
    const storage = yield* Storage.Storage
    const auth = yield* Auth.make(config.auth)
    const limiter = yield* Admission.makeLimiter(config)
    const multipart = yield* Multipart.make({
      config,
      storage,
      limiter,
      checkUsecaseRules: (usecase, policy) => checkUsecaseRules(config.usecases, usecase, policy)
    })
    const resumable = yield* Resumable.make({
      config,
      storage,
      limiter,
      nowMicros,
      checkUsecaseRules: (usecase, policy) => checkUsecaseRules(config.usecases, usecase, policy)
    })
    let inFlight = 0
    let shuttingDown = false

    const reapNow = Effect.flatMap(nowMicros, (now) => storage.reap(now))
    if (config.enforceExpiration) {
      yield* Effect.sleep(config.reapInterval).pipe(
        // A short pause outside the Clock between the Clock sleep and reading the time: when a TestClock jumps far
        // ahead, the reaper then runs once, at the final time, instead of once per interval in between (which
        // would make `TestClock.setTime` hang).
        Effect.zipRight(pause(25)),
        Effect.zipRight(reapNow),
        Effect.catchAll((error) => Effect.logWarning("objectstore: reaping expired objects failed", error)),
        Effect.forever,
        Effect.interruptible,
        Effect.forkScoped
      )
    }

    const backend = <A, E, R>(
      effect: Effect.Effect<A, E, R>
    ): Effect.Effect<A, Exclude<E, Storage.StorageError> | Reply, R> =>
      Effect.catchAll(limiter.run(effect), (error): Effect.Effect<never, Exclude<E, Storage.StorageError> | Reply> => {
        if (error instanceof Admission.Overloaded) return reply(overloaded())
        if (error instanceof Storage.StorageError) return reply(storageFailure(error))
        return Effect.fail(error as Exclude<E, Storage.StorageError>)
      })

    const authorize = (context: Auth.AuthContext, permission: Permission.Permission, id: ObjectAddress) =>
      Effect.catchTag(
        context.authorize(permission, id.usecase, id.scopes),
        "AuthFailure",
        (failure) => reply(jsonError(failure.status, `auth error: ${failure.message}`, [failure.message]))
      )

    // -- object endpoints --------------------------------------------------------------------------------------

    interface ObjectAddress {
      readonly usecase: string
      readonly scopes: Scope.Components
    }

    const insert = (
      request: HttpServerRequest.HttpServerRequest,
      context: Auth.AuthContext,
      address: ObjectAddress,
      key: string | undefined
    ) =>
      Effect.gen(function*() {
        const parsed = Metadata.parseInsertHeaders(request.headers)
        if (Either.isLeft(parsed)) {
          const reason = parsed.left
          return yield* reply(
            jsonError(400, `service error: metadata error: ${reason}`, [`metadata error: ${reason}`, reason])
          )
        }
        const now = yield* nowMicros
        const policy = parsed.right.expirationPolicy
        const expires = Expiration.deadline(policy, now)
        if (Either.isLeft(expires)) {
          const reason = expires.left
          return yield* reply(
            jsonError(400, `service error: metadata error: ${reason}`, [`metadata error: ${reason}`, reason])
          )
        }
        const metadata: Metadata.Metadata = { ...parsed.right, timeCreated: now, timeExpires: expires.right }
        const violation = checkUsecaseRules(config.usecases, address.usecase, policy)
        if (violation !== undefined) return yield* reply(jsonError(400, violation))
        yield* authorize(context, "object.write", address)

        const limit = config.maxBodySize
        const tooLarge = (limit: number) =>
          Effect.map(RequestBody.drain(request), (ended) => {
            const response = bodyTooLarge(limit)
            return reply(ended ? response : HttpServerResponse.setHeader(response, "connection", "close"))
          }).pipe(Effect.flatten)
        const declared = request.headers["content-length"]
        if (limit !== undefined && declared !== undefined && /^\d+$/.test(declared) && Number(declared) > limit) {
          return yield* tooLarge(limit)
        }
        let received = 0
        const raw = RequestBody.stream(request, (reason) => new BodyError({ reason }))
        const body = Stream.mapEffect(raw, (chunk) => {
          received += chunk.length
          return limit !== undefined && received > limit
            ? Effect.fail(new BodyTooLarge({ limit }))
            : Effect.succeed(chunk)
        })
        const finalKey = key ?? Crypto.randomUUID()
        const id: Storage.ObjectId = { ...address, key: finalKey }
        // A body of a declared length up to 1 MiB is read in one piece, without a Stream, over TCP.
        const small = declared !== undefined && /^\d+$/.test(declared) && Number(declared) <= WHOLE_BODY
        const whole = storage.putBytes === undefined || !small ?
          undefined :
          RequestBody.collect<BodyError | BodyTooLarge>(
            request,
            {
              limit,
              onError: (reason) => new BodyError({ reason }),
              onTooLarge: () => new BodyTooLarge({ limit: limit! })
            }
          )
        const putBytes = storage.putBytes
        const storing = whole !== undefined && putBytes !== undefined
          ? Effect.flatMap(whole, (bytes) => putBytes(id, metadata, bytes))
          : storage.put(id, metadata, body)
        yield* backend(storing).pipe(
          Effect.catchTags({
            BodyTooLarge: (error) => tooLarge(error.limit),
            BodyError: (error) =>
              reply(jsonError(400, `client error: failed to read request body: ${error.reason}`, [
                `failed to read request body: ${error.reason}`
              ]))
          })
        )
        return jsonBody(key === undefined ? 201 : 200, { key: finalKey })
      })

    /** Shared by GET and HEAD: expiry, TTI bump; returns the info as it was before the access. */
    // (no Effect.gen: every get and head of a batch runs it)
    const access = (id: Storage.ObjectId, info: Storage.ObjectInfo): Effect.Effect<boolean> =>
      !config.enforceExpiration ? Effect.succeed(true) : Effect.flatMap(nowMicros, (now) => {
        if (isExpired(info.metadata, now)) return Effect.succeed(false)
        const bump = ttiBump(info.metadata, now)
        if (bump === undefined) return Effect.succeed(true)
        return storage.setExpiry(id, info.generation, bump).pipe(
          Effect.catchAll((error) => Effect.logWarning("objectstore: TTI bump failed", error)),
          Effect.as(true)
        )
      })

    /** {@link access} without an effect: `undefined` when a TTI bump is due (only `access` writes one). */
    const accessAt = (info: Storage.ObjectInfo, now: bigint): boolean | undefined =>
      !config.enforceExpiration
        ? true
        : isExpired(info.metadata, now)
        ? false
        : ttiBump(info.metadata, now) === undefined
        ? true
        : undefined

    const objectHeaders = (metadata: Metadata.Metadata) =>
      Headers.fromInput([
        ...Metadata.toResponseHeaders(metadata, { contentDisposition: true }),
        ["accept-ranges", "bytes"]
      ])

    const get = (request: HttpServerRequest.HttpServerRequest, context: Auth.AuthContext, id: Storage.ObjectId) =>
      Effect.gen(function*() {
        let range: Option.Option<Range.ByteRange> = Option.none()
        const rangeHeader = request.headers["range"]
        if (rangeHeader !== undefined) {
          const parsed = Range.parse(rangeHeader)
          if (Either.isLeft(parsed)) {
            return yield* reply(jsonError(400, `client error: ${parsed.left}`, [parsed.left]))
          }
          range = parsed.right
        }
        yield* authorize(context, "object.read", id)
        const opened = yield* backend(storage.open(id))
        if (Option.isNone(opened) || !(yield* access(id, opened.value))) {
          return HttpServerResponse.empty({ status: 404 })
        }
        const object = opened.value
        const headers = objectHeaders(object.metadata)
        if (Option.isNone(range)) {
          // A small body is answered as one buffer with its length: running a Stream into the response costs more
          // than serving a small object. Larger bodies stream.
          const whole = object.size > SMALL_BODY
            ? undefined
            : object.readBytes?.() ?? backend(Bytes.collect(object.read()))
          if (whole !== undefined) {
            return HttpServerResponse.uint8Array(yield* whole, {
              status: 200,
              headers,
              contentType: object.metadata.contentType
            })
          }
          return HttpServerResponse.stream(object.read(), {
            status: 200,
            headers,
            contentType: object.metadata.contentType
          })
        }
        const resolved = Range.resolve(range.value, object.size)
        if (Option.isNone(resolved)) {
          return HttpServerResponse.empty({
            status: 416,
            headers: Headers.fromInput({ "content-range": `bytes */${object.size}`, "accept-ranges": "bytes" })
          })
        }
        const { end, start } = resolved.value
        if (object.readBytes !== undefined && end - start < SMALL_BODY) {
          return HttpServerResponse.uint8Array((yield* object.readBytes()).subarray(start, end + 1), {
            status: 206,
            headers: Headers.set(headers, "content-range", `bytes ${start}-${end}/${object.size}`),
            contentType: object.metadata.contentType
          })
        }
        return HttpServerResponse.stream(object.read({ start, end }), {
          status: 206,
          headers: Headers.set(headers, "content-range", `bytes ${start}-${end}/${object.size}`),
          contentType: object.metadata.contentType,
          contentLength: end - start + 1
        })
      })

    const head = (context: Auth.AuthContext, id: Storage.ObjectId) =>
      Effect.gen(function*() {
        yield* authorize(context, "object.read", id)
        const info = yield* backend(storage.head(id))
        if (Option.isNone(info) || !(yield* access(id, info.value))) {
          return HttpServerResponse.empty({ status: 404 })
        }
        return HttpServerResponse.empty({ status: 204, headers: objectHeaders(info.value.metadata) })
      })

    const remove = (context: Auth.AuthContext, id: Storage.ObjectId) =>
      Effect.gen(function*() {
        yield* authorize(context, "object.delete", id)
        yield* backend(storage.delete(id))
        return HttpServerResponse.empty({ status: 204 })
      })

    // -- dispatch ----------------------------------------------------------------------------------------------

    const objectRoute = (
      request: HttpServerRequest.HttpServerRequest,
      target: Routing.Target,
      route: Extract<Routing.Route, { _tag: "Object" }>
    ) =>
      Effect.gen(function*() {
        const context = yield* Effect.catchTag(
          auth.authenticate({
            method: request.method,
            rawPath: target.path,
            rawQuery: target.query,
            headers: request.headers
          }),
          "AuthFailure",
          (failure) => reply(jsonError(failure.status, `auth error: ${failure.message}`, [failure.message]))
        )

        const usecase = Routing.percentDecode(route.usecase)
        if (Either.isLeft(usecase)) return textResponse(400, "Invalid URL: invalid UTF-8 in `usecase`")
        const scopesText = Routing.percentDecode(route.scopes)
        if (Either.isLeft(scopesText)) return textResponse(400, "Invalid URL: invalid UTF-8 in `scopes`")
        const scopes = Scope.parse(scopesText.right)
        if (Either.isLeft(scopes)) return textResponse(400, `Invalid URL: ${scopes.left}`)
        let key: string | undefined
        if (route.key !== undefined) {
          const decoded = Routing.percentDecode(route.key)
          if (Either.isLeft(decoded)) return textResponse(400, "Invalid URL: invalid UTF-8 in `key`")
          key = decoded.right
        }
        const address: ObjectAddress = { usecase: usecase.right, scopes: scopes.right }

        if (
          Admission.killed(
            config.killswitches,
            address.usecase,
            address.scopes,
            request.headers["x-downstream-service"]
          )
        ) {
          return textResponse(403, "Object access is disabled for this scope through killswitches")
        }

        if (route.resource === "objects:batch") {
          const batchDeps = {
            config,
            storage,
            limiter,
            access,
            accessAt,
            nowMicros,
            clockMicros,
            checkUsecaseRules: (usecase: string, policy: ExpirationPolicy.ExpirationPolicy) =>
              checkUsecaseRules(config.usecases, usecase, policy)
          }
          return yield* Batch.handle(batchDeps, { request, context, ...address })
        }
        if (route.resource.startsWith("objects:multipart")) {
          return yield* multipart.handle({ request, target, resource: route.resource, context, ...address, key })
        }
        if (route.resource !== "objects") {
          return jsonError(501, "service error: not implemented", ["not implemented"])
        }
        // `upload_type` or `session` in the query: never a plain insert or delete (§22.1)
        const resumableAnswer = resumable.handle({ request, target, context, ...address, key })
        if (resumableAnswer !== undefined) return yield* resumableAnswer
        if (key === undefined) return yield* insert(request, context, address, undefined)
        const id: Storage.ObjectId = { ...address, key }
        switch (request.method) {
          case "PUT":
            return yield* insert(request, context, address, key)
          case "GET":
            return yield* get(request, context, id)
          case "HEAD":
            return yield* head(context, id)
          case "PATCH":
            return yield* ExtendExpiry.handle({ config, storage, limiter, nowMicros }, request, context, id)
          default:
            return yield* remove(context, id)
        }
      })

    const handle = (request: HttpServerRequest.HttpServerRequest) =>
      Effect.gen(function*() {
        if (headerLines(request) > MAX_HEADERS) return headersTooMany()
        const target = Routing.splitTarget(request.url)
        const matched = Routing.match(request.method, target.path)
        if (matched._tag === "Matched" && matched.route._tag === "Health") return textResponse(200, "OK")
        if (matched._tag === "Matched" && matched.route._tag === "Ready") {
          return shuttingDown ? textResponse(503, "Shutting down") : textResponse(200, "OK")
        }
        if (inFlight >= config.maxRequests) return HttpServerResponse.empty({ status: 503 })
        inFlight++
        return yield* Effect.ensuring(
          Effect.suspend(() => {
            switch (matched._tag) {
              case "NotFound":
                return Effect.succeed(HttpServerResponse.empty({ status: 404 }))
              case "MethodNotAllowed":
                return Effect.succeed(
                  HttpServerResponse.empty({
                    status: 405,
                    headers: Headers.fromInput({ allow: matched.allow.join(",") })
                  })
                )
              case "Matched":
                return matched.route._tag === "Object"
                  ? objectRoute(request, target, matched.route)
                  : Effect.succeed(HttpServerResponse.empty({ status: 404 }))
            }
          }),
          Effect.sync(() => inFlight--)
        )
      })

    const app: HttpApp.Default<never, EffectScope.Scope> = Effect.gen(function*() {
      let request = yield* HttpServerRequest.HttpServerRequest
      const raw = yield* Effect.serviceOption(RawTarget)
      if (Option.isSome(raw)) request = request.modify({ url: raw.value })
      const response = yield* handle(request).pipe(
        Effect.catchTag("Reply", (error) => Effect.succeed(error.response)),
        // `HttpApp.toHandled` runs apps uninterruptibly; the handler itself must be interruptible so a client that
        // goes away stops it (releasing files) and admission timeouts can cancel waits.
        Effect.interruptible,
        Effect.catchAllCause((cause) =>
          Cause.isInterruptedOnly(cause)
            ? Effect.failCause(cause as Cause.Cause<never>)
            : Effect.as(
              Effect.logError("objectstore: request failed", cause),
              jsonError(500, "internal error: unexpected failure", ["unexpected failure"])
            )
        )
      )
      return HttpServerResponse.setHeader(response, "server", SERVER_HEADER)
    })

    return {
      app,
      storage,
      config,
      setShuttingDown: (value: boolean) => Effect.sync(() => void (shuttingDown = value)),
      reapNow
    }
  })
