import { assert, describe, it } from "@effect/vitest"
import * as MultipartForm from "@objectstore/protocol/MultipartForm"

const latin1 = (text: string) => Uint8Array.from(text, (char) => char.charCodeAt(0))

/** The parts of `body`, fed in pieces of `size` bytes. */
const read = (body: string, size = Infinity, options: Partial<MultipartForm.ReaderOptions> = {}) => {
  const reader = new MultipartForm.Reader("b0b0", { maxBody: 1024, ...options })
  const bytes = latin1(body)
  const parts: Array<MultipartForm.Part> = []
  for (let at = 0; at < bytes.length; at += size) parts.push(...reader.push(bytes.subarray(at, at + size)))
  reader.end()
  return parts
}

const text = (bytes: Uint8Array) => String.fromCharCode(...bytes)

describe("MultipartForm.Reader", () => {
  it("header names are lowercased and trimmed, values trimmed of blanks; bodies kept whole, in any pieces", () => {
    const body = "--b0b0\r\nX-SN-Batch-Operation-Kind: get\r\n  content-type :\t text/plain \r\nx-a:\r\n\r\nfirst\r\n" +
      "--b0b0\r\nx-sn-batch-operation-key: k%2D1\r\n\r\n\r\n--b0b0--"
    for (const size of [Infinity, 1, 7]) {
      const parts = read(body, size)
      assert.strictEqual(parts.length, 2)
      assert.deepStrictEqual(parts[0]!.headers, {
        "x-sn-batch-operation-kind": "get",
        "content-type": "text/plain",
        "x-a": ""
      })
      assert.strictEqual(text(parts[0]!.body), "first")
      assert.deepStrictEqual(parts[1]!.headers, { "x-sn-batch-operation-key": "k%2D1" })
      assert.strictEqual(parts[1]!.body.length, 0)
    }
  })

  it("a header name with whitespace inside, or none at all, is a framing error", () => {
    for (const line of ["x sn: 1", "x\u00a0sn: 1", "x\u000bsn: 1", ": 1", "  : 1", "no colon"]) {
      let thrown: unknown
      try {
        read(`--b0b0\r\n${line}\r\n\r\nbody\r\n--b0b0--`)
      } catch (error) {
        thrown = error
      }
      assert.instanceOf(thrown, MultipartForm.FramingError, JSON.stringify(line))
    }
  })

  it("each body is an array of its own, unless copyBodies is false (then a view into the chunk's buffer)", () => {
    const input = latin1("--b0b0\r\nx: 1\r\n\r\nabc\r\n--b0b0--")
    const copied = new MultipartForm.Reader("b0b0", { maxBody: 1024 }).push(input)[0]!
    assert.strictEqual(copied.body.buffer.byteLength, 3)
    const viewed = new MultipartForm.Reader("b0b0", { maxBody: 1024, copyBodies: false }).push(input)[0]!
    assert.isAbove(viewed.body.buffer.byteLength, 3)
    input.fill(0)
    assert.strictEqual(text(copied.body), "abc")
    assert.strictEqual(text(viewed.body), "abc")
  })

  it("bodies over maxBody are cut and marked, with their full size", () => {
    const [part] = read("--b0b0\r\nx: 1\r\n\r\nabcdef\r\n--b0b0--", 2, { maxBody: 4 })
    assert.strictEqual(text(part!.body), "abcd")
    assert.strictEqual(part!.size, 6)
    assert.isTrue(part!.truncated)
  })
})
