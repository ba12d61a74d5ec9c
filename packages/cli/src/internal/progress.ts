/**
 * A progress line for long jobs, redrawn on standard error when it is a terminal (bytes, objects, rate, time
 * left), and nothing otherwise.
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
  /** Discovery finished: the totals are final (enables the time left). */
  readonly discovered: () => void
  /** Work finished (uploaded, downloaded, skipped or failed). */
  readonly done: (objects: number, bytes: number) => void
  /** Bytes of an unfinished object so far. */
  readonly partial: (id: string, bytes: number) => void
  readonly clearPartial: (id: string) => void
  /** Milliseconds since the start. */
  readonly elapsed: Effect.Effect<number>
}

/**
 * Starts a tracker; when standard error is a terminal a fiber redraws the line every 200 ms until the scope
 * closes, which erases it.
 *
 * @internal
 */
export const make = (stdio: Stdio.Service, label: string): Effect.Effect<Tracker, never, Scope.Scope> =>
  Effect.gen(function*() {
    const started = yield* Clock.currentTimeMillis
    let objects = 0
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
        objects += o
        bytesDone += b
      },
      partial: (id, b) => void partial.set(id, b),
      clearPartial: (id) => void partial.delete(id),
      elapsed: Effect.map(Clock.currentTimeMillis, (now) => now - started)
    }
    if (!stdio.stderrIsTTY) return tracker
    const draw = Effect.gen(function*() {
      const ms = yield* tracker.elapsed
      let bytes = bytesDone
      for (const b of partial.values()) bytes += b
      const rate = ms > 0 ? (bytes * 1000) / ms : 0
      const eta = final && rate > 0 && totalBytes > bytes
        ? ` ETA ${Format.duration(((totalBytes - bytes) / rate) * 1000)}`
        : ""
      const of = (n: string, t: string) => (final ? `${n}/${t}` : `${n}/${t}+`)
      const line = `${label} ${of(String(objects), String(totalObjects))} objects ` +
        `${of(Format.bytes(bytes), Format.bytes(totalBytes))} ${Format.bytes(Math.round(rate))}/s` +
        ` ${Format.duration(ms)}${eta}`
      yield* stdio.err(`\r${line.slice(0, Math.max(10, stdio.columns() - 1))}\x1b[K`)
    })
    yield* Effect.addFinalizer(() => stdio.err("\r\x1b[K"))
    yield* Effect.forkScoped(Effect.repeat(draw, Schedule.spaced("200 millis")))
    return tracker
  })
