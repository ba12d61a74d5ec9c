/**
 * The plan of `Session.many` (PROTOCOL §10.5 steps 1–3): options with their defaults, each operation classified as
 * batchable (with its part headers and a body read when the request is sent), individual (a put too large or of
 * unknown size) or already done (refused before any request), and batchable operations packed greedily into batches.
 *
 * @since 0.1.0
 * @internal
 */
import type * as Headers from "@effect/platform/Headers"
import * as Bytes from "@objectstore/protocol/Bytes"
import * as Limits from "@objectstore/protocol/Limits"
import * as Path from "@objectstore/protocol/Path"
import type * as ProtocolScope from "@objectstore/protocol/Scope"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Stream from "effect/Stream"
import type * as Batch from "../Batch.js"
import * as Body from "../Body.js"
import type * as Compression from "../Compression.js"
import type { InvalidInputError } from "../ObjectstoreError.js"
import type * as Session from "../SessionModel.js"
import type * as Usecase from "../Usecase.js"
import * as Files from "./files.js"
import type * as Http from "./http.js"
import * as Insert from "./insert.js"
import * as Validation from "./validation.js"

/**
 * What `many` needs of its session.
 *
 * @internal
 */
export interface Deps {
  readonly context: Http.ClientContext & { readonly compression: Compression.Service } & Files.FileContext
  readonly usecase: Usecase.Usecase
  readonly components: ProtocolScope.Components
  readonly scope: string
  /** `Session.put`, for puts that travel individually. */
  readonly put: <E>(body: Body.Input<E>, options?: Session.PutOptions) => Effect.Effect<string, E | Session.PutError>
  /** `toObjectMetadata` of the session. */
  readonly toObjectMetadata: (response: { readonly headers: Headers.Headers }) => Session.ObjectMetadata
}

type Kind = Batch.Kind

/**
 * An operation ready to be written as one part of a batch request.
 *
 * @internal
 */
export interface BatchItem {
  readonly index: number
  readonly kind: Kind
  /** The operation's own key (`undefined` for a keyless put). */
  readonly key: string | undefined
  /** Part headers besides content-disposition. */
  readonly headers: ReadonlyArray<readonly [string, string]>
  /** The part body of a put, read when the request is sent. */
  readonly body: Effect.Effect<Uint8Array, Batch.ManyError> | undefined
  /** Put: the body is compressed (zstd) when the request is sent. */
  readonly compress: boolean
  /** Get: decompress zstd payloads. */
  readonly decompress: boolean
}

/**
 * What the pipeline does with each entry: hand on an outcome, send one request, or send a batch.
 *
 * @internal
 */
export type Work =
  | { readonly _tag: "Done"; readonly outcome: Batch.Outcome }
  | {
    readonly _tag: "Individual"
    readonly index: number
    readonly key: string | undefined
    readonly run: Effect.Effect<string, Batch.ManyError>
  }
  | { readonly _tag: "Batch"; readonly items: ReadonlyArray<BatchItem> }

/**
 * An operation classified: work, or a batchable item with its weight (its part's bytes, worst case compressed).
 *
 * @internal
 */
export type Classified =
  | Work
  | { readonly _tag: "Batchable"; readonly item: BatchItem; readonly weight: number }

/**
 * One operation's outcome.
 *
 * @internal
 */
export const outcome = (
  kind: Kind,
  index: number,
  key: string | undefined,
  result: Either.Either<unknown, Batch.ManyError>
): Batch.Outcome => ({ kind, index, key, result }) as Batch.Outcome

/**
 * The settings of one `many` call.
 *
 * @internal
 */
export type Settings = { readonly [K in keyof Batch.ManyOptions]-?: number }

/**
 * Validated options with defaults.
 *
 * @internal
 */
export const resolveOptions = (options: Batch.ManyOptions | undefined): Either.Either<Settings, InvalidInputError> => {
  const pick = (name: keyof Batch.ManyOptions, fallback: number, max = Infinity) => {
    const value = options?.[name]
    if (value === undefined) return Either.right(fallback)
    return Number.isInteger(value) && value >= 1 && value <= max
      ? Either.right(value)
      : Either.left(Validation.invalid(name, `must be an integer from 1 to ${max}`))
  }
  return Either.all({
    batchConcurrency: pick("batchConcurrency", 3),
    individualConcurrency: pick("individualConcurrency", 5),
    maxOperationsPerBatch: pick("maxOperationsPerBatch", Limits.MAX_BATCH_OPERATIONS, Limits.MAX_BATCH_OPERATIONS),
    maxBatchBytes: pick("maxBatchBytes", 104_857_600),
    maxBatchInsertSize: pick("maxBatchInsertSize", Limits.MAX_BATCH_PART_SIZE, Limits.MAX_BATCH_PART_SIZE)
  })
}

const keyHeader = (kind: Kind, key: string | undefined): Array<readonly [string, string]> => [
  ["x-sn-batch-operation-kind", kind === "put" ? "insert" : kind],
  ...(key === undefined ? [] : [["x-sn-batch-operation-key", Path.encodeBatchKey(key)] as const])
]

/** A put's body: its size when known, how to read it whole for a batch, and what an individual put sends. */
interface Payload {
  readonly size: number | undefined
  readonly read: Effect.Effect<Uint8Array, Batch.ManyError> | undefined
  readonly individual: Body.Input<Batch.ManyError>
}

/** The payload of a put whose body is not a file (known without I/O). */
const payloadOfBody = (body: Batch.Put["body"]): Payload => {
  if (typeof body === "string" || body instanceof Uint8Array) {
    const bytes = typeof body === "string" ? new TextEncoder().encode(body) : body
    return { size: bytes.length, read: Effect.succeed(bytes), individual: body }
  }
  if (Body.isReplayable(body) && body.contentLength !== undefined) {
    return {
      size: body.contentLength,
      read: Bytes.collect((body as Body.Replayable).make()),
      individual: body
    }
  }
  return { size: undefined, read: undefined, individual: body }
}

// stat-ed now, so a missing file fails this operation alone; read when the request is sent
const payloadOfFile = (deps: Deps, op: Batch.PutFile): Effect.Effect<Payload, Batch.ManyError> =>
  Effect.map(Files.stat(deps.context, op.path), (file) => ({
    size: file.size,
    read: Files.readAll(file),
    individual: Body.replayable(() => Files.stream(file), { contentLength: file.size })
  }))

// Plain functions and Either for the checks, an effect only for a file's stat and a key's warning: classifying is
// paid once per operation.
const classifyPut = (
  deps: Deps,
  settings: Settings,
  index: number,
  op: Batch.Put | Batch.PutFile
): Effect.Effect<Classified> => {
  const { context, usecase } = deps
  const given = op.options?.key === undefined || op.options.key === "" ? undefined : op.options.key
  const fail = (error: Batch.ManyError): Classified => ({
    _tag: "Done",
    outcome: outcome("put", index, given, Either.left(error))
  })
  // the warning of a non-portable key comes from `session.put` for an individual put, from here for a batched one
  let warning: string | undefined
  if (given !== undefined) {
    const checked = Validation.checkNewKey(given, context.nonPortableKeys === "reject" ? "reject" : "warn")
    if (Either.isLeft(checked)) return Effect.succeed(fail(checked.left))
    warning = context.nonPortableKeys === "allow" ? undefined : checked.right.warning
  }
  const chosen = Insert.compression(usecase, op.options)
  if (Either.isLeft(chosen)) return Effect.succeed(fail(chosen.left))
  const zstd = chosen.right === "zstd"
  const headers = Insert.headers(usecase, op.options, {
    contentType: op.options?.contentType,
    compression: chosen.right
  })
  if (Either.isLeft(headers)) return Effect.succeed(fail(headers.left))
  const classified = ({ individual, read, size }: Payload): Effect.Effect<Classified> => {
    const weight = size === undefined ? undefined : zstd ? Limits.compressBound(size) : size
    if (weight === undefined || read === undefined || weight > settings.maxBatchInsertSize) {
      return Effect.succeed({ _tag: "Individual", index, key: given, run: deps.put(individual, op.options) })
    }
    const batchable: Classified = {
      _tag: "Batchable",
      weight,
      item: {
        index,
        kind: "put",
        key: given,
        headers: [...keyHeader("put", given), ...Object.entries(headers.right)],
        body: read,
        compress: zstd,
        decompress: false
      }
    }
    return warning === undefined ? Effect.succeed(batchable) : Effect.as(Validation.warnNonPortable(warning), batchable)
  }
  return op._tag === "Put"
    ? classified(payloadOfBody(op.body))
    : Effect.matchEffect(payloadOfFile(deps, op), {
      onFailure: (error) => Effect.succeed(fail(error)),
      onSuccess: classified
    })
}

/**
 * §10.5 step 1: what to do with one operation.
 *
 * @internal
 */
export const classify = (
  deps: Deps,
  settings: Settings,
  op: Batch.Operation,
  index: number
): Effect.Effect<Classified> => {
  switch (op._tag) {
    case "Put":
    case "PutFile":
      return classifyPut(deps, settings, index, op)
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
          compress: false,
          decompress: op._tag === "Get" && op.options?.decompress !== false
        }
      })
    }
  }
}

/**
 * §10.5 step 3: batchable items packed greedily, in input order, into batches of at most `maxOperationsPerBatch`
 * operations and `maxBatchBytes` of weight; other work is handed on as it comes.
 *
 * @internal
 */
export const chunked = <E, R>(
  settings: Settings,
  classified: Stream.Stream<Classified, E, R>
): Stream.Stream<Work, E, R> =>
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
