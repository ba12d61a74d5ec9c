/**
 * `Session.many` (PROTOCOL §10.5): a streaming pipeline
 *
 *   operations → classify → chunk greedily → batch requests (bounded) | individual requests (bounded) → outcomes
 *
 * Nothing is collected up front: operations are pulled from the input as the in-flight window frees up, so memory
 * is bounded by `batchConcurrency` batches (each at most `maxOperationsPerBatch` operations and `maxBatchBytes`)
 * plus `individualConcurrency` single requests.
 *
 * @since 0.1.0
 * @internal
 */
import * as Headers from "@effect/platform/Headers"
import * as HttpBody from "@effect/platform/HttpBody"
import type * as HttpClientError from "@effect/platform/HttpClientError"
import * as Bytes from "@objectstore/protocol/Bytes"
import * as Limits from "@objectstore/protocol/Limits"
import * as MultipartForm from "@objectstore/protocol/MultipartForm"
import * as Path from "@objectstore/protocol/Path"
import type * as ProtocolScope from "@objectstore/protocol/Scope"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Option from "effect/Option"
import * as Predicate from "effect/Predicate"
import * as Ref from "effect/Ref"
import * as Stream from "effect/Stream"
import type * as NodeFsModule from "node:fs"
import type * as Batch from "../Batch.js"
import * as Body from "../Body.js"
import * as Compression from "../Compression.js"
import type { InvalidInputError } from "../ObjectstoreError.js"
import type { CompressionError, NetworkError } from "../ObjectstoreError.js"
import type * as Session from "../SessionModel.js"
import type * as Usecase from "../Usecase.js"
import { importBuiltin } from "./builtin.js"
import * as Errors from "./errors.js"
import type * as Http from "./http.js"
import * as HttpInternal from "./http.js"
import * as Insert from "./insert.js"
import * as Validation from "./validation.js"

/** @internal */
export interface Deps {
  readonly context: Http.ClientContext & { readonly compression: Compression.Service }
  readonly usecase: Usecase.Usecase
  readonly components: ProtocolScope.Components
  readonly scope: string
  /** `Session.put`, for puts that travel individually. */
  readonly put: <E>(body: Body.Input<E>, options?: Session.PutOptions) => Effect.Effect<string, E | Session.PutError>
  /** `toObjectMetadata` of the session. */
  readonly toObjectMetadata: (response: { readonly headers: Headers.Headers }) => Session.ObjectMetadata
}

type Kind = Batch.Kind

/** An operation ready to be written as one part of a batch request. */
interface BatchItem {
  readonly index: number
  readonly kind: Kind
  /** The operation's own key (`undefined` for a keyless put). */
  readonly key: string | undefined
  /** Part headers besides content-disposition. */
  readonly headers: ReadonlyArray<readonly [string, string]>
  /** The part body of a put (read, and compressed, when the request is sent). */
  readonly body: Effect.Effect<Uint8Array, Batch.ManyError> | undefined
  /** Get: decompress zstd payloads. */
  readonly decompress: boolean
}

type Work =
  | { readonly _tag: "Done"; readonly outcome: Batch.Outcome }
  | {
    readonly _tag: "Individual"
    readonly index: number
    readonly key: string | undefined
    readonly run: Effect.Effect<string, Batch.ManyError>
  }
  | { readonly _tag: "Batch"; readonly items: ReadonlyArray<BatchItem> }

type Classified =
  | Work
  | { readonly _tag: "Batchable"; readonly item: BatchItem; readonly weight: number }

const outcome = (
  kind: Kind,
  index: number,
  key: string | undefined,
  result: Either.Either<unknown, Batch.ManyError>
): Batch.Outcome => ({ kind, index, key, result }) as Batch.Outcome

const { invalid } = Validation

/** Request body buffers are flushed at this size. */
const FLUSH_SIZE = 256 * 1024

type NodeFs = typeof NodeFsModule

const loadFs: Effect.Effect<NodeFs, InvalidInputError> = Effect.tryPromise({
  try: () => importBuiltin<NodeFs>("node:fs"),
  catch: () => invalid("path", "file puts need node:fs, which this runtime does not have")
})

const fileError = (path: string, cause: unknown) =>
  invalid("path", `cannot read ${JSON.stringify(path)}: ${cause instanceof Error ? cause.message : String(cause)}`)

const statFile = (path: string): Effect.Effect<number, InvalidInputError> =>
  Effect.flatMap(
    loadFs,
    (fs) =>
      Effect.tryPromise({ try: () => fs.promises.stat(path), catch: (cause) => fileError(path, cause) }).pipe(
        Effect.flatMap((stats) =>
          stats.isFile() ? Effect.succeed(stats.size) : Effect.fail(fileError(path, new Error("not a regular file")))
        )
      )
  )

const readFile = (path: string): Effect.Effect<Uint8Array, InvalidInputError> =>
  Effect.flatMap(loadFs, (fs) =>
    Effect.tryPromise({
      try: () => fs.promises.readFile(path),
      catch: (cause) => fileError(path, cause)
    }).pipe(Effect.map((buffer) => new Uint8Array(buffer.buffer, buffer.byteOffset, buffer.byteLength))))

/** A file as a replayable stream: opened when the stream runs. */
const fileStream = (path: string, size: number): Body.Replayable<InvalidInputError> =>
  Body.replayable(
    () =>
      Stream.unwrap(Effect.map(loadFs, (fs) =>
        Stream.fromAsyncIterable(
          fs.createReadStream(path, { highWaterMark: 256 * 1024 }) as AsyncIterable<Uint8Array>,
          (cause) => fileError(path, cause)
        ))),
    { contentLength: size }
  )

/** Validated options with defaults. */
const resolveOptions = (options: Batch.ManyOptions | undefined) => {
  const pick = (name: keyof Batch.ManyOptions, fallback: number, max = Infinity) => {
    const value = options?.[name]
    if (value === undefined) return Either.right(fallback)
    return Number.isInteger(value) && value >= 1 && value <= max
      ? Either.right(value)
      : Either.left(invalid(name, `must be an integer from 1 to ${max}`))
  }
  return Either.all({
    batchConcurrency: pick("batchConcurrency", 3),
    individualConcurrency: pick("individualConcurrency", 5),
    maxOperationsPerBatch: pick("maxOperationsPerBatch", Limits.MAX_BATCH_OPERATIONS, Limits.MAX_BATCH_OPERATIONS),
    maxBatchBytes: pick("maxBatchBytes", 104_857_600),
    maxPartSize: pick("maxPartSize", Limits.MAX_BATCH_PART_SIZE, Limits.MAX_BATCH_PART_SIZE)
  })
}

/** Four groups of 16 hex digits joined with `-`, like the Rust client's boundaries. */
const randomBoundary = (): string => {
  const bytes = new Uint8Array(32)
  globalThis.crypto.getRandomValues(bytes)
  const hex = Array.from(bytes, (byte) => byte.toString(16).padStart(2, "0")).join("")
  return [0, 16, 32, 48].map((start) => hex.slice(start, start + 16)).join("-")
}

/**
 * `Session.many` for one session.
 *
 * @internal
 */
export const make = (deps: Deps) =>
<E, R>(
  operations: Iterable<Batch.Operation> | Stream.Stream<Batch.Operation, E, R>,
  options?: Batch.ManyOptions
): Stream.Stream<Batch.Outcome, E | InvalidInputError, R> => {
  const resolved = resolveOptions(options)
  if (Either.isLeft(resolved)) return Stream.fail(resolved.left)
  const settings = resolved.right
  const { context, usecase } = deps
  const { compression, metrics } = context
  const source: Stream.Stream<Batch.Operation, E, R> = Predicate.hasProperty(operations, Stream.StreamTypeId)
    ? operations as Stream.Stream<Batch.Operation, E, R>
    : Stream.fromIterable(operations as Iterable<Batch.Operation>)

  // -- classification (§10.5 step 1) ----------------------------------------------------------------------------

  const insertHeaders = (
    options: Session.PutOptions | undefined
  ): Either.Either<{ readonly headers: Record<string, string>; readonly zstd: boolean }, InvalidInputError> => {
    return Either.flatMap(
      Insert.compression(usecase, options),
      (chosen) =>
        Either.map(
          Insert.headers(usecase, options, { contentType: options?.contentType, compression: chosen }),
          (headers) => ({ headers, zstd: chosen === "zstd" })
        )
    )
  }

  const keyHeader = (kind: Kind, key: string | undefined): Array<readonly [string, string]> => [
    ["x-sn-batch-operation-kind", kind === "put" ? "insert" : kind],
    ...(key === undefined ? [] : [["x-sn-batch-operation-key", Path.encodeBatchKey(key)] as const])
  ]

  // One call per body, on a pooled context: a zstd stream per body cost about 3 ms of CPU each.
  const compressBytes = (bytes: Uint8Array): Effect.Effect<Uint8Array, CompressionError> =>
    Compression.compressBytes(compression, bytes)

  const classifyPut = (
    index: number,
    op: Batch.Put | Batch.PutFile
  ): Effect.Effect<Classified> =>
    Effect.gen(function*() {
      const given = op.options?.key === undefined || op.options.key === "" ? undefined : op.options.key
      const fail = (error: Batch.ManyError): Classified => ({
        _tag: "Done",
        outcome: outcome("put", index, given, Either.left(error))
      })
      // the warning of a non-portable key comes from `session.put` for an individual put, from here for a batched one
      const reject = context.nonPortableKeys === "reject"
      if (given !== undefined) {
        const checked = yield* Effect.either(Validation.newKey(given, reject ? "reject" : "allow"))
        if (Either.isLeft(checked)) return fail(checked.left)
      }
      const prepared = insertHeaders(op.options)
      if (Either.isLeft(prepared)) return fail(prepared.left)
      const { headers, zstd } = prepared.right
      // size and payload (read when the request is sent)
      let size: number | undefined
      let read: Effect.Effect<Uint8Array, Batch.ManyError> | undefined
      let individual: Body.Input<Batch.ManyError>
      if (op._tag === "PutFile") {
        const stat = yield* Effect.either(statFile(op.path))
        if (Either.isLeft(stat)) return fail(stat.left)
        size = stat.right
        read = readFile(op.path)
        individual = fileStream(op.path, size)
      } else {
        const body = op.body
        individual = body
        if (typeof body === "string" || body instanceof Uint8Array) {
          const bytes = typeof body === "string" ? new TextEncoder().encode(body) : body
          size = bytes.length
          read = Effect.succeed(bytes)
        } else if (Body.isReplayable(body) && body.contentLength !== undefined) {
          size = body.contentLength
          read = Bytes.collect((body as Body.Replayable).make())
        }
      }
      const weight = size === undefined ? undefined : zstd ? Limits.compressBound(size) : size
      if (weight === undefined || read === undefined || weight > settings.maxPartSize) {
        return {
          _tag: "Individual",
          index,
          key: given,
          run: deps.put(individual, op.options)
        }
      }
      const payload = read
      if (given !== undefined && context.nonPortableKeys !== "allow" && !reject) {
        yield* Effect.ignore(Validation.newKey(given, "warn"))
      }
      return {
        _tag: "Batchable",
        weight,
        item: {
          index,
          kind: "put",
          key: given,
          headers: [...keyHeader("put", given), ...Object.entries(headers)],
          body: zstd ? Effect.flatMap(payload, compressBytes) : payload,
          decompress: false
        }
      }
    })

  const classify = (op: Batch.Operation, index: number): Effect.Effect<Classified> => {
    switch (op._tag) {
      case "Put":
      case "PutFile":
        return classifyPut(index, op)
      default: {
        const kind: Kind = op._tag === "Get" ? "get" : op._tag === "Head" ? "head" : "delete"
        const checked = Validation.key(op.key)
        if (Either.isLeft(checked)) {
          return Effect.succeed({ _tag: "Done", outcome: outcome(kind, index, op.key, Either.left(checked.left)) })
        }
        return Effect.succeed({
          _tag: "Batchable",
          weight: 0,
          item: {
            index,
            kind,
            key: op.key,
            headers: keyHeader(kind, op.key),
            body: undefined,
            decompress: op._tag === "Get" && op.options?.decompress !== false
          }
        })
      }
    }
  }

  // -- chunking (§10.5 step 3) ----------------------------------------------------------------------------------

  const chunked = (classified: Stream.Stream<Classified, E, R>): Stream.Stream<Work, E, R> =>
    Stream.suspend(() => {
      let items: Array<BatchItem> = []
      let weight = 0
      const flush = (): Array<Work> => {
        if (items.length === 0) return []
        const work: Work = { _tag: "Batch", items }
        items = []
        weight = 0
        return [work]
      }
      return classified.pipe(
        Stream.mapConcat((entry): Array<Work> => {
          if (entry._tag !== "Batchable") return [entry]
          const out = items.length >= settings.maxOperationsPerBatch ||
              (items.length > 0 && weight + entry.weight > settings.maxBatchBytes)
            ? flush()
            : []
          items.push(entry.item)
          weight += entry.weight
          return out
        }),
        Stream.concat(Stream.suspend(() => Stream.fromIterable(flush())))
      )
    })

  // -- one batch request (§10.5 steps 4, 6, 7) ------------------------------------------------------------------

  const path = Path.objectPath({
    basePath: context.basePath,
    resource: "objects:batch",
    usecase: usecase.name,
    scope: deps.scope
  })
  const target = { method: "POST", path }

  const failAll = (items: ReadonlyArray<BatchItem>, error: Batch.ManyError): Array<Batch.Outcome> =>
    items.map((item) => outcome(item.kind, item.index, item.key, Either.left(error)))

  /** The multipart request body, in buffers of about `FLUSH_SIZE` bytes (a write per part would be slow). */
  const requestBody = (boundary: string, items: ReadonlyArray<BatchItem>) =>
    Effect.gen(function*() {
      const captured = yield* Ref.make(Option.none<unknown>())
      const empty = new Uint8Array(0)
      const parts = Stream.suspend(() => {
        let pending: Array<Uint8Array> = []
        let size = 0
        const flush = (): Array<Uint8Array> => {
          if (pending.length === 0) return []
          const out = Bytes.concat(pending)
          pending = []
          size = 0
          return [out]
        }
        return Stream.fromIterable(items).pipe(
          Stream.mapEffect((item) =>
            item.body === undefined
              ? Effect.succeed(MultipartForm.encodePart(boundary, withDisposition(item.headers), empty))
              : Effect.map(
                item.body,
                (bytes) => MultipartForm.encodePart(boundary, withDisposition(item.headers), bytes)
              )
          ),
          Stream.mapConcat((bytes) => {
            pending.push(bytes)
            size += bytes.length
            return size >= FLUSH_SIZE ? flush() : []
          }),
          Stream.concat(Stream.suspend(() => {
            pending.push(new TextEncoder().encode(`--${boundary}--\r\n`))
            return Stream.fromIterable(flush())
          })),
          Stream.tapError((error) => Ref.set(captured, Option.some<unknown>(error)))
        )
      })
      return {
        body: HttpBody.stream(parts, `multipart/form-data; boundary=${boundary}`),
        failed: Ref.get(captured)
      } satisfies Http.PreparedBody
    })

  const runBatch = (items: ReadonlyArray<BatchItem>): Effect.Effect<Array<Batch.Outcome>> => {
    const boundary = randomBoundary()
    const spec: Http.RequestSpec = {
      operation: "many",
      usecase: usecase.name,
      scope: deps.components,
      method: "POST",
      path,
      headers: { "content-type": `multipart/form-data; boundary=${boundary}` },
      body: requestBody(boundary, items),
      // every batchable body is in memory, a file or a replayable factory: all can be sent again
      replayable: true,
      // a keyless insert would store a second object
      idempotent: items.every((item) => item.kind !== "put" || item.key !== undefined)
    }
    // The answer is read within the attempt: outcomes are only handed on once all of it has arrived, so a response
    // broken off is retried like any failed attempt (when the batch may be repeated).
    return HttpInternal.executeWhole(
      context,
      spec,
      (response): Effect.Effect<Array<Batch.Outcome>, Http.AttemptError<never>> => {
        if (response.status !== 200) return HttpInternal.failStatus(response)
        const responseBoundary = MultipartForm.boundaryOf(response.headers["content-type"])
        if (Option.isNone(responseBoundary)) {
          return Effect.zipRight(
            HttpInternal.drain(response),
            Effect.fail(
              Errors.failure(Errors.decode(target, "batch response is not multipart/form-data with a boundary"))
            )
          )
        }
        return readResponse(items, response.stream, responseBoundary.value)
      }
    ).pipe(
      Effect.catchAll((error: Batch.ManyError) => Effect.succeed(failAll(items, error))),
      (effect) => metrics.track("many", usecase.name, effect),
      Effect.withSpan("Session.many.batch", {
        attributes: {
          "objectstore.usecase": usecase.name,
          "objectstore.scope": deps.scope,
          "objectstore.operations": items.length
        }
      })
    )
  }

  const readResponse = (
    items: ReadonlyArray<BatchItem>,
    body: Stream.Stream<Uint8Array, HttpClientError.ResponseError>,
    boundary: string
  ): Effect.Effect<Array<Batch.Outcome>, Errors.Failure<NetworkError>> =>
    Effect.gen(function*() {
      const results: Array<Effect.Effect<Batch.Outcome> | undefined> = new Array(items.length)
      const malformed: Array<string | undefined> = new Array(items.length)
      let seen = 0
      let unattributable = 0
      const groups = MultipartForm.partGroups(body, boundary, { maxBody: Infinity }).pipe(
        Stream.mapError((error) =>
          error instanceof MultipartForm.FramingError
            ? Errors.failure(Errors.decode(target, `malformed batch response: ${error.reason}`))
            : Errors.fromHttpClientError(error, target)
        )
      )
      yield* Stream.runForEachWhile(groups, (group) =>
        Effect.sync(() => {
          for (const part of group) {
            seen++
            const mapped = mapPart(items, part)
            if (mapped._tag === "Unattributable") {
              unattributable++
              if (mapped.index !== undefined && malformed[mapped.index] === undefined) {
                malformed[mapped.index] = mapped.reason
              }
            } else if (results[mapped.index] === undefined) {
              results[mapped.index] = mapped.outcome
            } else {
              unattributable++
            }
            // an endless answer (a server that repeats an error part) is cut off
            if (seen > items.length) return false
          }
          return true
        }))
      return yield* Effect.all(
        items.map((item, i) =>
          results[i] ?? Effect.succeed(outcome(
            item.kind,
            item.index,
            item.key,
            Either.left(Errors.decode(
              target,
              `server did not return a response for operation ${item.index}${
                malformed[i] === undefined ? "" : ` (malformed answer: ${malformed[i]})`
              }${unattributable > 0 ? ` (${unattributable} unattributable answer part(s))` : ""}`
            ))
          ))
        ),
        { concurrency: 1 }
      )
    })

  type Mapped =
    | { readonly _tag: "Outcome"; readonly index: number; readonly outcome: Effect.Effect<Batch.Outcome> }
    | { readonly _tag: "Unattributable"; readonly index: number | undefined; readonly reason: string }

  /** §10.5 step 6. */
  const mapPart = (items: ReadonlyArray<BatchItem>, part: MultipartForm.Part): Mapped => {
    const indexText = part.headers["x-sn-batch-operation-index"]
    const position = indexText !== undefined && /^[0-9]{1,9}$/.test(indexText.trim()) ? Number(indexText) : undefined
    if (position === undefined || position >= items.length) {
      return { _tag: "Unattributable", index: undefined, reason: `part with unknown index ${String(indexText)}` }
    }
    const item = items[position]!
    const unattributable = (reason: string): Mapped => ({ _tag: "Unattributable", index: position, reason })
    const statusText = part.headers["x-sn-batch-operation-status"]?.trim().split(" ")[0]
    const status = statusText !== undefined && /^[0-9]{3}$/.test(statusText) ? Number(statusText) : undefined
    if (status === undefined) return unattributable("missing or invalid status")
    const keyText = part.headers["x-sn-batch-operation-key"]
    const decoded = keyText === undefined ? undefined : Either.getOrUndefined(Path.decodeBatchKey(keyText))
    const key = decoded ?? item.key
    const done = (result: Either.Either<unknown, Batch.ManyError>): Mapped => ({
      _tag: "Outcome",
      index: position,
      outcome: Effect.succeed(outcome(item.kind, item.index, key, result))
    })
    if (status === 404 && (item.kind === "get" || item.kind === "head")) return done(Either.right(Option.none()))
    if (status === 404 && item.kind === "delete") return done(Either.right(undefined))
    if (status >= 400) {
      const body = new TextDecoder().decode(part.body)
      return done(Either.left(Errors.fromStatus({ status, body, retryAfter: undefined }).error))
    }
    if (key === undefined) return unattributable("success without a key")
    switch (item.kind) {
      case "put":
        return done(Either.right(key))
      case "delete":
        return done(Either.right(undefined))
      case "head":
        return done(Either.right(Option.some(deps.toObjectMetadata({ headers: Headers.fromInput(part.headers) }))))
      case "get": {
        const stored = deps.toObjectMetadata({ headers: Headers.fromInput(part.headers) })
        if (stored.compression !== "zstd" || !item.decompress) {
          return done(Either.right(Option.some({ key, metadata: stored, bytes: part.body })))
        }
        return {
          _tag: "Outcome",
          index: position,
          outcome: Effect.map(
            Effect.either(Compression.decompressBytes(compression, part.body)),
            (result) =>
              outcome(
                item.kind,
                item.index,
                key,
                Either.map(result, (bytes) =>
                  Option.some({ key, metadata: { ...stored, compression: "none" as const }, bytes }))
              )
          )
        }
      }
    }
  }

  // -- individual requests (§10.5 step 2) -----------------------------------------------------------------------

  const runIndividual = (work: Extract<Work, { _tag: "Individual" }>): Effect.Effect<Batch.Outcome> =>
    Effect.map(
      Effect.either(work.run),
      (result) => outcome("put", work.index, Either.isRight(result) ? result.right : work.key, result)
    )

  return Stream.unwrap(Effect.gen(function*() {
    const batches = yield* Effect.makeSemaphore(settings.batchConcurrency)
    const individuals = yield* Effect.makeSemaphore(settings.individualConcurrency)
    const work = chunked(
      source.pipe(
        Stream.zipWithIndex,
        Stream.mapEffect(([op, index]) => classify(op, index))
      )
    )
    // A permit is taken before a request is handed on, in input order, so no more than the windows' worth of
    // operations (plus one batch waiting for a permit and one being filled) is ever held.
    return work.pipe(
      Stream.mapEffect((item): Effect.Effect<Work> =>
        item._tag === "Batch"
          ? Effect.as(batches.take(1), item)
          : item._tag === "Individual"
          ? Effect.as(individuals.take(1), item)
          : Effect.succeed(item)
      ),
      Stream.flatMap((item): Stream.Stream<Batch.Outcome> => {
        switch (item._tag) {
          case "Done":
            return Stream.succeed(item.outcome)
          case "Individual":
            return Stream.fromEffect(Effect.ensuring(runIndividual(item), individuals.release(1)))
          case "Batch":
            return Stream.fromIterableEffect(Effect.ensuring(runBatch(item.items), batches.release(1)))
        }
      }, { concurrency: "unbounded" })
    )
  }))
}

const withDisposition = (headers: ReadonlyArray<readonly [string, string]>) => [
  ["content-disposition", "form-data; name=\"part\""] as const,
  ...headers
]
