/**
 * File operations shared by the filesystem stores: a promise run as an effect failing with `StorageError`, files
 * written and fsynced, quiet removal, and directory fsyncs (single and group-committed).
 *
 * @internal
 */
import * as Effect from "effect/Effect"
import * as Fs from "node:fs/promises"
import * as StorageModel from "../StorageModel.js"

/** Runs a filesystem promise, failing with a `StorageError` naming the operation. @internal */
export const attempt = <A>(operation: string, f: () => Promise<A>): Effect.Effect<A, StorageModel.StorageError> =>
  Effect.tryPromise({
    try: f,
    catch: (cause) =>
      new StorageModel.StorageError({
        operation,
        reason: cause instanceof Error ? cause.message : String(cause),
        cause
      })
  })

/** @internal */
export const isNotFound = (error: unknown): boolean =>
  typeof error === "object" && error !== null && (error as { code?: unknown }).code === "ENOENT"

/** Writes a new file and fsyncs it before closing. @internal */
export const writeFileSynced = async (path: string, data: string): Promise<void> => {
  const handle = await Fs.open(path, "wx")
  try {
    await handle.writeFile(data)
    await handle.datasync()
  } finally {
    await handle.close()
  }
}

/** Removes a file; a missing file is not an error. @internal */
export const unlinkQuietly = async (path: string): Promise<void> => {
  try {
    await Fs.unlink(path)
  } catch (error) {
    if (!isNotFound(error)) throw error
  }
}

/** fsyncs a directory, so the renames made in it so far survive a power loss (best effort). @internal */
export const syncDirectory = async (path: string): Promise<void> => {
  try {
    const handle = await Fs.open(path, "r")
    try {
      await handle.sync()
    } finally {
      await handle.close()
    }
  } catch {
    // not supported everywhere (e.g. some platforms refuse fsync on directories); durability best effort
  }
}

/**
 * Group commit of a directory's fsync: `sync()` resolves once an fsync of the directory that started after the call
 * has finished, so it covers every rename the caller made before calling. Callers that arrive while an fsync is
 * running share the next one.
 *
 * @internal
 */
export const makeDirectorySync = (path: string): () => Promise<void> => {
  let running: Promise<void> | undefined
  let queued: Promise<void> | undefined
  const start = (): Promise<void> => {
    const current: Promise<void> = syncDirectory(path).finally(() => {
      if (running === current) running = undefined
    })
    running = current
    return current
  }
  return () => {
    if (queued !== undefined) return queued
    if (running === undefined) return start()
    const next: Promise<void> = running.then(() => {
      if (queued === next) queued = undefined
      return start()
    })
    queued = next
    return next
  }
}
