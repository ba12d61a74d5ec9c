/**
 * The batch endpoint `POST /v1/objects:batch/{usecase}/{scopes}/` (PROTOCOL §10).
 *
 * The request is read as a stream of parts (an insert body is buffered up to the 1 MiB part limit, nothing else
 * is); operations run concurrently (bounded by the "bulk" share of the service concurrency, as upstream) and each
 * answer part is written as soon as its operation completes. With `batchOrder` `reverse` or `shuffle` (a test
 * switch) the answers are collected first and then written in that order, so clients are tested on correlation
 * by index.
 *
 * Every operation follows the rules of its single-object twin: the same permission check (`AuthContext`), metadata
 * parsing, usecase expiration rules, expiration and TTI bump (`access`), backend permits (`Limiter`) and storage.
 *
 * @internal
 */
import type * as HttpServerRequest from "@effect/platform/HttpServerRequest"
import * as HttpServerResponse from "@effect/platform/HttpServerResponse"
import * as ApiError from "@objectstore/protocol/ApiError"
import * as Bytes from "@objectstore/protocol/Bytes"
import * as Limits from "@objectstore/protocol/Limits"
import * as Metadata from "@objectstore/protocol/Metadata"
import * as MultipartForm from "@objectstore/protocol/MultipartForm"
import * as Path from "@objectstore/protocol/Path"
import type * as Permission from "@objectstore/protocol/Permission"
import type * as Scope from "@objectstore/protocol/Scope"
import * as Cause from "effect/Cause"
import * as Chunk from "effect/Chunk"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Option from "effect/Option"
import * as Random from "effect/Random"
import * as Stream from "effect/Stream"
import * as Crypto from "node:crypto"
import * as Http from "node:http"
import type * as Auth from "../Auth.js"
import type * as Config from "../Config.js"
import * as Storage from "../Storage.js"
import * as Admission from "./admission.js"
import * as Expiration from "./expiration.js"
import * as RequestBody from "./requestBody.js"
import * as Responses from "./responses.js"

/** Total request body limit of the upstream multipart reader (§10.2). @internal */
export const MAX_REQUEST_SIZE = 1024 * 1024 * 1024

/** What the batch handler borrows from the app. @internal */
export interface Deps {
  readonly config: Config.ServerConfig
  readonly storage: Storage.Service
  readonly limiter: Admission.Limiter
  /** Expiry and TTI bump of the single-object GET/HEAD: `false` when the object counts as missing. */
  readonly access: (id: Storage.ObjectId, info: Storage.ObjectInfo) => Effect.Effect<boolean>
  /** Now in epoch microseconds (the app's clock reading). */
  readonly nowMicros: Effect.Effect<bigint>
  /** The usecase expiration rules (§6.7): an error detail on violation. */
  readonly checkUsecaseRules: (usecase: string, policy: Metadata.Metadata["expirationPolicy"]) => string | undefined
}

/** @internal */
export interface Request {
  readonly request: HttpServerRequest.HttpServerRequest
  readonly context: Auth.AuthContext
  readonly usecase: string
  readonly scopes: Scope.Components
}

type Kind = "get" | "head" | "insert" | "delete"

/** One answer part, before encoding. */
interface Answer {
  readonly index: number
  readonly status: number
  readonly headers: ReadonlyArray<readonly [string, string]>
  readonly body: Uint8Array
}

const EMPTY = new Uint8Array(0)
const encoder = new TextEncoder()

const statusLine = (status: number) => `${status} ${Http.STATUS_CODES[status] ?? "Unknown"}`

const errorAnswer = (index: number, status: number, detail: string, causes?: ReadonlyArray<string>): Answer => ({
  index,
  status,
  headers: [],
  body: encoder.encode(ApiError.encode(detail, causes))
})

const successAnswer = (
  index: number,
  status: number,
  kind: Kind,
  key: string,
  headers: ReadonlyArray<readonly [string, string]> = [],
  body: Uint8Array = EMPTY
): Answer => ({
  index,
  status,
  headers: [["x-sn-batch-operation-key", Path.encodeBatchKey(key)], ["x-sn-batch-operation-kind", kind], ...headers],
  body
})

const encodeAnswer = (boundary: string, answer: Answer): Uint8Array =>
  MultipartForm.encodePart(boundary, [
    ["x-sn-batch-operation-index", String(answer.index)],
    ...answer.headers.slice(0, 2),
    ["x-sn-batch-operation-status", statusLine(answer.status)],
    ...answer.headers.slice(2),
    ["content-disposition", "form-data; name=part"]
  ], answer.body)

const tooManyOperations = (index: number) =>
  errorAnswer(
    index,
    413,
    `batch error: batch limit exceeded: exceeded ${Limits.MAX_BATCH_OPERATIONS} operations per batch request`,
    [
      `batch limit exceeded: exceeded ${Limits.MAX_BATCH_OPERATIONS} operations per batch request`,
      `exceeded ${Limits.MAX_BATCH_OPERATIONS} operations per batch request`
    ]
  )

const partTooLarge = (index: number) =>
  errorAnswer(
    index,
    413,
    `batch error: batch limit exceeded: individual request in batch exceeds body size limit of ${Limits.MAX_BATCH_PART_SIZE} bytes`,
    [
      `batch limit exceeded: individual request in batch exceeds body size limit of ${Limits.MAX_BATCH_PART_SIZE} bytes`,
      `individual request in batch exceeds body size limit of ${Limits.MAX_BATCH_PART_SIZE} bytes`
    ]
  )

const badOperation = (index: number, reason: string) =>
  errorAnswer(index, 400, `batch error: invalid operation: ${reason}`, [`invalid operation: ${reason}`, reason])

const framingAnswer = (index: number, reason: string) =>
  errorAnswer(index, 400, `batch error: multipart error: ${reason}`, [`multipart error: ${reason}`, reason])

/** The `node:http` request under a server request, when served over TCP. */
class BodyReadError {
  readonly _tag = "BodyReadError"
  constructor(readonly reason: string) {}
}

// Read without destroying the socket when reading stops early (after a framing error), so the response still
// reaches the client; a client that disconnects mid-body fails the stream.
const requestBody = (request: HttpServerRequest.HttpServerRequest): Stream.Stream<Uint8Array, BodyReadError> =>
  RequestBody.stream(request, (reason) => new BodyReadError(reason))

/**
 * Answers a batch request whose auth context, path and killswitches were already checked: `400` (plain text) for
 * a missing or non-multipart content type, else `200` with a streamed multipart body.
 *
 * @internal
 */
export const handle = (deps: Deps, input: Request): Effect.Effect<HttpServerResponse.HttpServerResponse> =>
  Effect.gen(function*() {
    const { config, limiter, storage } = deps
    const { context, request, scopes, usecase } = input
    const requestBoundary = MultipartForm.boundaryOf(request.headers["content-type"])
    if (Option.isNone(requestBoundary)) {
      return HttpServerResponse.text("Invalid `boundary` for `multipart/form-data` request", {
        status: 400,
        contentType: Responses.TEXT_PLAIN
      })
    }
    const boundary = `os-boundary-${Crypto.randomBytes(16).toString("hex")}`

    const authorize = (index: number, permission: Permission.Permission) =>
      Effect.mapError(
        context.authorize(permission, usecase, scopes),
        (failure) => errorAnswer(index, failure.status, `auth error: ${failure.message}`, [failure.message])
      )

    const backend = <A, E, R>(
      index: number,
      effect: Effect.Effect<A, E, R>
    ): Effect.Effect<A, Exclude<E, Storage.StorageError> | Answer, R> =>
      Effect.catchAll(limiter.run(effect), (error): Effect.Effect<never, Exclude<E, Storage.StorageError> | Answer> => {
        if (error instanceof Admission.Overloaded) {
          return Effect.fail(
            errorAnswer(index, 429, "service error: concurrency limit reached", ["concurrency limit reached"])
          )
        }
        if (error instanceof Storage.StorageError) {
          return Effect.fail(errorAnswer(index, 500, `service error: ${error.message}`, [error.message]))
        }
        return Effect.fail(error as Exclude<E, Storage.StorageError>)
      })

    const operation = (index: number, part: MultipartForm.Part): Effect.Effect<Answer, Answer> =>
      Effect.gen(function*() {
        if (index >= Limits.MAX_BATCH_OPERATIONS) return yield* Effect.fail(tooManyOperations(index))
        // 1. parse
        const kindHeader = part.headers["x-sn-batch-operation-kind"]
        if (kindHeader === undefined) return yield* Effect.fail(badOperation(index, "missing operation kind"))
        const kind = kindHeader.trim().toLowerCase()
        if (kind !== "get" && kind !== "head" && kind !== "insert" && kind !== "delete") {
          return yield* Effect.fail(badOperation(index, `unknown operation kind: ${kindHeader}`))
        }
        let key: string | undefined
        const keyHeader = part.headers["x-sn-batch-operation-key"]
        if (keyHeader !== undefined) {
          const decoded = Path.decodeBatchKey(keyHeader)
          if (Either.isLeft(decoded)) return yield* Effect.fail(badOperation(index, decoded.left))
          key = decoded.right === "" ? undefined : decoded.right
        }
        if (kind !== "insert" && key === undefined) {
          return yield* Effect.fail(badOperation(index, `missing key for ${kind} operation`))
        }
        if (kind === "insert") {
          const parsed = Metadata.parseInsertHeaders(part.headers)
          if (Either.isLeft(parsed)) {
            const reason = parsed.left
            return yield* Effect.fail(
              errorAnswer(index, 400, `service error: metadata error: ${reason}`, [`metadata error: ${reason}`, reason])
            )
          }
          if (part.truncated) return yield* Effect.fail(partTooLarge(index))
          // 2. (no rate limits) 3. permission 4. usecase rules 5. execute
          yield* authorize(index, "object.write")
          const policy = parsed.right.expirationPolicy
          const violation = deps.checkUsecaseRules(usecase, policy)
          if (violation !== undefined) return yield* Effect.fail(errorAnswer(index, 400, violation))
          const now = yield* deps.nowMicros
          const expires = Expiration.deadline(policy, now)
          if (Either.isLeft(expires)) {
            const reason = expires.left
            return yield* Effect.fail(
              errorAnswer(index, 400, `service error: metadata error: ${reason}`, [`metadata error: ${reason}`, reason])
            )
          }
          const metadata: Metadata.Metadata = { ...parsed.right, timeCreated: now, timeExpires: expires.right }
          const finalKey = key ?? Crypto.randomUUID()
          const target = { usecase, scopes, key: finalKey }
          yield* backend(
            index,
            storage.putBytes !== undefined
              ? storage.putBytes(target, metadata, part.body)
              : storage.put(target, metadata, Stream.succeed(part.body))
          )
          return successAnswer(index, 201, "insert", finalKey)
        }
        const id: Storage.ObjectId = { usecase, scopes, key: key! }
        switch (kind) {
          case "get": {
            yield* authorize(index, "object.read")
            const found = yield* backend(
              index,
              Effect.scoped(Effect.gen(function*() {
                const opened = yield* storage.open(id)
                if (Option.isNone(opened) || !(yield* deps.access(id, opened.value))) return Option.none()
                const body = yield* (opened.value.readBytes?.() ?? Bytes.collect(opened.value.read()))
                return Option.some({ info: opened.value, body })
              }))
            )
            if (Option.isNone(found)) return successAnswer(index, 404, "get", id.key)
            return successAnswer(
              index,
              200,
              "get",
              id.key,
              Metadata.toResponseHeaders(found.value.info.metadata, { contentDisposition: false }),
              found.value.body
            )
          }
          case "head": {
            yield* authorize(index, "object.read")
            const info = yield* backend(
              index,
              Effect.flatMap(
                storage.head(id),
                (info): Effect.Effect<Option.Option<Storage.ObjectInfo>> =>
                  Option.isNone(info)
                    ? Effect.succeed(info)
                    : Effect.map(deps.access(id, info.value), (live) => live ? info : Option.none())
              )
            )
            if (Option.isNone(info)) return successAnswer(index, 404, "head", id.key)
            return successAnswer(
              index,
              204,
              "head",
              id.key,
              Metadata.toResponseHeaders(info.value.metadata, { contentDisposition: false })
            )
          }
          default: {
            yield* authorize(index, "object.delete")
            yield* backend(index, storage.delete(id))
            return successAnswer(index, 204, "delete", id.key)
          }
        }
      })

    const answer = (index: number, item: Either.Either<MultipartForm.Part, string>): Effect.Effect<Answer> =>
      Either.isLeft(item)
        ? Effect.succeed(framingAnswer(index, item.left))
        : operation(index, item.right).pipe(
          Effect.merge,
          Effect.catchAllCause((cause) =>
            Cause.isInterruptedOnly(cause)
              ? Effect.failCause(cause as Cause.Cause<never>)
              : Effect.as(
                Effect.logError("objectstore: batch operation failed", cause),
                errorAnswer(index, 500, "internal error: unexpected failure", ["unexpected failure"])
              )
          )
        )

    // A framing error becomes one more item (one 400 part), after which the request is not read any further.
    // Parts come in groups (those completed by one chunk of the request). A framing error becomes one more item
    // (one 400 part), after which the request is not read any further.
    type Item = readonly [item: Either.Either<MultipartForm.Part, string>, index: number]
    let next = 0
    const groups: Stream.Stream<ReadonlyArray<Item>> = MultipartForm.partGroups(
      requestBody(request),
      requestBoundary.value,
      { maxBody: Limits.MAX_BATCH_PART_SIZE, maxTotal: MAX_REQUEST_SIZE }
    ).pipe(
      Stream.map((group) => group.map((part): Item => [Either.right(part), next++])),
      Stream.catchAll((error) =>
        Stream.sync((): ReadonlyArray<Item> => [[
          Either.left(error._tag === "FramingError" ? error.reason : `stream error: ${error.reason}`),
          next++
        ]])
      )
    )
    // Groups run concurrently, up to the "bulk" share of the service concurrency (60 %, at most 300), as upstream;
    // backend permits still come from the limiter. The operations of one group run one after the other (forking a
    // fiber per operation costs more than a memory-store operation) and their answers are written together, in
    // one buffer.
    const bulk = Math.max(1, Math.min(300, Math.floor(config.maxConcurrency * 0.6)))
    const perGroup = 1
    const answerGroup = (group: ReadonlyArray<Item>): Effect.Effect<ReadonlyArray<Answer>> =>
      Effect.suspend(() => {
        const done: Array<Answer> = []
        return Effect.as(
          Effect.forEach(
            group,
            ([item, index]) => Effect.map(answer(index, item), (answer) => void done.push(answer)),
            { concurrency: perGroup, discard: true }
          ),
          done
        )
      })
    const answers: Stream.Stream<ReadonlyArray<Answer>> = groups.pipe(
      Stream.mapEffect(answerGroup, { concurrency: Math.max(1, Math.ceil(bulk / perGroup)), unordered: true })
    )
    const ordered: Stream.Stream<ReadonlyArray<Answer>> = config.batchOrder === "completion"
      ? answers
      : Stream.unwrap(Effect.gen(function*() {
        const all = Chunk.toReadonlyArray(yield* Stream.runCollect(answers)).flat()
        const reordered = config.batchOrder === "reverse"
          ? [...all].reverse()
          : Chunk.toReadonlyArray(yield* Random.shuffle(all))
        return Stream.succeed(reordered)
      }))
    const body = ordered.pipe(
      Stream.map((group) => Bytes.concat(group.map((answer) => encodeAnswer(boundary, answer)))),
      Stream.concat(Stream.sync(() => MultipartForm.encodeClose(boundary)))
    )
    return HttpServerResponse.stream(body, {
      status: 200,
      contentType: `multipart/form-data; boundary="${boundary}"`
    })
  })
