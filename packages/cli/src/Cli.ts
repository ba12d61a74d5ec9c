/**
 * The `objectstore` command: `@effect/cli` commands over the SDK, one module per command under
 * `internal/commands/` (its flags, its help and what it does), the shared flags in `internal/shared.ts`.
 *
 * ```
 * objectstore put FILE|-        upload a file or standard input (multipart above --part-size)
 * objectstore get KEY           download to standard output or -o FILE (decompressed, or --raw; --range)
 * objectstore head KEY          print an object's metadata
 * objectstore rm KEY… | --from  delete objects
 * objectstore put-dir DIR       upload a tree (or --manifest), skipping unchanged files
 * objectstore get-many LIST|-   download a list of keys into --dir, skipping unchanged files
 * objectstore presign KEY       a pre-signed GET/HEAD URL
 * objectstore url KEY           the object's URL (optionally with a read-only token)
 * objectstore token             mint a scoped token with the secret key
 * objectstore serve             the local server (memory or --dir), until Ctrl-C
 * objectstore help [COMMAND]    the help (as --help)
 * ```
 *
 * Commands `yield*` the {@link Stdio.Stdio} service and the platform's `FileSystem`; connection settings come from
 * flags, the environment (through Effect's `Config`) and a config file (see `Settings`). {@link main} runs the
 * command for an argument list and returns its exit code (see `CliError`): it prints failures as one line plus a
 * hint (one JSON line with `--json`), renders the help itself, and stops the command quietly when its output is
 * closed or on Ctrl-C. Only `bin.ts` provides the production layers.
 *
 * @since 0.1.0
 */
import * as Command from "@effect/cli/Command"
import * as ValidationError from "@effect/cli/ValidationError"
import * as Cause from "effect/Cause"
import type * as Console from "effect/Console"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Logger from "effect/Logger"
import * as LogLevel from "effect/LogLevel"
import * as Option from "effect/Option"
import * as CliError from "./CliError.js"
import { get } from "./internal/commands/get.js"
import { getMany } from "./internal/commands/getMany.js"
import { head } from "./internal/commands/head.js"
import { presign } from "./internal/commands/presign.js"
import { put } from "./internal/commands/put.js"
import { putDir } from "./internal/commands/putDir.js"
import { rm } from "./internal/commands/rm.js"
import { serve } from "./internal/commands/serve.js"
import { token } from "./internal/commands/token.js"
import { url } from "./internal/commands/url.js"
import * as Help from "./internal/help.js"
import * as Shared from "./internal/shared.js"
import * as Settings from "./Settings.js"
import * as Stdio from "./Stdio.js"

/**
 * The command's version.
 *
 * @since 0.1.0
 * @category constants
 */
export const VERSION = "0.1.0"

const definitions = [put, get, head, rm, putDir, getMany, presign, url, token, serve] as const

const byName = new Map<string, typeof definitions[number]>(definitions.map((d) => [d.name, d]))

/**
 * The client layer for resolved settings: an embedded store for `memory:` / `file:` URLs, else undici.
 *
 * @since 0.1.0
 * @category layers
 */
export const clientLayer = (settings: Settings.Settings) => Shared.clientLayer(settings)

/**
 * The root command.
 *
 * @since 0.1.0
 * @category commands
 */
export const command = Command.make("objectstore").pipe(
  Command.withDescription("Objectstore from the shell: uploads, downloads, bulk jobs, URLs, tokens, a local server."),
  Command.withSubcommands([
    put.command,
    get.command,
    head.command,
    rm.command,
    putDir.command,
    getMany.command,
    presign.command,
    url.command,
    token.command,
    serve.command
  ])
)

/**
 * Runs the command for a full argument vector (`[node, script, ...args]`), as `@effect/cli` does: parsing,
 * `--version` and `--completions SHELL`. It prints `@effect/cli`'s own help and errors; {@link main} renders them
 * itself.
 *
 * @since 0.1.0
 * @category commands
 */
export const run = Command.run(command, { name: "objectstore", version: VERSION, executable: "objectstore" })

const rootDoc: Help.RootDoc = {
  title: `objectstore ${VERSION}: Objectstore from the shell: uploads, downloads, bulk jobs, URLs, tokens, and a ` +
    "local server.",
  options: [
    { label: "-h, --help", text: "show help; objectstore COMMAND --help shows a command's options" },
    { label: "    --version", text: "print the version" },
    {
      label: "    --json",
      text: "(most commands) machine-readable output; failures and warnings are JSON lines on standard error too"
    },
    { label: "    --completions SHELL", text: "print a completion script for bash, zsh, fish or sh" }
  ],
  environment: [
    {
      label: "OBJECTSTORE_URL",
      text: `the server (default ${Settings.DEFAULT_URL}); memory: or file:DIR run a store inside the command`
    },
    { label: "OBJECTSTORE_TOKEN", text: "a token (or OBJECTSTORE_TOKEN_FILE: a file holding it)" },
    {
      label: "OBJECTSTORE_KEY_FILE",
      text: "an Ed25519 secret key (PKCS#8 PEM) to sign tokens with, and OBJECTSTORE_KEY_ID its id"
    },
    { label: "OBJECTSTORE_USECASE", text: "the usecase" },
    { label: "OBJECTSTORE_SCOPE", text: "the scope, names and values in order: \"org=42 project=1337\"" },
    {
      label: "OBJECTSTORE_TIMEOUT",
      text: "how long a request waits for its answer (default 30s); OBJECTSTORE_IDLE_TIMEOUT the longest pause in " +
        "a transfer (30s), OBJECTSTORE_CONNECT_TIMEOUT connecting (10s)"
    },
    {
      label: "OBJECTSTORE_CONFIG",
      text: "a JSON file with these settings (default ~/.config/objectstore/config.json)"
    },
    { label: "NO_COLOR", text: "no bold headings in the help" }
  ],
  environmentNote: "Flags win over the environment, which wins over the config file.",
  exitCodes: [
    { label: "0", text: "success" },
    { label: "1", text: "other failure (network, server error, corrupt data)" },
    { label: "2", text: "usage or invalid input: bad flags or scope, a missing file, a request the server rejected" },
    { label: "3", text: "object not found" },
    { label: "4", text: "auth: missing, invalid or expired token, no permission, no secret key" },
    { label: "5", text: "a bulk job finished with some objects failed (each is reported)" },
    { label: "130", text: "interrupted (Ctrl-C): uploads in flight aborted, partial files removed" },
    { label: "141", text: "standard output or error closed (| head): stopped quietly, with the same cleanup" }
  ]
}

const helpText = (stdio: Stdio.Service, name: string | undefined): string => {
  // piped into a pager, the help is still read on the terminal that standard error shows
  const columns = stdio.stdoutIsTTY || !stdio.stderrIsTTY ? stdio.columns("stdout") : stdio.columns("stderr")
  const style = { width: Help.widthFor(columns), bold: stdio.color }
  const definition = name === undefined ? undefined : byName.get(name)
  return definition === undefined
    ? Help.renderRoot(rootDoc, definitions.map((d) => d.help), style)
    : Help.renderCommand(definition.help, style)
}

/** What the arguments ask for, before `@effect/cli` parses them. */
type Request =
  | { readonly _tag: "Help"; readonly command: string | undefined }
  | { readonly _tag: "Unknown"; readonly command: string }
  | { readonly _tag: "Run"; readonly command: string | undefined }

const requestOf = (args: ReadonlyArray<string>): Request => {
  const end = args.indexOf("--")
  const flags = end < 0 ? args : args.slice(0, end)
  const first = args[0]
  if (first === undefined) return { _tag: "Help", command: undefined }
  if (first === "help") {
    const topic = args[1]
    return topic === undefined || byName.has(topic)
      ? { _tag: "Help", command: topic }
      : { _tag: "Unknown", command: topic }
  }
  if (!first.startsWith("-") && !byName.has(first)) return { _tag: "Unknown", command: first }
  const command = first.startsWith("-") ? undefined : first
  if (flags.includes("--help") || flags.includes("-h")) return { _tag: "Help", command }
  return { _tag: "Run", command }
}

const consoleOf = (stdio: Stdio.Service, base: Console.Console, errors: Array<string>): Console.Console => {
  const text = (args: ReadonlyArray<unknown>) => {
    const joined = `${args.map(String).join(" ").replace(/\n+$/, "")}\n`
    return stdio.color ? joined : joined.replace(/\x1b\[[0-9;]*m/g, "")
  }
  return {
    ...base,
    log: (...args) => stdio.out(text(args)),
    info: (...args) => stdio.out(text(args)),
    // @effect/cli prints its parse errors here; main reports them its own way
    error: (...args) => Effect.sync(() => void errors.push(text(args))),
    warn: (...args) => stdio.err(text(args))
  }
}

const loggerOf = (stdio: Stdio.Service, json: boolean) =>
  Logger.make(({ logLevel, message }) => {
    if (LogLevel.lessThan(logLevel, LogLevel.Warning)) return
    const text = CliError.oneLine(
      (Array.isArray(message) ? message.map(String).join(" ") : String(message)).replace(/^objectstore:\s*/, "")
    )
    const level = logLevel._tag === "Warning" ? "warning" : logLevel.label.toLowerCase()
    stdio.errSync(
      json ? `${JSON.stringify({ type: "log", level, message: text })}\n` : `objectstore: ${level}: ${text}\n`
    )
  })

type Outcome =
  | { readonly _tag: "Done"; readonly exit: Exit.Exit<void, unknown> }
  | { readonly _tag: "Closed" }
  | { readonly _tag: "Signal" }

/**
 * Runs the command for the user's arguments (without `node` and the script) and returns the exit code.
 *
 * - Output and errors go through `Stdio`: a failure prints `objectstore: <message>` and possibly `hint: …` on
 *   standard error (with `--json`, one JSON line there: `CliError.renderJson`), never a stack trace; logs of level
 *   warning and above are one line each (`objectstore: warning: …`, or `{"type":"log","level":"warning","message"}`).
 * - `--help`, `-h`, `help [COMMAND]` and no arguments at all print the help, wrapped to the terminal.
 * - When standard output or standard error is closed (the reader of a pipe went away), the command is interrupted,
 *   its cleanup runs, nothing more is printed and the exit code is 141; another write error is exit code 1.
 * - On Ctrl-C (`Stdio.signal`) the command is interrupted the same way and the exit code is 130; `serve` stops by
 *   itself instead, with exit code 0.
 *
 * @since 0.1.0
 * @category commands
 */
export const main = (
  args: ReadonlyArray<string>
) =>
  Effect.gen(function*() {
    const stdio = yield* Stdio.Stdio
    const end = args.indexOf("--")
    const json = (end < 0 ? args : args.slice(0, end)).includes("--json")
    const fail = (report: CliError.Report) =>
      Effect.as(stdio.err(json ? CliError.renderJson(report) : CliError.render(report)), report.exitCode)
    const request = requestOf(args)
    if (request._tag === "Help") {
      yield* stdio.out(helpText(stdio, request.command))
      return CliError.ExitCode.ok as number
    }
    if (request._tag === "Unknown") {
      return yield* fail({
        exitCode: CliError.ExitCode.usage,
        message: `unknown command ${JSON.stringify(request.command)}`,
        hint: `the commands are ${definitions.map((d) => d.name).join(", ")} (see objectstore --help)`
      })
    }
    const definition = request.command === undefined ? undefined : byName.get(request.command)
    const console = yield* Effect.console
    const parseErrors: Array<string> = []
    const command = run(["node", "objectstore", ...args.map((arg) => (arg === "-" ? Shared.DASH : arg))]).pipe(
      Effect.withConsole(consoleOf(stdio, console, parseErrors)),
      Effect.provide(Logger.replace(Logger.defaultLogger, loggerOf(stdio, json)))
    )
    const outcome = yield* Effect.raceAll([
      Effect.map(Effect.exit(command), (exit): Outcome => ({ _tag: "Done", exit })),
      Effect.as(stdio.closed, { _tag: "Closed" } as Outcome),
      definition?.ownsSignals === true ? Effect.never : Effect.as(stdio.signal, { _tag: "Signal" } as Outcome)
    ])
    // output closed: the reader went away (141, quietly, as after SIGPIPE), or writing failed (1)
    const closed = yield* stdio.pollClosed
    if (Option.isSome(closed)) {
      const { error, stream } = closed.value
      if (error === undefined) return CliError.ExitCode.closed as number
      if (stream === "stderr") return CliError.ExitCode.failure as number
      return yield* fail({
        exitCode: CliError.ExitCode.failure,
        message: `cannot write standard output: ${error}`,
        hint: undefined
      })
    }
    if (outcome._tag === "Signal") {
      return yield* fail({ exitCode: CliError.ExitCode.interrupted, message: "interrupted", hint: undefined })
    }
    if (outcome._tag === "Closed") return CliError.ExitCode.closed as number
    const exit = outcome.exit
    if (Exit.isSuccess(exit)) return CliError.ExitCode.ok as number
    const failure = Cause.failureOption(exit.cause)
    if (Option.isSome(failure) && ValidationError.isValidationError(failure.value)) {
      const report = CliError.fromError(failure.value)
      return yield* fail({
        ...report,
        hint: `see objectstore${definition === undefined ? "" : ` ${definition.name}`} --help`
      })
    }
    if (parseErrors.length > 0) yield* stdio.err(parseErrors.join(""))
    return yield* fail(CliError.fromCause(exit.cause))
  })

/**
 * Whether an exit is an interruption only (Ctrl-C).
 *
 * @since 0.1.0
 * @category commands
 */
export const isInterrupted = (exit: Exit.Exit<unknown, unknown>): boolean =>
  Exit.isFailure(exit) && Cause.isInterruptedOnly(exit.cause)
