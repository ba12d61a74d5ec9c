/**
 * Bulk jobs: a directory tree (or a manifest) uploaded, a list of keys downloaded into a folder, a list of keys
 * deleted. Small objects travel through `session.many` (batched), large ones through `session.upload`
 * (multipart) or a streamed `get`, with bounded concurrency; a re-run skips what is already there (same size and
 * SHA-256, kept in the custom metadata `size` and `sha256`); every object's outcome is reported and a summary
 * closes the job.
 *
 * @internal
 */
import * as Batch from "@objectstore/client/Batch"
import type { InvalidInputError } from "@objectstore/client/ObjectstoreError"
import type * as Session from "@objectstore/client/Session"
import * as Chunk from "effect/Chunk"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Option from "effect/Option"
import * as Stream from "effect/Stream"
import * as fs from "node:fs"
import * as fsp from "node:fs/promises"
import * as path from "node:path"
import * as CliError from "../CliError.js"
import type * as Stdio from "../Stdio.js"
import * as Files from "./files.js"
import * as Format from "./format.js"
import * as Progress from "./progress.js"

/** Objects up to this size (source bytes, from the `size` metadata) are downloaded through `many`. @internal */
export const SMALL_DOWNLOAD = 1024 * 1024

/** @internal */
export interface ObjectResult {
  readonly path: string | undefined
  readonly key: string | undefined
  readonly status: "uploaded" | "downloaded" | "deleted" | "skipped" | "failed"
  readonly bytes: number
  readonly error?: string | undefined
  readonly exitCode?: number | undefined
}

/** @internal */
export interface Summary {
  readonly job: string
  readonly objects: number
  readonly skipped: number
  readonly failed: number
  readonly bytes: number
  readonly seconds: number
  readonly bytesPerSecond: number
}

/** The reason an object failed; the key is in the same line or record, so a not-found error does not repeat it. */
const errorOf = (error: unknown): { readonly message: string; readonly exitCode: number } => {
  const report = CliError.fromError(error)
  const message = (error as { readonly _tag?: unknown } | null)?._tag === "NotFoundError"
    ? "object not found"
    : CliError.oneLine(report.message ?? String(error))
  return { message, exitCode: report.exitCode }
}

const notFound = new CliError.CliError({ exitCode: CliError.ExitCode.notFound, detail: "object not found" })

/** @internal */
export const failed = (path: string | undefined, key: string | undefined, error: unknown): ObjectResult => {
  const { exitCode, message } = errorOf(error)
  return { path, key, status: "failed", bytes: 0, error: message, exitCode }
}

/** @internal */
export interface Reporter {
  readonly record: (result: ObjectResult) => Effect.Effect<void>
  /** Prints the summary; fails with exit code 5 (or the failures' own code when nothing succeeded). */
  readonly finish: Effect.Effect<Summary, CliError.CliError>
  readonly results: () => ReadonlyArray<ObjectResult>
}

/** @internal */
export const makeReporter = (
  stdio: Stdio.Service,
  job: string,
  verb: string,
  json: boolean,
  tracker: Progress.Tracker
): Reporter => {
  const results: Array<ObjectResult> = []
  let objects = 0
  let skipped = 0
  let bytes = 0
  const failures: Array<ObjectResult> = []
  return {
    results: () => results,
    record: (result) =>
      Effect.suspend(() => {
        results.push(result)
        tracker.done(1, result.status === "failed" ? 0 : result.bytes)
        if (result.status === "failed") failures.push(result)
        else if (result.status === "skipped") skipped++
        else {
          objects++
          bytes += result.bytes
        }
        if (json) {
          return stdio.out(`${JSON.stringify({ type: "object", ...result })}\n`)
        }
        if (result.status === "failed") {
          const what = result.path === result.key
            ? result.key
            : [result.path, result.key].filter((x) => x !== undefined).join(" -> ")
          return stdio.err(`objectstore: failed: ${what === undefined ? "" : `${what}: `}${result.error}\n`)
        }
        return Effect.void
      }),
    finish: Effect.gen(function*() {
      const millis = yield* tracker.elapsed
      const seconds = millis / 1000
      const summary: Summary = {
        job,
        objects,
        skipped,
        failed: failures.length,
        bytes,
        seconds: Math.round(seconds * 1000) / 1000,
        bytesPerSecond: seconds > 0 ? Math.round(bytes / seconds) : 0
      }
      if (json) yield* stdio.out(`${JSON.stringify({ type: "summary", ...summary })}\n`)
      else {
        const rate = verb === "deleted" ? "" : `, ${Format.bytes(summary.bytesPerSecond)}/s`
        const size = verb === "deleted" ? "" : ` (${Format.bytes(bytes)})`
        yield* stdio.out(
          `${job}: ${verb} ${objects} object${objects === 1 ? "" : "s"}${size} in ${Format.duration(millis)}${rate}; ` +
            `${verb === "deleted" ? "" : `${skipped} skipped (unchanged), `}${failures.length} failed\n`
        )
      }
      if (failures.length === 0) return summary
      const nothingWorked = objects === 0 && skipped === 0
      const codes = new Set(failures.map((f) => f.exitCode ?? CliError.ExitCode.failure))
      const exitCode = nothingWorked && codes.size === 1 ? [...codes][0]! : CliError.ExitCode.partial
      // each failure has its line (or record) and the summary counts them: nothing more to print
      return yield* new CliError.CliError({
        exitCode,
        detail: `${failures.length} of ${results.length} objects failed`,
        printed: true
      })
    })
  }
}

// ---------------------------------------------------------------------------------------------------------------
// lists and manifests

/**
 * The lines of a file, streamed.
 *
 * @internal
 */
export const fileLines = (file: string): Stream.Stream<string, CliError.CliError> =>
  Stream.unwrap(Effect.map(Files.statFile(file), () =>
    Stream.fromAsyncIterable(
      fs.createReadStream(file),
      (cause) => CliError.usage(`cannot read ${file}: ${Files.describeFsError(cause)}`)
    ).pipe(Stream.map((chunk) => chunk as Uint8Array), Stream.decodeText(), Stream.splitLines)))

interface ListEntry {
  readonly line: number
  readonly path: string | undefined
  readonly key: string | undefined
  readonly single: string | undefined
  readonly error?: string | undefined
}

const listEntries = (lines: Stream.Stream<string, CliError.CliError>): Stream.Stream<ListEntry, CliError.CliError> =>
  lines.pipe(
    Stream.zipWithIndex,
    Stream.filterMap(([text, index]) =>
      Either.match(Format.parseListLine(text), {
        onLeft: (reason) =>
          Option.some<ListEntry>({
            line: index + 1,
            path: undefined,
            key: undefined,
            single: undefined,
            error: `line ${index + 1}: ${reason}`
          }),
        onRight: (parsed) => parsed === undefined ? Option.none() : Option.some({ line: index + 1, ...parsed })
      })
    )
  )

// ---------------------------------------------------------------------------------------------------------------
// upload a tree

/** @internal */
export interface PutDirOptions {
  readonly root: string
  readonly prefix: string
  readonly manifest: string | undefined
  readonly writeManifest: string | undefined
  /** Files larger than this go through a multipart upload. */
  readonly threshold: number
  readonly partSize: number | undefined
  /** Large files uploaded at once (each with its own parallel parts). */
  readonly concurrency: number
  readonly force: boolean
  readonly json: boolean
  readonly put: Session.PutOptions
}

interface UploadEntry {
  readonly abs: string
  readonly rel: string
  readonly key: string
  readonly size: number
}

type Decision =
  | { readonly _tag: "Done"; readonly result: ObjectResult }
  | { readonly _tag: "Upload"; readonly entry: UploadEntry; readonly sha256: string }

const unchanged = (metadata: Session.ObjectMetadata, size: number, sha256: string) =>
  metadata.custom.size === String(size) && metadata.custom.sha256 === sha256

/** Heads of many keys through `many`; `None` for missing objects and failed heads. */
const headAll = (
  session: Session.Service,
  keys: ReadonlyArray<string | undefined>
): Effect.Effect<ReadonlyArray<Option.Option<Session.ObjectMetadata>>> =>
  Effect.gen(function*() {
    const wanted = keys.flatMap((key, i) => (key === undefined ? [] : [[i, key] as const]))
    const out: Array<Option.Option<Session.ObjectMetadata>> = keys.map(() => Option.none())
    if (wanted.length === 0) return out
    const outcomes = yield* Batch.collectAll(session.many(wanted.map(([, key]) => Batch.head(key)))).pipe(
      Effect.orElseSucceed(() => [])
    )
    for (const outcome of outcomes) {
      if (outcome.kind === "head" && Either.isRight(outcome.result)) {
        out[wanted[outcome.index]![0]] = outcome.result.right
      }
    }
    return out
  })

/**
 * Uploads a directory tree (or the files a manifest names) and reports each object.
 *
 * @internal
 */
export const putDir = (
  session: Session.Service,
  stdio: Stdio.Service,
  options: PutDirOptions
): Effect.Effect<Summary, CliError.CliError | InvalidInputError> =>
  Effect.scoped(Effect.gen(function*() {
    yield* Files.checkDirectory(options.root)
    const tracker = yield* Progress.make(stdio, "upload")
    const reporter = makeReporter(stdio, "put-dir", "uploaded", options.json, tracker)
    const root = path.resolve(options.root)
    const keyOf = (rel: string) => `${options.prefix}${rel}`

    const fromManifest = (
      manifest: string
    ): Stream.Stream<Either.Either<UploadEntry, ObjectResult>, CliError.CliError> =>
      listEntries(fileLines(manifest)).pipe(Stream.mapEffect((entry) => {
        if (entry.error !== undefined) {
          return Effect.succeed(Either.left(failed(undefined, undefined, CliError.usage(entry.error))))
        }
        const rel = entry.path ?? entry.single!
        const key = entry.key ?? keyOf(rel)
        const abs = path.resolve(root, rel)
        return Files.statFile(abs).pipe(
          Effect.map((size) => Either.right({ abs, rel, key, size })),
          Effect.catchAll((error) => Effect.succeed(Either.left(failed(rel, key, error))))
        )
      }))
    const entries = (options.manifest === undefined
      ? Files.walk(root).pipe(Stream.map((file) => Either.right({ ...file, key: keyOf(file.rel) })))
      : fromManifest(options.manifest)).pipe(
        Stream.tap((entry) => Effect.sync(() => tracker.discover(1, Either.isRight(entry) ? entry.right.size : 0))),
        Stream.onEnd(Effect.sync(() => tracker.discovered()))
      )

    const decisions: Stream.Stream<Decision, CliError.CliError> = entries.pipe(
      Stream.grouped(256),
      Stream.mapEffect((chunk) => {
        const items = Chunk.toReadonlyArray(chunk)
        return Effect.map(
          options.force
            ? Effect.succeed(items.map(() => Option.none<Session.ObjectMetadata>()))
            : headAll(session, items.map((item) => Either.isRight(item) ? item.right.key : undefined)),
          (heads) => items.map((item, i) => [item, heads[i]!] as const)
        )
      }),
      Stream.flattenIterables,
      Stream.mapEffect(([item, remote]): Effect.Effect<Decision> => {
        if (Either.isLeft(item)) return Effect.succeed({ _tag: "Done", result: item.left })
        const entry = item.right
        return Files.sha256File(entry.abs).pipe(
          Effect.map((sha256): Decision =>
            Option.isSome(remote) && unchanged(remote.value, entry.size, sha256)
              ? { _tag: "Done", result: { path: entry.rel, key: entry.key, status: "skipped", bytes: entry.size } }
              : { _tag: "Upload", entry, sha256 }
          ),
          Effect.catchAll((error) =>
            Effect.succeed<Decision>({ _tag: "Done", result: failed(entry.rel, entry.key, error) })
          )
        )
      }, { concurrency: 4 })
    )

    const putOptions = (entry: UploadEntry, sha256: string): Session.PutOptions => ({
      ...options.put,
      key: entry.key,
      metadata: { ...options.put.metadata, sha256, size: String(entry.size) }
    })

    const uploads = decisions.pipe(
      Stream.tap((decision) => decision._tag === "Done" ? reporter.record(decision.result) : Effect.void),
      Stream.filterMap((decision) => decision._tag === "Upload" ? Option.some(decision) : Option.none())
    )
    const [small, large] = yield* Stream.partitionEither(
      uploads,
      (decision) =>
        Effect.succeed(decision.entry.size > options.threshold ? Either.right(decision) : Either.left(decision)),
      { bufferSize: 64 }
    )

    const pending = new Map<number, { readonly entry: UploadEntry; readonly sha256: string }>()
    let index = 0
    const smallJob = session.many(
      small.pipe(Stream.map((decision) => {
        pending.set(index++, decision)
        return Batch.putFile(decision.entry.abs, putOptions(decision.entry, decision.sha256))
      }))
    ).pipe(
      Stream.runForEach((outcome) => {
        const decision = pending.get(outcome.index)
        pending.delete(outcome.index)
        if (decision === undefined) return Effect.void
        const { entry } = decision
        const result: Either.Either<unknown, unknown> = outcome.result
        return reporter.record(
          Either.isRight(result)
            ? { path: entry.rel, key: entry.key, status: "uploaded", bytes: entry.size }
            : failed(entry.rel, entry.key, result.left)
        )
      })
    )

    const largeJob = large.pipe(
      Stream.mapEffect(({ entry, sha256 }) =>
        session.upload({ path: entry.abs }, {
          ...putOptions(entry, sha256),
          threshold: options.threshold,
          partSize: options.partSize,
          onProgress: (progress) => Effect.sync(() => tracker.partial(entry.key, progress.bytes))
        }).pipe(
          Effect.matchEffect({
            onFailure: (error) => reporter.record(failed(entry.rel, entry.key, error)),
            onSuccess: () => reporter.record({ path: entry.rel, key: entry.key, status: "uploaded", bytes: entry.size })
          }),
          Effect.ensuring(Effect.sync(() => tracker.clearPartial(entry.key)))
        ), { concurrency: options.concurrency, unordered: true }),
      Stream.runDrain
    )

    yield* Effect.all([smallJob, largeJob], { concurrency: 2, discard: true })

    if (options.writeManifest !== undefined) {
      const lines = reporter.results()
        .filter((r) => r.status !== "failed" && r.path !== undefined && r.key !== undefined)
        .map((r) => `${r.path}\t${r.key}`)
        .sort()
      const text = lines.length === 0 ? "" : `${lines.join("\n")}\n`
      yield* Files.writeAtomically(
        path.resolve(options.writeManifest),
        Stream.make(new TextEncoder().encode(text)),
        () => Effect.void
      )
    }
    return yield* reporter.finish
  }))

// ---------------------------------------------------------------------------------------------------------------
// download a list

/** @internal */
export interface GetManyOptions {
  readonly lines: Stream.Stream<string, CliError.CliError>
  readonly outDir: string
  readonly concurrency: number
  readonly force: boolean
  readonly json: boolean
}

interface DownloadEntry {
  readonly rel: string
  readonly key: string
  readonly dest: string
  readonly metadata: Session.ObjectMetadata
}

const safeRelative = (rel: string): string | undefined => {
  if (rel === "" || rel.startsWith("/") || rel.includes("\\") || rel.includes("\0")) return undefined
  const segments = rel.split("/")
  if (segments.some((s) => s === ".." || s === "." || s === "")) return undefined
  return segments.join(path.sep)
}

const verifyAgainst = (entry: DownloadEntry) => (written: { readonly sha256: string; readonly size: number }) => {
  const expected = entry.metadata.custom.sha256
  if (expected !== undefined && expected !== written.sha256) {
    return Effect.fail(
      CliError.failure(`checksum mismatch: sha256 ${written.sha256}, expected ${expected}`)
    )
  }
  const size = entry.metadata.custom.size
  if (size !== undefined && size !== String(written.size)) {
    return Effect.fail(CliError.failure(`size mismatch: ${written.size} bytes, expected ${size}`))
  }
  return Effect.void
}

/**
 * Downloads the keys of a list into a folder (temporary file + rename, checksums verified) and reports each.
 *
 * @internal
 */
export const getMany = (
  session: Session.Service,
  stdio: Stdio.Service,
  options: GetManyOptions
): Effect.Effect<Summary, CliError.CliError | InvalidInputError> =>
  Effect.scoped(Effect.gen(function*() {
    const outDir = path.resolve(options.outDir)
    yield* Effect.tryPromise({
      try: () => fsp.mkdir(outDir, { recursive: true }),
      catch: (cause) => CliError.usage(`cannot create ${options.outDir}: ${Files.describeFsError(cause)}`)
    })
    const tracker = yield* Progress.make(stdio, "download")
    const reporter = makeReporter(stdio, "get-many", "downloaded", options.json, tracker)

    type Item = Either.Either<{ readonly rel: string; readonly key: string; readonly dest: string }, ObjectResult>
    const items: Stream.Stream<Item, CliError.CliError> = listEntries(options.lines).pipe(
      Stream.map((entry): Item => {
        if (entry.error !== undefined) return Either.left(failed(undefined, undefined, CliError.usage(entry.error)))
        const key = entry.key ?? entry.single!
        const rel = entry.path ?? key
        const safe = safeRelative(rel)
        if (safe === undefined) {
          return Either.left(
            failed(rel, key, CliError.usage(`unsafe path ${JSON.stringify(rel)} (absolute, or with . or .. segments)`))
          )
        }
        return Either.right({ rel, key, dest: path.join(outDir, safe) })
      })
    )

    type Decision =
      | { readonly _tag: "Done"; readonly result: ObjectResult }
      | { readonly _tag: "Download"; readonly entry: DownloadEntry }
    const decisions: Stream.Stream<Decision, CliError.CliError> = items.pipe(
      Stream.grouped(256),
      Stream.mapEffect((chunk) => {
        const list = Chunk.toReadonlyArray(chunk)
        return Effect.map(
          headAll(session, list.map((item) => Either.isRight(item) ? item.right.key : undefined)),
          (heads) => list.map((item, i) => [item, heads[i]!] as const)
        )
      }),
      Stream.flattenIterables,
      Stream.mapEffect(([item, remote]): Effect.Effect<Decision> => {
        if (Either.isLeft(item)) {
          tracker.discover(1, 0)
          return Effect.succeed({ _tag: "Done", result: item.left })
        }
        const { dest, key, rel } = item.right
        if (Option.isNone(remote)) {
          tracker.discover(1, 0)
          return Effect.flatMap(
            Effect.either(session.head(key)),
            (head): Effect.Effect<Decision> =>
              Either.isRight(head)
                ? Effect.succeed({ _tag: "Download", entry: { rel, key, dest, metadata: head.right } })
                : Effect.succeed({ _tag: "Done", result: failed(rel, key, head.left) })
          )
        }
        const metadata = remote.value
        const size = Number(metadata.custom.size ?? Number.NaN)
        tracker.discover(1, Number.isFinite(size) ? size : 0)
        const entry: DownloadEntry = { rel, key, dest, metadata }
        if (options.force || metadata.custom.sha256 === undefined || !Number.isFinite(size)) {
          return Effect.succeed({ _tag: "Download", entry })
        }
        return Effect.gen(function*() {
          const local = yield* Files.existingSize(dest)
          if (local !== size) return { _tag: "Download", entry } as const
          const hash = yield* Effect.orElseSucceed(Files.sha256File(dest), () => "")
          return hash === metadata.custom.sha256
            ? { _tag: "Done", result: { path: rel, key, status: "skipped", bytes: size } } as const
            : { _tag: "Download", entry } as const
        })
      }, { concurrency: 4 }),
      // the totals are known once every key has been looked up
      Stream.onEnd(Effect.sync(() => tracker.discovered()))
    )

    const downloads = decisions.pipe(
      Stream.tap((decision) => decision._tag === "Done" ? reporter.record(decision.result) : Effect.void),
      Stream.filterMap((decision) => decision._tag === "Download" ? Option.some(decision.entry) : Option.none())
    )
    const isSmall = (entry: DownloadEntry) => {
      const size = Number(entry.metadata.custom.size ?? Number.NaN)
      return Number.isFinite(size) && size <= SMALL_DOWNLOAD
    }
    const [small, large] = yield* Stream.partitionEither(
      downloads,
      (entry) => Effect.succeed(isSmall(entry) ? Either.left(entry) : Either.right(entry)),
      { bufferSize: 64 }
    )

    const written = (entry: DownloadEntry, size: number): ObjectResult => ({
      path: entry.rel,
      key: entry.key,
      status: "downloaded",
      bytes: size
    })

    const pending = new Map<number, DownloadEntry>()
    let index = 0
    const smallJob = session.many(
      small.pipe(Stream.map((entry) => {
        pending.set(index++, entry)
        return Batch.get(entry.key)
      }))
    ).pipe(
      Stream.mapEffect((outcome) => {
        const entry = pending.get(outcome.index)
        pending.delete(outcome.index)
        if (entry === undefined || outcome.kind !== "get") return Effect.void
        const result = outcome.result
        if (Either.isLeft(result)) return reporter.record(failed(entry.rel, entry.key, result.left))
        if (Option.isNone(result.right)) {
          return reporter.record(failed(entry.rel, entry.key, notFound))
        }
        const bytes = result.right.value.bytes
        return Files.writeAtomically(entry.dest, Stream.make(bytes), verifyAgainst(entry)).pipe(
          Effect.matchEffect({
            onFailure: (error) => reporter.record(failed(entry.rel, entry.key, error)),
            onSuccess: (w) => reporter.record(written(entry, w.size))
          })
        )
      }, { concurrency: 4 }),
      Stream.runDrain
    )

    const largeJob = large.pipe(
      Stream.mapEffect((entry) =>
        Effect.scoped(Effect.gen(function*() {
          const response = yield* session.get(entry.key)
          let got = 0
          const body = response.stream.pipe(Stream.tap((chunk) =>
            Effect.sync(() => {
              got += chunk.length
              tracker.partial(entry.key, got)
            })
          ))
          return yield* Files.writeAtomically(entry.dest, body, verifyAgainst(entry))
        })).pipe(
          Effect.matchEffect({
            onFailure: (error) => reporter.record(failed(entry.rel, entry.key, error)),
            onSuccess: (w) => reporter.record(written(entry, w.size))
          }),
          Effect.ensuring(Effect.sync(() => tracker.clearPartial(entry.key)))
        ), { concurrency: options.concurrency, unordered: true }),
      Stream.runDrain
    )

    yield* Effect.all([smallJob, largeJob], { concurrency: 2, discard: true })
    return yield* reporter.finish
  }))

// ---------------------------------------------------------------------------------------------------------------
// delete a list

/**
 * Deletes keys (given one per line, or as the key column of a manifest) through `many`.
 *
 * @internal
 */
export const deleteMany = (
  session: Session.Service,
  stdio: Stdio.Service,
  lines: Stream.Stream<string, CliError.CliError>,
  json: boolean
): Effect.Effect<Summary, CliError.CliError | InvalidInputError> =>
  Effect.scoped(Effect.gen(function*() {
    const tracker = yield* Progress.make(stdio, "delete", { bytes: false })
    const reporter = makeReporter(stdio, "rm", "deleted", json, tracker)
    const keys: Array<string> = []
    const operations = listEntries(lines).pipe(
      Stream.tap((entry) =>
        entry.error === undefined
          ? Effect.void
          : reporter.record(failed(undefined, undefined, CliError.usage(entry.error)))
      ),
      Stream.filterMap((entry) => entry.error === undefined ? Option.some(entry.key ?? entry.single!) : Option.none()),
      Stream.map((key) => {
        keys.push(key)
        tracker.discover(1, 0)
        return Batch.delete(key)
      }),
      Stream.onEnd(Effect.sync(() => tracker.discovered()))
    )
    yield* session.many(operations).pipe(
      Stream.runForEach((outcome) => {
        const key = keys[outcome.index]
        const result: Either.Either<unknown, unknown> = outcome.result
        return reporter.record(
          Either.isRight(result)
            ? { path: undefined, key, status: "deleted", bytes: 0 }
            : failed(undefined, key, result.left)
        )
      })
    )
    return yield* reporter.finish
  }))
