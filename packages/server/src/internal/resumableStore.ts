/**
 * What both resumable session stores share (PROTOCOL §22): the errors, a per-session lock under which chunks and
 * commits run, and the checks a chunk must pass before its body is read.
 *
 * @internal
 */
import * as Effect from "effect/Effect"
import * as StorageModel from "../StorageModel.js"
import { makeKeyedLock } from "./keyedLock.js"

/** @internal */
export const noSuchSession = () =>
  new StorageModel.ResumableError({ reason: "NoSuchSession", detail: "upload session not found" })

/** @internal */
export const gone = (status: StorageModel.SessionStatus["_tag"]) =>
  new StorageModel.ResumableError({
    reason: "Gone",
    detail: status === "Committed"
      ? "upload session is gone: it was completed"
      : status === "Cancelled"
      ? "upload session is gone: it was cancelled"
      : "upload session is gone: it expired"
  })

/** @internal */
export const offsetMismatch = (current: number, requested: number) =>
  new StorageModel.ResumableError({
    reason: "OffsetMismatch",
    detail: `upload offset mismatch: the session is at offset ${current}, the request says ${requested}`,
    offset: current
  })

/** @internal */
export const incomplete = (offset: number, length: number) =>
  new StorageModel.ResumableError({
    reason: "Incomplete",
    detail: `the upload session has ${offset} of its ${length} bytes`,
    offset
  })

/**
 * A lock per session whose holders stay interruptible (a chunk streams a request body under it).
 *
 * @internal
 */
export const makeLock = () => makeKeyedLock({ interruptible: true })

/**
 * The checks of a chunk against an open session at `offset` of `length`: the offset must match, and the chunk must
 * fit.
 *
 * @internal
 */
export const checkChunk = (
  status: StorageModel.SessionStatus,
  length: number,
  chunk: { readonly offset: number; readonly contentLength: number }
): Effect.Effect<number, StorageModel.ResumableError> => {
  if (status._tag !== "Open") return Effect.fail(gone(status._tag))
  if (chunk.offset !== status.offset) return Effect.fail(offsetMismatch(status.offset, chunk.offset))
  if (chunk.offset + chunk.contentLength > length) {
    return Effect.fail(
      new StorageModel.ResumableError({
        reason: "PastLength",
        detail: `the chunk runs past Upload-Length: ${chunk.offset} + ${chunk.contentLength} > ${length}`,
        offset: status.offset
      })
    )
  }
  return Effect.succeed(status.offset)
}

/** Whether an ended session is old enough to forget, or an open one idle long enough to expire. @internal */
export const reapAction = (status: StorageModel.SessionStatus, cutoff: bigint): "expire" | "forget" | undefined => {
  if (status._tag === "Open") return status.lastActivity < cutoff ? "expire" : undefined
  return status.ended < cutoff ? "forget" : undefined
}
