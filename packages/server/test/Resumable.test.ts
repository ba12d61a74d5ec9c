/**
 * Resumable uploads over loopback TCP (PROTOCOL §22): every row of the table and every error, against the memory
 * and the filesystem store; sessions across a restart of the filesystem store; expiry on the server's clock.
 */
import { assert, describe, it, layer } from "@effect/vitest"
import * as Resumable from "@objectstore/protocol/Resumable"
import type * as ServerConfig from "@objectstore/server/Config"
import * as Server from "@objectstore/server/Server"
import * as Storage from "@objectstore/server/Storage"
import * as Clock from "effect/Clock"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import * as Stream from "effect/Stream"
import * as TestClock from "effect/TestClock"
import * as crypto from "node:crypto"
import * as Net from "node:net"
import { eventually, tempDir, tempDirSync } from "../../../test/support.js"
import { enforced, signToken } from "./support/auth.js"
import { http, json, serverPort } from "./support/http.js"

const T0 = 1_700_000_000_000 // 2023-11-14T22:13:20Z

const unique = (prefix: string) => `${prefix}-${crypto.randomUUID()}`
const path = (key: string, query = "") => `/v1/objects/test/org=1/${key}${query}`

const create = (key: string, length: number, headers: Record<string, string> = {}) =>
  Effect.map(
    http({
      method: "PUT",
      path: path(key, "?upload_type=resumable"),
      headers: { "upload-length": String(length), ...headers }
    }),
    (response) => {
      assert.strictEqual(response.status, 200, response.text)
      const body = json(response) as { key: string; session: string }
      assert.strictEqual(body.key, key)
      return body.session
    }
  )

const chunk = (key: string, session: string, offset: number | string, body: string | Uint8Array) =>
  http({
    method: "PUT",
    path: path(key, `?session=${session}`),
    headers: { "upload-offset": String(offset), "content-length": String(Buffer.byteLength(body)) },
    body
  })

const query = (key: string, session: string) =>
  http({ method: "PUT", path: path(key, `?session=${session}`), headers: { "upload-offset": "*" } })

const cancel = (key: string, session: string) => http({ method: "DELETE", path: path(key, `?session=${session}`) })

const get = (key: string) => http({ method: "GET", path: path(key) })

const suite = (name: string, options: Partial<ServerConfig.ServerConfig>) =>
  layer(Server.layer({ port: 0, ...options }), { timeout: "60 seconds" })(name, (it) => {
    it.effect("R2 create, R3 chunks (204 + Upload-Offset), the last one commits (201); metadata from create", () =>
      Effect.gen(function*() {
        yield* TestClock.setTime(T0)
        const key = unique("flow")
        const session = yield* create(key, 11, {
          "content-type": "text/plain",
          "x-sn-expiration": "ttl:1h",
          "x-sn-filename": "r%C3%A9sum%C3%A9.txt",
          "x-snme-team": "storage"
        })
        assert.match(session, /^[A-Za-z0-9_-]{48}$/)
        assert.match(Option.getOrThrow(Resumable.decodeSession(session)), /^[0-9a-f-]{36}$/)
        assert.strictEqual((yield* get(key)).status, 404) // nothing until the commit
        const first = yield* chunk(key, session, 0, "hello")
        assert.strictEqual(first.status, 204)
        assert.strictEqual(first.headers["upload-offset"], "5")
        assert.strictEqual(first.body.length, 0)
        yield* TestClock.adjust("10 minutes")
        const empty = yield* chunk(key, session, 5, "")
        assert.strictEqual(empty.status, 204)
        assert.strictEqual(empty.headers["upload-offset"], "5")
        const last = yield* chunk(key, session, 5, " world")
        assert.strictEqual(last.status, 201, last.text)
        assert.deepStrictEqual(json(last), { key })
        const object = yield* get(key)
        assert.strictEqual(object.text, "hello world")
        assert.strictEqual(object.headers["content-type"], "text/plain")
        assert.strictEqual(object.headers["x-sn-filename"], "r%C3%A9sum%C3%A9.txt") // stored and echoed as sent
        assert.strictEqual(object.headers["x-snme-team"], "storage")
        // created at the commit, not at create (§22.7)
        assert.strictEqual(object.headers["x-sn-time-created"], "2023-11-14T22:23:20.000000Z")
        assert.strictEqual(object.headers["x-sn-time-expires"], "2023-11-14T23:23:20.000000Z")
        // a committed session still tells the outcome (§22.6)
        const again = yield* query(key, session)
        assert.strictEqual(again.status, 201)
        assert.deepStrictEqual(json(again), { key })
        const resent = yield* chunk(key, session, 5, " world")
        assert.strictEqual(resent.status, 409)
        assert.strictEqual(resent.headers["upload-offset"], "11")
        assert.strictEqual((yield* chunk(key, session, 11, "")).status, 201)
        assert.strictEqual((yield* cancel(key, session)).status, 410)
        assert.strictEqual((yield* get(key)).text, "hello world")
      }))

    it.effect("R1 create with a server key (POST with and without the trailing slash) answers 200", () =>
      Effect.gen(function*() {
        for (const target of ["/v1/objects/test/org=1/", "/v1/objects/test/org=1"]) {
          const response = yield* http({
            method: "POST",
            path: `${target}?upload_type=resumable`,
            headers: { "upload-length": "3", "content-length": "0" }
          })
          assert.strictEqual(response.status, 200, response.text)
          const { key, session } = json(response) as { key: string; session: string }
          assert.match(key, /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/)
          assert.strictEqual((yield* get(key)).status, 404)
          assert.strictEqual((yield* chunk(key, session, 0, "abc")).status, 201)
          assert.strictEqual((yield* get(key)).text, "abc")
        }
      }))

    it.effect("R4 offset query: 204 + Upload-Offset; a body is 400; completes an assembled session", () =>
      Effect.gen(function*() {
        const key = unique("query")
        const session = yield* create(key, 4)
        const initial = yield* query(key, session)
        assert.strictEqual(initial.status, 204)
        assert.strictEqual(initial.headers["upload-offset"], "0")
        yield* chunk(key, session, 0, "ab")
        assert.strictEqual((yield* query(key, session)).headers["upload-offset"], "2")
        const withBody = yield* http({
          method: "PUT",
          path: path(key, `?session=${session}`),
          headers: { "upload-offset": "*" },
          body: "cd"
        })
        assert.strictEqual(withBody.status, 400, withBody.text)
        const chunked = yield* http({
          method: "PUT",
          path: path(key, `?session=${session}`),
          headers: { "upload-offset": "*" },
          body: [Buffer.from("c")]
        })
        assert.strictEqual(chunked.status, 400, chunked.text)
        assert.strictEqual((yield* query(key, session)).headers["upload-offset"], "2")
        // a session at its length but not committed (as a crash between the two leaves it) commits on a query
        const storage = yield* Storage.Storage
        const id = { usecase: "test", scopes: [["org", "1"]] as const, key }
        const token = Option.getOrThrow(Resumable.decodeSession(session))
        const now = BigInt(yield* Clock.currentTimeMillis) * 1000n
        yield* storage.appendChunk(id, token, {
          offset: 2,
          contentLength: 2,
          body: Stream.make(new Uint8Array([99, 100])),
          now
        })
        const done = yield* query(key, session)
        assert.strictEqual(done.status, 201, done.text)
        assert.strictEqual((yield* get(key)).text, "abcd")
      }))

    it.effect("R5 cancel: 204 (again 204), later requests 410, an existing object is untouched", () =>
      Effect.gen(function*() {
        const key = unique("cancel")
        assert.strictEqual((yield* http({ method: "PUT", path: path(key), body: "old" })).status, 200)
        const session = yield* create(key, 10)
        yield* chunk(key, session, 0, "new")
        assert.strictEqual((yield* cancel(key, session)).status, 204)
        assert.strictEqual((yield* cancel(key, session)).status, 204)
        const after = yield* chunk(key, session, 3, "more")
        assert.strictEqual(after.status, 410)
        assert.strictEqual(json(after).detail, "client error: upload session is gone: it was cancelled")
        assert.strictEqual((yield* query(key, session)).status, 410)
        assert.strictEqual((yield* get(key)).text, "old")
      }))

    it.effect("409 offset mismatch carries the authoritative Upload-Offset and names it; nothing is stored", () =>
      Effect.gen(function*() {
        const key = unique("mismatch")
        const session = yield* create(key, 6)
        yield* chunk(key, session, 0, "abc")
        for (const offset of [0, 2, 4]) {
          const response = yield* chunk(key, session, offset, "x")
          assert.strictEqual(response.status, 409)
          assert.strictEqual(response.headers["upload-offset"], "3")
          assert.strictEqual(
            json(response).detail,
            `client error: upload offset mismatch: the session is at offset 3, the request says ${offset}`
          )
        }
        assert.strictEqual((yield* chunk(key, session, 3, "def")).status, 201)
        assert.strictEqual((yield* get(key)).text, "abcdef")
      }))

    it.effect("400s: headers, bodies, grammar, parameters; never a plain insert", () =>
      Effect.gen(function*() {
        const key = unique("bad")
        assert.strictEqual((yield* http({ method: "PUT", path: path(key), body: "kept" })).status, 200)
        const bad = (request: Parameters<typeof http>[0], status = 400) =>
          Effect.map(
            http(request),
            (response) => assert.strictEqual(response.status, status, `${JSON.stringify(request)}: ${response.text}`)
          )
        const createPath = path(key, "?upload_type=resumable")
        yield* bad({ method: "PUT", path: createPath }) // no Upload-Length
        for (const value of ["-1", "0x10", "5 5", "+5", "1e3", "9007199254740992", ""]) {
          yield* bad({ method: "PUT", path: createPath, headers: { "upload-length": value } })
        }
        yield* bad({ method: "PUT", path: createPath, headers: { "upload-length": "4" }, body: "body" })
        yield* bad({ method: "PUT", path: createPath, headers: { "upload-length": "4" }, body: [Buffer.from("b")] })
        yield* bad({ method: "PUT", path: path(key, "?upload_type=tus"), headers: { "upload-length": "4" } })
        yield* bad({ method: "PUT", path: createPath, headers: { "upload-length": "4", "content-type": "nope" } })
        yield* bad({ method: "GET", path: createPath })
        yield* bad({ method: "DELETE", path: createPath })
        const session = yield* create(key, 4)
        yield* bad({ method: "POST", path: `/v1/objects/test/org=1/?session=${session}` })
        yield* bad({ method: "GET", path: path(key, `?session=${session}`) })
        yield* bad({ method: "PUT", path: path(key, `?session=${session}&upload_type=resumable`) })
        yield* bad({ method: "PUT", path: path(key, `?session=${session}&session=${session}`) })
        yield* bad({ method: "PUT", path: path(key, `?session=${session}`), body: "ab" }) // no Upload-Offset
        for (const value of ["-0", "1.0", "0x0", "0 0", "**"]) {
          yield* bad({ method: "PUT", path: path(key, `?session=${session}`), headers: { "upload-offset": value } })
        }
        // Content-Length is required: a chunked body is refused
        yield* bad({
          method: "PUT",
          path: path(key, `?session=${session}`),
          headers: { "upload-offset": "0" },
          body: [Buffer.from("ab")]
        })
        // past Upload-Length
        const past = yield* chunk(key, session, 0, "abcde")
        assert.strictEqual(past.status, 400)
        assert.strictEqual(json(past).detail, "client error: the chunk runs past Upload-Length: 0 + 5 > 4")
        for (const value of [`${session}=`, "not+base64", "A", Buffer.from([0xff]).toString("base64url")]) {
          yield* bad({ method: "PUT", path: path(key, `?session=${value}`), headers: { "upload-offset": "*" } })
        }
        // nothing of this touched the object, and the session is where it was
        assert.strictEqual((yield* get(key)).text, "kept")
        assert.strictEqual((yield* query(key, session)).headers["upload-offset"], "0")
      }))

    it.effect("404 for an unknown session, and for a session under another key or scope", () =>
      Effect.gen(function*() {
        const key = unique("unknown")
        const stranger = Resumable.encodeSession(crypto.randomUUID())
        const response = yield* query(key, stranger)
        assert.strictEqual(response.status, 404)
        assert.strictEqual(json(response).detail, "client error: upload session not found")
        assert.strictEqual((yield* chunk(key, stranger, 0, "x")).status, 404)
        assert.strictEqual((yield* cancel(key, stranger)).status, 404)
        const session = yield* create(key, 2)
        assert.strictEqual((yield* query(`${key}-other`, session)).status, 404)
        const otherScope = yield* http({
          method: "PUT",
          path: `/v1/objects/test/org=2/${key}?session=${session}`,
          headers: { "upload-offset": "*" }
        })
        assert.strictEqual(otherScope.status, 404)
      }))

    it.effect("a create from the Python client's wire form never writes an empty object", () =>
      Effect.gen(function*() {
        const key = unique("python")
        assert.strictEqual((yield* http({ method: "PUT", path: path(key), body: "precious" })).status, 200)
        const response = yield* http({
          method: "POST",
          path: `/v1/objects/test/org=1/?upload_type=resumable`,
          headers: {
            "upload-length": String(32 * 1024 * 1024),
            "content-length": "0",
            "x-sn-origin": "203.0.113.42",
            "x-snme-note": "%C3%BCnicode"
          }
        })
        assert.strictEqual(response.status, 200)
        const generated = (json(response) as { key: string }).key
        assert.strictEqual((yield* get(generated)).status, 404)
        // the same against a given key: the existing object stays
        const given = yield* http({
          method: "PUT",
          path: path(key, "?upload_type=resumable"),
          headers: { "upload-length": String(32 * 1024 * 1024), "content-length": "0" }
        })
        assert.strictEqual(given.status, 200)
        assert.strictEqual((yield* get(key)).text, "precious")
      }))

    it.effect("a chunk whose body breaks off keeps the bytes that arrived (the next query reports them)", () =>
      Effect.gen(function*() {
        const key = unique("broken")
        const session = yield* create(key, 100)
        const port = yield* serverPort
        yield* Effect.async<void>((resume) => {
          const socket = Net.connect(port, "127.0.0.1", () => {
            socket.write(
              `PUT ${path(key, `?session=${session}`)} HTTP/1.1\r\nhost: 127.0.0.1\r\nupload-offset: 0\r\n` +
                `content-length: 100\r\n\r\n${"x".repeat(40)}`,
              () => setTimeout(() => socket.destroy(), 100)
            )
          })
          socket.on("close", () => resume(Effect.void))
          socket.on("error", () => undefined)
        })
        const offset = yield* eventually(
          Effect.map(query(key, session), (response) => response.headers["upload-offset"]),
          (value) => value === "40"
        )
        assert.strictEqual(offset, "40")
        assert.strictEqual((yield* chunk(key, session, 40, "y".repeat(60))).status, 201)
        assert.strictEqual((yield* get(key)).text, "x".repeat(40) + "y".repeat(60))
      }))
  })

describe("Resumable uploads", () => {
  suite("memory store", {})
  const root = tempDirSync("resumable")
  suite("filesystem store", { storage: { type: "filesystem", path: root } })

  layer(Server.layer({ port: 0, resumableChunkLimit: 4 }), { timeout: "30 seconds" })(
    "short acknowledgements",
    (it) => {
      it.effect("the acknowledged offset may be lower than the end of the chunk: clients continue from it", () =>
        Effect.gen(function*() {
          const key = unique("short")
          const session = yield* create(key, 10)
          const first = yield* chunk(key, session, 0, "0123456789")
          assert.strictEqual(first.status, 204)
          assert.strictEqual(first.headers["upload-offset"], "4")
          assert.strictEqual((yield* chunk(key, session, 4, "456789")).headers["upload-offset"], "8")
          assert.strictEqual((yield* chunk(key, session, 8, "89")).status, 201)
          assert.strictEqual((yield* get(key)).text, "0123456789")
        }))
    }
  )

  layer(Server.layer({ port: 0, resumable: false }), { timeout: "30 seconds" })("a backend without them", (it) => {
    it.effect("501 for create, chunk, query and cancel; nothing is written", () =>
      Effect.gen(function*() {
        const key = unique("unsupported")
        const created = yield* http({
          method: "PUT",
          path: path(key, "?upload_type=resumable"),
          headers: { "upload-length": "3" }
        })
        assert.strictEqual(created.status, 501)
        assert.strictEqual(json(created).detail, "service error: not implemented")
        const session = Resumable.encodeSession(crypto.randomUUID())
        assert.strictEqual((yield* query(key, session)).status, 501)
        assert.strictEqual((yield* chunk(key, session, 0, "abc")).status, 501)
        assert.strictEqual((yield* cancel(key, session)).status, 501)
        assert.strictEqual((yield* get(key)).status, 404)
      }))
  })

  layer(
    Server.layer({ port: 0, resumableMaxAge: Duration.hours(2), reapInterval: Duration.minutes(10) }),
    { timeout: "30 seconds" }
  )("abandoned sessions", (it) => {
    it.effect("idle sessions expire (410), active ones stay; ended sessions are forgotten later (404)", () =>
      Effect.gen(function*() {
        yield* TestClock.setTime(T0)
        const idle = unique("idle")
        const active = unique("active")
        const idleSession = yield* create(idle, 4)
        const activeSession = yield* create(active, 4)
        yield* chunk(idle, idleSession, 0, "a")
        yield* TestClock.adjust(Duration.minutes(90))
        yield* chunk(active, activeSession, 0, "b") // activity resets the age
        yield* TestClock.adjust(Duration.minutes(40))
        const expired = yield* chunk(idle, idleSession, 1, "b")
        assert.strictEqual(expired.status, 410)
        assert.strictEqual(json(expired).detail, "client error: upload session is gone: it expired")
        assert.strictEqual((yield* query(active, activeSession)).headers["upload-offset"], "1")
        const storage = yield* Storage.Storage
        yield* TestClock.adjust(Duration.hours(3))
        // the sweeper expires the other one and then forgets the first
        yield* eventually(storage.listSessions, (sessions) =>
          !sessions.some((s) => s.id.key === idle) &&
          sessions.some((s) => s.id.key === active && s.status._tag === "Expired"))
        assert.strictEqual((yield* query(idle, idleSession)).status, 404)
        assert.strictEqual((yield* query(active, activeSession)).status, 410)
      }))
  })

  layer(
    Server.layer({
      port: 0,
      auth: enforced
    }),
    { timeout: "30 seconds", excludeTestServices: true }
  )("auth", (it) => {
    it.effect("create, chunk, query and cancel all need object.write", () =>
      Effect.gen(function*() {
        const writer = { "x-os-auth": `Bearer ${signToken(["object.read", "object.write"])}` }
        const reader = { "x-os-auth": `Bearer ${signToken(["object.read"])}` }
        const key = unique("guarded")
        const createRequest = (headers: Record<string, string>) =>
          http({
            method: "PUT",
            path: path(key, "?upload_type=resumable"),
            headers: { "upload-length": "2", ...headers }
          })
        assert.strictEqual((yield* createRequest(reader)).status, 403)
        assert.strictEqual((yield* createRequest({})).status, 400) // no token
        const created = yield* createRequest(writer)
        assert.strictEqual(created.status, 200)
        const session = json(created).session as string
        const sessionPath = path(key, `?session=${session}`)
        for (const headers of [{ "upload-offset": "*" }, { "upload-offset": "0", "content-length": "1" }]) {
          const denied = yield* http({
            method: "PUT",
            path: sessionPath,
            headers: { ...reader, ...headers },
            ...(headers["content-length"] === undefined ? {} : { body: "x" })
          })
          assert.strictEqual(denied.status, 403)
        }
        assert.strictEqual((yield* http({ method: "DELETE", path: sessionPath, headers: reader })).status, 403)
        const ok = yield* http({
          method: "PUT",
          path: sessionPath,
          headers: { ...writer, "upload-offset": "0", "content-length": "2" },
          body: "ok"
        })
        assert.strictEqual(ok.status, 201)
      }))
  })

  it.scoped("filesystem: sessions survive a restart of the store; the commit writes the object whole", () =>
    Effect.gen(function*() {
      const dir = yield* tempDir("resumable-restart")
      const id: Storage.ObjectId = { usecase: "test", scopes: [["org", "1"]], key: "restart" }
      const bytes = (text: string) => Stream.make(new TextEncoder().encode(text))
      const metadata = {
        contentType: "text/plain",
        compression: undefined,
        expirationPolicy: { _tag: "Manual" } as const,
        timeCreated: undefined,
        timeExpires: undefined,
        origin: undefined,
        filename: undefined,
        custom: { a: "b" }
      }
      const first = yield* Storage.makeFilesystem({ path: dir })
      const token = yield* first.createSession(id, metadata, 8, 1n)
      assert.strictEqual(
        yield* first.appendChunk(id, token, { offset: 0, contentLength: 3, body: bytes("abc"), now: 2n }),
        3
      )
      const second = yield* Storage.makeFilesystem({ path: dir })
      const entry = Option.getOrThrow(yield* second.sessionInfo(id, token))
      assert.deepStrictEqual(entry.status, { _tag: "Open", offset: 3, lastActivity: 2n })
      assert.strictEqual(entry.length, 8)
      assert.deepStrictEqual(entry.metadata.custom, { a: "b" })
      const mismatch = yield* Effect.flip(
        second.appendChunk(id, token, { offset: 0, contentLength: 1, body: bytes("x"), now: 3n })
      )
      assert.strictEqual(mismatch._tag === "ResumableError" && mismatch.reason, "OffsetMismatch")
      assert.strictEqual(
        yield* second.appendChunk(id, token, { offset: 3, contentLength: 5, body: bytes("defgh"), now: 3n }),
        8
      )
      const info = yield* second.commitSession(id, token, (m) => ({ ...m, timeCreated: 4n }), 4n)
      assert.strictEqual(info.size, 8)
      const read = yield* Storage.readAll(second, id)
      assert.strictEqual(new TextDecoder().decode(read!.bytes), "abcdefgh")
      assert.strictEqual(read!.info.metadata.timeCreated, 4n)
      const third = yield* Storage.makeFilesystem({ path: dir })
      assert.strictEqual(Option.getOrThrow(yield* third.sessionInfo(id, token)).status._tag, "Committed")
    }))
})
