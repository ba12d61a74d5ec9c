/**
 * `Session.many` (PROTOCOL §10.5): a streaming pipeline
 *
 *   operations → classify → chunk greedily → batch requests (bounded) | individual requests (bounded) → outcomes
 *
 * Nothing is collected up front: operations are pulled from the input as the in-flight window frees up, so memory
 * is bounded by `batchConcurrency` batches (each at most `maxOperationsPerBatch` operations and `maxBatchBytes`)
 * plus `individualConcurrency` single requests. The plan (options, classification, packing) is `manyPlan.ts`, the
 * wire format (request body, answer parts) `manyWire.ts`; this module sends the work. The whole call is one span,
 * `Session.many`, with each batch request (`Session.many.batch`) and each individual put (`Session.put`) under it.
 *
 * @since 0.1.0
 * @internal
 */
import * as MultipartForm from "@objectstore/protocol/MultipartForm"
import * as Path from "@objectstore/protocol/Path"
import * as Chunk from "effect/Chunk"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Exit from "effect/Exit"
import * as Option from "effect/Option"
import * as Predicate from "effect/Predicate"
import * as Stream from "effect/Stream"
import type * as Batch from "../Batch.js"
import type { InvalidInputError } from "../ObjectstoreError.js"
import * as Errors from "./errors.js"
import * as Http from "./http.js"
import * as Plan from "./manyPlan.js"
import * as Wire from "./manyWire.js"
import * as Spans from "./spans.js"

/** @internal */
export type Deps = Plan.Deps

/** One batch request (§10.5 steps 4, 6, 7): every operation's outcome, failures included. */
const runBatch = (deps: Deps, items: ReadonlyArray<Plan.BatchItem>): Effect.Effect<Array<Batch.Outcome>> => {
  const { context, usecase } = deps
  const path = Path.objectPath({
    basePath: context.basePath,
    resource: "objects:batch",
    usecase: usecase.name,
    scope: deps.scope
  })
  const read: Wire.ReadContext = {
    target: { method: "POST", path },
    compression: context.compression,
    toObjectMetadata: deps.toObjectMetadata
  }
  const boundary = Wire.randomBoundary()
  const spec: Http.RequestSpec = {
    operation: "many",
    usecase: usecase.name,
    scope: deps.components,
    method: "POST",
    path,
    headers: { "content-type": `multipart/form-data; boundary=${boundary}` },
    body: Wire.requestBody(boundary, items, context.compression),
    // every batchable body is in memory, a file or a replayable factory: all can be sent again
    replayable: true,
    // a keyless insert would store a second object
    idempotent: items.every((item) => item.kind !== "put" || item.key !== undefined),
    // the answer is parsed as it arrives, never held whole
    streamsAnswer: true
  }
  // The answer is read within the attempt: outcomes are only handed on once all of it has arrived, so a response
  // broken off is retried like any failed attempt (when the batch may be repeated).
  return Http.executeAndRead(
    context,
    spec,
    (response): Effect.Effect<Array<Batch.Outcome>, Http.AttemptError<never>> => {
      if (response.status !== 200) return Http.failStatus(response)
      const responseBoundary = MultipartForm.boundaryOf(response.headers["content-type"])
      if (Option.isNone(responseBoundary)) {
        return Effect.zipRight(
          Http.drain(response),
          Effect.fail(
            Errors.failure(Errors.decode(read.target, "batch response is not multipart/form-data with a boundary"))
          )
        )
      }
      return Wire.readResponse(read, items, response.stream, responseBoundary.value)
    }
  ).pipe(
    Effect.catchAll((error: Batch.ManyError) =>
      Effect.succeed(items.map((item) => Plan.outcome(item.kind, item.index, item.key, Either.left(error))))
    ),
    (effect) => context.metrics.track("many", usecase.name, effect),
    (effect) =>
      Spans.traced("Session.many.batch", effect, {
        propagateTraces: context.propagateTraces,
        attributes: {
          "objectstore.usecase": usecase.name,
          "objectstore.scope": deps.scope,
          "objectstore.operations": items.length
        }
      })
  )
}

/** A put sent on its own (§10.5 step 2). */
const runIndividual = (work: Extract<Plan.Work, { _tag: "Individual" }>): Effect.Effect<Batch.Outcome> =>
  Effect.map(
    Effect.either(work.run),
    (result) => Plan.outcome("put", work.index, Either.isRight(result) ? result.right : work.key, result)
  )

/** The work sent with at most `batchConcurrency` batches and `individualConcurrency` puts in flight. */
const send = <E, R>(
  deps: Deps,
  settings: Plan.Settings,
  work: Stream.Stream<Plan.Work, E, R>
): Stream.Stream<Batch.Outcome, E, R> =>
  Stream.unwrap(Effect.gen(function*() {
    const batches = yield* Effect.makeSemaphore(settings.batchConcurrency)
    const individuals = yield* Effect.makeSemaphore(settings.individualConcurrency)
    // A permit is taken before a request is handed on, in input order, so no more than the windows' worth of
    // operations (plus one batch waiting for a permit and one being filled) is ever held.
    return work.pipe(
      Stream.mapEffect((item): Effect.Effect<Plan.Work> =>
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
            return Stream.fromIterableEffect(Effect.ensuring(runBatch(deps, item.items), batches.release(1)))
        }
      }, { concurrency: "unbounded" })
    )
  }))

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
  const resolved = Plan.resolveOptions(options)
  if (Either.isLeft(resolved)) return Stream.fail(resolved.left)
  const settings = resolved.right
  const source: Stream.Stream<Batch.Operation, E, R> = Predicate.hasProperty(operations, Stream.StreamTypeId)
    ? operations as Stream.Stream<Batch.Operation, E, R>
    : Stream.fromIterable(operations as Iterable<Batch.Operation>)
  // a chunk of the input at a time (one effect per chunk, not a stream step per operation), in order
  const classified = Stream.suspend(() => {
    let index = 0
    // Most operations classify without waiting (an `Exit`, taken as it is); an effect only from the first that does.
    const rest = (ops: ReadonlyArray<Batch.Operation>, from: number, out: Array<Plan.Classified>) =>
      Effect.as(
        Effect.forEach(ops.slice(from), (op) =>
          Effect.map(Plan.classify(deps, settings, op, index++), (classified) => void out.push(classified)), {
          discard: true
        }),
        out
      )
    return Stream.mapChunksEffect(source, (chunk) =>
      Effect.suspend(() => {
        const ops = Chunk.toReadonlyArray(chunk)
        const out: Array<Plan.Classified> = []
        for (let i = 0; i < ops.length; i++) {
          const classified = Plan.classify(deps, settings, ops[i]!, index++)
          if (Exit.isExit(classified) && Exit.isSuccess(classified as Exit.Exit<Plan.Classified>)) {
            out.push((classified as Exit.Success<Plan.Classified, never>).value)
            continue
          }
          return Effect.map(
            Effect.flatMap(classified, (first) => rest(ops, i + 1, [...out, first])),
            Chunk.unsafeFromArray
          )
        }
        return Effect.succeed(Chunk.unsafeFromArray(out))
      }))
  })
  return Spans.tracedStream("Session.many", send(deps, settings, Plan.chunked(settings, classified)), {
    kind: "internal",
    propagateTraces: deps.context.propagateTraces,
    attributes: { "objectstore.usecase": deps.usecase.name, "objectstore.scope": deps.scope }
  })
}
