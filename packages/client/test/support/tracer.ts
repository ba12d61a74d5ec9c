/**
 * A tracer for tests that records every span's name and attributes, and hands what else it sees to optional hooks.
 */
import type * as Exit from "effect/Exit"
import * as Option from "effect/Option"
import * as Tracer from "effect/Tracer"

export interface RecordedSpan {
  readonly name: string
  readonly attributes: Map<string, unknown>
  /** The span it was started under, when this tracer recorded that one too. */
  readonly parent: RecordedSpan | undefined
}

/** Whether `span` runs under a span named `name` (its parent, or the parent's parent, …). */
export const hasAncestor = (span: RecordedSpan, name: string): boolean =>
  span.parent !== undefined && (span.parent.name === name || hasAncestor(span.parent, name))

/** What a test may want to see beyond names and attributes. */
export interface Hooks {
  readonly onEnd?: (span: RecordedSpan, exit: Exit.Exit<unknown, unknown>) => void
  readonly onAttribute?: (key: string, value: unknown) => void
  readonly onEvent?: (name: string, attributes: Record<string, unknown> | undefined) => void
}

/** A tracer appending each span it starts to `spans` (valid W3C ids, so trace headers can be propagated). */
export const recordingTracer = (spans: Array<RecordedSpan>, hooks: Hooks = {}): Tracer.Tracer => {
  const byId = new Map<string, RecordedSpan>()
  return Tracer.make({
    span: (name, parent, context, links, startTime, kind) => {
      const recorded: RecordedSpan = {
        name,
        attributes: new Map<string, unknown>(),
        parent: Option.isSome(parent) ? byId.get(parent.value.spanId) : undefined
      }
      spans.push(recorded)
      const span: Tracer.Span & { status: Tracer.SpanStatus } = {
        _tag: "Span",
        name,
        spanId: spans.length.toString(16).padStart(16, "0"),
        traceId: "0af7651916cd43dd8448eb211c80319c",
        parent,
        context,
        status: { _tag: "Started", startTime },
        attributes: recorded.attributes,
        links,
        sampled: true,
        kind,
        end: (endTime, exit) => {
          span.status = { _tag: "Ended", startTime, endTime, exit }
          hooks.onEnd?.(recorded, exit)
        },
        attribute: (key, value) => {
          recorded.attributes.set(key, value)
          hooks.onAttribute?.(key, value)
        },
        event: (event, _time, attributes) => hooks.onEvent?.(event, attributes),
        addLinks: () => {}
      }
      byId.set(span.spanId, recorded)
      return span
    },
    context: (f) => f()
  })
}
