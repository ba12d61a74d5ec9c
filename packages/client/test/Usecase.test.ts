import { assert, describe, it } from "@effect/vitest"
import * as Expiration from "@objectstore/client/Expiration"
import * as Usecase from "@objectstore/client/Usecase"

describe("Usecase", () => {
  it("defaults to zstd and manual expiration", () => {
    const usecase = Usecase.make("attachments")
    assert.strictEqual(usecase.name, "attachments")
    assert.strictEqual(usecase.compression, "zstd")
    assert.isTrue(Expiration.isManual(usecase.expirationPolicy))
  })

  it("keeps the given defaults", () => {
    const usecase = Usecase.make("debug-files", {
      compression: "none",
      expirationPolicy: Expiration.timeToIdle("30 days")
    })
    assert.strictEqual(usecase.compression, "none")
    assert.strictEqual(Expiration.format(usecase.expirationPolicy), "tti:30days")
  })

  it("is a pure constructor: invalid names are only rejected when a session is made", () => {
    assert.strictEqual(Usecase.make("not valid!").name, "not valid!")
  })
})
