import { assert, describe, it } from "@effect/vitest"
import * as Random from "@objectstore/testing/Random"

describe("Random.seeded", () => {
  it("gives the same sequence for the same seed, in [0, 1), and another for another seed", () => {
    const take = (seed: number) => {
      const next = Random.seeded(seed)
      return Array.from({ length: 1000 }, () => next())
    }
    const first = take(42)
    assert.deepStrictEqual(take(42), first)
    assert.notDeepEqual(take(43), first)
    for (const value of first) assert.isTrue(value >= 0 && value < 1)
    // mulberry32's first output for seed 42, so the generator (and every seeded fixture) stays the same across
    // versions
    assert.strictEqual(first[0], 0.6011037519201636)
  })
})
