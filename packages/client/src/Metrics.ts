/**
 * Metrics of client operations.
 *
 * The metrics are Effect `Metric`s defined once in this module; an application exports them with the exporter of
 * its choice (for example `@effect/opentelemetry`). One scheme: the metrics the Python client has keep its names,
 * tags and semantics (PROTOCOL §21), so dashboards built for it keep working; the metrics it does not have follow
 * OpenTelemetry's conventions (dotted names, namespaced attributes, `error.type`, `http.response.status_code`).
 *
 * | metric | value | tags |
 * |---|---|---|
 * | `storage.<op>.latency` | seconds, every operation, failures included | `usecase` |
 * | `storage.<op>.size` | bytes; for a `put`, the uncompressed size tagged `compression=none` and, when compressed, also the compressed size tagged `compression=zstd` (as the Python client records them); a multipart part's length untagged | `usecase`, `compression` |
 * | `storage.<op>.compression_ratio` | compressed ÷ uncompressed (compressed puts) | `usecase`, `compression` |
 * | `storage.<op>.throughput` | bytes per second, per recorded size | like `size` |
 * | `storage.<op>.inverse_throughput` | seconds per byte, per recorded size | like `size` |
 * | `objectstore.client.operations` | operations | `objectstore.operation`, `objectstore.usecase`, `objectstore.outcome` (`success`, `failure`, `interrupted`), `error.type` (the error's tag, failures only) |
 * | `objectstore.client.responses` | HTTP responses received | `objectstore.operation`, `objectstore.usecase`, `http.response.status_code` |
 * | `objectstore.client.retries` | requests retried | `objectstore.operation`, `objectstore.usecase` |
 *
 * Tags never carry object keys, scopes or tokens.
 *
 * Layers: {@link layer} records the Effect metrics, {@link layerNoop} records nothing, and {@link layerBackend}
 * forwards to a user-supplied backend with the Python client's interface, making exactly the calls the Python
 * client makes.
 *
 * @since 0.1.0
 */
import * as Arr from "effect/Array"
import * as Clock from "effect/Clock"
import * as Context from "effect/Context"
import type * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as FiberRef from "effect/FiberRef"
import * as Layer from "effect/Layer"
import * as Metric from "effect/Metric"
import * as MetricBoundaries from "effect/MetricBoundaries"
import * as MetricLabel from "effect/MetricLabel"
import * as internal from "./internal/metrics.js"

/**
 * @since 0.1.0
 * @category models
 */
export type Operation =
  | "put"
  | "get"
  | "head"
  | "delete"
  | "many"
  | "multipart.initiate"
  | "multipart.put_part"
  | "multipart.list_parts"
  | "multipart.complete"
  | "multipart.abort"
  | "resumable.create"
  | "resumable.put"
  | "resumable.offset"
  | "resumable.cancel"
  | "extend_expiry"

/**
 * @since 0.1.0
 * @category models
 */
export interface Sizes {
  /** Bytes sent (or received): the compressed size when compressed. */
  readonly bytes: number
  readonly compression?: "none" | "zstd" | undefined
  /** The uncompressed size, when known and different from `bytes`. */
  readonly uncompressedBytes?: number | undefined
  readonly elapsed: Duration.Duration
}

/**
 * @since 0.1.0
 * @category models
 */
export interface Service {
  /** Wraps one operation: records its latency and counts it by outcome. */
  readonly track: <A, E, R>(
    operation: Operation,
    usecase: string,
    effect: Effect.Effect<A, E, R>
  ) => Effect.Effect<A, E, R>
  /** Records the sizes of a finished transfer (size, compression ratio, throughput). */
  readonly recordSize: (operation: Operation, usecase: string, sizes: Sizes) => Effect.Effect<void>
  /** Counts a response status. */
  readonly recordResponse: (operation: Operation, usecase: string, status: number) => Effect.Effect<void>
  /** Counts a retry. */
  readonly recordRetry: (operation: Operation, usecase: string) => Effect.Effect<void>
  /**
   * Optional synchronous forms of {@link recordSize} and {@link recordResponse}, for the client's request path, which
   * already runs on the fiber: they record exactly what the Effect forms record, with `labels` the fiber's metric
   * labels (`FiberRef.currentMetricLabels`, which the Effect forms read themselves). A service without them is
   * called through the Effect forms. They must not throw.
   */
  readonly unsafe?: UnsafeRecorders | undefined
}

/**
 * The synchronous recorders of a {@link Service} (see {@link Service.unsafe}).
 *
 * @since 0.1.0
 * @category models
 */
export interface UnsafeRecorders {
  readonly recordSize: (
    operation: Operation,
    usecase: string,
    sizes: Sizes,
    labels: ReadonlyArray<MetricLabel.MetricLabel>
  ) => void
  readonly recordResponse: (
    operation: Operation,
    usecase: string,
    status: number,
    labels: ReadonlyArray<MetricLabel.MetricLabel>
  ) => void
}

/**
 * @since 0.1.0
 * @category services
 */
export class Metrics extends Context.Tag("@objectstore/client/Metrics")<Metrics, Service>() {}

/**
 * Every operation, in a stable order.
 *
 * @since 0.1.0
 * @category models
 */
export const operations: ReadonlyArray<Operation> = [
  "put",
  "get",
  "head",
  "delete",
  "many",
  "multipart.initiate",
  "multipart.put_part",
  "multipart.list_parts",
  "multipart.complete",
  "multipart.abort",
  "resumable.create",
  "resumable.put",
  "resumable.offset",
  "resumable.cancel",
  "extend_expiry"
]

/**
 * The operations the Python client measures (PROTOCOL §21); {@link layerBackend} reports only these.
 *
 * @since 0.1.0
 * @category models
 */
export const pythonOperations: ReadonlyArray<Operation> = [
  "put",
  "get",
  "head",
  "delete",
  "multipart.initiate",
  "multipart.put_part",
  "multipart.complete"
]

const perOperation = <M>(make: (operation: Operation) => M): Readonly<Record<Operation, M>> =>
  Object.fromEntries(operations.map((operation) => [operation, make(operation)])) as Record<Operation, M>

/** 1 ms … about 65 s. */
const latencyBoundaries = MetricBoundaries.exponential({ start: 0.001, factor: 2, count: 17 })
/** 64 B … about 4 GiB. */
const sizeBoundaries = MetricBoundaries.exponential({ start: 64, factor: 4, count: 14 })
/** 0.05 … 1.2. */
const ratioBoundaries = MetricBoundaries.linear({ start: 0.05, width: 0.05, count: 24 })
/** 1 KiB/s … about 64 GiB/s. */
const throughputBoundaries = MetricBoundaries.exponential({ start: 1024, factor: 4, count: 14 })
/** 10 ps/B … about 10 ms/B. */
const inverseThroughputBoundaries = MetricBoundaries.exponential({ start: 1e-11, factor: 4, count: 16 })

/**
 * `storage.<op>.latency`: seconds per operation, failures included (tag `usecase`).
 *
 * @since 0.1.0
 * @category metrics
 */
export const latency: Readonly<Record<Operation, Metric.Metric.Histogram<number>>> = perOperation((operation) =>
  Metric.histogram(`storage.${operation}.latency`, latencyBoundaries, `Latency of ${operation} in seconds`)
)

/**
 * `storage.<op>.size`: bytes transferred (tags `usecase`, `compression`).
 *
 * @since 0.1.0
 * @category metrics
 */
export const size: Readonly<Record<Operation, Metric.Metric.Histogram<number>>> = perOperation((operation) =>
  Metric.histogram(`storage.${operation}.size`, sizeBoundaries, `Bytes transferred by ${operation}`)
)

/**
 * `storage.<op>.compression_ratio`: compressed ÷ uncompressed size (tags `usecase`, `compression`).
 *
 * @since 0.1.0
 * @category metrics
 */
export const compressionRatio: Readonly<Record<Operation, Metric.Metric.Histogram<number>>> = perOperation((
  operation
) =>
  Metric.histogram(
    `storage.${operation}.compression_ratio`,
    ratioBoundaries,
    `Compressed size divided by uncompressed size for ${operation}`
  )
)

/**
 * `storage.<op>.throughput`: bytes per second (tags like `size`).
 *
 * @since 0.1.0
 * @category metrics
 */
export const throughput: Readonly<Record<Operation, Metric.Metric.Histogram<number>>> = perOperation((operation) =>
  Metric.histogram(`storage.${operation}.throughput`, throughputBoundaries, `Bytes per second for ${operation}`)
)

/**
 * `storage.<op>.inverse_throughput`: seconds per byte (tags like `size`).
 *
 * @since 0.1.0
 * @category metrics
 */
export const inverseThroughput: Readonly<Record<Operation, Metric.Metric.Histogram<number>>> = perOperation((
  operation
) =>
  Metric.histogram(
    `storage.${operation}.inverse_throughput`,
    inverseThroughputBoundaries,
    `Seconds per byte for ${operation}`
  )
)

/**
 * `objectstore.client.operations`: operations by `objectstore.operation`, `objectstore.usecase` and
 * `objectstore.outcome`, with `error.type` (the error's tag) on failures.
 *
 * @since 0.1.0
 * @category metrics
 */
export const requests: Metric.Metric.Counter<number> = Metric.counter("objectstore.client.operations", {
  description: "Client operations by outcome",
  incremental: true
})

/**
 * `objectstore.client.responses`: HTTP responses by `objectstore.operation`, `objectstore.usecase` and
 * `http.response.status_code`.
 *
 * @since 0.1.0
 * @category metrics
 */
export const responses: Metric.Metric.Counter<number> = Metric.counter("objectstore.client.responses", {
  description: "HTTP responses received by status",
  incremental: true
})

/**
 * `objectstore.client.retries`: retried requests by `objectstore.operation` and `objectstore.usecase`.
 *
 * @since 0.1.0
 * @category metrics
 */
export const retries: Metric.Metric.Counter<number> = Metric.counter("objectstore.client.retries", {
  description: "Requests retried",
  incremental: true
})

const histograms: Readonly<Record<internal.SizeKind, Readonly<Record<Operation, Metric.Metric.Histogram<number>>>>> = {
  size,
  compression_ratio: compressionRatio,
  throughput,
  inverse_throughput: inverseThroughput
}

/**
 * `metric` with `tags`, as `Metric.tagged` for each tag in order, with its labels array made once. A metric from
 * `Metric.tagged` unions its tags into a fresh array on every update, which misses the registry's hook cache (keyed by
 * array identity), so each update built and hashed a new metric key; here updates after the first hit the cache.
 * Made once per tag set: the metrics of an operation and usecase are kept (see {@link taggedOf}).
 */
const withTags = <Type, In, Out>(
  metric: Metric.Metric<Type, In, Out>,
  tags: Readonly<Record<string, string>>
): Metric.Metric<Type, In, Out> => {
  const labels = Object.entries(tags).map(([key, value]) => MetricLabel.make(key, value))
  const all = (extra: ReadonlyArray<MetricLabel.MetricLabel>) => extra.length === 0 ? labels : Arr.union(labels, extra)
  return Metric.make(
    metric.keyType,
    (input, extra) => metric.unsafeUpdate(input, all(extra)),
    (extra) => metric.unsafeValue(all(extra)),
    (input, extra) => metric.unsafeModify(input, all(extra))
  )
}

/** The tags of the outcome counter for an exit: `objectstore.outcome`, and `error.type` for a failure. */
const outcomeOf = (exit: Exit.Exit<unknown, unknown>): string =>
  Exit.isSuccess(exit) ? "success" : Exit.isInterrupted(exit) ? "interrupted" : internal.errorType(exit.cause)

/**
 * The tagged metrics of one operation and usecase, made on first use and kept: tagging a metric builds its labels,
 * which cost more than the update itself on every request.
 */
interface Tagged {
  readonly latency: Metric.Metric.Histogram<number>
  readonly outcomes: Map<string, Metric.Metric.Counter<number>>
  readonly responses: Map<number, Metric.Metric.Counter<number>>
  readonly retries: Metric.Metric.Counter<number>
  /** By {@link sizeSlot}. */
  readonly sizes: Array<Metric.Metric.Histogram<number> | undefined>
}

const sizeKinds: ReadonlyArray<internal.SizeKind> = ["size", "compression_ratio", "throughput", "inverse_throughput"]

/** The place of a size histogram (kind, compression tag) in {@link Tagged}'s `sizes`. */
const sizeSlot = (kind: internal.SizeKind, compression: "none" | "zstd" | undefined): number =>
  sizeKinds.indexOf(kind) * 3 + (compression === undefined ? 0 : compression === "none" ? 1 : 2)

const tagged = new Map<Operation, Map<string, Tagged>>()

const taggedOf = (operation: Operation, usecase: string): Tagged => {
  let byUsecase = tagged.get(operation)
  if (byUsecase === undefined) tagged.set(operation, byUsecase = new Map())
  let found = byUsecase.get(usecase)
  if (found === undefined) {
    found = {
      latency: withTags(latency[operation], { usecase }),
      outcomes: new Map(),
      responses: new Map(),
      retries: withTags(retries, { "objectstore.operation": operation, "objectstore.usecase": usecase }),
      sizes: []
    }
    byUsecase.set(usecase, found)
  }
  return found
}

const outcomeCounter = (entry: Tagged, operation: Operation, usecase: string, outcome: string) => {
  let counter = entry.outcomes.get(outcome)
  if (counter === undefined) {
    const base = { "objectstore.operation": operation, "objectstore.usecase": usecase }
    counter = withTags(
      requests,
      outcome === "success" || outcome === "interrupted"
        ? { ...base, "objectstore.outcome": outcome }
        : { ...base, "objectstore.outcome": "failure", "error.type": outcome }
    )
    entry.outcomes.set(outcome, counter)
  }
  return counter
}

/**
 * Runs `effect` and calls `record` with its duration in seconds (from the `Clock` of the fiber that runs it), its
 * exit and the fiber's metric labels, when it ends: one hook on the fiber, nothing else around the effect.
 */
const timed = <A, E, R>(
  effect: Effect.Effect<A, E, R>,
  record: (seconds: number, exit: Exit.Exit<A, E>, extra: ReadonlyArray<MetricLabel.MetricLabel>) => Effect.Effect<void>
): Effect.Effect<A, E, R> =>
  Effect.withFiberRuntime((fiber) => {
    const clock = Context.get(fiber.currentDefaultServices, Clock.Clock)
    const start = clock.unsafeCurrentTimeNanos()
    return Effect.onExit(
      effect,
      (exit) =>
        record(
          Number(clock.unsafeCurrentTimeNanos() - start) / 1e9,
          exit,
          fiber.getFiberRef(FiberRef.currentMetricLabels)
        )
    )
  })

/**
 * Runs `updates` with the metric labels of the current fiber (`Metric.tagged` and `Effect.tagMetrics` around the
 * call), which every update carries as extra tags.
 */
const updateAll = (updates: (extra: ReadonlyArray<MetricLabel.MetricLabel>) => void): Effect.Effect<void> =>
  Effect.withFiberRuntime((fiber) => {
    updates(fiber.getFiberRef(FiberRef.currentMetricLabels))
    return Effect.void
  })

const recordSizeWith = (
  operation: Operation,
  usecase: string,
  sizes: Sizes,
  extra: ReadonlyArray<MetricLabel.MetricLabel>
): void => {
  const entry = taggedOf(operation, usecase)
  internal.eachDistribution(sizes, (kind, value, compression) => {
    const slot = sizeSlot(kind, compression)
    let histogram = entry.sizes[slot]
    if (histogram === undefined) {
      histogram = withTags(
        histograms[kind][operation],
        compression === undefined ? { usecase } : { usecase, compression }
      )
      entry.sizes[slot] = histogram
    }
    histogram.unsafeUpdate(value, extra)
  })
}

const recordResponseWith = (
  operation: Operation,
  usecase: string,
  status: number,
  extra: ReadonlyArray<MetricLabel.MetricLabel>
): void => {
  const entry = taggedOf(operation, usecase)
  let counter = entry.responses.get(status)
  if (counter === undefined) {
    counter = withTags(responses, {
      "objectstore.operation": operation,
      "objectstore.usecase": usecase,
      "http.response.status_code": String(status)
    })
    entry.responses.set(status, counter)
  }
  counter.unsafeUpdate(1, extra)
}

/**
 * A service that records the Effect metrics of this module.
 *
 * @since 0.1.0
 * @category constructors
 */
export const make: Service = Metrics.of({
  track: (operation, usecase, effect) =>
    timed(effect, (seconds, exit, extra) => {
      const entry = taggedOf(operation, usecase)
      entry.latency.unsafeUpdate(seconds, extra)
      outcomeCounter(entry, operation, usecase, outcomeOf(exit)).unsafeUpdate(1, extra)
      return Effect.void
    }),
  recordSize: (operation, usecase, sizes) => updateAll((extra) => recordSizeWith(operation, usecase, sizes, extra)),
  recordResponse: (operation, usecase, status) =>
    updateAll((extra) => recordResponseWith(operation, usecase, status, extra)),
  recordRetry: (operation, usecase) =>
    updateAll((extra) => taggedOf(operation, usecase).retries.unsafeUpdate(1, extra)),
  unsafe: { recordSize: recordSizeWith, recordResponse: recordResponseWith }
})

/**
 * A service that records nothing.
 *
 * @since 0.1.0
 * @category constructors
 */
export const noop: Service = Metrics.of({
  track: (_operation, _usecase, effect) => effect,
  recordSize: () => Effect.void,
  recordResponse: () => Effect.void,
  recordRetry: () => Effect.void,
  unsafe: { recordSize: () => {}, recordResponse: () => {} }
})

/**
 * A metrics backend with the Python client's interface (`objectstore_client.metrics.MetricsBackend`). Only
 * `distribution` is called, as by the Python client.
 *
 * @since 0.1.0
 * @category models
 */
export interface Backend {
  readonly distribution: (
    name: string,
    value: number,
    tags: Readonly<Record<string, string>> | undefined,
    unit: string | undefined
  ) => void
  readonly increment?:
    | ((name: string, value: number, tags: Readonly<Record<string, string>> | undefined) => void)
    | undefined
  readonly gauge?:
    | ((name: string, value: number, tags: Readonly<Record<string, string>> | undefined) => void)
    | undefined
}

const isPythonOperation = (operation: Operation): boolean => pythonOperations.includes(operation)

/**
 * A service forwarding to `backend` exactly the calls the Python client makes for the same operation: for `put`,
 * `get`, `head`, `delete`, `multipart.initiate`, `multipart.put_part` and `multipart.complete`, a
 * `storage.<op>.latency` distribution (seconds, no unit) per operation and the size distributions (`size` with unit
 * `byte`, `compression_ratio`, `throughput`, `inverse_throughput`) per recorded transfer; nothing for other
 * operations, responses or retries. A backend that throws is ignored (logged at debug level): metrics never fail an
 * operation.
 *
 * @since 0.1.0
 * @category constructors
 */
export const makeBackend = (backend: Backend): Service => {
  const distribution = (name: string, value: number, tags: Readonly<Record<string, string>>, unit?: string) =>
    Effect.try(() => backend.distribution(name, value, tags, unit)).pipe(
      Effect.catchAll((error) => Effect.logDebug("objectstore metrics backend failed", error.cause))
    )
  return Metrics.of({
    track: (operation, usecase, effect) =>
      isPythonOperation(operation)
        ? timed(effect, (seconds) => distribution(`storage.${operation}.latency`, seconds, { usecase }))
        : effect,
    recordSize: (operation, usecase, sizes) =>
      isPythonOperation(operation)
        ? Effect.forEach(
          internal.distributions(usecase, sizes),
          (d) =>
            distribution(`storage.${operation}.${d.kind}`, d.value, d.tags, d.kind === "size" ? "byte" : undefined),
          { discard: true }
        )
        : Effect.void,
    recordResponse: () => Effect.void,
    recordRetry: () => Effect.void
  })
}

/**
 * Records the Effect metrics of this module.
 *
 * @since 0.1.0
 * @category layers
 */
export const layer: Layer.Layer<Metrics> = Layer.succeed(Metrics, make)

/**
 * Records nothing.
 *
 * @since 0.1.0
 * @category layers
 */
export const layerNoop: Layer.Layer<Metrics> = Layer.succeed(Metrics, noop)

/**
 * Forwards to a backend with the Python client's interface (see {@link makeBackend}).
 *
 * @since 0.1.0
 * @category layers
 */
export const layerBackend = (backend: Backend): Layer.Layer<Metrics> => Layer.succeed(Metrics, makeBackend(backend))
