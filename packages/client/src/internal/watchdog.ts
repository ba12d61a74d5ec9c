/**
 * The deadlines of one request attempt (and of a response body streamed to the caller), on Effect's `Clock`.
 *
 * A {@link Watchdog} holds one deadline at a time, for the phase the exchange is in: the request body waiting for
 * the transport to take more (`upload`, `idleTimeout` between chunks), the response headers (`response`, `timeout`
 * from the end of the request), the response body (`download`, `idleTimeout` between chunks). Progress pushes the
 * deadline out; a phase with nothing to wait for disarms it. When a deadline passes, `onFire` runs once: the
 * caller aborts the exchange and reports a `Timeout`.
 *
 * The timer costs almost nothing per request: a `setTimeout` on the live clock, re-armed only when it fires early
 * or a shorter deadline is set; progress is a clock read and an assignment. A deadline is only declared passed
 * after the event loop has had its turn at I/O (`setImmediate`) and the fibers already scheduled have run (the
 * check is itself a fiber, queued behind them): a process too busy to look at its sockets for a while must not turn
 * data that arrived meanwhile into a timeout. For the same reason, when the timer itself runs late (the process was
 * busy, or not scheduled at all), the deadline is extended once by as long as it was late (at most the limit). On
 * any other clock (`TestClock`), the timer is a fiber sleeping on that clock, so tests move time instead of waiting
 * for it.
 *
 * @internal
 */
import type * as Clock from "effect/Clock"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as FiberId from "effect/FiberId"

/** @internal */
export type Phase = "connect" | "upload" | "response" | "download"

/**
 * The deadlines, in milliseconds (`Infinity`: none).
 *
 * @internal
 */
export interface Limits {
  /** From the end of the request (the body sent) to the response headers. */
  readonly headers: number
  /** The longest pause between chunks of an upload or a download. */
  readonly idle: number
}

/** @internal */
export interface Fired {
  readonly phase: Phase
  readonly limit: number
}

/** A timer later than this (ms) means the process was busy: the deadline gets a grace period (see `#check`). */
const LATE = 25

let liveClock: Clock.Clock | undefined

/** Whether `clock` is Effect's default clock (not a `TestClock`). */
const isLive = (clock: Clock.Clock): boolean => clock === (liveClock ??= Effect.runSync(Effect.clock))

/** `setImmediate` where the runtime has it (Node.js, Bun, Deno); a zero timeout in browsers. */
const afterIo: (f: () => void) => void = typeof globalThis.setImmediate === "function"
  ? (f) => globalThis.setImmediate(f)
  : (f) => globalThis.setTimeout(f, 0)

/**
 * Completes once the event loop has had its turn at I/O: the events that arrived meanwhile (a connection the server
 * reset or closed, data) have been handled.
 *
 * @internal
 */
export const pendingIo: Effect.Effect<void> = Effect.async<void>((resume) => {
  afterIo(() => resume(Effect.void))
})

/**
 * Runs `f` once `millis` have passed on `clock` (and, on the live clock, pending I/O has been handled); returns the
 * cancellation.
 *
 * @internal
 */
export const schedule = (clock: Clock.Clock, millis: number, f: () => void): () => void => {
  if (isLive(clock)) {
    let cancelled = false
    const timer = setTimeout(() => {
      afterIo(() => {
        if (!cancelled) Effect.runFork(Effect.zipRight(Effect.yieldNow(), Effect.sync(() => cancelled || f())))
      })
    }, Math.max(0, millis))
    // Node.js timers can be unref'd (a deadline must not keep the process alive); browser timers are numbers.
    if (typeof timer === "object" && typeof timer.unref === "function") timer.unref()
    return () => {
      cancelled = true
      clearTimeout(timer)
    }
  }
  const fiber = Effect.runFork(
    Effect.zipRight(clock.sleep(Duration.millis(Math.max(1, Math.ceil(millis)))), Effect.sync(f))
  )
  return () => fiber.unsafeInterruptAsFork(FiberId.none)
}

/**
 * The deadline of one exchange (see the module documentation).
 *
 * @internal
 */
export class Watchdog {
  readonly clock: Clock.Clock
  /** Set once a deadline has passed. */
  fired: Fired | undefined = undefined
  /** Called once, when a deadline passes. */
  onFire: ((fired: Fired) => void) | undefined = undefined
  #phase: Phase = "response"
  #limit = Infinity
  #deadline = Infinity
  #timerAt = Infinity
  #cancel: (() => void) | undefined = undefined
  #stopped = false
  #graced = false

  constructor(clock: Clock.Clock) {
    this.clock = clock
  }

  /** Expects progress in `phase` within `limit` milliseconds from now (`Infinity`: no deadline). */
  arm(phase: Phase, limit: number): void {
    if (this.#stopped || this.fired !== undefined) return
    this.#phase = phase
    this.#limit = limit
    if (limit === Infinity) {
      this.#deadline = Infinity
      return
    }
    const now = this.clock.unsafeCurrentTimeMillis()
    this.#deadline = now + limit
    this.#graced = false
    if (this.#deadline < this.#timerAt) this.#reschedule(now)
  }

  /** Progress in the current phase: the deadline starts again from now. */
  progress(): void {
    if (this.#deadline !== Infinity) {
      this.#deadline = this.clock.unsafeCurrentTimeMillis() + this.#limit
      this.#graced = false
    }
  }

  /** Nothing to wait for until the next {@link arm}. */
  disarm(): void {
    this.#deadline = Infinity
  }

  /** Ends the watch: no deadline fires from now on. */
  stop(): void {
    this.#stopped = true
    this.#deadline = Infinity
    this.onFire = undefined
    if (this.#cancel !== undefined) {
      this.#cancel()
      this.#cancel = undefined
    }
  }

  #check = (): void => {
    const scheduled = this.#timerAt
    this.#cancel = undefined
    this.#timerAt = Infinity
    if (this.#stopped || this.#deadline === Infinity) return
    const now = this.clock.unsafeCurrentTimeMillis()
    // Within half a millisecond is reached: a clock summing fractions (a TestClock after jittered sleeps) can stop
    // just short of a deadline, and a sleep of the difference would end at once, again and again.
    if (now < this.#deadline - 0.5) return this.#reschedule(now)
    // The timer ran late: the process was too busy to watch the connection (or to make progress on it) for that
    // long. That blind time is not the server's: give it as long again (at most the limit) to show progress.
    const late = now - scheduled
    if (late > LATE && !this.#graced) {
      this.#graced = true
      this.#deadline = now + Math.min(late, this.#limit)
      return this.#reschedule(now)
    }
    const fired: Fired = { phase: this.#phase, limit: this.#limit }
    this.fired = fired
    const onFire = this.onFire
    this.stop()
    onFire?.(fired)
  }

  #reschedule(now: number): void {
    if (this.#cancel !== undefined) this.#cancel()
    this.#timerAt = this.#deadline
    this.#cancel = schedule(this.clock, this.#deadline - now, this.#check)
  }
}

/**
 * The error a watchdog aborts a transport with (its `cause` chain is how a failure is recognised as the timeout).
 *
 * @internal
 */
export class DeadlineError extends Error {
  readonly fired: Fired
  constructor(fired: Fired) {
    super(`${fired.phase} deadline of ${fired.limit} ms passed`)
    this.name = "DeadlineError"
    this.fired = fired
  }
}
