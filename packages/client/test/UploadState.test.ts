import { assert, describe, it } from "@effect/vitest"
import * as Multipart from "@objectstore/client/Multipart"
import * as Either from "effect/Either"

const multipart: Multipart.State = {
  version: 1,
  key: "/leading/key",
  uploadId: "u-1",
  partSize: 5,
  compression: "zstd",
  source: { path: "/tmp/f", size: 12, mtimeMs: 1.5 },
  parts: [{ partNumber: 1, etag: "\"e\"", size: 5, sentSize: 4, md5: "abc" }]
}

const resumable: Multipart.State = {
  version: 1,
  kind: "resumable",
  key: "k",
  session: "AAAA_-",
  partSize: 8,
  compression: "none",
  length: 10,
  source: { path: "/tmp/g", size: 10, mtimeMs: 2 },
  offset: 4
}

describe("Multipart.decodeState", () => {
  it("accepts the states uploads write, through JSON, and older spellings (null, no kind)", () => {
    for (const state of [multipart, resumable, { ...multipart, source: undefined, parts: [] }]) {
      assert.deepStrictEqual(Multipart.decodeState(JSON.parse(JSON.stringify(state))), Either.right(state))
    }
    const old = { ...multipart, kind: null, source: null, parts: [{ ...multipart.parts[0]!, md5: null }] }
    assert.deepStrictEqual(
      Multipart.decodeState(old),
      Either.right({ ...multipart, source: undefined, parts: [{ ...multipart.parts[0]!, md5: undefined }] })
    )
  })

  it("says which field does not fit and what it got", () => {
    const cases: ReadonlyArray<readonly [unknown, ReadonlyArray<string>]> = [
      [null, ["not an upload state", "null"]],
      [{ ...multipart, version: 2 }, ["version", "2"]],
      [{ ...multipart, partSize: 0 }, ["partSize", "0"]],
      [{ ...multipart, uploadId: "" }, ["uploadId"]],
      [{ ...multipart, compression: "gzip" }, ["compression", "\"gzip\""]],
      [{ ...multipart, parts: [{ partNumber: 1.5 }] }, ["partNumber", "1.5"]],
      [{ ...resumable, session: "not base64url!" }, ["session", "not base64url!"]],
      [{ ...resumable, offset: 11 }, ["offset must be at most length"]]
    ]
    for (const [input, expected] of cases) {
      const decoded = Multipart.decodeState(input)
      assert.isTrue(Either.isLeft(decoded), JSON.stringify(input))
      if (Either.isLeft(decoded)) { for (const text of expected) assert.include(decoded.left, text) }
    }
  })
})
