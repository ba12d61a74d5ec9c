/**
 * The caller's files (upload sources, `Batch.putFile`, upload state files) through `@effect/platform`'s
 * `FileSystem`, with one mapping of the file system's failures to `FileError`.
 *
 * The `FileSystem` is a service, never an import of Node code, so the package root stays browser-safe: the one the
 * client was built with (`NodeClient.layer` provides Node's), else the one in the caller's context; with neither, a
 * file path fails with `FileError` `NoFileSystem`.
 *
 * @since 0.1.0
 * @internal
 */
import type * as PlatformError from "@effect/platform/Error"
import * as FileSystem from "@effect/platform/FileSystem"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import * as Predicate from "effect/Predicate"
import * as Stream from "effect/Stream"
import { FileError } from "../ObjectstoreError.js"
import type { FileErrorReason } from "../ObjectstoreError.js"

/**
 * The part of the client context that reaches files.
 *
 * @internal
 */
export interface FileContext {
  /** The `FileSystem` in context when the client was built, if any. */
  readonly fileSystem: FileSystem.FileSystem | undefined
}

/**
 * A file opened for reading: its platform `FileSystem`, its path, and its size and modification time when it was
 * first looked at.
 *
 * @internal
 */
export interface FileInfo {
  readonly fs: FileSystem.FileSystem
  readonly path: string
  readonly size: number
  /** Milliseconds since the epoch (0 when the file system does not say). */
  readonly mtimeMs: number
}

const codeReasons: Record<string, FileErrorReason> = {
  ENOENT: "NotFound",
  ENOTDIR: "NotFound",
  EACCES: "PermissionDenied",
  EPERM: "PermissionDenied",
  EISDIR: "NotAFile"
}

/**
 * A platform failure on `path` as a `FileError`: the errno code when the file system gives one (Node's does), else
 * the platform's reason.
 *
 * @internal
 */
export const fromPlatformError = (path: string, error: PlatformError.PlatformError): FileError => {
  if (error._tag === "BadArgument") return new FileError({ path, reason: "Unknown", detail: error.message })
  const code = Predicate.hasProperty(error.cause, "code") ? String(error.cause.code) : undefined
  const reason: FileErrorReason = (code === undefined ? undefined : codeReasons[code]) ??
    (error.reason === "NotFound" || error.reason === "PermissionDenied" ? error.reason : "Unknown")
  return new FileError({ path, reason, detail: error.description ?? error.message })
}

/**
 * The `FileSystem` to reach `path` with: the client's, else the caller's, else `FileError` `NoFileSystem`.
 *
 * @internal
 */
export const fileSystem = (context: FileContext, path: string): Effect.Effect<FileSystem.FileSystem, FileError> =>
  context.fileSystem !== undefined
    ? Effect.succeed(context.fileSystem)
    : Effect.flatMap(Effect.serviceOption(FileSystem.FileSystem), (found) =>
      Option.isSome(found)
        ? Effect.succeed(found.value)
        : Effect.fail(new FileError({ path, reason: "NoFileSystem" })))

/**
 * Looks at the regular file at `path`: its size and modification time. A directory or another non-regular file
 * fails with `NotAFile`.
 *
 * @internal
 */
export const stat = (context: FileContext, path: string): Effect.Effect<FileInfo, FileError> =>
  Effect.flatMap(fileSystem(context, path), (fs) =>
    fs.stat(path).pipe(
      Effect.mapError((error) => fromPlatformError(path, error)),
      Effect.flatMap((info) =>
        info.type === "File"
          ? Effect.succeed({
            fs,
            path,
            size: Number(info.size),
            mtimeMs: Option.match(info.mtime, { onNone: () => 0, onSome: (date) => date.getTime() })
          })
          : Effect.fail(new FileError({ path, reason: "NotAFile", detail: `a ${info.type.toLowerCase()}` }))
      )
    ))

const changed = (path: string) =>
  new FileError({ path, reason: "Changed", detail: "the file is shorter than when the upload started" })

/**
 * Reads `[start, start + length)` of the file into one buffer (the file opened for this read alone, so parts can
 * be read concurrently). A file that ends early fails with `Changed`.
 *
 * @internal
 */
export const readRange = (file: FileInfo, start: number, length: number): Effect.Effect<Uint8Array, FileError> =>
  Effect.scoped(Effect.gen(function*() {
    const handle = yield* file.fs.open(file.path, { flag: "r" })
    const buffer = new Uint8Array(length)
    if (start > 0) yield* handle.seek(start, "start")
    let filled = 0
    while (filled < length) {
      const read = Number(yield* handle.read(buffer.subarray(filled)))
      if (read === 0) return yield* changed(file.path)
      filled += read
    }
    return buffer
  })).pipe(Effect.mapError((error) => error._tag === "FileError" ? error : fromPlatformError(file.path, error)))

/**
 * The whole file, which must still be as long as when it was looked at: `Changed` if it is shorter or longer.
 *
 * @internal
 */
export const readAll = (file: FileInfo): Effect.Effect<Uint8Array, FileError> =>
  Effect.scoped(Effect.gen(function*() {
    const handle = yield* file.fs.open(file.path, { flag: "r" })
    const buffer = new Uint8Array(file.size + 1)
    let filled = 0
    while (filled <= file.size) {
      const read = Number(yield* handle.read(buffer.subarray(filled)))
      if (read === 0) break
      filled += read
    }
    if (filled !== file.size) {
      return yield* new FileError({ path: file.path, reason: "Changed", detail: "its size changed since it was read" })
    }
    return buffer.subarray(0, filled)
  })).pipe(Effect.mapError((error) => error._tag === "FileError" ? error : fromPlatformError(file.path, error)))

/** Chunks of a streamed file. */
const CHUNK = 1024 * 1024

/**
 * Bytes `[start, end)` of the file as a stream of chunks of at most 1 MiB; each run opens the file again, so the
 * stream can be replayed. A file that ends early fails with `Changed`.
 *
 * @internal
 */
export const stream = (file: FileInfo, end: number = file.size, start = 0): Stream.Stream<Uint8Array, FileError> =>
  end <= start ? Stream.empty : Stream.unwrapScoped(Effect.gen(function*() {
    const handle = yield* Effect.mapError(
      file.fs.open(file.path, { flag: "r" }),
      (error) => fromPlatformError(file.path, error)
    )
    if (start > 0) yield* handle.seek(start, "start")
    return Stream.paginateEffect(start, (position) =>
      handle.readAlloc(Math.min(CHUNK, end - position)).pipe(
        Effect.mapError((error) => fromPlatformError(file.path, error)),
        Effect.flatMap(Option.match({
          onNone: () => Effect.fail(changed(file.path)),
          onSome: (chunk) => {
            const next = position + chunk.length
            return Effect.succeed([chunk, next < end ? Option.some(next) : Option.none()] as const)
          }
        }))
      ))
  }))

/**
 * The text of the file at `path`, or `None` when there is no such file.
 *
 * @internal
 */
export const readTextIfExists = (
  context: FileContext,
  path: string
): Effect.Effect<Option.Option<string>, FileError> =>
  Effect.flatMap(fileSystem(context, path), (fs) =>
    fs.readFileString(path).pipe(
      Effect.map(Option.some),
      Effect.catchAll((error) => {
        const mapped = fromPlatformError(path, error)
        return mapped.reason === "NotFound" ? Effect.succeedNone : Effect.fail(mapped)
      })
    ))

/**
 * Replaces the file at `path` with `text`: written next to it, then renamed over it, so a reader sees the old or
 * the new text, never a part.
 *
 * @internal
 */
export const replaceText = (context: FileContext, path: string, text: string): Effect.Effect<void, FileError> =>
  Effect.flatMap(fileSystem(context, path), (fs) => {
    const tmp = `${path}.tmp`
    return Effect.zipRight(
      Effect.mapError(fs.writeFileString(tmp, text), (error) => fromPlatformError(tmp, error)),
      Effect.mapError(fs.rename(tmp, path), (error) => fromPlatformError(path, error))
    )
  })

/**
 * Removes the file at `path` if it is there; failures are ignored (a state file left behind is only untidy).
 *
 * @internal
 */
export const removeQuietly = (context: FileContext, path: string | undefined): Effect.Effect<void> =>
  path === undefined
    ? Effect.void
    : Effect.ignore(Effect.flatMap(fileSystem(context, path), (fs) => fs.remove(path, { force: true })))
