/**
 * Resumable sessions of the filesystem store (PROTOCOL §22).
 *
 * Layout under `<root>/resumable/<dir>/`, `<dir>` = hex SHA-256 of the object identity and the token (neither is
 * ever used as a path):
 *
 * - `session.json`: written once at create (object identity, token, length, create time, the object's metadata);
 * - `state.json`: where the session stands (`open` with its offset and last activity, or how it ended), replaced
 *   with a temp file, fsync and rename;
 * - `data`: the bytes received so far, written in place at their offsets;
 * - `tmp-<uuid>`: records being written; removed at start.
 *
 * A chunk is written into `data` at the persisted offset; then `data` is fsynced and the new offset recorded in
 * `state.json` (fsync, rename, fsync of the folder) before the chunk is acknowledged. So a crash never loses an
 * acknowledged offset; it may leave bytes in `data` past the recorded offset, which the next chunk overwrites and the
 * commit never reads. The commit streams `data` through the object store's `put` (temp file, fsync, rename), then
 * records the session as committed and removes `data`.
 *
 * @internal
 */
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Option from "effect/Option"
import * as Stream from "effect/Stream"
import * as Crypto from "node:crypto"
import * as Fs from "node:fs/promises"
import * as NodePath from "node:path"
import type * as StorageModel from "../StorageModel.js"
import { attempt, isNotFound, syncDirectory, writeFileSynced } from "./filesystemIo.js"
import { decodeRecord, encodeRecord } from "./filesystemRecord.js"
import { checkChunk, gone, incomplete, makeLock, noSuchSession, reapAction } from "./resumableStore.js"
import { CHUNK_SIZE, identityKey } from "./storeCommon.js"

interface SessionJson {
  readonly version: 1
  readonly token: string
  readonly length: number
  readonly created: string
  /** The object record (as the object store encodes it) of the object to be. */
  readonly record: string
}

type StateJson =
  | { readonly status: "open"; readonly offset: number; readonly lastActivity: string }
  | { readonly status: "committed" | "cancelled" | "expired"; readonly ended: string }

const statusOf = (json: StateJson): StorageModel.SessionStatus => {
  switch (json.status) {
    case "open":
      return { _tag: "Open", offset: json.offset, lastActivity: BigInt(json.lastActivity) }
    case "committed":
      return { _tag: "Committed", ended: BigInt(json.ended) }
    case "cancelled":
      return { _tag: "Cancelled", ended: BigInt(json.ended) }
    case "expired":
      return { _tag: "Expired", ended: BigInt(json.ended) }
  }
}

const stateOf = (status: StorageModel.SessionStatus): StateJson =>
  status._tag === "Open"
    ? { status: "open", offset: status.offset, lastActivity: status.lastActivity.toString() }
    : {
      status: status._tag === "Committed" ? "committed" : status._tag === "Cancelled" ? "cancelled" : "expired",
      ended: status.ended.toString()
    }

/** @internal */
export const make = (
  objects: StorageModel.ObjectStore,
  options: { readonly path: string }
): Effect.Effect<StorageModel.ResumableStore, StorageModel.StorageError> =>
  Effect.gen(function*() {
    const sessionsDir = NodePath.join(NodePath.resolve(options.path), "resumable")
    const dirOf = (id: StorageModel.ObjectId, token: string) =>
      NodePath.join(
        sessionsDir,
        Crypto.createHash("sha256").update(JSON.stringify([identityKey(id), token]), "utf8").digest("hex")
      )
    const locked = makeLock()

    const readEntry = async (dir: string): Promise<StorageModel.SessionEntry | undefined> => {
      let session: string
      let state: string
      try {
        session = await Fs.readFile(NodePath.join(dir, "session.json"), "utf8")
        state = await Fs.readFile(NodePath.join(dir, "state.json"), "utf8")
      } catch (error) {
        if (isNotFound(error) || (error as { code?: unknown }).code === "ENOTDIR") return undefined
        throw error
      }
      const json = JSON.parse(session) as SessionJson
      if (json.version !== 1) throw new Error(`unknown session record version ${String(json.version)}`)
      const record = decodeRecord(json.record)
      return {
        id: record.id,
        token: json.token,
        length: json.length,
        metadata: record.info.metadata,
        created: BigInt(json.created),
        status: statusOf(JSON.parse(state) as StateJson)
      }
    }

    /** Replaces `state.json` durably. */
    const writeState = async (dir: string, status: StorageModel.SessionStatus) => {
      const tmp = NodePath.join(dir, `tmp-${Crypto.randomUUID()}`)
      try {
        await writeFileSynced(tmp, JSON.stringify(stateOf(status)))
        await Fs.rename(tmp, NodePath.join(dir, "state.json"))
      } catch (error) {
        await Fs.rm(tmp, { force: true }).catch(() => undefined)
        throw error
      }
      await syncDirectory(dir)
    }

    // Start: drop temp files, and folders of sessions whose create never finished.
    yield* attempt("open", async () => {
      await Fs.mkdir(sessionsDir, { recursive: true })
      for (const name of await Fs.readdir(sessionsDir)) {
        const dir = NodePath.join(sessionsDir, name)
        let found: StorageModel.SessionEntry | undefined
        try {
          found = await readEntry(dir)
        } catch {
          continue // unreadable: keep it for inspection
        }
        if (found === undefined) {
          await Fs.rm(dir, { recursive: true, force: true })
          continue
        }
        for (const file of await Fs.readdir(dir)) {
          if (file.startsWith("tmp-")) await Fs.rm(NodePath.join(dir, file), { force: true })
        }
      }
    })

    const find = (id: StorageModel.ObjectId, token: string, operation: string) =>
      Effect.flatMap(
        attempt(operation, () => readEntry(dirOf(id, token))),
        (found) => found === undefined || found.token !== token ? Effect.fail(noSuchSession()) : Effect.succeed(found)
      )

    const createSession = (
      id: StorageModel.ObjectId,
      metadata: StorageModel.ObjectInfo["metadata"],
      length: number,
      now: bigint
    ) => {
      const token = Crypto.randomUUID()
      const dir = dirOf(id, token)
      const json: SessionJson = {
        version: 1,
        token,
        length,
        created: now.toString(),
        record: encodeRecord(id, { metadata, size: length, generation: token })
      }
      return attempt("create session", async () => {
        await Fs.mkdir(dir, { recursive: true })
        try {
          await (await Fs.open(NodePath.join(dir, "data"), "wx")).close()
          const tmp = NodePath.join(dir, `tmp-${Crypto.randomUUID()}`)
          await writeFileSynced(tmp, JSON.stringify(json))
          await Fs.rename(tmp, NodePath.join(dir, "session.json"))
          // state.json last: a folder without it is an unfinished create, removed at start
          await writeState(dir, { _tag: "Open", offset: 0, lastActivity: now })
          await syncDirectory(sessionsDir)
        } catch (error) {
          await Fs.rm(dir, { recursive: true, force: true }).catch(() => undefined)
          throw error
        }
        return token
      })
    }

    const appendChunk = <E>(
      id: StorageModel.ObjectId,
      token: string,
      chunk: StorageModel.Chunk<E>
    ): Effect.Effect<number, E | StorageModel.StorageError | StorageModel.ResumableError> => {
      const dir = dirOf(id, token)
      return locked(dir)(Effect.gen(function*() {
        const session = yield* find(id, token, "append")
        const start = yield* checkChunk(session.status, session.length, chunk)
        const limit = Math.min(chunk.contentLength, chunk.limit ?? chunk.contentLength)
        let received = 0
        return yield* Effect.acquireUseRelease(
          attempt("append", () => Fs.open(NodePath.join(dir, "data"), "r+")),
          (handle) =>
            Effect.gen(function*() {
              // what arrived is made durable and recorded, however the body ended (PROTOCOL §22.2)
              const persist = Effect.suspend(() =>
                received === 0 ? Effect.void : attempt("append", async () => {
                  await handle.datasync()
                  await writeState(dir, { _tag: "Open", offset: start + received, lastActivity: chunk.now })
                })
              )
              const body = Stream.runForEach(chunk.body, (bytes) =>
                attempt("append", async () => {
                  const keep = Math.min(bytes.length, limit - received)
                  let written = 0
                  while (written < keep) {
                    const { bytesWritten } = await handle.write(
                      bytes,
                      written,
                      keep - written,
                      start + received + written
                    )
                    written += bytesWritten
                  }
                  received += keep
                }))
              const exit = yield* Effect.exit(Effect.onInterrupt(body, () => Effect.ignore(persist)))
              yield* Effect.uninterruptible(persist)
              if (Exit.isFailure(exit)) return yield* Effect.failCause(exit.cause)
              return start + received
            }),
          (handle) => Effect.promise(() => handle.close().catch(() => undefined))
        )
      }))
    }

    const readData = (handle: Fs.FileHandle, size: number): Stream.Stream<Uint8Array, StorageModel.StorageError> =>
      size === 0 ? Stream.empty : Stream.paginateEffect(0, (position) =>
        attempt("commit", async () => {
          const length = Math.min(CHUNK_SIZE, size - position)
          const buffer = new Uint8Array(length)
          const { bytesRead } = await handle.read(buffer, 0, length, position)
          if (bytesRead === 0) throw new Error("the session's data is shorter than its offset says")
          const next = position + bytesRead
          return [buffer.subarray(0, bytesRead), next < size ? Option.some(next) : Option.none()] as const
        }))

    const commitSession = (
      id: StorageModel.ObjectId,
      token: string,
      finalize: (metadata: StorageModel.ObjectInfo["metadata"]) => StorageModel.ObjectInfo["metadata"],
      now: bigint
    ) => {
      const dir = dirOf(id, token)
      return locked(dir)(Effect.uninterruptible(Effect.scoped(Effect.gen(function*() {
        const session = yield* find(id, token, "commit")
        if (session.status._tag !== "Open") return yield* gone(session.status._tag)
        if (session.status.offset !== session.length) return yield* incomplete(session.status.offset, session.length)
        const handle = yield* Effect.acquireRelease(
          attempt("commit", () => Fs.open(NodePath.join(dir, "data"), "r")),
          (handle) => Effect.promise(() => handle.close().catch(() => undefined))
        )
        const info = yield* objects.put(id, finalize(session.metadata), readData(handle, session.length))
        yield* attempt("commit", async () => {
          await writeState(dir, { _tag: "Committed", ended: now })
          await Fs.rm(NodePath.join(dir, "data"), { force: true })
        })
        return info
      }))))
    }

    const endSession = (id: StorageModel.ObjectId, token: string, status: "Cancelled" | "Expired", now: bigint) => {
      const dir = dirOf(id, token)
      return locked(dir)(Effect.uninterruptible(attempt("end session", async () => {
        const found = await readEntry(dir)
        if (found === undefined || found.token !== token || found.status._tag !== "Open") return false
        await writeState(dir, { _tag: status, ended: now })
        await Fs.rm(NodePath.join(dir, "data"), { force: true })
        return true
      })))
    }

    const sessionDirs = attempt("list sessions", async () =>
      (await Fs.readdir(sessionsDir)).map((name) => NodePath.join(sessionsDir, name)))

    const listSessions = Effect.gen(function*() {
      const entries: Array<StorageModel.SessionEntry> = []
      for (const dir of yield* sessionDirs) {
        const found = yield* attempt("list sessions", () =>
          readEntry(dir))
        if (found !== undefined) entries.push(found)
      }
      return entries
    })

    const reapSessions = (now: bigint, maxAge: bigint) =>
      Effect.gen(function*() {
        let count = 0
        for (const dir of yield* sessionDirs) {
          const changed = yield* locked(dir)(Effect.uninterruptible(attempt("reap sessions", async () => {
            const found = await readEntry(dir)
            if (found === undefined) return false
            const action = reapAction(found.status, now - maxAge)
            if (action === "expire") {
              await writeState(dir, { _tag: "Expired", ended: now })
              await Fs.rm(NodePath.join(dir, "data"), { force: true })
            } else if (action === "forget") {
              await Fs.rm(dir, { recursive: true, force: true })
            }
            return action !== undefined
          })))
          if (changed) count++
        }
        return count
      })

    const store: StorageModel.ResumableStore = {
      createSession,
      sessionInfo: (id, token) =>
        Effect.map(
          attempt("session", () => readEntry(dirOf(id, token))),
          (found) => Option.filter(Option.fromNullable(found), (entry) => entry.token === token)
        ),
      appendChunk,
      commitSession,
      endSession,
      listSessions,
      reapSessions
    }
    return store
  })
