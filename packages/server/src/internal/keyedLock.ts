/**
 * A lock per key, used by the stores to serialise the writers of one object, upload or session.
 *
 * @internal
 */
import * as Effect from "effect/Effect"

/**
 * One lock per key: `withKey(key)(effect)` runs `effect` (uninterruptibly, unless `interruptible`: a holder that
 * streams a request body must stay interruptible) after every earlier holder of the same key has finished; other
 * keys are not affected. Idle keys hold no memory.
 *
 * @internal
 */
export const makeKeyedLock = (options?: { readonly interruptible?: boolean | undefined }): (
  key: string
) => <A, E, R>(effect: Effect.Effect<A, E, R>) => Effect.Effect<A, E, R> => {
  const locks = new Map<string, { readonly semaphore: Effect.Semaphore; users: number }>()
  const wrap = options?.interruptible === true ? <A, E, R>(e: Effect.Effect<A, E, R>) => e : Effect.uninterruptible
  return (key) => (effect) =>
    wrap(Effect.suspend(() => {
      let entry = locks.get(key)
      if (entry === undefined) {
        entry = { semaphore: Effect.unsafeMakeSemaphore(1), users: 0 }
        locks.set(key, entry)
      }
      const held = entry
      held.users++
      return Effect.ensuring(
        held.semaphore.withPermits(1)(effect),
        Effect.sync(() => {
          if (--held.users === 0) locks.delete(key)
        })
      )
    }))
}
