import { assert, describe, it } from "@effect/vitest"
import * as MediaType from "@objectstore/protocol/MediaType"

describe("MediaType", () => {
  it("accepts type/subtype with optional parameters", () => {
    const valid = [
      "text/plain",
      "text/plain; charset=utf-8",
      "text/plain;charset=utf-8",
      "text/plain ; charset=utf-8",
      "application/octet-stream",
      "application/vnd.api+json",
      "image/svg+xml",
      "multipart/form-data; boundary=\"a b;c\"",
      "text/plain; a=1; b=\"x\\\"y\"",
      "x-custom/x.y_z-1!#$&^"
    ]
    for (const text of valid) assert.isTrue(MediaType.isValid(text), text)
  })

  it("rejects anything else (§6.1, §18 item 24)", () => {
    const invalid = [
      "",
      "text",
      "not a valid media type!",
      "text/",
      "/plain",
      "text/plain;",
      "text/plain; charset",
      "text/plain; charset=",
      "text /plain",
      "text/plain; charset=\"unterminated",
      "-text/plain",
      "text/pl ain",
      "text/plain\n",
      "tëxt/plain",
      "text/" + "a".repeat(128)
    ]
    for (const text of invalid) assert.isFalse(MediaType.isValid(text), JSON.stringify(text))
    assert.isTrue(MediaType.isValid("text/" + "a".repeat(127)))
  })
})
