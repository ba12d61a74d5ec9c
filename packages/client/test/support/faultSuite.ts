/**
 * Every client operation against every fault of the fault server (`faultServer.ts`): what happens (outcome, time,
 * attempts the server saw, connections left open), for the fault suite (`FaultSuite.test.ts`) and the table of
 * `bench/faults.ts`.
 *
 * Each cell runs against a fresh fault server in front of one real server, with a fresh `NodeClient` (its own
 * connection pool, a static token), either with explicit short timeouts on the live clock, or with the default
 * options on a `TestClock` that {@link drive} moves from one pending timer to the next whenever the fault server has
 * been quiet for a while (so a 30 s default costs no 30 s of waiting, and a transfer that keeps moving is never
 * hurried).
 */
import type * as HttpClient from "@effect/platform/HttpClient"
import * as HttpServer from "@effect/platform/HttpServer"
import { Auth, Batch, Body, Compression, Metrics, ObjectstoreClient, Scope, Usecase } from "@objectstore/client"
import * as NodeClient from "@objectstore/client/NodeClient"
import type * as Session from "@objectstore/client/Session"
import * as Cause from "effect/Cause"
import * as Chunk from "effect/Chunk"
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Exit from "effect/Exit"
import * as Fiber from "effect/Fiber"
import * as HashMap from "effect/HashMap"
import * as Layer from "effect/Layer"
import * as Logger from "effect/Logger"
import * as LogLevel from "effect/LogLevel"
import * as Metric from "effect/Metric"
import * as Option from "effect/Option"
import * as Redacted from "effect/Redacted"
import * as Schedule from "effect/Schedule"
import type * as EffectScope from "effect/Scope"
import * as Stream from "effect/Stream"
import * as TestClock from "effect/TestClock"
import * as TestContext from "effect/TestContext"
import type * as Tracer from "effect/Tracer"
import * as crypto from "node:crypto"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { monitorEventLoopDelay } from "node:perf_hooks"
import { inspect } from "node:util"
import * as ClientActivity from "./clientActivity.js"
import * as FaultServer from "./faultServer.js"
import { recordingTracer } from "./tracer.js"

/** The token every cell's client sends; a secret scan looks for it. */
export const TOKEN = "f4ult-SECRET-t0ken-7d1e0c"

export const usecase = Usecase.make("faults")
export const scope = Scope.make({ org: 1 })

const KiB = 1024
const MiB = 1024 * KiB

/** Bytes that do not compress, so a zstd upload puts as many bytes on the wire as it reads. */
const noise = crypto.randomBytes(17 * MiB)
const payload = (size: number, offset = 0): Uint8Array =>
  new Uint8Array(noise.buffer, noise.byteOffset + (offset % (noise.length - size + 1)), size)

/** A stream of `size` bytes in 64 KiB chunks, made on demand. */
const chunks = (size: number): Stream.Stream<Uint8Array> =>
  Stream.range(0, Math.ceil(size / (64 * KiB)) - 1).pipe(
    Stream.rechunk(1),
    Stream.map((i) => payload(Math.min(64 * KiB, size - i * 64 * KiB), i * 64 * KiB))
  )

// ---------------------------------------------------------------------------------------------------------------
// faults

export interface FaultCase {
  readonly name: string
  readonly fault: FaultServer.Fault
  /** Request bodies must outgrow the socket buffers for the fault to bite. */
  readonly large?: boolean | undefined
  /** Request bodies large enough that the trickle outlasts the deadlines several times. */
  readonly trickle?: boolean | undefined
}

export const faults: ReadonlyArray<FaultCase> = [
  { name: "never accept (full backlog)", fault: { _tag: "NeverAccept" } },
  { name: "accept, never read", fault: { _tag: "NeverRead" } },
  { name: "stall before headers", fault: { _tag: "StallHeaders" } },
  { name: "stall mid-download", fault: { _tag: "StallBody" } },
  { name: "stop reading the upload", fault: { _tag: "StopReading", after: 64 * KiB }, large: true },
  { name: "reset before upload", fault: { _tag: "ResetBeforeUpload" } },
  { name: "reset during upload", fault: { _tag: "ResetDuringUpload", after: 32 * KiB } },
  { name: "reset before download", fault: { _tag: "ResetBeforeDownload" } },
  { name: "reset during download", fault: { _tag: "ResetDuringDownload" } },
  { name: "early 413", fault: { _tag: "Early", status: 413 } },
  { name: "early 429", fault: { _tag: "Early", status: 429 } },
  { name: "early 429, Retry-After: 1", fault: { _tag: "Early", status: 429, retryAfter: 1 } },
  { name: "early 500", fault: { _tag: "Early", status: 500 } },
  { name: "early 503", fault: { _tag: "Early", status: 503 } },
  { name: "early 503, Retry-After: 1", fault: { _tag: "Early", status: 503, retryAfter: 1 } },
  { name: "truncate", fault: { _tag: "Truncate" } },
  { name: "corrupt zstd", fault: { _tag: "CorruptZstd" } },
  // Downloads at 200 KiB/s (a 256 KiB object takes 1.3 s). Uploads: the first 12 MiB at 16 MB/s, the rest at full
  // speed. The socket buffers (about 4 MB on loopback) take the first part of a 16 MiB body at once; the client
  // then sees the rest taken, in bursts as the buffers drain (125 ms apart at that rate), for 0.8 s, and hands the
  // last piece over once the server reads at full speed, so the buffers drain at once.
  {
    name: "trickle",
    fault: { _tag: "Trickle", bytes: 8 * KiB, upload: 640 * KiB, slow: 12 * MiB, every: 40 },
    trickle: true
  }
]

// ---------------------------------------------------------------------------------------------------------------
// operations

export interface Env {
  readonly upstream: string
  /** An object the read operations read (never written by them). */
  readonly stored: string
  /** A client straight to the upstream server, to prepare what the operations read. */
  readonly healthy: Session.Service
  /** A folder for file bodies, removed by whoever made it. */
  readonly dir: string
}

export interface Operation {
  readonly name: string
  /** Whether the request body is a single-use stream (never sent twice). */
  readonly singleUse: boolean
  /** Which requests of the operation get the fault (default: all). */
  readonly when?: ((request: FaultServer.RequestHead) => boolean) | undefined
  readonly setup: (env: Env, key: string) => Effect.Effect<void, unknown>
  /** The keys an operation may have written (removed from the upstream server after the cell; default: `key`). */
  readonly keys?: ((key: string) => ReadonlyArray<string>) | undefined
  readonly run: (session: Session.Service, env: Env, key: string, fault: FaultCase) => Effect.Effect<void, unknown>
}

/**
 * The real server behind the fault servers (`Server.layer` in the test's context), a client straight to it, and a
 * scoped folder for file bodies.
 */
export const environment = Effect.gen(function*() {
  const upstream = yield* HttpServer.addressFormattedWith(Effect.succeed)
  const dir = yield* Effect.acquireRelease(
    Effect.sync(() => fs.mkdtempSync(path.join(os.tmpdir(), "objectstore-faults-"))),
    (dir) => Effect.sync(() => fs.rmSync(dir, { recursive: true, force: true }))
  )
  const context = yield* Layer.build(NodeClient.layer({ baseUrl: upstream, metrics: false }))
  const healthy = yield* Context.get(context, ObjectstoreClient.ObjectstoreClient).session(usecase, scope)
  const stored = yield* healthy.put(payload(OBJECT_SIZE), { key: "stored" })
  return { upstream, stored, healthy, dir } satisfies Env
})

const OBJECT_SIZE = 256 * KiB
const bodySize = (fault: FaultCase) => (fault.trickle === true ? 16 * MiB : fault.large === true ? 8 * MiB : 100 * KiB)

const stored = (env: Env, key: string) => Effect.asVoid(env.healthy.put(payload(OBJECT_SIZE), { key }))

const fileOf = (env: Env, key: string, size: number) => {
  const file = path.join(env.dir, key.replace(/[^a-z0-9-]/gi, "_"))
  return Effect.as(Effect.promise(() => fs.promises.writeFile(file, payload(size))), file)
}

/** A many whose failure is the first failed operation's (all four fail alike under a fault on the batch request). */
const manyOutcome = (outcomes: ReadonlyArray<Batch.Outcome>) => {
  const failures = outcomes.flatMap((outcome) => {
    const result: Either.Either<unknown, unknown> = outcome.result
    return Either.isLeft(result) ? [result.left] : []
  })
  return failures.length === 0 ? Effect.void : Effect.fail(failures[0]!)
}

export const operations: ReadonlyArray<Operation> = [
  {
    name: "put bytes",
    singleUse: false,
    setup: () => Effect.void,
    run: (session, _env, key, fault) => session.put(payload(bodySize(fault)), { key })
  },
  {
    name: "put stream",
    singleUse: true,
    setup: () => Effect.void,
    run: (session, _env, key, fault) => session.put(chunks(bodySize(fault)), { key })
  },
  {
    name: "put file",
    singleUse: false,
    setup: () => Effect.void,
    run: (session, env, key, fault) =>
      Effect.flatMap(fileOf(env, key, bodySize(fault)), (file) =>
        session.put(
          Body.replayable(
            () =>
              Stream.fromAsyncIterable(
                fs.createReadStream(file, { highWaterMark: 64 * KiB }) as AsyncIterable<Uint8Array>,
                (cause) => cause
              ),
            { contentLength: bodySize(fault) }
          ),
          { key, compression: "none" }
        ))
  },
  {
    name: "get (stream)",
    singleUse: false,
    setup: () => Effect.void,
    keys: () => [],
    run: (session, env) => Effect.scoped(Effect.flatMap(session.get(env.stored), (r) => Stream.runDrain(r.stream)))
  },
  {
    name: "getBytes",
    singleUse: false,
    setup: () => Effect.void,
    keys: () => [],
    run: (session, env) => session.getBytes(env.stored)
  },
  {
    name: "head",
    singleUse: false,
    setup: () => Effect.void,
    keys: () => [],
    run: (session, env) => session.head(env.stored)
  },
  { name: "delete", singleUse: false, setup: stored, run: (session, _env, key) => session.delete(key) },
  {
    name: "many",
    singleUse: false,
    setup: () => Effect.void,
    keys: (key) => [`${key}-new`],
    run: (session, env, key) =>
      Effect.flatMap(
        Batch.collectAll(session.many([
          Batch.put(payload(4 * KiB), { key: `${key}-new` }),
          Batch.get(env.stored),
          Batch.head(env.stored),
          Batch.delete(`${key}-gone`)
        ])),
        manyOutcome
      )
  },
  {
    name: "upload (multipart)",
    singleUse: false,
    when: (request) => request.url.includes("/objects:multipart:parts/"),
    setup: () => Effect.void,
    // A part must outgrow the socket buffers for `StopReading` to bite (5 MiB ones, as production needs); elsewhere
    // three small parts do (the client warns about them, in the recording logger).
    run: (session, _env, key, fault) =>
      fault.large === true
        ? session.upload(chunks(6 * MiB), { key, partSize: 5 * MiB })
        : session.upload(chunks(MiB + 256 * KiB), { key, partSize: 512 * KiB })
  }
]

// ---------------------------------------------------------------------------------------------------------------
// recording what a tracer and a logger see

/** Everything a tracer and a logger at level All were given, serialised as an exporter would. */
export interface Recording {
  readonly texts: Array<string>
  /** The exits spans ended with, to serialise again later, outside any fiber. */
  readonly exits: Array<unknown>
  readonly tracer: Tracer.Tracer
  readonly logger: Logger.Logger<unknown, void>
}

const show = (value: unknown) => inspect(value, { depth: 8 })

export const recording = (): Recording => {
  const texts: Array<string> = []
  const exits: Array<unknown> = []
  const tracer = recordingTracer([], {
    onEnd: ({ attributes, name }, exit) => {
      exits.push(exit)
      texts.push(name, JSON.stringify(exit), show(exit), String(exit), show([...attributes]))
    },
    onAttribute: (key, value) => void texts.push(`${key}=${show(value)}`),
    onEvent: (event, attributes) => void texts.push(event, show(attributes))
  })
  const logger = Logger.make<unknown, void>((options) => {
    texts.push(
      show(options.message),
      JSON.stringify(options.message) ?? "",
      Cause.pretty(options.cause),
      show(HashMap.toEntries(options.annotations)),
      show(options.spans)
    )
  })
  return { texts, exits, tracer, logger }
}

/** What in a recording (and in an error, however it is printed) contains the token. */
export const leaks = (record: Recording, error: unknown, cause: Cause.Cause<unknown> | undefined): Array<string> => {
  const later = record.exits.flatMap((exit) => [JSON.stringify(exit), show(exit), String(exit)])
  const printed = error === undefined
    ? []
    : [String(error), JSON.stringify(error), show(error), cause === undefined ? "" : Cause.pretty(cause)]
  const metrics = Metric.unsafeSnapshot().map((pair) => JSON.stringify(pair.metricKey))
  return [...record.texts, ...later, ...printed, ...metrics].filter((text) => text.includes(TOKEN))
}

// ---------------------------------------------------------------------------------------------------------------
// running a cell

export type Mode = "explicit" | "default"

/** The client options of the explicit run: short deadlines, one quick retry, the transport's spans on. */
export const explicitOptions = {
  connectTimeout: "150 millis",
  timeout: "600 millis",
  idleTimeout: "500 millis",
  keepAliveTimeout: "250 millis",
  retry: { schedule: Schedule.spaced("20 millis"), times: 1 },
  httpSpans: true
} as const

/** The deadlines in milliseconds of each run (the default run's are the defaults). */
export const limits = {
  explicit: { connect: 150, headers: 600, idle: 500, retries: 1, keepAlive: 250 },
  default: { connect: 100, headers: 30_000, idle: 30_000, retries: 3, keepAlive: 4000 }
} as const

export interface Result {
  readonly operation: string
  readonly fault: string
  readonly mode: Mode
  /** `ok`, or the failure as `Tag Reason` (`ResponseError RateLimited 429`...). */
  readonly outcome: string
  readonly error: unknown
  /** Milliseconds on the clock the client ran on (the TestClock's, in the default run). */
  readonly millis: number
  /** Requests the fault server applied the fault to (connections, for `NeverRead`). */
  readonly faulted: number
  /** Attempts the client reports on its error. */
  readonly attempts: number | undefined
  readonly retries: string | undefined
  /** Connections to the fault server still open once the operation is over (after stalls are released). */
  readonly open: number
  /** Connections still open after the keep-alive timeout (explicit run only; `undefined` in the default run). */
  readonly lingering: number | undefined
  /** Where the token was found (nowhere, hopefully). */
  readonly leaks: ReadonlyArray<string>
}

const describeError = (error: unknown): string => {
  const e = error as { _tag?: string; reason?: string; status?: number; operation?: string }
  if (e._tag === "ResponseError") return `ResponseError ${e.reason} ${e.status}`
  if (e._tag === "NetworkError" || e._tag === "AuthError") return `${e._tag} ${e.reason}`
  if (e._tag === "CompressionError") return `CompressionError ${e.operation}`
  return e._tag ?? String(error)
}

/**
 * `NodeClient.layer` in two halves: the transport (its connect deadline on the clock in context when it is built:
 * the live one) and the client (its deadlines on the clock of the fiber that runs a request: the TestClock, in the
 * default run). On loopback a connection completes at once; a TestClock moved while it does would time it out.
 */
const transport = (mode: Mode) =>
  NodeClient.layerHttpClient({ ...(mode === "explicit" ? explicitOptions : {}), direct: true })

/**
 * The idle deadline of the trickle cells with explicit deadlines. Their pauses are 40 to 125 ms on a quiet machine;
 * what they show is that a transfer lasting longer than the response deadline (`timeout`, 600 ms) is never cut, and
 * 500 ms of idle is within reach of a loaded machine's scheduling (the client, both servers and the test share one
 * thread). That the idle deadline is re-armed by every chunk is shown on the TestClock (`default`), where it cannot
 * be hurried by load.
 */
const TRICKLE_IDLE_MS = 2000

const clientLayer = (baseUrl: string, mode: Mode, http: Context.Context<HttpClient.HttpClient>, fault: FaultCase) =>
  ObjectstoreClient.layer({
    baseUrl,
    ...(mode === "explicit" ? explicitOptions : {}),
    ...(mode === "explicit" && fault.trickle === true ? { idleTimeout: `${TRICKLE_IDLE_MS} millis` } : {})
  }).pipe(
    Layer.provide(Layer.mergeAll(
      Layer.succeedContext(http),
      Auth.layerToken(Redacted.make(TOKEN)),
      Compression.layer,
      Metrics.layer
    ))
  )

/** Real milliseconds, whatever clock the fiber has. */
const realSleep = (millis: number) => Effect.promise(() => new Promise((resolve) => setTimeout(resolve, millis)))

/** Real time until the event loop has had its turn at I/O (`setImmediate` runs after the poll phase). */
const pendingIo = Effect.promise(() => new Promise<void>((resolve) => setImmediate(resolve)))

/**
 * Runs `fiber` to its end on the TestClock: whenever nothing is being exchanged with the fault server (every
 * request answered, reset or stalled by the fault) and neither it nor the client (its connections to it, its codec:
 * `ClientActivity`) has done anything for `quietMillis` of real time, since the last move too, the clock jumps to
 * the earliest pending timer. A transfer that keeps moving is never hurried; a stall or a backoff costs
 * `quietMillis`.
 *
 * Quiet is judged twice, the second time after the event loop's next turn at I/O: the client, the fault server
 * and this loop share one thread, and a busy stretch (other cells, a codec's output) can leave data the client
 * wrote waiting unread in the server's socket while the timer of this loop fires first, which would make a request
 * in flight look like a stall. Without these two checks, on Node.js 22 and 24 (whose codec, `node:zlib`, works off
 * the main thread) the clock moved while the client was still compressing or writing: a stopped single-use upload
 * took 10 to 44 idle deadlines instead of one (300 to 1,320 s on the TestClock), and parts of a multipart upload
 * were timed out and sent again.
 *
 * A transfer that keeps moving for more than 5 s of real time (the trickle cells, on a loaded machine) leaves the
 * clock where it is that long, and the TestClock logs its "not advancing the test clock" warning: expected here.
 */
export const drive = <A, E>(
  fiber: Fiber.RuntimeFiber<A, E>,
  server: FaultServer.FaultServer,
  quietMillis = 40
): Effect.Effect<Exit.Exit<A, E>> =>
  Effect.gen(function*() {
    let moved = performance.now()
    const quiet = () =>
      server.busy() === 0 &&
      performance.now() - Math.max(server.lastActivity(), ClientActivity.lastActivity(server.url), moved) >=
        quietMillis
    for (;;) {
      yield* realSleep(5)
      const done = yield* Fiber.poll(fiber)
      if (Option.isSome(done)) return done.value
      if (!quiet()) continue
      yield* pendingIo
      if (!quiet()) continue
      const pending = yield* TestClock.sleeps()
      if (Chunk.isEmpty(pending)) continue
      const at = Math.min(...Chunk.toReadonlyArray(pending))
      const clock = yield* TestClock.currentTimeMillis
      // Whole milliseconds: jittered schedules leave fractions that a float sum can fall just short of.
      yield* TestClock.adjust(Math.max(1, Math.ceil(at - clock)))
      moved = performance.now()
    }
  })

/** Waits (real time, at most `millis`) until at most `spare` connections to the server are open. */
const openAfter = (server: FaultServer.FaultServer, spare: number, millis: number) =>
  Effect.gen(function*() {
    const deadline = performance.now() + millis
    while (server.open() > spare && performance.now() < deadline) yield* realSleep(10)
    return server.open()
  })

/** Connections an operation may leave open: one per request in flight when it failed (each may leave a spare). */
export const spares = (operation: Operation): number => (operation.name.startsWith("upload") ? 4 : 1)

let counter = 0

/** One operation against one fault, with a recording tracer and logger installed. */
export const runCell = (
  env: Env,
  operation: Operation,
  fault: FaultCase,
  mode: Mode
): Effect.Effect<Result, unknown, EffectScope.Scope> =>
  Effect.gen(function*() {
    const key = `${operation.name.replace(/\W+/g, "-")}-${fault.name.replace(/\W+/g, "-")}-${mode}-${counter++}`
    yield* operation.setup(env, key)
    const server = yield* FaultServer.make({ fault: fault.fault, upstream: env.upstream, when: operation.when })
    yield* Effect.addFinalizer(() => Effect.sync(() => ClientActivity.forget(server.url)))
    const record = recording()
    const cell = Effect.gen(function*() {
      const http = yield* Effect.provide(Layer.build(transport(mode)), TestContext.LiveContext)
      const context = yield* Layer.build(clientLayer(server.url, mode, http, fault))
      const client = Context.get(context, ObjectstoreClient.ObjectstoreClient)
      const session = yield* client.session(usecase, scope)
      const clock = yield* Effect.clock
      const start = clock.unsafeCurrentTimeMillis()
      const fiber = yield* Effect.fork(
        operation.run(session, env, key, fault).pipe(
          Effect.withTracer(record.tracer),
          Effect.provide(Logger.replace(Logger.defaultLogger, record.logger)),
          Logger.withMinimumLogLevel(LogLevel.All)
        )
      )
      const exit = mode === "default" ? yield* drive(fiber, server) : yield* Fiber.await(fiber)
      const millis = clock.unsafeCurrentTimeMillis() - start
      yield* server.release
      const open = yield* openAfter(server, spares(operation), 3000)
      const lingering = mode === "explicit" ? yield* openAfter(server, 0, limits.explicit.keepAlive + 1500) : undefined
      const failure = Exit.isFailure(exit)
        ? Option.getOrElse(Cause.failureOption(exit.cause), () => Cause.squash(exit.cause))
        : undefined
      const e = failure as { attempts?: number; retries?: string } | undefined
      return {
        operation: operation.name,
        fault: fault.name,
        mode,
        outcome: Exit.isSuccess(exit) ? "ok" : describeError(failure),
        error: failure,
        millis,
        faulted: server.faulted(),
        attempts: e?.attempts,
        retries: e?.retries,
        open,
        lingering,
        leaks: leaks(record, failure, Exit.isFailure(exit) ? exit.cause : undefined)
      } satisfies Result
    })
    const result = yield* Effect.scoped(mode === "default" ? Effect.provide(cell, TestContext.TestContext) : cell)
    yield* Effect.forEach(operation.keys?.(key) ?? [key], (written) => Effect.ignore(env.healthy.delete(written)), {
      discard: true
    })
    return result
  })

// ---------------------------------------------------------------------------------------------------------------
// what each cell must show

export interface Expected {
  /** `ok` or `Tag Reason` (with the status for a `ResponseError`). */
  readonly outcome: string
  /** The client's `attempts` and `retries` (absent on success and on errors that carry none). */
  readonly attempts: number | undefined
  readonly retries: string | undefined
  /** The requests (connections, for `NeverRead`) the fault server saw: at least, at most. */
  readonly faulted: readonly [number, number]
  /** The least time the outcome can take, on the client's clock. */
  readonly minMillis: number
}

const bodiless = (operation: Operation) => operation.name === "head" || operation.name === "delete"

/** The documented behaviour of `operation` under `fault` (README, `ObjectstoreError`). */
export const expected = (operation: Operation, fault: FaultCase, mode: Mode): Expected => {
  const limit = limits[mode]
  const all = limit.retries + 1
  const upload = operation.name.startsWith("upload")
  const stream = operation.name === "get (stream)"
  /** A transient failure of every attempt: the single-use body is sent once, anything else until retries end. */
  const transient = (outcome: string, each: number, extra = 0): Expected => {
    const attempts = operation.singleUse ? 1 : all
    return {
      outcome,
      attempts,
      retries: operation.singleUse ? "SingleUseBody" : "Exhausted",
      // upload: every part is tried, 3 at once, until one gives up
      faulted: upload ? [attempts, 3 * attempts] : [attempts, attempts],
      minMillis: attempts * each + (attempts - 1) * extra
    }
  }
  const once = (outcome: string, retries: string | undefined, each = 0): Expected => ({
    outcome,
    attempts: retries === undefined ? undefined : 1,
    retries,
    faulted: upload ? [1, 3] : [1, 1],
    minMillis: each
  })
  const ok: Expected = {
    outcome: "ok",
    attempts: undefined,
    retries: undefined,
    faulted: upload ? [3, 3] : [1, 1],
    minMillis: 0
  }
  const f = fault.fault
  switch (f._tag) {
    case "NeverAccept":
      return { ...transient("NetworkError Timeout", limit.connect), faulted: [0, 0] }
    case "NeverRead": {
      // every connection counts, including the spare the last abandoned attempt leaves
      if (upload) return { ...once("NetworkError Timeout", "NotIdempotent", limit.headers), faulted: [1, 2] }
      const t = transient("NetworkError Timeout", limit.headers)
      return { ...t, faulted: [t.attempts!, t.attempts! + 1] }
    }
    case "StallHeaders":
    case "StopReading":
      // A put's body outgrows the socket buffers: the upload stalls (idle deadline). A multipart part may or may not
      // fit in them, depending on how far the other parts got: either deadline can end an attempt.
      return transient(
        "NetworkError Timeout",
        operation.name.startsWith("put")
          ? limit.idle
          : upload
          ? Math.min(limit.idle, limit.headers)
          : limit.headers
      )
    case "StallBody":
      if (bodiless(operation)) return ok
      if (stream) return once("NetworkError Timeout", "BodyStreamed", limit.idle)
      return transient("NetworkError Timeout", limit.idle)
    case "ResetBeforeUpload":
    case "ResetDuringUpload":
    case "ResetBeforeDownload":
      return transient("NetworkError Transport", 0)
    case "ResetDuringDownload":
    case "Truncate":
      if (bodiless(operation)) return ok
      if (stream) return once("NetworkError Transport", "BodyStreamed")
      return transient("NetworkError Transport", 0)
    case "Early": {
      const reason = f.status === 413
        ? "BadRequest"
        : f.status === 429
        ? "RateLimited"
        : f.status === 500
        ? "ServerError"
        : "Overloaded"
      const outcome = `ResponseError ${reason} ${f.status}`
      if (f.status === 413 || f.status === 500) return once(outcome, "NotTransient")
      return transient(outcome, 0, f.retryAfter === undefined ? 0 : f.retryAfter * 1000)
    }
    case "CorruptZstd":
      return stream || operation.name === "getBytes" || operation.name === "many"
        ? once("CompressionError decompress", undefined)
        : ok
    case "Trickle":
    case "None":
      return ok
  }
}

/** How `result` differs from what is expected of it (nothing, when it behaves as documented). */
export const check = (operation: Operation, fault: FaultCase, result: Result): Array<string> => {
  const want = expected(operation, fault, result.mode)
  const where = `${result.mode}: ${operation.name} × ${fault.name}`
  const problems: Array<string> = []
  if (result.outcome !== want.outcome) {
    const message = (result.error as { message?: unknown } | undefined)?.message
    problems.push(
      `${where}: outcome ${result.outcome}, expected ${want.outcome}${message === undefined ? "" : ` (${message})`}`
    )
  }
  if (result.attempts !== want.attempts) {
    problems.push(`${where}: ${result.attempts} attempts, expected ${want.attempts}`)
  }
  if (result.retries !== want.retries) problems.push(`${where}: retries ${result.retries}, expected ${want.retries}`)
  const [least, most] = want.faulted
  // On the TestClock an attempt can be timed out before it reached the server: the server may see fewer.
  const floor = result.mode === "default" ? Math.min(least, 1) : least
  if (result.faulted < floor || result.faulted > most) {
    problems.push(`${where}: the server saw ${result.faulted} faulted requests, expected ${least}..${most}`)
  }
  if (operation.singleUse && result.faulted > (fault.fault._tag === "NeverRead" ? 2 : 1)) {
    problems.push(`${where}: a single-use body was sent ${result.faulted} times`)
  }
  if (result.millis < want.minMillis) {
    problems.push(`${where}: took ${result.millis} ms, less than ${want.minMillis} ms`)
  }
  // generous: 20 times the least, plus the transfers and the machine's load
  const most_ = 20 * want.minMillis + (result.mode === "default" ? 10 * limits.default.headers : 15_000)
  if (result.millis > most_) problems.push(`${where}: took ${result.millis} ms, more than ${most_} ms`)
  if (result.open > spares(operation)) problems.push(`${where}: ${result.open} connections left open`)
  if (result.lingering !== undefined && result.lingering > 0) {
    problems.push(`${where}: ${result.lingering} connections still open after the keep-alive timeout`)
  }
  if (result.leaks.length > 0) problems.push(`${where}: the token leaked: ${result.leaks[0]!.slice(0, 200)}`)
  return problems
}

/** An event-loop stall (ms) past which a real-time cell's result says more about the machine than the client. */
const STALL_MS = 100

/**
 * Runs every cell of `mode` (they are independent, so many at once) and returns what differs from the documented
 * behaviour. The trickle cells run last, on their own: they show that a transfer that keeps moving is never cut,
 * which a process saturated by a hundred other cells cannot show reliably in real time.
 *
 * With real-time deadlines (`explicit`), a cell that differs while this process's event loop stalled for longer than
 * {@link STALL_MS} (a loaded machine: the client, both servers and the test share one thread) is run again, alone,
 * up to twice; only what still differs then is reported (`rerun` counts the cells run again). A stall that long is
 * a fair reason for a 500 ms deadline to pass: the client cannot tell a silent server from a frozen process.
 */
export const matrix = (env: Env, mode: Mode) =>
  Effect.gen(function*() {
    const measured = (operation: Operation, fault: FaultCase) =>
      Effect.gen(function*() {
        const loop = monitorEventLoopDelay({ resolution: 10 })
        loop.enable()
        const result = yield* Effect.ensuring(
          Effect.scoped(runCell(env, operation, fault, mode)),
          Effect.sync(() => loop.disable())
        )
        return { problems: check(operation, fault, result), stalled: loop.max / 1e6 }
      })
    const all = faults.flatMap((fault) => operations.map((operation) => [operation, fault] as const))
    let rerun = 0
    const run = (cells: ReadonlyArray<readonly [Operation, FaultCase]>, concurrency: number) =>
      Effect.forEach(cells, ([operation, fault]) =>
        Effect.map(measured(operation, fault), (first) => ({ operation, fault, ...first })), { concurrency })
    const settle = (
      outcomes: ReadonlyArray<{ operation: Operation; fault: FaultCase; problems: Array<string>; stalled: number }>
    ) =>
      Effect.forEach(outcomes, (outcome) =>
        Effect.gen(function*() {
          let { problems, stalled } = outcome
          for (let round = 0; round < 2 && problems.length > 0 && mode === "explicit" && stalled > STALL_MS; round++) {
            rerun++
            ;({ problems, stalled } = yield* measured(outcome.operation, outcome.fault))
          }
          return problems
        }))
    const first = yield* settle(
      yield* run(
        all.filter(([, fault]) =>
          fault.trickle !== true
        ),
        16
      )
    )
    const last = yield* settle(yield* run(all.filter(([, fault]) => fault.trickle === true), 9))
    return { cells: first.length + last.length, problems: [...first, ...last].flat(), rerun }
  })
