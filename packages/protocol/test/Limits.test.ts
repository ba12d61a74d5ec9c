import { assert, describe, it } from "@effect/vitest"
import * as Limits from "@objectstore/protocol/Limits"

describe("Limits", () => {
  it("compressBound matches Appendix A.4", () => {
    assert.strictEqual(Limits.compressBound(0), 64)
    assert.strictEqual(Limits.compressBound(1000), 1066)
    assert.strictEqual(Limits.compressBound(131072), 131584)
    assert.strictEqual(Limits.compressBound(1044496), Limits.MAX_BATCH_PART_SIZE)
    assert.strictEqual(Limits.compressBound(1044497), Limits.MAX_BATCH_PART_SIZE + 1)
  })

  it("batch limits", () => {
    assert.strictEqual(Limits.MAX_BATCH_OPERATIONS, 1000)
    assert.strictEqual(Limits.MAX_BATCH_PART_SIZE, 1_048_576)
  })
})
