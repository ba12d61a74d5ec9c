/**
 * Batch request building and response parsing for the server tests, written independently of the server's own
 * multipart code (plain string splitting, so framing bugs cannot hide behind a shared parser).
 */
import * as Effect from "effect/Effect"
import { http, type RawResponse } from "./http.js"

export interface OpSpec {
  readonly headers: Readonly<Record<string, string>>
  readonly body?: string | Uint8Array
}

export const BOUNDARY = "b0b0-test-boundary"

/** RFC 7578 framing with the Rust client's part name. */
export const encodeRequest = (ops: ReadonlyArray<OpSpec>, boundary = BOUNDARY): Buffer => {
  const pieces: Array<Buffer> = []
  for (const op of ops) {
    let head = `--${boundary}\r\nContent-Disposition: form-data; name="part"\r\n`
    for (const [name, value] of Object.entries(op.headers)) head += `${name}: ${value}\r\n`
    pieces.push(Buffer.from(`${head}\r\n`, "latin1"))
    if (op.body !== undefined) pieces.push(Buffer.from(op.body))
    pieces.push(Buffer.from("\r\n"))
  }
  pieces.push(Buffer.from(`--${boundary}--\r\n`))
  return Buffer.concat(pieces)
}

export interface ParsedPart {
  readonly headers: Record<string, string>
  readonly body: Buffer
  readonly index: number
  readonly status: number
  readonly text: string
}

export const responseBoundary = (response: RawResponse): string => {
  const type = String(response.headers["content-type"])
  const match = /^multipart\/form-data; boundary="(os-boundary-[0-9a-f]{32})"$/.exec(type)
  if (match === null) throw new Error(`unexpected content type ${type}`)
  return match[1]!
}

/** Splits a complete response body; asserts the closing delimiter has no trailing CRLF. */
export const parseResponse = (response: RawResponse): Array<ParsedPart> => {
  const boundary = responseBoundary(response)
  const body = response.body
  const close = Buffer.from(`--${boundary}--`)
  if (!body.subarray(body.length - close.length).equals(close)) throw new Error("missing closing delimiter at the end")
  const parts: Array<ParsedPart> = []
  const delimiter = Buffer.from(`--${boundary}\r\n`)
  let at = body.indexOf(delimiter)
  while (at >= 0) {
    const start = at + delimiter.length
    const headerEnd = body.indexOf("\r\n\r\n", start)
    const headers: Record<string, string> = {}
    for (const line of body.toString("latin1", start, headerEnd).split("\r\n")) {
      const colon = line.indexOf(": ")
      if (line.slice(0, colon) !== line.slice(0, colon).toLowerCase()) throw new Error(`header not lowercase: ${line}`)
      headers[line.slice(0, colon)] = line.slice(colon + 2)
    }
    const next = body.indexOf(`\r\n--${boundary}`, headerEnd + 4)
    const partBody = body.subarray(headerEnd + 4, next)
    parts.push({
      headers,
      body: partBody,
      index: Number(headers["x-sn-batch-operation-index"]),
      status: Number(headers["x-sn-batch-operation-status"]!.split(" ")[0]),
      text: partBody.toString("utf8")
    })
    at = body.indexOf(delimiter, next)
  }
  return parts
}

/** Parts sorted by index. */
export const byIndex = (parts: ReadonlyArray<ParsedPart>): Array<ParsedPart> =>
  [...parts].sort((a, b) => a.index - b.index)

export const batch = (
  path: string,
  ops: ReadonlyArray<OpSpec>,
  headers: Readonly<Record<string, string>> = {}
) =>
  Effect.map(
    http({
      method: "POST",
      path,
      headers: { "content-type": `multipart/form-data; boundary=${BOUNDARY}`, ...headers },
      body: encodeRequest(ops)
    }),
    (response) => ({ response, parts: response.status === 200 ? parseResponse(response) : [] })
  )

export const get = (key: string): OpSpec => ({
  headers: { "x-sn-batch-operation-kind": "get", "x-sn-batch-operation-key": encodeKey(key) }
})
export const head = (key: string): OpSpec => ({
  headers: { "x-sn-batch-operation-kind": "head", "x-sn-batch-operation-key": encodeKey(key) }
})
export const del = (key: string): OpSpec => ({
  headers: { "x-sn-batch-operation-kind": "delete", "x-sn-batch-operation-key": encodeKey(key) }
})
export const insert = (
  key: string | undefined,
  body: string | Uint8Array,
  headers: Readonly<Record<string, string>> = {}
): OpSpec => ({
  headers: {
    "x-sn-batch-operation-kind": "insert",
    ...(key === undefined ? {} : { "x-sn-batch-operation-key": encodeKey(key) }),
    ...headers
  },
  body
})

/** The Rust client's rule: every byte except ASCII letters and digits as %XX. */
export const encodeKey = (key: string): string =>
  Array.from(
    Buffer.from(key, "utf8"),
    (byte) =>
      (byte >= 0x30 && byte <= 0x39) || (byte >= 0x41 && byte <= 0x5a) || (byte >= 0x61 && byte <= 0x7a)
        ? String.fromCharCode(byte)
        : `%${byte.toString(16).toUpperCase().padStart(2, "0")}`
  ).join("")
