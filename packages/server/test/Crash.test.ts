/**
 * Crash safety of the filesystem store: the `objectstore-server` command (a child process) is killed with SIGKILL
 * while clients write and delete in parallel, then restarted over the same folder. Every acknowledged write must be
 * readable and whole, nothing half-written may be visible, and no file may be left behind that no object owns.
 */
import { assert, describe, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import type * as ChildProcess from "node:child_process"
import * as Fs from "node:fs/promises"
import * as NodePath from "node:path"
import { tempDir } from "../../../test/support.js"
import { bundledBin, spawnBin } from "./support/bin.js"

interface Running {
  readonly child: ChildProcess.ChildProcess
  readonly origin: string
}

/** Starts the command over `root` on a free loopback port; the scope kills it (if still running). */
const start = (root: string) =>
  Effect.acquireRelease(
    Effect.promise(async (): Promise<Running> => {
      const child = spawnBin(await bundledBin(), ["run"], {
        OS__HTTP_ADDR: "127.0.0.1:0",
        OS__AUTH__ENFORCE: "false",
        OS__STORAGE__TYPE: "filesystem",
        OS__STORAGE__PATH: root
      }, root)
      let output = ""
      const origin = await new Promise<string>((resolve, reject) => {
        const onData = (chunk: Buffer) => {
          output += chunk.toString()
          const match = /listening on (http:\/\/127\.0\.0\.1:\d+)/.exec(output)
          if (match !== null) resolve(match[1]!)
        }
        child.stdout!.on("data", onData)
        child.stderr!.on("data", onData)
        child.once("exit", (code) => reject(new Error(`server exited with ${code}: ${output}`)))
      })
      return { child, origin }
    }),
    ({ child }) => Effect.sync(() => child.exitCode === null && child.signalCode === null && child.kill("SIGKILL"))
  )

const killed = (child: ChildProcess.ChildProcess) =>
  Effect.async<void>((resume) => {
    if (child.exitCode !== null || child.signalCode !== null) return resume(Effect.void)
    child.once("exit", () => resume(Effect.void))
    child.kill("SIGKILL")
  })

/** What a key holds: a version of the writer's (its bytes follow from key and version) or nothing. */
type State = { readonly version: number } | "absent"

const SIZES = [0, 1024, 70 * 1024, 300 * 1024]
const body = (key: string, version: number): Buffer =>
  Buffer.alloc(SIZES[version % SIZES.length]!, `${key}@${version};`)

const path = (key: string) => `/v1/objects/crash/org=1/${key}`

interface Key {
  readonly name: string
  /** The state after the last acknowledged operation. */
  acknowledged: State
  /** The state an operation in flight when the server died may have left. */
  inFlight: State | undefined
  next: number
}

/**
 * Writers, one per group of keys (so the order of operations on a key is known), put and delete until `stop` is
 * set; an operation counts as acknowledged only once its response arrived with a success status.
 */
const write = (origin: string, groups: ReadonlyArray<ReadonlyArray<Key>>, stop: { value: boolean }) =>
  Promise.all(groups.map(async (keys, group) => {
    for (let round = 0; !stop.value; round++) {
      const key = keys[round % keys.length]!
      const remove = (round + group) % 7 === 3
      const target: State = remove ? "absent" : { version: key.next++ }
      key.inFlight = target
      try {
        const response = await fetch(`${origin}${path(key.name)}`, {
          method: remove ? "DELETE" : "PUT",
          ...(target === "absent" ? {} : { body: new Uint8Array(body(key.name, target.version)) })
        })
        await response.arrayBuffer()
        if (response.status >= 300) throw new Error(`status ${response.status}`)
      } catch {
        return // the server is gone: this operation may or may not have happened
      }
      key.acknowledged = target
      key.inFlight = undefined
    }
  }))

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))

/** Every file under `root`, as paths relative to it. */
const walk = async (root: string, dir = root): Promise<Array<string>> => {
  const out: Array<string> = []
  for (const entry of await Fs.readdir(dir, { withFileTypes: true })) {
    const full = NodePath.join(dir, entry.name)
    if (entry.isDirectory()) out.push(...(await walk(root, full)))
    else out.push(NodePath.relative(root, full))
  }
  return out
}

describe("filesystem storage under kill -9", () => {
  it.scopedLive("no acknowledged write is lost, no object is torn, no file is orphaned", () =>
    Effect.gen(function*() {
      const root = yield* tempDir("crash")
      const groups = Array.from(
        { length: 8 },
        (_, group) =>
          Array.from({ length: 3 }, (_, i): Key => ({
            name: `key-${group}-${i}`,
            acknowledged: "absent",
            inFlight: undefined,
            next: 1
          }))
      )
      const keys = groups.flat()
      for (let cycle = 0; cycle < 3; cycle++) {
        const server = yield* start(root)
        const stop = { value: false }
        const writing = write(server.origin, groups, stop)
        // kill at an arbitrary moment once writes are under way
        yield* Effect.promise(() => sleep(150 + Math.floor(Math.random() * 250)))
        yield* killed(server.child)
        stop.value = true
        yield* Effect.promise(() => writing)

        const restarted = yield* start(root)
        for (const key of keys) {
          const response = yield* Effect.promise(() => fetch(`${restarted.origin}${path(key.name)}`))
          const bytes = Buffer.from(yield* Effect.promise(() => response.arrayBuffer()))
          const allowed = key.inFlight === undefined ? [key.acknowledged] : [key.acknowledged, key.inFlight]
          let found: State | undefined
          if (response.status === 404) found = allowed.find((state) => state === "absent")
          else {
            assert.strictEqual(response.status, 200, `${key.name}: status ${response.status}`)
            found = allowed.find((state) => state !== "absent" && body(key.name, state.version).equals(bytes))
          }
          assert.isDefined(
            found,
            `${key.name}: got ${response.status} with ${bytes.length} bytes (${
              bytes.subarray(0, 24).toString()
            }…), expected one of ${JSON.stringify(allowed)}`
          )
          key.acknowledged = found!
          key.inFlight = undefined
        }
        // nothing but the live objects' files: no temp files, no blob without its record, no record without its blob
        const live = keys.filter((key) => key.acknowledged !== "absent").length
        const files = yield* Effect.promise(() => walk(root))
        const records = files.filter((file) => file.startsWith("objects/"))
        const blobs = files.filter((file) => file.startsWith("blobs/"))
        assert.strictEqual(records.length, live, `records: ${records.join(", ")}`)
        assert.strictEqual(blobs.length, live, `blobs: ${blobs.join(", ")}`)
        assert.deepStrictEqual(files.filter((file) => !records.includes(file) && !blobs.includes(file)), [])
        yield* killed(restarted.child)
      }
    }))
})

/** The byte at `position` of the object a resumable writer uploads (known without holding the object). */
const patternOf = (name: string, start: number, length: number): Buffer => {
  const seed = name.length * 31
  const out = Buffer.alloc(length)
  for (let i = 0; i < length; i++) out[i] = (seed + (start + i) * 7 + Math.floor((start + i) / 251)) & 0xff
  return out
}

interface Upload {
  readonly name: string
  readonly length: number
  session: string | undefined
  /** The highest offset a 204 acknowledged (or 0). */
  acknowledged: number
  /** The end of the chunk in flight when the server died, if any. */
  inFlight: number | undefined
}

const SESSION_LENGTH = 3 * 1024 * 1024
const CHUNK_SIZES = [1, 7 * 1024, 64 * 1024, 300 * 1024]

const sessionPath = (upload: Upload) => `/v1/objects/crash/org=1/${upload.name}?session=${upload.session}`

/** Writers send chunks at the acknowledged offset until `stop`; a chunk counts once its 204 arrived. */
const sendChunks = (origin: string, uploads: ReadonlyArray<Upload>, stop: { value: boolean }) =>
  Promise.all(uploads.map(async (upload, index) => {
    for (let round = 0; !stop.value && upload.acknowledged < upload.length; round++) {
      const size = Math.min(CHUNK_SIZES[(round + index) % CHUNK_SIZES.length]!, upload.length - upload.acknowledged)
      upload.inFlight = upload.acknowledged + size
      try {
        const response = await fetch(`${origin}${sessionPath(upload)}`, {
          method: "PUT",
          headers: { "upload-offset": String(upload.acknowledged) },
          body: new Uint8Array(patternOf(upload.name, upload.acknowledged, size))
        })
        await response.arrayBuffer()
        if (response.status !== 204 && response.status !== 201) throw new Error(`status ${response.status}`)
        upload.acknowledged = Number(response.headers.get("upload-offset") ?? upload.length)
      } catch {
        return // the server is gone: the chunk may or may not have been persisted (in part)
      }
      upload.inFlight = undefined
    }
  }))

describe("resumable sessions under kill -9", () => {
  it.scopedLive("no acknowledged offset is lost; the bytes up to the server's offset are the ones sent", () =>
    Effect.gen(function*() {
      const root = yield* tempDir("crash-resumable")
      const uploads: Array<Upload> = Array.from({ length: 6 }, (_, i) => ({
        name: `session-${i}`,
        length: SESSION_LENGTH,
        session: undefined,
        acknowledged: 0,
        inFlight: undefined
      }))
      const first = yield* start(root)
      for (const upload of uploads) {
        const response = yield* Effect.promise(() =>
          fetch(`${first.origin}/v1/objects/crash/org=1/${upload.name}?upload_type=resumable`, {
            method: "PUT",
            headers: { "upload-length": String(upload.length) }
          })
        )
        upload.session = ((yield* Effect.promise(() => response.json())) as { session: string }).session
      }
      let server = first
      for (let cycle = 0; cycle < 3; cycle++) {
        const stop = { value: false }
        const sending = sendChunks(server.origin, uploads, stop)
        yield* Effect.promise(() => sleep(150 + Math.floor(Math.random() * 250)))
        yield* killed(server.child)
        stop.value = true
        yield* Effect.promise(() => sending)
        server = yield* start(root)
        for (const upload of uploads) {
          const response = yield* Effect.promise(() =>
            fetch(`${server.origin}${sessionPath(upload)}`, { method: "PUT", headers: { "upload-offset": "*" } })
          )
          yield* Effect.promise(() => response.arrayBuffer())
          if (response.status === 201) {
            upload.acknowledged = upload.length
            continue
          }
          assert.strictEqual(response.status, 204, `${upload.name}: status ${response.status}`)
          const offset = Number(response.headers.get("upload-offset"))
          const highest = upload.inFlight ?? upload.acknowledged
          assert.isAtLeast(offset, upload.acknowledged, `${upload.name}: an acknowledged offset was lost`)
          assert.isAtMost(offset, highest, `${upload.name}: more bytes than were sent`)
          upload.acknowledged = offset
          upload.inFlight = undefined
        }
      }
      // finish every upload from the server's offset: each object must be exactly the bytes sent
      const stop = { value: false }
      yield* Effect.promise(() => sendChunks(server.origin, uploads, stop))
      for (const upload of uploads) {
        const query = yield* Effect.promise(() =>
          fetch(`${server.origin}${sessionPath(upload)}`, { method: "PUT", headers: { "upload-offset": "*" } })
        )
        yield* Effect.promise(() => query.arrayBuffer())
        assert.strictEqual(query.status, 201, upload.name)
        const response = yield* Effect.promise(() => fetch(`${server.origin}/v1/objects/crash/org=1/${upload.name}`))
        const bytes = Buffer.from(yield* Effect.promise(() => response.arrayBuffer()))
        assert.strictEqual(bytes.length, upload.length, upload.name)
        assert.isTrue(bytes.equals(patternOf(upload.name, 0, upload.length)), `${upload.name}: wrong bytes`)
      }
      // the sessions' folders hold their records only: no temp files, no data once committed
      const files = (yield* Effect.promise(() => walk(root))).filter((file) => file.startsWith("resumable/"))
      assert.deepStrictEqual(
        files.filter((file) => !/^resumable\/[0-9a-f]{64}\/(session|state)\.json$/.test(file)),
        []
      )
      assert.strictEqual(files.length, uploads.length * 2)
      yield* killed(server.child)
    }))
})
