/**
 * Local files: walking a tree lazily, hashing, and writing through a temporary file renamed into place.
 *
 * @internal
 */
import * as Effect from "effect/Effect"
import * as Stream from "effect/Stream"
import * as crypto from "node:crypto"
import * as fs from "node:fs"
import * as fsp from "node:fs/promises"
import * as path from "node:path"
import * as CliError from "../CliError.js"

/** @internal */
export interface LocalFile {
  /** Absolute path. */
  readonly abs: string
  /** Relative to the root, POSIX separators. */
  readonly rel: string
  readonly size: number
}

const reason = (cause: unknown) => {
  const code = (cause as { code?: string } | null)?.code
  return code === "ENOENT"
    ? "no such file or directory"
    : code === "EACCES"
    ? "permission denied"
    : code === "ENOTDIR"
    ? "not a directory"
    : cause instanceof Error
    ? cause.message
    : String(cause)
}

/** @internal */
export const describeFsError = reason

async function* walkGenerator(root: string, dir: string): AsyncGenerator<LocalFile> {
  const entries = await fsp.readdir(dir, { withFileTypes: true })
  entries.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0))
  for (const entry of entries) {
    const abs = path.join(dir, entry.name)
    if (entry.isDirectory()) {
      yield* walkGenerator(root, abs)
      continue
    }
    if (!entry.isFile() && !entry.isSymbolicLink()) continue
    let stat: fs.Stats
    try {
      stat = await fsp.stat(abs)
    } catch {
      continue // a dangling link
    }
    if (!stat.isFile()) continue
    yield { abs, rel: path.relative(root, abs).split(path.sep).join("/"), size: stat.size }
  }
}

/**
 * The regular files under `root` (following links to files, not to directories), depth first in name order,
 * read one directory at a time.
 *
 * @internal
 */
export const walk = (root: string): Stream.Stream<LocalFile, CliError.CliError> =>
  Stream.fromAsyncIterable(
    walkGenerator(path.resolve(root), path.resolve(root)),
    (cause) => CliError.failure(`cannot read directory under ${root}: ${reason(cause)}`)
  )

/**
 * The size of a regular file, or a usage error naming it.
 *
 * @internal
 */
export const statFile = (file: string): Effect.Effect<number, CliError.CliError> =>
  Effect.tryPromise({
    try: () => fsp.stat(file),
    catch: (cause) => CliError.usage(`cannot read ${file}: ${reason(cause)}`)
  }).pipe(
    Effect.filterOrFail((stat) => stat.isFile(), () => CliError.usage(`not a regular file: ${file}`)),
    Effect.map((stat) => stat.size)
  )

/**
 * Whether a directory exists (a usage error when `dir` is something else or unreadable).
 *
 * @internal
 */
export const checkDirectory = (dir: string): Effect.Effect<void, CliError.CliError> =>
  Effect.tryPromise({
    try: () => fsp.stat(dir),
    catch: (cause) => CliError.usage(`cannot read directory ${dir}: ${reason(cause)}`)
  }).pipe(
    Effect.filterOrFail((stat) => stat.isDirectory(), () => CliError.usage(`not a directory: ${dir}`)),
    Effect.asVoid
  )

/**
 * The hex SHA-256 of a file, streamed.
 *
 * @internal
 */
export const sha256File = (file: string): Effect.Effect<string, CliError.CliError> =>
  Effect.async<string, CliError.CliError>((resume) => {
    const hash = crypto.createHash("sha256")
    const stream = fs.createReadStream(file)
    stream.on("data", (chunk) => hash.update(chunk))
    stream.on("error", (cause) => resume(Effect.fail(CliError.usage(`cannot read ${file}: ${reason(cause)}`))))
    stream.on("end", () => resume(Effect.succeed(hash.digest("hex"))))
    return Effect.sync(() => stream.destroy())
  })

/**
 * The hex SHA-256 of bytes.
 *
 * @internal
 */
export const sha256 = (bytes: Uint8Array): string => crypto.createHash("sha256").update(bytes).digest("hex")

/**
 * The size of a file, or `undefined` when it does not exist.
 *
 * @internal
 */
export const existingSize = (file: string): Effect.Effect<number | undefined> =>
  Effect.promise(() => fsp.stat(file).then((stat) => (stat.isFile() ? stat.size : undefined), () => undefined))

/**
 * Writes a stream to `dest` through a temporary file in the same directory (`.<name>.partial-<random>`), renamed
 * into place only when the stream completed and `verify` accepted the SHA-256 and size of what was written. On
 * failure or interruption the temporary file is removed and `dest` is untouched.
 *
 * @internal
 */
export const writeAtomically = <E, R>(
  dest: string,
  body: Stream.Stream<Uint8Array, E, R>,
  verify: (written: { readonly sha256: string; readonly size: number }) => Effect.Effect<void, CliError.CliError>
): Effect.Effect<{ readonly sha256: string; readonly size: number }, E | CliError.CliError, R> =>
  Effect.gen(function*() {
    const dir = path.dirname(dest)
    const tmp = path.join(dir, `.${path.basename(dest)}.partial-${crypto.randomBytes(6).toString("hex")}`)
    const ioFail = (what: string) => (cause: unknown) => CliError.failure(`cannot ${what} ${dest}: ${reason(cause)}`)
    yield* Effect.tryPromise({ try: () => fsp.mkdir(dir, { recursive: true }), catch: ioFail("create the folder of") })
    return yield* Effect.acquireUseRelease(
      Effect.tryPromise({ try: () => fsp.open(tmp, "w"), catch: ioFail("write") }),
      (handle) =>
        Effect.gen(function*() {
          const hash = crypto.createHash("sha256")
          let size = 0
          yield* Stream.runForEach(body, (chunk) =>
            Effect.tryPromise({
              try: async () => {
                hash.update(chunk)
                size += chunk.length
                let offset = 0
                while (offset < chunk.length) {
                  const { bytesWritten } = await handle.write(chunk, offset, chunk.length - offset)
                  offset += bytesWritten
                }
              },
              catch: ioFail("write")
            }))
          const written = { sha256: hash.digest("hex"), size }
          yield* verify(written)
          yield* Effect.tryPromise({ try: () => handle.close(), catch: ioFail("write") })
          yield* Effect.tryPromise({ try: () => fsp.rename(tmp, dest), catch: ioFail("write") })
          return written
        }),
      (handle, exit) =>
        Effect.promise(async () => {
          await handle.close().catch(() => undefined)
          if (exit._tag === "Failure") await fsp.rm(tmp, { force: true }).catch(() => undefined)
        })
    )
  })
