/**
 * Admission: killswitches (PROTOCOL §14.5) and the service concurrency limit (§14.6).
 *
 * @internal
 */
import type * as Scope from "@objectstore/protocol/Scope"
import * as Data from "effect/Data"
import * as Deferred from "effect/Deferred"
import type * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as FiberId from "effect/FiberId"
import * as Option from "effect/Option"
import type * as Config from "../Config.js"

/** @internal */
export class Overloaded extends Data.TaggedError("Overloaded") {}

/** @internal */
export interface Limiter {
  /** Runs `effect` holding one backend permit; fails with `Overloaded` when none is available in time. */
  readonly run: <A, E, R>(effect: Effect.Effect<A, E, R>) => Effect.Effect<A, E | Overloaded, R>
  /**
   * Takes a permit if one is free right now (`false` otherwise, nothing taken), for synchronous work that gives it
   * back with {@link release} before it returns.
   */
  readonly tryTake: () => boolean
  /** Gives back a permit taken by {@link tryTake}. */
  readonly release: () => void
}

/**
 * `maxConcurrency` permits; when all are taken, up to `concurrencyQueue` callers wait at most
 * `concurrencyTimeout` for one, everybody else is rejected at once.
 *
 * @internal
 */
export const makeLimiter = (config: {
  readonly maxConcurrency: number
  readonly concurrencyQueue: number
  readonly concurrencyTimeout: Duration.Duration
}): Effect.Effect<Limiter> =>
  Effect.sync(() => {
    let available = Math.max(0, config.maxConcurrency)
    const waiters: Array<Deferred.Deferred<void>> = []

    const releaseNow = () => {
      const next = waiters.shift()
      if (next !== undefined) Deferred.unsafeDone(next, Exit.void) // hand the permit over
      else available++
    }
    const release = Effect.sync(releaseNow)

    const forget = (deferred: Deferred.Deferred<void>) =>
      Effect.suspend(() => {
        const index = waiters.indexOf(deferred)
        if (index >= 0) waiters.splice(index, 1)
        return Deferred.isDone(deferred)
      })

    // Runs uninterruptibly except while waiting; `true` when a permit is held afterwards.
    const acquire = (restore: <A, E, R>(effect: Effect.Effect<A, E, R>) => Effect.Effect<A, E, R>) =>
      Effect.suspend((): Effect.Effect<boolean> => {
        if (available > 0) {
          available--
          return Effect.succeed(true)
        }
        if (waiters.length >= config.concurrencyQueue) return Effect.succeed(false)
        const deferred = Deferred.unsafeMake<void>(FiberId.none)
        waiters.push(deferred)
        return restore(Effect.timeoutOption(Deferred.await(deferred), config.concurrencyTimeout)).pipe(
          Effect.onInterrupt(() => Effect.flatMap(forget(deferred), (handed) => handed ? release : Effect.void)),
          Effect.flatMap((outcome) => Option.isSome(outcome) ? Effect.succeed(true) : forget(deferred))
        )
      })

    return {
      tryTake: () => {
        if (available <= 0) return false
        available--
        return true
      },
      release: releaseNow,
      run: <A, E, R>(effect: Effect.Effect<A, E, R>) =>
        Effect.uninterruptibleMask((restore) =>
          Effect.suspend((): Effect.Effect<A, E | Overloaded, R> => {
            // a free permit is taken at once (every operation of a batch comes here)
            if (available > 0) {
              available--
              return Effect.ensuring(restore(effect), release)
            }
            return Effect.flatMap(acquire(restore), (acquired): Effect.Effect<A, E | Overloaded, R> =>
              acquired
                ? Effect.ensuring(restore(effect), release)
                : Effect.fail(new Overloaded()))
          })
        )
    }
  })

/**
 * Strips a Kubernetes pod suffix (`relay-7d9f8c6b5d-x2k4p` → `relay`, `relay-0` stays) from a service name.
 *
 * @internal
 */
export const normaliseService = (service: string): string => {
  const deployment = /^(.+)-[a-z0-9]{6,10}-[a-z0-9]{5}$/.exec(service)
  return deployment !== null ? deployment[1]! : service
}

/** Glob match with `*` (any run) and `?` (one character). @internal */
export const globMatches = (pattern: string, text: string): boolean => {
  const source = pattern.replace(/[.+^${}()|[\]\\]/g, "\\$&").replace(/\*/g, ".*").replace(/\?/g, ".")
  return new RegExp(`^${source}$`, "s").test(text)
}

/**
 * Whether a request is blocked by one of the killswitches.
 *
 * @internal
 */
export const killed = (
  killswitches: ReadonlyArray<Config.Killswitch>,
  usecase: string,
  scopes: Scope.Components,
  service: string | undefined
): boolean =>
  killswitches.some((killswitch) => {
    if (killswitch.usecase !== undefined && killswitch.usecase !== usecase) return false
    if (killswitch.scopes !== undefined) {
      for (const [name, value] of Object.entries(killswitch.scopes)) {
        if (!scopes.some(([n, v]) => n === name && v === value)) return false
      }
    }
    if (killswitch.service !== undefined) {
      if (service === undefined) return false
      if (!globMatches(killswitch.service, normaliseService(service))) return false
    }
    return true
  })
