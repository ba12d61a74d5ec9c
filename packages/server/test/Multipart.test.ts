/**
 * Multipart uploads over loopback TCP (PROTOCOL §11, checklist 71–85), against the memory and the filesystem store.
 */
import { assert, describe, layer } from "@effect/vitest"
import type * as ServerConfig from "@objectstore/server/Config"
import * as Server from "@objectstore/server/Server"
import * as Storage from "@objectstore/server/Storage"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as TestClock from "effect/TestClock"
import * as crypto from "node:crypto"
import { eventually, tempDirSync } from "../../../test/support.js"
import { enforced, signToken } from "./support/auth.js"
import { http, json, type RawResponse } from "./support/http.js"

const T0 = 1_700_000_000_000 // 2023-11-14T22:13:20Z

const unique = (prefix: string) => `${prefix}-${crypto.randomUUID()}`
const md5 = (data: string | Uint8Array) => crypto.createHash("md5").update(data).digest()
const quotedMd5 = (data: string | Uint8Array) => `"${md5(data).toString("hex")}"`

const base = (resource: string, key: string, scopes = "org=1") => `/v1/${resource}/test/${scopes}/${key}`

const initiate = (key: string, headers: Record<string, string> = {}, scopes = "org=1") =>
  Effect.map(
    http({ method: "PUT", path: base("objects:multipart", encodeURI(key), scopes), headers }),
    (response) => {
      assert.strictEqual(response.status, 200, response.text)
      const body = json(response) as { key: string; upload_id: string }
      return body.upload_id
    }
  )

const putPart = (
  key: string,
  uploadId: string,
  partNumber: number | string,
  body: string | Uint8Array,
  headers: Record<string, string> = {}
) =>
  http({
    method: "PUT",
    path: `${base("objects:multipart:parts", encodeURI(key))}?upload_id=${uploadId}&part_number=${partNumber}`,
    headers: { "content-length": String(Buffer.byteLength(body)), ...headers },
    body
  })

const putPartOk = (key: string, uploadId: string, partNumber: number, body: string | Uint8Array) =>
  Effect.map(putPart(key, uploadId, partNumber, body), (response) => {
    assert.strictEqual(response.status, 200, response.text)
    return (json(response) as { etag: string }).etag
  })

const listParts = (key: string, uploadId: string, extra = "") =>
  http({ method: "GET", path: `${base("objects:multipart:parts", encodeURI(key))}?upload_id=${uploadId}${extra}` })

const complete = (key: string, uploadId: string, parts: ReadonlyArray<{ part_number: number; etag: string }>) =>
  http({
    method: "POST",
    path: `${base("objects:multipart:complete", encodeURI(key))}?upload_id=${uploadId}`,
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ parts })
  })

/** The complete answer: always 200 JSON; the document after trimming whitespace. */
const completeDocument = (response: RawResponse): any => {
  assert.strictEqual(response.status, 200, response.text)
  assert.strictEqual(response.headers["content-type"], "application/json")
  return JSON.parse(response.text.trim())
}

const getObject = (key: string) => http({ method: "GET", path: base("objects", encodeURI(key)) })

const uploadsOf = (key: string) =>
  Effect.map(
    Effect.flatMap(Storage.Storage, (storage) => storage.listUploads),
    (uploads) => uploads.filter((upload) => upload.id.key === key)
  )

const suite = (name: string, options: Partial<ServerConfig.ServerConfig>) =>
  layer(Server.layer({ port: 0, ...options }), { timeout: "60 seconds" })(name, (it) => {
    it.effect("71: PUT initiate answers the key and a uuid upload id; POST (with and without /) generates a key", () =>
      Effect.gen(function*() {
        const put = yield* http({ method: "PUT", path: base("objects:multipart", "my-key") })
        assert.strictEqual(put.status, 200)
        assert.strictEqual(put.headers["content-type"], "application/json")
        const body = json(put)
        assert.strictEqual(body.key, "my-key")
        assert.match(body.upload_id, /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/)
        for (const target of ["/v1/objects:multipart/test/org=1/", "/v1/objects:multipart/test/org=1"]) {
          const post = yield* http({ method: "POST", path: target })
          assert.strictEqual(post.status, 200, target)
          assert.match(json(post).key, /^[0-9a-f-]{36}$/)
          assert.isString(json(post).upload_id)
        }
        // the object does not exist before completion
        assert.strictEqual((yield* getObject("my-key")).status, 404)
      }))

    it.effect("72: two parts, list, complete (body may carry leading spaces), GET the concatenation", () =>
      Effect.gen(function*() {
        const key = unique("full-flow-key")
        const uploadId = yield* initiate(key)
        const e1 = yield* putPartOk(key, uploadId, 1, "hello ")
        const e2 = yield* putPartOk(key, uploadId, 2, "world!")
        assert.strictEqual(e1, quotedMd5("hello "))
        assert.strictEqual(e2, quotedMd5("world!"))
        const listed = yield* listParts(key, uploadId)
        assert.strictEqual(listed.status, 200)
        const body = json(listed)
        assert.deepStrictEqual(Object.keys(body).sort(), ["is_truncated", "parts"])
        assert.isFalse(body.is_truncated)
        assert.deepStrictEqual(body.parts.map((p: any) => [p.part_number, p.etag, p.size]), [[1, e1, 6], [2, e2, 6]])
        for (const part of body.parts) {
          assert.deepStrictEqual(Object.keys(part).sort(), ["etag", "last_modified", "part_number", "size"])
          assert.match(part.last_modified, /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{9})?Z$/)
        }
        const completed = yield* complete(key, uploadId, [{ part_number: 1, etag: e1 }, { part_number: 2, etag: e2 }])
        assert.isTrue(completed.text.startsWith(" "), "the dev server prepends a keep-alive space")
        assert.deepStrictEqual(completeDocument(completed), { key })
        const got = yield* getObject(key)
        assert.strictEqual(got.status, 200)
        assert.strictEqual(got.text, "hello world!")
        // the upload is gone: a second complete fails inside a 200 body, listing is 404
        const again = completeDocument(yield* complete(key, uploadId, [{ part_number: 1, etag: e1 }]))
        assert.deepStrictEqual(again, {
          error: { code: "internal error", message: "service error: storage backend error: multipart upload not found" }
        })
        assert.strictEqual((yield* listParts(key, uploadId)).status, 404)
        assert.lengthOf(yield* uploadsOf(key), 0)
      }))

    it.effect("73: a POST-initiated upload with one part is readable under the generated key", () =>
      Effect.gen(function*() {
        const started = json(yield* http({ method: "POST", path: "/v1/objects:multipart/test/org=1/" }))
        const etag = yield* putPartOk(started.key, started.upload_id, 1, "only part")
        const done = completeDocument(yield* complete(started.key, started.upload_id, [{ part_number: 1, etag }]))
        assert.deepStrictEqual(done, { key: started.key })
        assert.strictEqual((yield* getObject(started.key)).text, "only part")
      }))

    it.effect("74: abort answers 204 and removes the upload; aborting again or an unknown id is a 204 no-op", () =>
      Effect.gen(function*() {
        const key = unique("abort")
        const uploadId = yield* initiate(key)
        yield* putPartOk(key, uploadId, 1, "data")
        assert.lengthOf(yield* uploadsOf(key), 1)
        const aborted = yield* http({
          method: "DELETE",
          path: `${base("objects:multipart", key)}?upload_id=${uploadId}`
        })
        assert.strictEqual(aborted.status, 204)
        assert.strictEqual(aborted.body.length, 0)
        assert.lengthOf(yield* uploadsOf(key), 0)
        assert.strictEqual((yield* getObject(key)).status, 404)
        assert.strictEqual((yield* listParts(key, uploadId)).status, 404)
        const again = yield* http({ method: "DELETE", path: `${base("objects:multipart", key)}?upload_id=${uploadId}` })
        assert.strictEqual(again.status, 204)
        // a part for the aborted upload is refused
        assert.strictEqual((yield* putPart(key, uploadId, 2, "late")).status, 404)
      }))

    it.effect("75: pagination with max_parts and part_number_marker", () =>
      Effect.gen(function*() {
        const key = unique("pages")
        const uploadId = yield* initiate(key)
        for (const n of [3, 1, 2]) yield* putPartOk(key, uploadId, n, `part-${n}`)
        const first = json(yield* listParts(key, uploadId, "&max_parts=2"))
        assert.deepStrictEqual(first.parts.map((p: any) => p.part_number), [1, 2])
        assert.isTrue(first.is_truncated)
        assert.strictEqual(first.next_part_number_marker, 2)
        const second = json(
          yield* listParts(key, uploadId, `&max_parts=2&part_number_marker=${first.next_part_number_marker}`)
        )
        assert.deepStrictEqual(second.parts.map((p: any) => p.part_number), [3])
        assert.isFalse(second.is_truncated)
        assert.isUndefined(second.next_part_number_marker)
        // max_parts=0: truncated without a marker (the upstream filesystem quirk)
        const zero = json(yield* listParts(key, uploadId, "&max_parts=0"))
        assert.deepStrictEqual(zero, { parts: [], is_truncated: true })
      }))

    it.effect("76: re-uploading a part replaces it (new etag, one listed part, completion uses the new bytes)", () =>
      Effect.gen(function*() {
        const key = unique("replace")
        const uploadId = yield* initiate(key)
        const firstEtag = yield* putPartOk(key, uploadId, 1, "first")
        const secondEtag = yield* putPartOk(key, uploadId, 1, "second")
        assert.notStrictEqual(firstEtag, secondEtag)
        const listed = json(yield* listParts(key, uploadId))
        assert.deepStrictEqual(listed.parts.map((p: any) => [p.part_number, p.etag, p.size]), [[1, secondEtag, 6]])
        const stale = completeDocument(yield* complete(key, uploadId, [{ part_number: 1, etag: firstEtag }]))
        assert.strictEqual(stale.error.code, "InvalidPart")
        assert.deepStrictEqual(
          completeDocument(yield* complete(key, uploadId, [{ part_number: 1, etag: secondEtag }])),
          {
            key
          }
        )
        assert.strictEqual((yield* getObject(key)).text, "second")
      }))

    it.effect("77: a chunked part upload (no Content-Length) is 400 and stores nothing", () =>
      Effect.gen(function*() {
        const key = unique("chunked")
        const uploadId = yield* initiate(key)
        const response = yield* http({
          method: "PUT",
          path: `${base("objects:multipart:parts", key)}?upload_id=${uploadId}&part_number=1`,
          body: [Buffer.from("chunk one "), Buffer.from("chunk two")]
        })
        assert.strictEqual(response.status, 400)
        assert.deepStrictEqual(json(response), { detail: "client error: Content-Length header is required" })
        assert.deepStrictEqual(json(yield* listParts(key, uploadId)).parts, [])
      }))

    it.effect("78: query and body validation (part_number 0, missing upload_id, part_number 0 in complete)", () =>
      Effect.gen(function*() {
        const key = unique("validation")
        const uploadId = yield* initiate(key)
        const zero = yield* putPart(key, uploadId, 0, "x")
        assert.strictEqual(zero.status, 400)
        assert.match(zero.text, /^Failed to deserialize query string: /)
        assert.match(String(zero.headers["content-type"]), /^text\/plain/)
        const notNumber = yield* putPart(key, uploadId, "one", "x")
        assert.strictEqual(notNumber.status, 400)
        const missingNumber = yield* http({
          method: "PUT",
          path: `${base("objects:multipart:parts", key)}?upload_id=${uploadId}`,
          headers: { "content-length": "1" },
          body: "x"
        })
        assert.strictEqual(missingNumber.status, 400)
        assert.strictEqual(missingNumber.text, "Failed to deserialize query string: missing field `part_number`")

        const zeroComplete = yield* complete(key, uploadId, [{ part_number: 0, etag: "\"x\"" }])
        assert.strictEqual(zeroComplete.status, 422)
        const noId = yield* http({
          method: "POST",
          path: base("objects:multipart:complete", key),
          headers: { "content-type": "application/json" },
          body: "{\"parts\":[]}"
        })
        assert.strictEqual(noId.status, 400)
        assert.strictEqual(noId.text, "Failed to deserialize query string: missing field `upload_id`")
        const abortNoId = yield* http({ method: "DELETE", path: base("objects:multipart", key) })
        assert.strictEqual(abortNoId.status, 400)
        for (const bad of ["..", ".", "./x", "%2Fetc", "a/../b", ""]) {
          const response = yield* listParts(key, bad)
          assert.strictEqual(response.status, 400, bad)
          assert.match(response.text, /^Failed to deserialize query string: /)
        }
        // complete: content type, JSON syntax, size
        const noType = yield* http({
          method: "POST",
          path: `${base("objects:multipart:complete", key)}?upload_id=${uploadId}`,
          body: "{\"parts\":[]}"
        })
        assert.strictEqual(noType.status, 415)
        const badJson = yield* http({
          method: "POST",
          path: `${base("objects:multipart:complete", key)}?upload_id=${uploadId}`,
          headers: { "content-type": "application/json" },
          body: "{\"parts\":["
        })
        assert.strictEqual(badJson.status, 400)
        const wrongShape = yield* http({
          method: "POST",
          path: `${base("objects:multipart:complete", key)}?upload_id=${uploadId}`,
          headers: { "content-type": "application/json" },
          body: "{\"parts\":[{\"part_number\":\"1\",\"etag\":\"x\"}]}"
        })
        assert.strictEqual(wrongShape.status, 422)
        const huge = yield* http({
          method: "POST",
          path: `${base("objects:multipart:complete", key)}?upload_id=${uploadId}`,
          headers: { "content-type": "application/json" },
          body: `{"parts":[],"pad":"${"x".repeat(2 * 1024 * 1024)}"}`
        })
        assert.strictEqual(huge.status, 413)
        // the upload is untouched by all of this
        assert.lengthOf(yield* uploadsOf(key), 1)
      }))

    it.effect("79: a wrong etag fails inside a 200 body, creates nothing, and the right etag then succeeds", () =>
      Effect.gen(function*() {
        const key = unique("bad-etag")
        const uploadId = yield* initiate(key)
        const etag = yield* putPartOk(key, uploadId, 1, "payload")
        const failed = completeDocument(yield* complete(key, uploadId, [{ part_number: 1, etag: "\"nope\"" }]))
        assert.strictEqual(failed.error.code, "InvalidPart")
        assert.strictEqual(failed.error.message, `etag mismatch for part 1: expected ${etag}, got "nope"`)
        assert.strictEqual((yield* getObject(key)).status, 404)
        const missing = completeDocument(
          yield* complete(key, uploadId, [{ part_number: 1, etag }, { part_number: 2, etag }])
        )
        assert.deepStrictEqual(missing.error, { code: "InvalidPart", message: "part number 2 was not uploaded" })
        assert.strictEqual((yield* getObject(key)).status, 404)
        assert.deepStrictEqual(completeDocument(yield* complete(key, uploadId, [{ part_number: 1, etag }])), { key })
        assert.strictEqual((yield* getObject(key)).text, "payload")
      }))

    it.effect("80: keys with slashes work through initiate, part, complete and GET", () =>
      Effect.gen(function*() {
        const key = `path/to/${unique("object")}`
        const uploadId = yield* initiate(key)
        const etag = yield* putPartOk(key, uploadId, 1, "nested")
        assert.deepStrictEqual(completeDocument(yield* complete(key, uploadId, [{ part_number: 1, etag }])), { key })
        assert.strictEqual((yield* getObject(key)).text, "nested")
      }))

    it.effect("81, 82: compression and metadata given at initiation are on the object; parts stay frame by frame", () =>
      Effect.gen(function*() {
        yield* TestClock.setTime(T0)
        const key = unique("compressed")
        const uploadId = yield* initiate(key, {
          "content-type": "text/plain",
          "content-encoding": "zstd",
          "x-sn-origin": "203.0.113.7",
          "x-sn-filename": "archive.tar.gz",
          "x-snme-my-key": "my-value",
          "x-sn-expiration": "ttl:2 days"
        })
        // the server never looks inside: any bytes stand for the two independently compressed frames
        const one = crypto.randomBytes(40)
        const two = crypto.randomBytes(33)
        const e1 = yield* putPartOk(key, uploadId, 1, one)
        yield* TestClock.adjust(Duration.hours(1)) // times are fixed at initiation (§8)
        const e2 = yield* putPartOk(key, uploadId, 2, two)
        completeDocument(yield* complete(key, uploadId, [{ part_number: 1, etag: e1 }, { part_number: 2, etag: e2 }]))
        const got = yield* getObject(key)
        assert.strictEqual(got.status, 200)
        assert.deepStrictEqual(got.body, Buffer.concat([one, two]))
        assert.strictEqual(got.headers["content-encoding"], "zstd")
        assert.strictEqual(got.headers["content-type"], "text/plain")
        assert.strictEqual(got.headers["x-sn-origin"], "203.0.113.7")
        assert.strictEqual(got.headers["x-sn-filename"], "archive.tar.gz")
        assert.strictEqual(got.headers["x-snme-my-key"], "my-value")
        assert.strictEqual(got.headers["x-sn-expiration"], "ttl:2days")
        assert.strictEqual(got.headers["x-sn-time-created"], "2023-11-14T22:13:20.000000Z")
        assert.strictEqual(got.headers["x-sn-time-expires"], "2023-11-16T22:13:20.000000Z")
      }))

    it.effect("83: resuming: a fresh client lists what is there, uploads the rest and completes", () =>
      Effect.gen(function*() {
        const key = unique("resume")
        const uploadId = yield* initiate(key)
        yield* putPartOk(key, uploadId, 1, "first")
        yield* putPartOk(key, uploadId, 2, "second")
        const listed = json(yield* listParts(key, uploadId)).parts as Array<{ part_number: number; etag: string }>
        const parts = listed.map(({ etag, part_number }) => ({ part_number, etag }))
        assert.deepStrictEqual(completeDocument(yield* complete(key, uploadId, parts)), { key })
        assert.strictEqual((yield* getObject(key)).text, "firstsecond")
      }))

    it.effect("84: eight parts uploaded concurrently complete in part order", () =>
      Effect.gen(function*() {
        const key = unique("eight")
        const uploadId = yield* initiate(key)
        const numbers = [1, 2, 3, 4, 5, 6, 7, 8]
        const etags = yield* Effect.forEach(numbers, (n) => putPartOk(key, uploadId, n, `<${n}>`.repeat(1000)), {
          concurrency: "unbounded"
        })
        const parts = numbers.map((n, i) => ({ part_number: n, etag: etags[i]! }))
        assert.deepStrictEqual(completeDocument(yield* complete(key, uploadId, parts)), { key })
        assert.strictEqual((yield* getObject(key)).text, numbers.map((n) => `<${n}>`.repeat(1000)).join(""))
      }))

    it.effect("Content-MD5: a matching digest is accepted, a mismatch is 400 and stores nothing", () =>
      Effect.gen(function*() {
        const key = unique("md5")
        const uploadId = yield* initiate(key)
        const good = yield* putPart(key, uploadId, 1, "checked", { "content-md5": md5("checked").toString("base64") })
        assert.strictEqual(good.status, 200, good.text)
        const bad = yield* putPart(key, uploadId, 2, "checked", { "content-md5": md5("other").toString("base64") })
        assert.strictEqual(bad.status, 400)
        assert.match(json(bad).detail, /^client error: Content-MD5 mismatch/)
        const malformed = yield* putPart(key, uploadId, 3, "checked", { "content-md5": "not-base64" })
        assert.strictEqual(malformed.status, 400)
        assert.deepStrictEqual(json(yield* listParts(key, uploadId)).parts.map((p: any) => p.part_number), [1])
      }))

    it.effect("an unknown upload id: part upload and list are 404 JSON; complete reports it in the body", () =>
      Effect.gen(function*() {
        const key = unique("unknown")
        const uploadId = crypto.randomUUID()
        const part = yield* putPart(key, uploadId, 1, "x")
        assert.strictEqual(part.status, 404)
        assert.strictEqual(json(part).detail, "service error: storage backend error: multipart upload not found")
        assert.strictEqual((yield* listParts(key, uploadId)).status, 404)
        const done = completeDocument(yield* complete(key, uploadId, [{ part_number: 1, etag: "\"x\"" }]))
        assert.strictEqual(done.error.code, "internal error")
        // an upload id is bound to its key
        const other = unique("other")
        const otherId = yield* initiate(other)
        assert.strictEqual((yield* putPart(key, otherId, 1, "x")).status, 404)
      }))

    it.effect("complete takes strictly ascending part numbers: a repeated or out-of-order part is InvalidPartOrder", () =>
      Effect.gen(function*() {
        const key = unique("order")
        const uploadId = yield* initiate(key)
        const e1 = yield* putPartOk(key, uploadId, 1, "one ")
        const e2 = yield* putPartOk(key, uploadId, 2, "two")
        const repeated = completeDocument(
          yield* complete(key, uploadId, [{ part_number: 1, etag: e1 }, { part_number: 1, etag: e1 }])
        )
        assert.deepStrictEqual(repeated, {
          error: { code: "InvalidPartOrder", message: "part number 1 is listed more than once" }
        })
        const reversed = completeDocument(
          yield* complete(key, uploadId, [{ part_number: 2, etag: e2 }, { part_number: 1, etag: e1 }])
        )
        assert.strictEqual(reversed.error.code, "InvalidPartOrder")
        assert.strictEqual((yield* getObject(key)).status, 404)
        // the upload is intact: completing in order works
        const done = completeDocument(
          yield* complete(key, uploadId, [{ part_number: 1, etag: e1 }, { part_number: 2, etag: e2 }])
        )
        assert.deepStrictEqual(done, { key })
        assert.strictEqual((yield* getObject(key)).text, "one two")
      }))

    it.effect("an empty parts list completes an empty object", () =>
      Effect.gen(function*() {
        const key = unique("empty")
        const uploadId = yield* initiate(key)
        assert.deepStrictEqual(completeDocument(yield* complete(key, uploadId, [])), { key })
        const got = yield* getObject(key)
        assert.strictEqual(got.status, 200)
        assert.strictEqual(got.body.length, 0)
      }))

    it.effect("list parts: last_modified has smart precision (no fraction on whole seconds, else nine digits)", () =>
      Effect.gen(function*() {
        yield* TestClock.setTime(T0)
        const key = unique("times")
        const uploadId = yield* initiate(key)
        yield* putPartOk(key, uploadId, 1, "a")
        yield* TestClock.setTime(T0 + 1234)
        yield* putPartOk(key, uploadId, 2, "b")
        const parts = json(yield* listParts(key, uploadId)).parts
        assert.strictEqual(parts[0].last_modified, "2023-11-14T22:13:20Z")
        assert.strictEqual(parts[1].last_modified, "2023-11-14T22:13:21.234000000Z")
      }))
  })

describe("Multipart", () => {
  suite("memory store", {})
  const root = tempDirSync("multipart")
  suite("filesystem store", { storage: { type: "filesystem", path: root } })

  layer(
    Server.layer({
      port: 0,
      auth: enforced
    }),
    { timeout: "30 seconds", excludeTestServices: true }
  )("auth", (it) => {
    it.effect("every endpoint needs object.write; complete reports a missing permission inside its 200 body", () =>
      Effect.gen(function*() {
        const writer = { "x-os-auth": `Bearer ${signToken(["object.read", "object.write"])}` }
        const reader = { "x-os-auth": `Bearer ${signToken(["object.read"])}` }
        const path = "/v1/objects:multipart/test/org=1/guarded"
        const denied = yield* http({ method: "PUT", path, headers: reader })
        assert.strictEqual(denied.status, 403)
        const started = yield* http({ method: "PUT", path, headers: writer })
        assert.strictEqual(started.status, 200)
        const uploadId = json(started).upload_id as string
        const partPath = `/v1/objects:multipart:parts/test/org=1/guarded?upload_id=${uploadId}&part_number=1`
        assert.strictEqual(
          (yield* http({ method: "PUT", path: partPath, headers: { ...reader, "content-length": "1" }, body: "x" }))
            .status,
          403
        )
        const part = yield* http({
          method: "PUT",
          path: partPath,
          headers: { ...writer, "content-length": "1" },
          body: "x"
        })
        assert.strictEqual(part.status, 200)
        const listPath = `/v1/objects:multipart:parts/test/org=1/guarded?upload_id=${uploadId}`
        assert.strictEqual((yield* http({ method: "GET", path: listPath, headers: reader })).status, 403)
        const completePath = `/v1/objects:multipart:complete/test/org=1/guarded?upload_id=${uploadId}`
        const body = JSON.stringify({ parts: [{ part_number: 1, etag: json(part).etag }] })
        const refused = yield* http({
          method: "POST",
          path: completePath,
          headers: { ...reader, "content-type": "application/json" },
          body
        })
        assert.deepStrictEqual(completeDocument(refused), {
          error: { code: "internal error", message: "auth error: operation not allowed" }
        })
        const abortPath = `/v1/objects:multipart/test/org=1/guarded?upload_id=${uploadId}`
        assert.strictEqual((yield* http({ method: "DELETE", path: abortPath, headers: reader })).status, 403)
        const done = yield* http({
          method: "POST",
          path: completePath,
          headers: { ...writer, "content-type": "application/json" },
          body
        })
        assert.deepStrictEqual(completeDocument(done), { key: "guarded" })
      }))
  })

  layer(Server.layer({ port: 0, maxBodySize: 1000 }), { timeout: "30 seconds" })("the object size limit", (it) => {
    it.effect("complete refuses parts that add up to more than maxBodySize (EntityTooLarge); the upload stays", () =>
      Effect.gen(function*() {
        const key = unique("large")
        const uploadId = yield* initiate(key)
        const e1 = yield* putPartOk(key, uploadId, 1, Buffer.alloc(600, 1))
        const e2 = yield* putPartOk(key, uploadId, 2, Buffer.alloc(600, 2))
        const refused = completeDocument(
          yield* complete(key, uploadId, [{ part_number: 1, etag: e1 }, { part_number: 2, etag: e2 }])
        )
        assert.deepStrictEqual(refused, {
          error: {
            code: "EntityTooLarge",
            message: "the listed parts add up to 1200 bytes, more than the object size limit of 1000 bytes"
          }
        })
        assert.strictEqual((yield* getObject(key)).status, 404)
        assert.lengthOf(yield* uploadsOf(key), 1)
        assert.deepStrictEqual(completeDocument(yield* complete(key, uploadId, [{ part_number: 2, etag: e2 }])), {
          key
        })
        assert.deepStrictEqual((yield* getObject(key)).body, Buffer.alloc(600, 2))
      }))
  })

  layer(
    Server.layer({ port: 0, multipartMaxAge: Duration.hours(2), reapInterval: Duration.minutes(10) }),
    { timeout: "30 seconds" }
  )("abandoned uploads", (it) => {
    it.effect("uploads idle for longer than multipartMaxAge are removed by the sweeper; active ones stay", () =>
      Effect.gen(function*() {
        yield* TestClock.setTime(T0)
        const idle = unique("idle")
        const active = unique("active")
        const idleId = yield* initiate(idle)
        const activeId = yield* initiate(active)
        yield* putPartOk(idle, idleId, 1, "x")
        yield* TestClock.adjust(Duration.minutes(90))
        yield* putPartOk(active, activeId, 1, "y") // activity resets the age
        yield* TestClock.adjust(Duration.minutes(60))
        yield* eventually(uploadsOf(idle), (uploads) => uploads.length === 0)
        assert.lengthOf(yield* uploadsOf(active), 1)
        assert.strictEqual((yield* putPart(idle, idleId, 2, "z")).status, 404)
        assert.strictEqual((yield* putPart(active, activeId, 2, "z")).status, 200)
      }))
  })
})
