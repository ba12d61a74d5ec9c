import { describe, expect, it } from "@effect/vitest"
import * as ObjectstoreError from "@objectstore/client/ObjectstoreError"

describe("ObjectstoreError", () => {
  it("messages name the failure without secrets", () => {
    const error = new ObjectstoreError.AuthError({
      reason: "InvalidToken",
      status: 401,
      detail: "auth error: unknown key"
    })
    expect(error.message).toBe("authorization failed: InvalidToken (HTTP 401): auth error: unknown key")
    expect(error._tag).toBe("AuthError")
  })
})
