/**
 * The one way the client makes its spans. Every public operation runs in a span named after it (`Session.put`,
 * `Multipart.putPart`, `Session.upload`, …) with `objectstore.*` attributes; work it does for the caller (the parts
 * of an upload, the batch requests of `many`) runs in spans nested under it.
 *
 * Not `Effect.fn`: it captures a stack trace at every call (about 4 us, on every request of the hot path), and
 * most operations wrap their effect in the metrics of the operation as well, which a plain function composes
 * without a second layer of generator functions.
 *
 * @since 0.1.0
 * @internal
 */
import * as Effect from "effect/Effect"
import * as Stream from "effect/Stream"
import type * as Tracer from "effect/Tracer"
import type * as Metrics from "../Metrics.js"

/**
 * How a span is made: its kind (`client` by default: without `httpSpans`, an operation's span is the one span of
 * its HTTP exchange; `internal` for an operation made of several requests) and its first attributes.
 *
 * @internal
 */
export interface Options {
  readonly kind?: Tracer.SpanKind | undefined
  readonly attributes?: Record<string, unknown> | undefined
}

const spanOptions = (options: Options | undefined): Tracer.SpanOptions => ({
  kind: options?.kind ?? "client",
  captureStackTrace: false,
  ...(options?.attributes === undefined ? {} : { attributes: options.attributes })
})

/**
 * Sets attributes on the current span, when there is one. `Effect.annotateCurrentSpan` fails internally (an
 * exception with its stack trace, then ignored) whenever the span does not propagate, which is every span while the
 * tracer is disabled (`Effect.withTracerEnabled(false)`): several times per request. This reads the fiber's span.
 *
 * @internal
 */
export const annotate = (attributes: Readonly<Record<string, unknown>>): Effect.Effect<void> =>
  Effect.withFiberRuntime((fiber) => {
    const span = fiber.currentSpan
    if (span !== undefined && span._tag === "Span") {
      for (const key in attributes) span.attribute(key, attributes[key])
    }
    return Effect.void
  })

/**
 * Runs `effect` in the span `name`.
 *
 * @internal
 */
export const traced = <A, E, R>(
  name: string,
  effect: Effect.Effect<A, E, R>,
  options?: Options
): Effect.Effect<A, E, R> => Effect.withSpan(effect, name, spanOptions(options))

/**
 * Runs `stream` in the span `name`, from its first pull until it ends: what it runs nests under that span.
 *
 * @internal
 */
export const tracedStream = <A, E, R>(
  name: string,
  stream: Stream.Stream<A, E, R>,
  options?: Options
): Stream.Stream<A, E, R> => Stream.withSpan(stream, name, spanOptions(options))

/**
 * Runs `effect` as the client operation `name`: its span around its metrics (`operation` with `metrics.track`).
 *
 * @internal
 */
export const operation = <A, E, R>(
  name: string,
  metrics: Metrics.Service,
  metric: Metrics.Operation,
  usecase: string,
  effect: Effect.Effect<A, E, R>
): Effect.Effect<A, E, R> => traced(name, metrics.track(metric, usecase, effect))
