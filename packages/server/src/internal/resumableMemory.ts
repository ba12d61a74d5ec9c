/**
 * Resumable sessions of the in-memory store: a session's bytes are a list of owned chunks; the commit streams them
 * through the store's `put`, so the object is replaced exactly as a single insert would replace it.
 *
 * @internal
 */
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import * as Stream from "effect/Stream"
import * as Crypto from "node:crypto"
import type * as StorageModel from "../StorageModel.js"
import { checkChunk, gone, incomplete, makeLock, noSuchSession, reapAction } from "./resumableStore.js"
import { identityKey } from "./storeCommon.js"

interface Session {
  readonly id: StorageModel.ObjectId
  readonly token: string
  readonly length: number
  readonly metadata: StorageModel.ObjectInfo["metadata"]
  readonly created: bigint
  status: StorageModel.SessionStatus
  chunks: Array<Uint8Array>
}

/** @internal */
export const make = (objects: StorageModel.ObjectStore): StorageModel.ResumableStore => {
  const sessions = new Map<string, Session>()
  const keyOf = (id: StorageModel.ObjectId, token: string) => JSON.stringify([identityKey(id), token])
  const locked = makeLock()
  const entry = (session: Session): StorageModel.SessionEntry => ({
    id: session.id,
    token: session.token,
    length: session.length,
    metadata: session.metadata,
    created: session.created,
    status: session.status
  })
  const find = (id: StorageModel.ObjectId, token: string) =>
    Effect.suspend(() => {
      const session = sessions.get(keyOf(id, token))
      return session === undefined ? Effect.fail(noSuchSession()) : Effect.succeed(session)
    })

  const appendChunk = <E>(id: StorageModel.ObjectId, token: string, chunk: StorageModel.Chunk<E>) =>
    locked(keyOf(id, token))(Effect.gen(function*() {
      const session = yield* find(id, token)
      const start = yield* checkChunk(session.status, session.length, chunk)
      const limit = Math.min(chunk.contentLength, chunk.limit ?? chunk.contentLength)
      let received = 0
      // every byte is kept as it arrives: a body that breaks off leaves what came (PROTOCOL §22.2)
      yield* Stream.runForEach(chunk.body, (bytes) =>
        Effect.sync(() => {
          const keep = Math.min(bytes.length, limit - received)
          if (keep > 0 && session.status._tag === "Open") {
            session.chunks.push(bytes.slice(0, keep)) // copy: transports reuse their buffers
            received += keep
            session.status = { _tag: "Open", offset: start + received, lastActivity: chunk.now }
          }
        })).pipe(
          Effect.ensuring(Effect.sync(() => {
            if (session.status._tag === "Open") {
              session.status = { _tag: "Open", offset: start + received, lastActivity: chunk.now }
            }
          }))
        )
      return start + received
    }))

  return {
    createSession: (id, metadata, length, now) =>
      Effect.sync(() => {
        const token = Crypto.randomUUID()
        sessions.set(keyOf(id, token), {
          id,
          token,
          length,
          metadata,
          created: now,
          status: { _tag: "Open", offset: 0, lastActivity: now },
          chunks: []
        })
        return token
      }),
    sessionInfo: (id, token) =>
      Effect.sync(() => Option.map(Option.fromNullable(sessions.get(keyOf(id, token))), entry)),
    appendChunk,
    commitSession: (id, token, finalize, now) =>
      locked(keyOf(id, token))(Effect.uninterruptible(Effect.gen(function*() {
        const session = yield* find(id, token)
        if (session.status._tag !== "Open") return yield* gone(session.status._tag)
        if (session.status.offset !== session.length) return yield* incomplete(session.status.offset, session.length)
        const info = yield* objects.put(id, finalize(session.metadata), Stream.fromIterable(session.chunks))
        session.status = { _tag: "Committed", ended: now }
        session.chunks = []
        return info
      }))),
    endSession: (id, token, status, now) =>
      locked(keyOf(id, token))(Effect.sync(() => {
        const session = sessions.get(keyOf(id, token))
        if (session === undefined || session.status._tag !== "Open") return false
        session.status = { _tag: status, ended: now }
        session.chunks = []
        return true
      })),
    listSessions: Effect.sync(() => Array.from(sessions.values(), entry)),
    reapSessions: (now, maxAge) =>
      Effect.sync(() => {
        let count = 0
        for (const [key, session] of sessions) {
          const action = reapAction(session.status, now - maxAge)
          if (action === "expire") {
            session.status = { _tag: "Expired", ended: now }
            session.chunks = []
          } else if (action === "forget") {
            sessions.delete(key)
          }
          if (action !== undefined) count++
        }
        return count
      })
  }
}
