import { assert, describe, it } from "@effect/vitest"
import * as Bytes from "@objectstore/protocol/Bytes"
import * as Effect from "effect/Effect"
import * as Stream from "effect/Stream"

describe("Bytes", () => {
  it("concat joins in order and returns a lone array itself", () => {
    const one = new Uint8Array([1, 2])
    assert.strictEqual(Bytes.concat([one]), one)
    assert.deepStrictEqual(Bytes.concat([one, new Uint8Array(0), new Uint8Array([3])]), new Uint8Array([1, 2, 3]))
    assert.deepStrictEqual(Bytes.concat([]), new Uint8Array(0))
  })

  it.effect("collect runs a stream into one array", () =>
    Effect.gen(function*() {
      const bytes = yield* Bytes.collect(Stream.make(new Uint8Array([1]), new Uint8Array([2, 3])))
      assert.deepStrictEqual(bytes, new Uint8Array([1, 2, 3]))
    }))
})
