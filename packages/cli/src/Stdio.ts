/**
 * The command's standard streams and signals as a service, so commands never touch `process` and tests capture
 * everything.
 *
 * Besides reading and writing, the service knows what a command in a pipeline has to know:
 *
 * - **A reader that goes away.** When standard output or standard error can no longer be written (`EPIPE`: the
 *   reader of the pipe exited, as `head` does after its lines; or another write error such as `ENOSPC`),
 *   {@link Service.closed} completes and later writes to that stream are dropped. `Cli.main` then interrupts the command (its
 *   usual cleanup runs: partial files removed, uploads aborted on the server) and exits quietly with 141, as a process
 *   killed by `SIGPIPE` does.
 * - **A status line.** {@link Service.status} draws a progress line on standard error when it is a terminal; any
 *   other output erases it first, so messages and results never run into it. Off a terminal it draws nothing.
 * - **Ctrl-C.** {@link Service.signal} completes on the first `SIGINT` or `SIGTERM`; a second one kills the process.
 *
 * `layerNode` is the real process (used only by `bin.ts`); {@link makeCapture} gives an in-memory one for tests,
 * which can also simulate a reader that goes away and a Ctrl-C.
 *
 * @since 0.1.0
 */
import * as NodeStream from "@effect/platform-node/NodeStream"
import * as Context from "effect/Context"
import * as Deferred from "effect/Deferred"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as FiberId from "effect/FiberId"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as Sink from "effect/Sink"
import * as Stream from "effect/Stream"
import { CliError, ExitCode } from "./CliError.js"

/**
 * @since 0.1.0
 * @category models
 */
export type StreamName = "stdout" | "stderr"

/**
 * Why output stopped: the stream, and `error` when the write failed for another reason than a reader that went
 * away (`EPIPE`), e.g. `no space left on device`.
 *
 * @since 0.1.0
 * @category models
 */
export interface Closed {
  readonly stream: StreamName
  readonly error: string | undefined
}

/**
 * @since 0.1.0
 * @category models
 */
export type Signal = "SIGINT" | "SIGTERM"

/**
 * @since 0.1.0
 * @category models
 */
export interface Service {
  /** Standard input as bytes. */
  readonly stdin: Stream.Stream<Uint8Array, CliError>
  /** Standard output as a byte sink (never ends the stream; chunks are dropped once {@link closed}). */
  readonly stdout: Sink.Sink<void, Uint8Array>
  /** Writes text to standard output. */
  readonly out: (text: string) => Effect.Effect<void>
  /** Writes text to standard error. */
  readonly err: (text: string) => Effect.Effect<void>
  /** Writes text to standard error without waiting (for the logger). */
  readonly errSync: (text: string) => void
  /**
   * Draws `line` as the status line on standard error (replacing the previous one; `""` erases it) when standard
   * error is a terminal; does nothing otherwise. Other output erases the status line first.
   */
  readonly status: (line: string) => Effect.Effect<void>
  /** Whether standard output is a terminal. */
  readonly stdoutIsTTY: boolean
  /** Whether standard error is a terminal (progress is drawn only then). */
  readonly stderrIsTTY: boolean
  /** Whether output may use ANSI colours (standard output is a terminal and `NO_COLOR` is unset). */
  readonly color: boolean
  /** The width of the terminal a stream writes to: 80 when it is not a terminal or reports no width. */
  readonly columns: (stream: StreamName) => number
  /**
   * Completes when standard output or standard error can no longer be written (with the first that failed); later
   * writes to that stream are dropped.
   */
  readonly closed: Effect.Effect<Closed>
  /** Whether {@link closed} has completed, and why. */
  readonly pollClosed: Effect.Effect<Option.Option<Closed>>
  /** Completes on the first Ctrl-C (`SIGINT`) or `SIGTERM`. */
  readonly signal: Effect.Effect<Signal>
}

/**
 * @since 0.1.0
 * @category services
 */
export class Stdio extends Context.Tag("@objectstore/cli/Stdio")<Stdio, Service>() {}

/** The raw streams a {@link Service} is made from. */
interface Raw {
  readonly stdin: Stream.Stream<Uint8Array, CliError>
  /** Writes a chunk; `done` gets the error when the write failed. */
  readonly write: (stream: StreamName, chunk: Uint8Array | string, done: (error: unknown) => void) => void
  readonly stdoutIsTTY: boolean
  readonly stderrIsTTY: boolean
  readonly color: boolean
  readonly columns: (stream: StreamName) => number | undefined
  readonly closed: Deferred.Deferred<Closed>
  readonly signal: Deferred.Deferred<Signal>
}

const ERASE_LINE = "\r\x1b[K"

const errorText = (error: unknown): string | undefined => {
  const code = (error as { code?: unknown } | null)?.code
  if (code === "EPIPE" || code === "ERR_STREAM_DESTROYED") return undefined
  if (code === "ENOSPC") return "no space left on device"
  return error instanceof Error ? error.message : String(error)
}

const make = (raw: Raw): {
  readonly service: Service
  /** Marks the output closed after a write error on `stream`. */
  readonly fail: (stream: StreamName, error: unknown) => void
  /**
   * Ctrl-C was typed: the terminal echoed `^C` where the cursor was. Unless that was on the status line (erased
   * later), the next message starts on a line of its own.
   */
  readonly interrupted: () => void
} => {
  let statusShown = false
  const failed = new Set<StreamName>()
  const isClosed = (stream: StreamName) => failed.has(stream)
  const fail = (stream: StreamName, error: unknown) => {
    if (failed.has(stream)) return
    failed.add(stream)
    Deferred.unsafeDone(raw.closed, Exit.succeed({ stream, error: errorText(error) }))
  }
  const writeSync = (stream: StreamName, chunk: Uint8Array | string) => {
    if (isClosed(stream)) return
    raw.write(stream, chunk, (error) => {
      if (error !== null && error !== undefined) fail(stream, error)
    })
  }
  const write = (stream: StreamName, chunk: Uint8Array | string): Effect.Effect<void> =>
    Effect.async<void>((resume) => {
      if (isClosed(stream)) return resume(Effect.void)
      raw.write(stream, chunk, (error) => {
        if (error !== null && error !== undefined) fail(stream, error)
        resume(Effect.void)
      })
    })
  /** The prefix that erases the status line before other output on the terminal. */
  const eraseStatus = () => {
    if (!statusShown) return ""
    statusShown = false
    return ERASE_LINE
  }
  const out = (chunk: Uint8Array | string) =>
    Effect.suspend(() => {
      // the status line sits on the terminal that standard output writes to as well
      const erase = raw.stdoutIsTTY ? eraseStatus() : ""
      return erase === "" ? write("stdout", chunk) : Effect.zipRight(write("stderr", erase), write("stdout", chunk))
    })
  const columns = (stream: StreamName) => {
    const n = raw.columns(stream)
    return n !== undefined && Number.isFinite(n) && n > 0 ? Math.floor(n) : 80
  }
  const service: Service = {
    stdin: raw.stdin,
    stdout: Sink.forEach(out),
    out,
    err: (text) => Effect.suspend(() => write("stderr", eraseStatus() + text)),
    errSync: (text) => writeSync("stderr", eraseStatus() + text),
    status: (line) =>
      Effect.suspend(() => {
        if (!raw.stderrIsTTY || isClosed("stderr")) return Effect.void
        if (line === "") return statusShown ? write("stderr", eraseStatus()) : Effect.void
        statusShown = true
        // the cursor goes back to the start of the line: what another process prints on this terminal (the
        // reader of a pipe) overwrites the line instead of running on after it
        return write("stderr", `\r${line}\x1b[K\r`)
      }),
    stdoutIsTTY: raw.stdoutIsTTY,
    stderrIsTTY: raw.stderrIsTTY,
    color: raw.color,
    columns,
    closed: Deferred.await(raw.closed),
    pollClosed: Effect.flatMap(
      Deferred.poll(raw.closed),
      Option.match({ onNone: () => Effect.succeedNone, onSome: Effect.asSome })
    ),
    signal: Deferred.await(raw.signal)
  }
  return {
    service,
    fail,
    interrupted: () => {
      if (raw.stderrIsTTY && !statusShown) writeSync("stderr", "\n")
    }
  }
}

const ioError = (what: string) => (cause: unknown) =>
  new CliError({
    exitCode: ExitCode.failure,
    detail: `${what} failed: ${cause instanceof Error ? cause.message : String(cause)}`
  })

// A stream that emits 'error' with no listener crashes the process with a stack trace (an EPIPE when the reader of
// a pipe exits). One permanent listener per stream forwards errors to the live layers' handlers; it stays after a
// layer is released, since an error event may still arrive for a write made just before.
const errorHandlers = new Set<(stream: StreamName, error: unknown) => void>()
let listening = false
const listen = () => {
  if (listening) return
  listening = true
  for (const name of ["stdout", "stderr"] as const) {
    process[name].on("error", (error) => {
      for (const handler of errorHandlers) handler(name, error)
    })
  }
}

/**
 * The process's streams and signals. While the layer is in use, the first `SIGINT` or `SIGTERM` completes
 * {@link Service.signal} instead of killing the process (a second one kills it), and write errors on standard output
 * and standard error complete {@link Service.closed} instead of crashing the process.
 *
 * @since 0.1.0
 * @category layers
 */
export const layerNode: Layer.Layer<Stdio> = Layer.scoped(
  Stdio,
  Effect.gen(function*() {
    const closed = yield* Deferred.make<Closed>()
    const signal = yield* Deferred.make<Signal>()
    listen()
    const onSignal = (name: Signal) => {
      removeSignals()
      if (name === "SIGINT") made.interrupted()
      Deferred.unsafeDone(signal, Exit.succeed(name))
    }
    const onSigint = () => onSignal("SIGINT")
    const onSigterm = () => onSignal("SIGTERM")
    const removeSignals = () => {
      process.removeListener("SIGINT", onSigint)
      process.removeListener("SIGTERM", onSigterm)
    }
    const made = make({
      stdin: NodeStream.fromReadable(() => process.stdin, ioError("reading standard input")),
      write: (stream, chunk, done) => {
        const target = process[stream]
        if (target.destroyed) return done(Object.assign(new Error("closed"), { code: "ERR_STREAM_DESTROYED" }))
        target.write(chunk, done)
      },
      stdoutIsTTY: process.stdout.isTTY === true,
      stderrIsTTY: process.stderr.isTTY === true,
      // eslint-disable-next-line no-restricted-properties
      color: process.stdout.isTTY === true && process.env.NO_COLOR === undefined,
      columns: (stream) => (process[stream].isTTY === true ? process[stream].columns : undefined),
      closed,
      signal
    })
    const onError = made.fail
    yield* Effect.acquireRelease(
      Effect.sync(() => {
        errorHandlers.add(onError)
        process.on("SIGINT", onSigint)
        process.on("SIGTERM", onSigterm)
      }),
      () =>
        Effect.sync(() => {
          errorHandlers.delete(onError)
          removeSignals()
        })
    )
    return made.service
  })
)

/**
 * What {@link makeCapture} simulates.
 *
 * @since 0.1.0
 * @category models
 */
export interface CaptureOptions {
  /** Standard input: bytes, text, or a stream (which may stall, as a pipe whose writer is slow). */
  readonly stdin?: Uint8Array | string | Stream.Stream<Uint8Array> | undefined
  /** Whether standard output and standard error are terminals (default: neither). */
  readonly tty?: boolean | undefined
  /** Whether output may use colours (default: no; `NO_COLOR` unset on a terminal). */
  readonly color?: boolean | undefined
  /** The width the terminals report (default 100; `0` as some terminals do). */
  readonly columns?: number | undefined
  /** The reader of standard output goes away after this many bytes: later writes fail as with `EPIPE`. */
  readonly stdoutLimit?: number | undefined
  /** The same for standard error. */
  readonly stderrLimit?: number | undefined
}

/**
 * An in-memory `Stdio` and what was written to it.
 *
 * @since 0.1.0
 * @category models
 */
export interface Capture {
  readonly layer: Layer.Layer<Stdio>
  readonly stdout: () => string
  readonly stdoutBytes: () => Uint8Array
  readonly stderr: () => string
  /** The reader of `stream` goes away now: the next write fails as with `EPIPE`. */
  readonly close: (stream: StreamName) => void
  /** Ctrl-C (`SIGINT` by default). */
  readonly signal: (signal?: Signal) => void
}

/**
 * An in-memory `Stdio` for tests: `stdin` serves the given bytes, and what is written is collected. `close(stream)`
 * makes the reader of a stream go away now (the next write fails as with `EPIPE`), and `signal()` simulates Ctrl-C.
 *
 * @since 0.1.0
 * @category constructors
 */
export const makeCapture = (options: CaptureOptions = {}): Capture => {
  const out: Array<Uint8Array> = []
  const err: Array<Uint8Array> = []
  const encoder = new TextEncoder()
  const limits: Record<StreamName, number> = {
    stdout: options.stdoutLimit ?? Number.POSITIVE_INFINITY,
    stderr: options.stderrLimit ?? Number.POSITIVE_INFINITY
  }
  const written: Record<StreamName, number> = { stdout: 0, stderr: 0 }
  const input = typeof options.stdin === "string" ? encoder.encode(options.stdin) : options.stdin
  const concat = (chunks: ReadonlyArray<Uint8Array>) => {
    const all = new Uint8Array(chunks.reduce((n, chunk) => n + chunk.length, 0))
    let offset = 0
    for (const chunk of chunks) {
      all.set(chunk, offset)
      offset += chunk.length
    }
    return all
  }
  const closed = Deferred.unsafeMake<Closed>(FiberId.none)
  const signal = Deferred.unsafeMake<Signal>(FiberId.none)
  const { service } = make({
    stdin: input === undefined ? Stream.empty : input instanceof Uint8Array ? Stream.make(input) : input,
    write: (stream, chunk, done) => {
      const bytes = typeof chunk === "string" ? encoder.encode(chunk) : chunk
      const room = limits[stream] - written[stream]
      const kept = room >= bytes.length ? bytes : bytes.slice(0, Math.max(0, room))
      written[stream] += kept.length
      ;(stream === "stdout" ? out : err).push(kept.slice())
      // as a pipe does, report the broken pipe on the write after the reader left
      queueMicrotask(() =>
        done(kept.length < bytes.length ? Object.assign(new Error("EPIPE"), { code: "EPIPE" }) : null)
      )
    },
    stdoutIsTTY: options.tty === true,
    stderrIsTTY: options.tty === true,
    color: options.color === true,
    columns: () => (options.tty === true ? options.columns ?? 100 : undefined),
    closed,
    signal
  })
  return {
    layer: Layer.succeed(Stdio, service),
    stdout: () => new TextDecoder().decode(concat(out)),
    stdoutBytes: () => concat(out),
    stderr: () => new TextDecoder().decode(concat(err)),
    close: (stream) => {
      limits[stream] = written[stream]
    },
    signal: (name = "SIGINT") => void Deferred.unsafeDone(signal, Exit.succeed(name))
  }
}
