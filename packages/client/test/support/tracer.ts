/**
 * A tracer for tests that records every span's name and attributes, and hands what else it sees to optional hooks.
 */
import type * as Exit from "effect/Exit"
import * as Tracer from "effect/Tracer"

export interface RecordedSpan {
  readonly name: string
  readonly attributes: Map<string, unknown>
}

/** What a test may want to see beyond names and attributes. */
export interface Hooks {
  readonly onEnd?: (span: RecordedSpan, exit: Exit.Exit<unknown, unknown>) => void
  readonly onAttribute?: (key: string, value: unknown) => void
  readonly onEvent?: (name: string, attributes: Record<string, unknown> | undefined) => void
}

/** A tracer appending each span it starts to `spans` (valid W3C ids, so trace headers can be propagated). */
export const recordingTracer = (spans: Array<RecordedSpan>, hooks: Hooks = {}): Tracer.Tracer =>
  Tracer.make({
    span: (name, parent, context, links, startTime, kind) => {
      const recorded: RecordedSpan = { name, attributes: new Map<string, unknown>() }
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
      return span
    },
    context: (f) => f()
  })
