/**
 * A progress line for long jobs, drawn as the status line of standard error when it is a terminal (objects, bytes,
 * time left, rate, time so far), and nothing otherwise.
 *
 * @internal
 */
import * as Clock from "effect/Clock"
import * as Effect from "effect/Effect"
import * as Schedule from "effect/Schedule"
import type * as Scope from "effect/Scope"
import type * as Stdio from "../Stdio.js"
import * as Format from "./format.js"

/** @internal */
export interface Tracker {
  /** More work discovered. */
  readonly discover: (objects: number, bytes: number) => void
  /** Discovery finished: the totals are final (drops the `+` and enables the time left). */
  readonly discovered: () => void
  /** Work finished (uploaded, downloaded, skipped or failed). */
  readonly done: (objects: number, bytes: number) => void
  /** Bytes of an unfinished object so far. */
  readonly partial: (id: string, bytes: number) => void
  readonly clearPartial: (id: string) => void
  /** Milliseconds since the start. */
  readonly elapsed: Effect.Effect<number>
}

/** What the line shows. @internal */
export interface State {
  readonly label: string
  /** Whether to count objects (bulk jobs; not for one upload). */
  readonly objects: boolean
  /** Whether to count bytes (not for deletes). */
  readonly bytes: boolean
  readonly objectsDone: number
  readonly totalObjects: number
  readonly bytesDone: number
  readonly totalBytes: number
  /** Whether the totals are final. */
  readonly final: boolean
  readonly millis: number
}

/**
 * The progress line for `state` in at most `width - 1` characters (the last column of a terminal wraps): the least
 * useful parts go first when the terminal is narrow (time so far, rate, time left, bytes), and only the label and
 * the objects are ever cut.
 *
 * @internal
 */
export const line = (state: State, width: number): string => {
  const more = state.final ? "" : "+"
  const rate = state.millis > 0 ? (state.bytesDone * 1000) / state.millis : 0
  const bytes = state.totalBytes > 0 || !state.final
    ? `${Format.bytes(state.bytesDone)}/${Format.bytes(Math.max(state.totalBytes, state.bytesDone))}${more}`
    : Format.bytes(state.bytesDone)
  // under a second left by the bytes, the objects still to go (a batch of small files) decide: no estimate
  const left = state.final && rate > 0 ? ((state.totalBytes - state.bytesDone) / rate) * 1000 : 0
  const eta = left >= 1000 ? `ETA ${Format.duration(left)}` : undefined
  // [text, priority]: lower priorities are dropped first
  const parts: Array<readonly [string | undefined, number]> = [
    [state.label, 5],
    [state.objects ? `${state.objectsDone}/${state.totalObjects}${more} objects` : undefined, 4],
    [state.bytes ? bytes : undefined, 3],
    [state.bytes ? `${Format.bytes(Math.round(rate))}/s` : undefined, 1],
    [Format.duration(state.millis), 0],
    [state.bytes ? eta : undefined, 2]
  ]
  const max = Math.max(1, width - 1)
  let kept = parts.filter(([text]) => text !== undefined)
  const render = () => kept.map(([text]) => text).join("  ")
  while (render().length > max && kept.length > 2) {
    const lowest = Math.min(...kept.map(([, priority]) => priority))
    kept = kept.filter(([, priority]) => priority !== lowest)
  }
  const text = render()
  return text.length > max ? text.slice(0, max) : text
}

/**
 * Starts a tracker; when standard error is a terminal a fiber redraws the line every 200 ms until the scope
 * closes, which erases it.
 *
 * @internal
 */
export const make = (
  stdio: Stdio.Service,
  label: string,
  options: { readonly objects?: boolean; readonly bytes?: boolean } = {}
): Effect.Effect<Tracker, never, Scope.Scope> =>
  Effect.gen(function*() {
    const started = yield* Clock.currentTimeMillis
    let objectsDone = 0
    let totalObjects = 0
    let bytesDone = 0
    let totalBytes = 0
    let final = false
    const partial = new Map<string, number>()
    const tracker: Tracker = {
      discover: (o, b) => {
        totalObjects += o
        totalBytes += b
      },
      discovered: () => {
        final = true
      },
      done: (o, b) => {
        objectsDone += o
        bytesDone += b
      },
      partial: (id, b) => void partial.set(id, b),
      clearPartial: (id) => void partial.delete(id),
      elapsed: Effect.map(Clock.currentTimeMillis, (now) => now - started)
    }
    if (!stdio.stderrIsTTY) return tracker
    const draw = Effect.gen(function*() {
      const millis = yield* tracker.elapsed
      let bytes = bytesDone
      for (const b of partial.values()) bytes += b
      yield* stdio.status(line({
        label,
        objects: options.objects !== false,
        bytes: options.bytes !== false,
        objectsDone,
        totalObjects,
        bytesDone: bytes,
        totalBytes,
        final,
        millis
      }, stdio.columns("stderr")))
    })
    yield* Effect.addFinalizer(() => stdio.status(""))
    yield* Effect.forkScoped(Effect.repeat(draw, Schedule.spaced("200 millis")))
    return tracker
  })
