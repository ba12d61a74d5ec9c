// A scripted batch job: uploads every file under a folder with `session.many` (keys are the relative paths;
// small files travel together in batch requests, large ones as single requests), then reads everything back with
// one more `many` and compares the bytes. Prints one JSON summary line; exits 1 if anything failed.
//
//   OBJECTSTORE_URL=memory: npx tsx examples/batch-job.ts ./docs        # no server needed (embedded)
//   OBJECTSTORE_URL=http://localhost:8888 npx tsx examples/batch-job.ts ./docs
//
// Config (environment): OBJECTSTORE_URL (default memory:), OBJECTSTORE_USECASE (default batch-job),
// OBJECTSTORE_SCOPE (`org=42;project=1337` or `org=42 project=1337`, default job=example), OBJECTSTORE_TOKEN (optional).
import { Batch, ObjectstoreClient, Scope, Usecase } from "@objectstore/client"
import * as Embedded from "@objectstore/testing/Embedded"
import * as Config from "effect/Config"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Option from "effect/Option"
import * as Stream from "effect/Stream"
import * as fs from "node:fs"
import * as path from "node:path"

const folder = path.resolve(process.argv[2] ?? ".")

const JobConfig = Config.all({
  usecase: Config.string("OBJECTSTORE_USECASE").pipe(Config.withDefault("batch-job")),
  scope: Scope.config("OBJECTSTORE_SCOPE").pipe(Config.withDefault(Scope.make({ job: "example" }))),
  token: Config.option(Config.redacted("OBJECTSTORE_TOKEN")),
  baseUrl: Config.string("OBJECTSTORE_URL").pipe(Config.withDefault("memory:"))
})

/** Every regular file under `root`, as paths relative to it (with `/`). */
const listFiles = (root: string): Array<string> =>
  fs.readdirSync(root, { recursive: true, withFileTypes: true })
    .filter((entry) => entry.isFile())
    .map((entry) => path.relative(root, path.join(entry.parentPath, entry.name)).split(path.sep).join("/"))
    .sort()

const job = Effect.gen(function*() {
  const config = yield* JobConfig
  const client = yield* ObjectstoreClient.ObjectstoreClient
  const session = yield* client.session(Usecase.make(config.usecase), config.scope)
  const files = listFiles(folder)

  // 1. upload: a stream of operations, outcomes as they complete
  const failures: Array<string> = []
  let uploaded = 0
  yield* session.many(
    Stream.fromIterable(files).pipe(Stream.map((file) => Batch.putFile(path.join(folder, file), { key: file })))
  ).pipe(
    Stream.runForEach((outcome) =>
      Effect.sync(() => {
        const result: Either.Either<unknown, Batch.ManyError> = outcome.result
        if (Either.isRight(result)) uploaded++
        else failures.push(`put ${outcome.key ?? files[outcome.index]}: ${result.left.message}`)
      })
    )
  )

  // 2. verify: read everything back and compare with the files
  let verified = 0
  let bytes = 0
  yield* session.many(files.map((file) => Batch.get(file))).pipe(
    Stream.runForEach((outcome) =>
      Effect.sync(() => {
        if (outcome.kind !== "get") return
        const file = files[outcome.index]!
        if (Either.isLeft(outcome.result)) return failures.push(`get ${file}: ${outcome.result.left.message}`)
        if (Option.isNone(outcome.result.right)) return failures.push(`get ${file}: missing`)
        const expected = fs.readFileSync(path.join(folder, file))
        const actual = outcome.result.right.value.bytes
        if (Buffer.compare(expected, actual) !== 0) return failures.push(`get ${file}: content differs`)
        verified++
        bytes += actual.length
      })
    )
  )
  return { files: files.length, uploaded, verified, bytes, failures }
})

const main = Effect.gen(function*() {
  const { baseUrl, token } = yield* JobConfig
  return yield* Effect.provide(job, Embedded.layerFromUrl({ baseUrl, token: Option.getOrUndefined(token) }))
})

Effect.runPromise(main).then(
  (summary) => {
    console.log(JSON.stringify(summary))
    process.exitCode = summary.failures.length === 0 ? 0 : 1
  },
  (error) => {
    console.error(String(error))
    process.exitCode = 1
  }
)
