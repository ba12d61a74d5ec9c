/**
 * The command's standard streams as a service, so commands never touch `process` and tests capture everything.
 *
 * `layerNode` is the real process (used only by `bin.ts`); {@link makeCapture} gives an in-memory one for tests.
 *
 * @since 0.1.0
 */
import * as NodeSink from "@effect/platform-node/NodeSink"
import * as NodeStream from "@effect/platform-node/NodeStream"
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Sink from "effect/Sink"
import * as Stream from "effect/Stream"
import { CliError, ExitCode } from "./CliError.js"

/**
 * @since 0.1.0
 * @category models
 */
export interface Service {
  /** Standard input as bytes. */
  readonly stdin: Stream.Stream<Uint8Array, CliError>
  /** Standard output as a byte sink (never ends the stream). */
  readonly stdout: Sink.Sink<void, Uint8Array, never, CliError>
  /** Writes text to standard output. */
  readonly out: (text: string) => Effect.Effect<void>
  /** Writes text to standard error. */
  readonly err: (text: string) => Effect.Effect<void>
  /** Writes text to standard error synchronously (for the logger). */
  readonly errSync: (text: string) => void
  /** Whether standard error is a terminal (progress is drawn only then). */
  readonly stderrIsTTY: boolean
  /** Whether help text may use ANSI colours (standard output is a terminal and `NO_COLOR` is unset). */
  readonly color: boolean
  /** The terminal width (80 when unknown). */
  readonly columns: () => number
}

/**
 * @since 0.1.0
 * @category services
 */
export class Stdio extends Context.Tag("@objectstore/cli/Stdio")<Stdio, Service>() {}

const ioError = (what: string) => (cause: unknown) =>
  // the reader went away (`objectstore get key | head`): stop quietly, as `cat` would
  (cause as { code?: string } | null)?.code === "EPIPE"
    ? new CliError({ exitCode: ExitCode.ok, detail: "standard output closed", printed: true })
    : new CliError({
      exitCode: ExitCode.failure,
      detail: `${what} failed: ${cause instanceof Error ? cause.message : String(cause)}`
    })

const write = (stream: NodeJS.WriteStream, text: string): Effect.Effect<void> =>
  Effect.async<void>((resume) => {
    stream.write(text, () => resume(Effect.void))
  })

/**
 * The process's streams.
 *
 * @since 0.1.0
 * @category layers
 */
export const layerNode: Layer.Layer<Stdio> = Layer.sync(Stdio, () =>
  Stdio.of({
    stdin: NodeStream.fromReadable(() => process.stdin, ioError("reading standard input")),
    stdout: NodeSink.fromWritable(() => process.stdout, ioError("writing standard output"), { endOnDone: false }),
    out: (text) => write(process.stdout, text),
    err: (text) => write(process.stderr, text),
    errSync: (text) => void process.stderr.write(text),
    stderrIsTTY: process.stderr.isTTY === true,
    // eslint-disable-next-line no-restricted-properties
    color: process.stdout.isTTY === true && process.env.NO_COLOR === undefined,
    columns: () => process.stderr.columns ?? 80
  }))

/**
 * An in-memory `Stdio` for tests: `stdin` serves the given bytes, and what is written is collected.
 *
 * @since 0.1.0
 * @category constructors
 */
export const makeCapture = (options: { readonly stdin?: Uint8Array | string; readonly tty?: boolean } = {}): {
  readonly layer: Layer.Layer<Stdio>
  readonly stdout: () => string
  readonly stdoutBytes: () => Uint8Array
  readonly stderr: () => string
} => {
  const out: Array<Uint8Array> = []
  const err: Array<string> = []
  const encoder = new TextEncoder()
  const input = typeof options.stdin === "string" ? encoder.encode(options.stdin) : options.stdin
  const bytes = () => {
    const total = out.reduce((n, chunk) => n + chunk.length, 0)
    const all = new Uint8Array(total)
    let offset = 0
    for (const chunk of out) {
      all.set(chunk, offset)
      offset += chunk.length
    }
    return all
  }
  return {
    layer: Layer.succeed(
      Stdio,
      Stdio.of({
        stdin: input === undefined ? Stream.empty : Stream.make(input),
        stdout: Sink.forEach((chunk: Uint8Array) => Effect.sync(() => void out.push(chunk.slice()))),
        out: (text) => Effect.sync(() => void out.push(encoder.encode(text))),
        err: (text) => Effect.sync(() => void err.push(text)),
        errSync: (text) => void err.push(text),
        stderrIsTTY: options.tty === true,
        color: false,
        columns: () => 100
      })
    ),
    stdout: () => new TextDecoder().decode(bytes()),
    stdoutBytes: bytes,
    stderr: () => err.join("")
  }
}
