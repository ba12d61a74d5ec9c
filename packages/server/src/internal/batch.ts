/**
 * The batch endpoint `POST /v1/objects:batch/{usecase}/{scopes}/` (PROTOCOL §10).
 *
 * The request is read as a stream of parts (an insert body is buffered up to the 1 MiB part limit, nothing else
 * is); operations run concurrently (bounded by the "bulk" share of the service concurrency, as upstream) and each
 * answer part is written as soon as its operation completes, one part after the other, bodies streamed. What a
 * batch holds in memory (parts read but not executed, answers ready but not written) is bounded by
 * `batchMemoryBudget`, whatever the number of operations or the size of the objects (upstream buffers every get
 * whole). With `batchOrder` `reverse` or `shuffle` (a test switch) the answers are collected first, bodies whole,
 * and then written in that order, so clients are tested on correlation by index; the budget does not bound those.
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
import type * as Clock from "effect/Clock"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as ExecutionStrategy from "effect/ExecutionStrategy"
import * as Exit from "effect/Exit"
import * as Option from "effect/Option"
import * as Queue from "effect/Queue"
import * as Random from "effect/Random"
import * as EffectScope from "effect/Scope"
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
import { sliceStream } from "./storeCommon.js"

/** Total request body limit of the upstream multipart reader (§10.2). @internal */
export const MAX_REQUEST_SIZE = 1024 * 1024 * 1024

/** What the batch handler borrows from the app. @internal */
export interface Deps {
  readonly config: Config.ServerConfig
  readonly storage: Storage.Service
  readonly limiter: Admission.Limiter
  /** Expiry and TTI bump of the single-object GET/HEAD: `false` when the object counts as missing. */
  readonly access: (id: Storage.ObjectId, info: Storage.ObjectInfo) => Effect.Effect<boolean>
  /** `access` decided without an effect at `now`: `undefined` when a TTI bump is due (then `access` runs). */
  readonly accessAt: (info: Storage.ObjectInfo, now: bigint) => boolean | undefined
  /** Now in epoch microseconds (the app's clock reading). */
  readonly nowMicros: Effect.Effect<bigint>
  /** The same read from a clock without an effect. */
  readonly clockMicros: (clock: Clock.Clock) => bigint
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

/** A body the writer streams when the answer's turn comes (a large object, read from its open file). */
interface StreamedBody {
  readonly size: number
  readonly stream: Stream.Stream<Uint8Array, Storage.StorageError>
}

/** One answer part, before encoding. */
interface Answer {
  readonly index: number
  readonly status: number
  readonly headers: ReadonlyArray<readonly [string, string]>
  readonly body: Uint8Array | StreamedBody
  /** Bytes of the answer budget it holds, given back once it is written or dropped. */
  readonly charge?: number | undefined
  /** Closes what the answer holds open (a file), once it is written or dropped. */
  readonly close?: Effect.Effect<void> | undefined
}

/** Answers already encoded (delimiters, headers, bodies) into one buffer, with the budget they hold. */
interface Encoded {
  readonly _tag: "Encoded"
  readonly bytes: Uint8Array
  readonly charge: number
}

/** What the writer is handed: encoded small answers, or an answer whose body it streams. */
type Ready = Encoded | Answer

/**
 * The answer budget of one response: bytes of answers ready but not yet written. A plain counter (a response's
 * fibers all run on one thread), because an Effect semaphore per answer cost more than a memory-store get; waiters
 * are served in order.
 */
class Budget {
  private readonly waiters: Array<{ readonly bytes: number; readonly resume: () => void }> = []
  constructor(private available: number) {}

  /** Takes `bytes` when there is room and nobody waits before. */
  tryTake(bytes: number): boolean {
    if (this.waiters.length > 0 || this.available < bytes) return false
    this.available -= bytes
    return true
  }

  /** Takes `bytes`, waiting for the writer to give enough back. */
  take(bytes: number): Effect.Effect<void> {
    return Effect.suspend(() =>
      this.tryTake(bytes) ? Effect.void : Effect.async<void>((resume) => {
        const waiter = { bytes, resume: () => resume(Effect.void) }
        this.waiters.push(waiter)
        return Effect.sync(() => {
          const at = this.waiters.indexOf(waiter)
          if (at >= 0) this.waiters.splice(at, 1)
          else this.give(bytes) // granted as the wait was interrupted
        })
      })
    )
  }

  give(bytes: number): void {
    this.available += bytes
    while (this.waiters.length > 0 && this.available >= this.waiters[0]!.bytes) {
      const waiter = this.waiters.shift()!
      this.available -= waiter.bytes
      waiter.resume()
    }
  }
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
  body: Answer["body"] = EMPTY,
  charge?: number
): Answer => ({
  index,
  status,
  headers: [["x-sn-batch-operation-key", Path.encodeBatchKey(key)], ["x-sn-batch-operation-kind", kind], ...headers],
  body,
  charge
})

/** The delimiter and headers of an answer part (§10.4), up to the blank line before its body (latin1 text). */
const headText = (boundary: string, answer: Answer): string => {
  // index, then key and kind (the first two headers of a success), the status, the rest
  const headers = answer.headers
  let head = `--${boundary}\r\nx-sn-batch-operation-index: ${answer.index}\r\n`
  const first = Math.min(2, headers.length)
  for (let i = 0; i < first; i++) head += `${headers[i]![0]}: ${headers[i]![1]}\r\n`
  head += `x-sn-batch-operation-status: ${statusLine(answer.status)}\r\n`
  for (let i = first; i < headers.length; i++) head += `${headers[i]![0]}: ${headers[i]![1]}\r\n`
  return `${head}content-disposition: form-data; name=part\r\n\r\n`
}

const encodeHead = (boundary: string, answer: Answer): Uint8Array => Buffer.from(headText(boundary, answer), "latin1")

/**
 * The encoded answers of one group: part heads written straight into a buffer that grows as needed (no buffer per
 * head, no concatenation), handed over whole.
 */
class AnswerBuffer {
  private buffer: Buffer
  private used = 0
  constructor(private capacity: number) {
    this.buffer = Buffer.allocUnsafe(capacity)
  }

  get size(): number {
    return this.used
  }

  /** Adds an answer part with its body. */
  add(head: string, body: Uint8Array): void {
    this.reserve(head.length + body.length + 2)
    this.used += this.buffer.write(head, this.used, "latin1")
    this.buffer.set(body, this.used)
    this.used += body.length
    this.buffer[this.used++] = 13
    this.buffer[this.used++] = 10
  }

  /** What was added, the buffer then starting afresh (as large as this one had to be). */
  take(): Uint8Array {
    const bytes = this.buffer.subarray(0, this.used)
    this.capacity = Math.max(this.capacity, this.used)
    this.buffer = Buffer.allocUnsafe(this.capacity)
    this.used = 0
    return bytes
  }

  private reserve(bytes: number): void {
    if (this.used + bytes <= this.buffer.length) return
    const grown = Buffer.allocUnsafe(Math.max(2 * this.buffer.length, this.used + bytes))
    this.buffer.copy(grown, 0, 0, this.used)
    this.buffer = grown
  }
}

const CRLF = Buffer.from("\r\n", "latin1")

/** Bodies up to this size are read whole when their operation completes; larger ones stream from their file. */
const INLINE_BODY = 64 * 1024

/** Consecutive small answers are written in one buffer of up to this size. */
const COALESCE = 256 * 1024

/** The first size of a group's answer buffer (it grows as needed). */
const GROUP_BUFFER = 16 * 1024

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

    const authFailed = (index: number, failure: Auth.AuthFailure) =>
      errorAnswer(index, failure.status, `auth error: ${failure.message}`, [failure.message])

    const authorize = (index: number, permission: Permission.Permission) =>
      Effect.mapError(context.authorize(permission, usecase, scopes), (failure) => authFailed(index, failure))

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

    /**
     * What the operations of one response share: its memory budget, split in two so neither side can starve the
     * other (answers ready to write, and request parts read ahead of execution), and the scope of the files its
     * answers hold.
     */
    interface Run {
      readonly budget: Budget
      readonly requestBudget: Effect.Semaphore
      readonly resources: EffectScope.Scope
    }
    /** Where a group's operations put their answers: `flush` hands the ones held back to the writer. */
    interface Sink {
      readonly flush: Effect.Effect<void>
    }
    const streaming = config.batchOrder === "completion"
    const requestBytes = Math.max(1, Math.floor(config.batchMemoryBudget / 2))
    const budgetBytes = Math.max(1, config.batchMemoryBudget - requestBytes)
    const costOf = (bytes: number) => Math.min(bytes, budgetBytes)

    /**
     * Takes `cost` of the answer budget. Before waiting, the group hands the answers it holds back to the writer:
     * they are charged too, and only the writer gives budget back.
     */
    const charge = (run: Run, sink: Sink, cost: number): Effect.Effect<void> =>
      Effect.suspend(() => run.budget.tryTake(cost) ? Effect.void : Effect.zipRight(sink.flush, run.budget.take(cost)))

    const readFailed = (index: number) => (error: Storage.StorageError) =>
      errorAnswer(index, 500, `service error: ${error.message}`, [error.message])

    /** Expiry and TTI bump: `None` when the object counts as missing. */
    const live = <A extends Storage.ObjectInfo>(id: Storage.ObjectId) => (found: Option.Option<A>) =>
      Option.isNone(found)
        ? Effect.succeed(found)
        : Effect.map(deps.access(id, found.value), (alive) => alive ? found : Option.none<A>())

    /**
     * A get's answer. In completion order its body is charged to the budget (waiting while the budget is spent) and
     * given back once written; a body the store holds in memory (`readWhole`, `readBytes`) or up to `INLINE_BODY` is
     * read at once, a larger one streams from its open file when written. Collected orders (reverse, shuffle) read
     * every body whole.
     */
    const getAnswer = (index: number, id: Storage.ObjectId, run: Run, sink: Sink): Effect.Effect<Answer, Answer> => {
      const readWhole = storage.readWhole
      if (readWhole !== undefined) {
        // nothing to close: no scope of its own
        return Effect.flatMap(backend(index, Effect.flatMap(readWhole(id), live(id))), (found) => {
          if (Option.isNone(found)) return Effect.succeed(successAnswer(index, 404, "get", id.key))
          const object = found.value
          const headers = Metadata.toResponseHeaders(object.metadata, { contentDisposition: false })
          const answer = successAnswer(index, 200, "get", id.key, headers, object.bytes)
          if (!streaming) return Effect.succeed(answer)
          const cost = costOf(object.size)
          return Effect.as(charge(run, sink, cost), { ...answer, charge: cost })
        })
      }
      return Effect.gen(function*() {
        const held = yield* EffectScope.fork(run.resources, ExecutionStrategy.sequential)
        const close = EffectScope.close(held, Exit.void)
        const found = yield* backend(index, Effect.flatMap(EffectScope.extend(storage.open(id), held), live(id))).pipe(
          Effect.onError(() => close)
        )
        if (Option.isNone(found)) {
          yield* close
          return successAnswer(index, 404, "get", id.key)
        }
        const object = found.value
        const headers = Metadata.toResponseHeaders(object.metadata, { contentDisposition: false })
        if (!streaming) {
          const bytes = yield* (object.readBytes?.() ?? Bytes.collect(object.read())).pipe(
            Effect.mapError(readFailed(index)),
            Effect.ensuring(close)
          )
          return successAnswer(index, 200, "get", id.key, headers, bytes)
        }
        const cost = costOf(object.size)
        yield* charge(run, sink, cost).pipe(Effect.onInterrupt(() => close))
        if (object.readBytes !== undefined || object.size <= INLINE_BODY) {
          const bytes = yield* (object.readBytes?.() ?? Bytes.collect(object.read())).pipe(
            Effect.mapError(readFailed(index)),
            Effect.ensuring(close),
            Effect.onError(() => Effect.sync(() => run.budget.give(cost)))
          )
          return { ...successAnswer(index, 200, "get", id.key, headers, bytes), charge: cost }
        }
        const body: StreamedBody = { size: object.size, stream: object.read() }
        return { ...successAnswer(index, 200, "get", id.key, headers, body), charge: cost, close }
      })
    }

    const metadataError = (index: number, reason: string) =>
      errorAnswer(index, 400, `service error: metadata error: ${reason}`, [`metadata error: ${reason}`, reason])

    const insert = (
      index: number,
      part: MultipartForm.Part,
      key: string | undefined
    ): Effect.Effect<Answer, Answer> => {
      const parsed = Metadata.parseInsertHeaders(part.headers)
      if (Either.isLeft(parsed)) return Effect.fail(metadataError(index, parsed.left))
      if (part.truncated) return Effect.fail(partTooLarge(index))
      // 2. (no rate limits) 3. permission 4. usecase rules 5. execute
      const policy = parsed.right.expirationPolicy
      return authorize(index, "object.write").pipe(
        Effect.zipRight(Effect.suspend(() => {
          const violation = deps.checkUsecaseRules(usecase, policy)
          return violation !== undefined ? Effect.fail(errorAnswer(index, 400, violation)) : deps.nowMicros
        })),
        Effect.flatMap((now) => {
          const expires = Expiration.deadline(policy, now)
          if (Either.isLeft(expires)) return Effect.fail(metadataError(index, expires.left))
          const metadata: Metadata.Metadata = { ...parsed.right, timeCreated: now, timeExpires: expires.right }
          const finalKey = key ?? Crypto.randomUUID()
          const target = { usecase, scopes, key: finalKey }
          return Effect.as(
            backend(
              index,
              storage.putBytes !== undefined
                ? storage.putBytes(target, metadata, part.body)
                : storage.put(target, metadata, Stream.succeed(part.body))
            ),
            successAnswer(index, 201, "insert", finalKey)
          )
        })
      )
    }

    /** What a part asks for (its kind and key), or the answer that refuses it. */
    type Parsed =
      | { readonly kind: "insert"; readonly key: string | undefined }
      | { readonly kind: "get" | "head" | "delete"; readonly id: Storage.ObjectId }

    const parse = (index: number, part: MultipartForm.Part): Parsed | Answer => {
      if (index >= Limits.MAX_BATCH_OPERATIONS) return tooManyOperations(index)
      const kindHeader = part.headers["x-sn-batch-operation-kind"]
      if (kindHeader === undefined) return badOperation(index, "missing operation kind")
      const kind = kindHeader.trim().toLowerCase()
      if (kind !== "get" && kind !== "head" && kind !== "insert" && kind !== "delete") {
        return badOperation(index, `unknown operation kind: ${kindHeader}`)
      }
      let key: string | undefined
      const keyHeader = part.headers["x-sn-batch-operation-key"]
      if (keyHeader !== undefined) {
        const decoded = Path.decodeBatchKey(keyHeader)
        if (Either.isLeft(decoded)) return badOperation(index, decoded.left)
        key = decoded.right === "" ? undefined : decoded.right
      }
      if (kind === "insert") return { kind, key }
      if (key === undefined) return badOperation(index, `missing key for ${kind} operation`)
      return { kind, id: { usecase, scopes, key } }
    }

    const operation = (
      index: number,
      part: MultipartForm.Part,
      parsed: Parsed,
      run: Run,
      sink: Sink
    ): Effect.Effect<Answer, Answer> => {
      const kind = parsed.kind
      if (kind === "insert") return insert(index, part, parsed.key)
      const id = parsed.id
      switch (kind) {
        case "get":
          return Effect.zipRight(authorize(index, "object.read"), getAnswer(index, id, run, sink))
        case "head":
          return authorize(index, "object.read").pipe(
            Effect.zipRight(backend(index, Effect.flatMap(storage.head(id), live(id)))),
            Effect.map((info) =>
              Option.isNone(info)
                ? successAnswer(index, 404, "head", id.key)
                : successAnswer(
                  index,
                  204,
                  "head",
                  id.key,
                  Metadata.toResponseHeaders(info.value.metadata, { contentDisposition: false })
                )
            )
          )
        default:
          return authorize(index, "object.delete").pipe(
            Effect.zipRight(backend(index, storage.delete(id))),
            Effect.as(successAnswer(index, 204, "delete", id.key))
          )
      }
    }

    const unexpected = (index: number, cause: Cause.Cause<unknown>) =>
      Effect.as(
        Effect.logError("objectstore: batch operation failed", cause),
        errorAnswer(index, 500, "internal error: unexpected failure", ["unexpected failure"])
      )

    /** The operation's answer through effects (the way of every store but one with `immediate`). */
    const answer = (
      index: number,
      item: Either.Either<MultipartForm.Part, string>,
      run: Run,
      sink: Sink
    ): Effect.Effect<Answer> => {
      if (Either.isLeft(item)) return Effect.succeed(framingAnswer(index, item.left))
      const parsed = parse(index, item.right)
      if (!("kind" in parsed)) return Effect.succeed(parsed)
      return operation(index, item.right, parsed, run, sink).pipe(
        Effect.merge,
        Effect.catchAllCause((cause) =>
          Cause.isInterruptedOnly(cause) ? Effect.failCause(cause as Cause.Cause<never>) : unexpected(index, cause)
        )
      )
    }

    // The store's synchronous forms, when it has them and its operations are still the ones they mirror (a
    // wrapper may have replaced some). Used in completion order only.
    const immediate = ((store) =>
      store !== undefined && streaming && storage.putBytes === store.of.putBytes &&
        storage.readWhole === store.of.readWhole && storage.head === store.of.head &&
        storage.delete === store.of.delete && storage.setExpiry === store.of.setExpiry
        ? store
        : undefined)(storage.immediate)

    /** A permission decided without an effect: `true`, the refusal's answer, or `undefined` (ask the effect). */
    const authorizeNow = (index: number, permission: Permission.Permission): true | Answer | undefined => {
      const decided: Effect.Effect<void, Auth.AuthFailure> = context.authorize(permission, usecase, scopes)
      // an authorization that is already decided is an `Exit` (`Effect.void`, `Effect.fail(...)`)
      if (!Exit.isExit(decided)) return undefined
      const exit = decided as Exit.Exit<void, Auth.AuthFailure>
      if (Exit.isSuccess(exit)) return true
      const failure = Cause.failureOption(exit.cause)
      return Option.isSome(failure) ? authFailed(index, failure.value) : undefined
    }

    /**
     * The operation run on the store's synchronous forms, without an effect, when everything it needs is at hand:
     * a decided permission, a free backend permit, no TTI bump due, room in the answer budget for a get's body.
     * `undefined` otherwise (nothing changed: the effect path then runs the operation from the start). The same
     * steps, checks and answers as the effect path. Throws a defect.
     */
    const immediateAnswer = (
      store: Storage.ImmediateObjectStore,
      index: number,
      part: MultipartForm.Part,
      parsed: Parsed,
      clock: Clock.Clock,
      run: Run
    ): Answer | undefined => {
      if (parsed.kind === "insert") {
        const metadata = Metadata.parseInsertHeaders(part.headers)
        if (Either.isLeft(metadata)) return metadataError(index, metadata.left)
        if (part.truncated) return partTooLarge(index)
        const allowed = authorizeNow(index, "object.write")
        if (allowed !== true) return allowed
        const policy = metadata.right.expirationPolicy
        const violation = deps.checkUsecaseRules(usecase, policy)
        if (violation !== undefined) return errorAnswer(index, 400, violation)
        const now = deps.clockMicros(clock)
        const expires = Expiration.deadline(policy, now)
        if (Either.isLeft(expires)) return metadataError(index, expires.left)
        if (!limiter.tryTake()) return undefined
        const key = parsed.key ?? Crypto.randomUUID()
        // every field named (a spread here cost more than the store's Map)
        const given = metadata.right
        const stored: Metadata.Metadata = {
          contentType: given.contentType,
          compression: given.compression,
          expirationPolicy: given.expirationPolicy,
          timeCreated: now,
          timeExpires: expires.right,
          origin: given.origin,
          filename: given.filename,
          custom: given.custom
        }
        try {
          store.putBytes({ usecase, scopes, key }, stored, part.body)
        } finally {
          limiter.release()
        }
        return successAnswer(index, 201, "insert", key)
      }
      const kind = parsed.kind
      const allowed = authorizeNow(index, kind === "delete" ? "object.delete" : "object.read")
      if (allowed !== true) return allowed
      if (!limiter.tryTake()) return undefined
      const id = parsed.id
      let found: Storage.ObjectInfo | Storage.WholeObject | undefined
      try {
        if (kind === "delete") store.delete(id)
        else found = kind === "get" ? store.readWhole(id) : store.head(id)
      } finally {
        limiter.release()
      }
      if (kind === "delete") return successAnswer(index, 204, "delete", id.key)
      if (found === undefined) return successAnswer(index, 404, kind, id.key)
      const alive = deps.accessAt(found, deps.clockMicros(clock))
      if (alive === undefined) return undefined
      if (!alive) return successAnswer(index, 404, kind, id.key)
      const headers = Metadata.toResponseHeaders(found.metadata, { contentDisposition: false })
      if (kind === "head") return successAnswer(index, 204, "head", id.key, headers)
      const bytes = (found as Storage.WholeObject).bytes
      const cost = costOf(bytes.length)
      if (!run.budget.tryTake(cost)) return undefined
      return successAnswer(index, 200, "get", id.key, headers, bytes, cost)
    }

    /**
     * The answer body of a request served over TCP to a store with synchronous forms, in completion order, read and
     * written by hand: each pull gives back the budget of what the previous pull handed to the response, reads the
     * request only when it has nothing left to answer (so nothing is read ahead of the response), runs the
     * operations the chunk completes in a plain loop (through `answer`'s effects only for one the store cannot
     * answer at once: a permit to wait for, a TTI bump) and hands over their encoded answers: one buffer per request
     * chunk (or `COALESCE` bytes), no Stream stage per chunk, group or answer. The same operations, answers and
     * budget as the general path (`produce` and the writer), whose operations would all run here in request order.
     */
    const handBody = (
      source: Http.IncomingMessage,
      store: Storage.ImmediateObjectStore,
      boundaryValue: string
    ): Stream.Stream<Uint8Array> =>
      Stream.unwrapScoped(Effect.gen(function*() {
        const run: Run = {
          budget: new Budget(budgetBytes),
          requestBudget: yield* Effect.makeSemaphore(requestBytes),
          resources: yield* Effect.scope
        }
        const clock = yield* Effect.clock
        const reader = new MultipartForm.Reader(boundaryValue, {
          maxBody: Limits.MAX_BATCH_PART_SIZE,
          maxTotal: MAX_REQUEST_SIZE,
          // the request's chunks are fresh buffers nobody changes, and the store copies what it keeps
          copyBodies: false
        })
        const held = new AnswerBuffer(GROUP_BUFFER)
        const sink: Sink = { flush: Effect.void }
        let charged = 0 // budget held by the answers in `held`
        let handed = 0 // budget held by what the last pull handed over
        let parts: Array<MultipartForm.Part> = [] // completed by the last chunk, from `at` on not yet answered
        let at = 0
        let next = 0 // the index of `parts[at]`
        let failure: string | undefined // a framing or read error, answered after `parts`
        let inputDone = false
        let closed = false

        /** What `held` holds, plus `extra` (a large answer), handed over; the buffer starts afresh. */
        const handOver = (extra?: ReadonlyArray<Uint8Array>): Chunk.Chunk<Uint8Array> => {
          const out: Array<Uint8Array> = held.size > 0 ? [held.take()] : []
          if (extra !== undefined) out.push(...extra)
          handed = charged
          charged = 0
          return Chunk.unsafeFromArray(out)
        }

        /** Adds an answer: small ones into `held` (`undefined`), a large one handed over with it (the chunk). */
        const add = (ready: Answer): Chunk.Chunk<Uint8Array> | undefined => {
          charged += ready.charge ?? 0
          const body = ready.body as Uint8Array // a store with `readWhole`: every body is in memory
          if (body.length <= INLINE_BODY) {
            held.add(headText(boundary, ready), body)
            return held.size >= COALESCE ? handOver() : undefined
          }
          return handOver([encodeHead(boundary, ready), body, CRLF])
        }

        const feed = (chunk: Uint8Array | null): void => {
          try {
            if (chunk === null) {
              inputDone = true
              reader.end()
            } else {
              parts = reader.push(chunk)
              at = 0
              if (reader.done) inputDone = true
            }
          } catch (error) {
            failure = error instanceof MultipartForm.FramingError ? error.reason : String(error)
            inputDone = true
          }
        }

        const step = (): Effect.Effect<Chunk.Chunk<Uint8Array>, Option.Option<never>> => {
          while (true) {
            while (at < parts.length) {
              const part = parts[at]!
              const index = next
              const parsed = parse(index, part)
              let ready: Answer | undefined
              try {
                ready = "kind" in parsed ? immediateAnswer(store, index, part, parsed, clock, run) : parsed
              } catch (defect) {
                return Effect.flatMap(unexpected(index, Cause.die(defect)), answered)
              }
              if (ready === undefined) {
                // through effects, once what is held is handed over (the budget is then free: nothing waits)
                if (held.size > 0) return Effect.succeed(handOver())
                return Effect.flatMap(answer(index, Either.right(part), run, sink), answered)
              }
              at++
              next++
              const chunk = add(ready)
              if (chunk !== undefined) return Effect.succeed(chunk)
            }
            if (failure !== undefined) {
              const chunk = add(framingAnswer(next++, failure))
              failure = undefined
              if (chunk !== undefined) return Effect.succeed(chunk)
            }
            if (held.size > 0) return Effect.succeed(handOver())
            if (inputDone) {
              closed = true
              return Effect.succeed(Chunk.of(MultipartForm.encodeClose(boundary)))
            }
            return Effect.flatMap(Effect.either(RequestBody.read(source)), (read) => {
              if (Either.isLeft(read)) {
                failure = `stream error: ${read.left}`
                inputDone = true
              } else {
                feed(read.right)
              }
              return step()
            })
          }
        }

        const answered = (ready: Answer): Effect.Effect<Chunk.Chunk<Uint8Array>, Option.Option<never>> => {
          at++
          next++
          const chunk = add(ready)
          return chunk !== undefined ? Effect.succeed(chunk) : step()
        }

        return Stream.repeatEffectChunkOption(Effect.suspend(() => {
          if (handed > 0) {
            run.budget.give(handed)
            handed = 0
          }
          return closed ? Effect.fail(Option.none()) : step()
        }))
      }))

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
    // fiber per operation costs more than a memory-store operation). In completion order a group encodes its small
    // answers into one buffer and hands it to the writer when the group is done (or the buffer reaches `COALESCE`,
    // or an operation must wait for budget); a large answer goes to the writer on its own, its body streamed.
    //
    // Memory: the request parts read but not yet executed (an insert body is up to 1 MiB) and the answer bodies
    // not yet written are charged to `batchMemoryBudget` (half each), so a batch holds about that much whatever its
    // size: the reader waits while its half is spent (a group gives it back when its operations are done), a get
    // waits before it reads its body (after handing over what its group holds, which only the writer gives back),
    // and the writer gives budget back as it writes. Large bodies stream from their files when written, one part at
    // a time.
    const bulk = Math.max(1, Math.min(300, Math.floor(config.maxConcurrency * 0.6)))
    const groupCost = (group: ReadonlyArray<Item>) =>
      Math.min(
        requestBytes,
        group.reduce((sum, [item]) => sum + (Either.isRight(item) ? item.right.body.length : 0), 0)
      )

    /** The operations of one group, one after the other, their answers handed to the writer. */
    const runGroup = (group: ReadonlyArray<Item>, run: Run, queue: Queue.Queue<Ready | null>) =>
      Effect.suspend(() => {
        if (!streaming) {
          const sink: Sink = { flush: Effect.void }
          return Effect.forEach(
            group,
            (item) => Effect.flatMap(answer(item[1], item[0], run, sink), (ready) => queue.offer(ready)),
            { discard: true }
          )
        }
        const held = new AnswerBuffer(GROUP_BUFFER)
        let charged = 0
        const flush = Effect.suspend(() => {
          if (held.size === 0) return Effect.void
          const encoded: Encoded = { _tag: "Encoded", bytes: held.take(), charge: charged }
          charged = 0
          return queue.offer(encoded)
        })
        const sink: Sink = { flush }
        /** Encodes a small answer into the group's buffer (`true`); `false` for a large one, left alone. */
        const hold = (ready: Answer): boolean => {
          if (!(ready.body instanceof Uint8Array && ready.body.length <= INLINE_BODY && ready.close === undefined)) {
            return false
          }
          held.add(headText(boundary, ready), ready.body)
          charged += ready.charge ?? 0
          return true
        }
        const add = (ready: Answer): Effect.Effect<unknown> =>
          hold(ready) ? (held.size >= COALESCE ? flush : Effect.void) : Effect.zipRight(flush, queue.offer(ready))
        if (immediate === undefined) {
          return Effect.zipRight(
            Effect.forEach(group, (item) => Effect.flatMap(answer(item[1], item[0], run, sink), add), {
              discard: true
            }),
            flush
          )
        }
        // A plain loop over the operations the store answers at once; an effect only for the others (and to hand
        // a full buffer or a large answer to the writer).
        return Effect.clockWith((clock) => {
          const from = (start: number): Effect.Effect<void> => {
            for (let i = start; i < group.length; i++) {
              const [item, index] = group[i]!
              let ready: Answer | undefined
              if (Either.isRight(item)) {
                const parsed = parse(index, item.right)
                try {
                  ready = "kind" in parsed ? immediateAnswer(immediate, index, item.right, parsed, clock, run) : parsed
                } catch (defect) {
                  return Effect.flatMap(unexpected(index, Cause.die(defect)), (failed) => then(failed, i))
                }
              }
              if (ready === undefined) return Effect.flatMap(answer(index, item, run, sink), (done) => then(done, i))
              if (!hold(ready)) return then(ready, i)
              if (held.size >= COALESCE) return Effect.zipRight(flush, Effect.suspend(() => from(i + 1)))
            }
            return flush
          }
          const then = (ready: Answer, at: number) => Effect.zipRight(add(ready), Effect.suspend(() => from(at + 1)))
          return from(0)
        })
      })

    const produce = (run: Run, queue: Queue.Queue<Ready | null>) =>
      groups.pipe(
        Stream.mapEffect((group) => Effect.as(run.requestBudget.take(groupCost(group)), group)),
        Stream.mapEffect(
          (group) => runGroup(group, run, queue).pipe(Effect.ensuring(run.requestBudget.release(groupCost(group)))),
          { concurrency: bulk, unordered: true }
        ),
        Stream.runDrain,
        Effect.ensuring(queue.offer(null))
      )

    /** Gives back what a written (or dropped) answer holds. */
    const release = (run: Run, ready: Ready): Effect.Effect<void> => {
      const charged = ready.charge ?? 0
      if (charged > 0) run.budget.give(charged)
      return "close" in ready && ready.close !== undefined ? ready.close : Effect.void
    }

    /** The bytes of one answer, then its budget and file given back. */
    const writeOne = (run: Run, answer: Answer): Stream.Stream<Uint8Array> => {
      const body = answer.body
      const bytes: Stream.Stream<Uint8Array> = body instanceof Uint8Array
        ? sliceStream(body, 0, body.length - 1)
        : Stream.orDie(body.stream)
      return Stream.make(encodeHead(boundary, answer)).pipe(
        Stream.concat(bytes),
        Stream.concat(Stream.succeed(CRLF)),
        Stream.concat(Stream.execute(Effect.suspend(() => release(run, answer))))
      )
    }

    /** Answers ready together: small ones coalesced into buffers of up to `COALESCE` bytes, large ones streamed. */
    const writeReady = (run: Run, ready: ReadonlyArray<Ready>): Stream.Stream<Uint8Array> => {
      const out: Array<Stream.Stream<Uint8Array>> = []
      let pending: Array<Uint8Array> = []
      let pendingSize = 0
      let given: Array<Ready> = []
      const flush = () => {
        if (pending.length === 0) return
        const buffer = pending.length === 1 ? pending[0]! : Bytes.concat(pending)
        const written = given
        out.push(Stream.concat(
          Stream.succeed(buffer),
          Stream.execute(Effect.forEach(written, (item) => release(run, item), { discard: true }))
        ))
        pending = []
        pendingSize = 0
        given = []
      }
      for (const item of ready) {
        if ("_tag" in item) {
          pending.push(item.bytes)
          pendingSize += item.bytes.length
          given.push(item)
        } else if (item.body instanceof Uint8Array && item.body.length <= INLINE_BODY) {
          const head = encodeHead(boundary, item)
          pending.push(head, item.body, CRLF)
          pendingSize += head.length + item.body.length + 2
          given.push(item)
        } else {
          flush()
          out.push(writeOne(run, item))
          continue
        }
        if (pendingSize >= COALESCE) flush()
      }
      flush()
      return out.length === 1 ? out[0]! : Stream.concatAll(Chunk.unsafeFromArray(out))
    }

    const source = immediate === undefined ? undefined : RequestBody.incomingMessage(request)
    const body: Stream.Stream<Uint8Array> = immediate !== undefined && source !== undefined
      ? handBody(source, immediate, requestBoundary.value)
      : Stream.unwrapScoped(Effect.gen(function*() {
        const run: Run = {
          budget: new Budget(budgetBytes),
          requestBudget: yield* Effect.makeSemaphore(requestBytes),
          resources: yield* Effect.scope
        }
        const queue = yield* Queue.unbounded<Ready | null>()
        // answers never written (the client went away) give back their files
        yield* Effect.addFinalizer(() =>
          Effect.flatMap(
            queue.takeAll,
            (left) =>
              Effect.forEach(left, (ready) => ready === null ? Effect.void : release(run, ready), { discard: true })
          )
        )
        yield* Effect.forkScoped(produce(run, queue))
        const ready = Stream.fromQueue(queue).pipe(Stream.takeWhile((item): item is Ready => item !== null))
        if (streaming) {
          return Stream.flatMap(Stream.chunks(ready), (chunk) => writeReady(run, Chunk.toReadonlyArray(chunk)))
        }
        return Stream.unwrap(Effect.gen(function*() {
          const all = Chunk.toReadonlyArray(yield* Stream.runCollect(ready))
          const reordered = config.batchOrder === "reverse"
            ? [...all].reverse()
            : Chunk.toReadonlyArray(yield* Random.shuffle(all))
          return writeReady(run, reordered)
        }))
      })).pipe(Stream.concat(Stream.sync(() => MultipartForm.encodeClose(boundary))))
    return HttpServerResponse.stream(body, {
      status: 200,
      contentType: `multipart/form-data; boundary="${boundary}"`
    })
  })
