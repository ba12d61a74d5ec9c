/**
 * Seeded pseudo-random numbers, for test data, demos and fault rules that must come out the same on every run.
 *
 * @example
 * ```ts
 * import * as Random from "@objectstore/testing/Random"
 *
 * const next = Random.seeded(42)
 * const bytes = Uint8Array.from({ length: 16 }, () => Math.floor(next() * 256)) // the same 16 bytes every run
 * ```
 *
 * @since 0.1.0
 */

/**
 * A generator of numbers in `[0, 1)` from `seed` (mulberry32: small, fast, not cryptographic). The same seed gives
 * the same sequence; only the low 32 bits of `seed` count.
 *
 * @since 0.1.0
 * @category constructors
 */
export const seeded = (seed: number): () => number => {
  let state = seed >>> 0
  return () => {
    state = (state + 0x6d2b79f5) >>> 0
    let t = state
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
}
