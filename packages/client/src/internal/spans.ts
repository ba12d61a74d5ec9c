/**
 * The one way the client makes its spans. Every public operation runs in a span named after it (`Session.put`,
 * `Multipart.putPart`, `Session.upload`, …) with `objectstore.*` attributes; work it does for the caller (the parts
 * of an upload, the batch requests of `many`) runs in spans nested under it. Spans are made where they are kept:
 * under a tracer the application installed, or when the client propagates trace headers (see `recorded`).
 *
 * Not `Effect.fn`: it captures a stack trace at every call (about 4 us, on every request of the hot path), and
 * most operations wrap their effect in the metrics of the operation as well, which a plain function composes
 * without a second layer of generator functions.
 *
 * @since 0.1.0
 * @internal
 */
import * as Effect from "effect/Effect"
import type * as Fiber from "effect/Fiber"
import * as FiberRef from "effect/FiberRef"
import * as Stream from "effect/Stream"
import type * as Tracer from "effect/Tracer"
import type * as Metrics from "../Metrics.js"

/**
 * How a span is made: its kind (`client` by default: without `httpSpans`, an operation's span is the one span of
 * its HTTP exchange; `internal` for an operation made of several requests), its first attributes, and whether the
 * client sends trace headers (`propagateTraces`: the span is then made whatever the tracer, see {@link recorded}).
 *
 * @internal
 */
export interface Options {
  readonly kind?: Tracer.SpanKind | undefined
  readonly attributes?: Record<string, unknown> | undefined
  readonly propagateTraces?: boolean | undefined
}

const spanOptions = (options: Options | undefined): Tracer.SpanOptions => ({
  kind: options?.kind ?? "client",
  captureStackTrace: false,
  ...(options?.attributes === undefined ? {} : { attributes: options.attributes })
})

/** Effect's own tracer, in context unless the application installed one (OpenTelemetry's, a test's...). */
const nativeTracer: Tracer.Tracer = Effect.runSync(Effect.tracer)

/**
 * Whether the client's spans are made: always under a tracer the application installed, and under Effect's own
 * tracer only when the client propagates trace headers (they name the operation's span). Effect's own tracer keeps
 * its spans nowhere, and making one (random ids, timestamps, attributes, the context it runs in) cost about 20 us of
 * a 1 KiB request's 95 us of client work (`bench/profile/overhead.ts`).
 */
const recorded = (fiber: Fiber.RuntimeFiber<unknown, unknown>, options: Options | undefined): boolean =>
  fiber.currentTracer !== nativeTracer || options?.propagateTraces === true

/** The spans the client made: {@link annotate} writes to these only, never to a caller's span. */
const ours = new WeakSet<Tracer.AnySpan>()

/** `effect` in a new span `name`, remembered as the client's. */
const inSpan = <A, E, R>(name: string, effect: Effect.Effect<A, E, R>, options: Options | undefined) =>
  Effect.useSpan(name, spanOptions(options), (span) => {
    ours.add(span)
    return Effect.withParentSpan(effect, span)
  })

/**
 * Sets attributes on the client's span of the current operation, when it made one (see {@link recorded}); never on
 * a caller's span. (`Effect.annotateCurrentSpan` looks for the nearest span that propagates: under a disabled tracer
 * it annotated the caller's span, and where there was none it failed internally, an exception with its stack trace,
 * several times per request.)
 *
 * @internal
 */
export const annotate = (attributes: Readonly<Record<string, unknown>>): Effect.Effect<void> =>
  Effect.withFiberRuntime((fiber) => {
    annotateSpan(fiber.currentSpan, attributes)
    return Effect.void
  })

/**
 * {@link annotate} for a span already at hand (a fiber's `currentSpan`): writes only when the client made it.
 *
 * @internal
 */
export const annotateSpan = (span: Tracer.AnySpan | undefined, attributes: Readonly<Record<string, unknown>>): void => {
  if (span !== undefined && ours.has(span)) {
    for (const key in attributes) (span as Tracer.Span).attribute(key, attributes[key])
  }
}

/**
 * Runs `effect` in the span `name` (when spans are {@link recorded}).
 *
 * @internal
 */
export const traced = <A, E, R>(
  name: string,
  effect: Effect.Effect<A, E, R>,
  options?: Options
): Effect.Effect<A, E, R> =>
  Effect.withFiberRuntime((fiber) => recorded(fiber, options) ? inSpan(name, effect, options) : effect)

/**
 * Runs `stream` in the span `name` (when spans are {@link recorded}), from its first pull until it ends: what it runs
 * nests under that span.
 *
 * @internal
 */
export const tracedStream = <A, E, R>(
  name: string,
  stream: Stream.Stream<A, E, R>,
  options?: Options
): Stream.Stream<A, E, R> =>
  Stream.unwrap(
    Effect.withFiberRuntime((fiber) =>
      Effect.succeed(recorded(fiber, options) ? Stream.withSpan(stream, name, spanOptions(options)) : stream)
    )
  )

/**
 * What an operation needs to be traced and measured: the client context has both.
 *
 * @internal
 */
export interface Tracing {
  readonly metrics: Metrics.Service
  readonly propagateTraces?: boolean | undefined
}

/**
 * Runs `effect` as the client operation `name`: its span (when {@link recorded}, with its first `attributes`)
 * around its metrics (`operation` with `metrics.track`).
 *
 * @internal
 */
export const operation = <A, E, R>(
  name: string,
  tracing: Tracing,
  metric: Metrics.Operation,
  usecase: string,
  effect: Effect.Effect<A, E, R>,
  attributes?: () => Record<string, unknown>
): Effect.Effect<A, E, R> => {
  const tracked = tracing.metrics.track(metric, usecase, effect)
  const options = tracing.propagateTraces === true ? propagating : undefined
  return Effect.withFiberRuntime((fiber) =>
    !recorded(fiber, options)
      ? tracked
      : inSpan(name, tracked, attributes === undefined ? options : { ...options, attributes: attributes() })
  )
}

const propagating: Options = { propagateTraces: true }

/**
 * Records a transfer's `sizes` on `fiber`, with its metric labels: at once when the metrics service records
 * synchronously (`Metrics.Service.unsafe`), answering `undefined`; otherwise the effect that records them, to run on
 * that same fiber.
 *
 * @internal
 */
export const recordSizeOn = (
  metrics: Metrics.Service,
  fiber: Fiber.RuntimeFiber<unknown, unknown>,
  operation: Metrics.Operation,
  usecase: string,
  sizes: Metrics.Sizes
): Effect.Effect<void> | undefined => {
  if (metrics.unsafe === undefined) return metrics.recordSize(operation, usecase, sizes)
  metrics.unsafe.recordSize(operation, usecase, sizes, fiber.getFiberRef(FiberRef.currentMetricLabels))
  return undefined
}

/**
 * Counts a response status on `fiber`, as {@link recordSizeOn} records sizes.
 *
 * @internal
 */
export const recordResponseOn = (
  metrics: Metrics.Service,
  fiber: Fiber.RuntimeFiber<unknown, unknown>,
  operation: Metrics.Operation,
  usecase: string,
  status: number
): Effect.Effect<void> | undefined => {
  if (metrics.unsafe === undefined) return metrics.recordResponse(operation, usecase, status)
  metrics.unsafe.recordResponse(operation, usecase, status, fiber.getFiberRef(FiberRef.currentMetricLabels))
  return undefined
}
