/**
 * How the `objectstore` command fails: one readable line (`objectstore: <message>`), an optional hint, and an exit
 * code scripts can branch on.
 *
 * | code | meaning |
 * |---|---|
 * | 0 | success |
 * | 1 | any other failure (network, server error, corrupt data, internal error) |
 * | 2 | usage or invalid input: bad flags, bad scope syntax, a missing local file, an invalid key, a request the server rejected as malformed (400), e.g. an expiration its usecase rules forbid |
 * | 3 | the object was not found (or has expired) |
 * | 4 | auth: missing, invalid or expired token, missing permission, or no secret key where one is needed |
 * | 5 | a bulk job finished with some objects failed (each is reported) |
 * | 130 | interrupted (Ctrl-C or `SIGTERM`); uploads in flight are aborted (multipart) or cancelled (resumable) and partial files removed |
 * | 141 | standard output or standard error was closed (`objectstore get-many … --json \| head -1`): the command stops quietly, printing nothing more, with the same cleanup; 141 is what a shell reports for a process killed by `SIGPIPE` (`yes \| head`) |
 *
 * SDK errors are mapped by {@link fromCause}; their messages never carry tokens or keys, and no stack trace or
 * cause dump is ever printed. With `--json` a failure is one JSON line on standard error instead
 * ({@link renderJson}): `{"type":"error","error":"…","exitCode":3,"kind":"notFound","hint":"…"}`.
 *
 * @since 0.1.0
 */
import * as HelpDoc from "@effect/cli/HelpDoc"
import * as ValidationError from "@effect/cli/ValidationError"
import * as Cause from "effect/Cause"
import * as Option from "effect/Option"
import * as Predicate from "effect/Predicate"
import * as Schema from "effect/Schema"

/**
 * The exit codes of the command.
 *
 * @since 0.1.0
 * @category constants
 */
export const ExitCode = {
  ok: 0,
  failure: 1,
  usage: 2,
  notFound: 3,
  auth: 4,
  partial: 5,
  interrupted: 130,
  closed: 141
} as const

/**
 * @since 0.1.0
 * @category models
 */
export type ExitCode = typeof ExitCode[keyof typeof ExitCode]

/**
 * A failure of the command with its exit code, a one-line message and an optional hint.
 *
 * @since 0.1.0
 * @category errors
 */
export class CliError extends Schema.TaggedError<CliError>("@objectstore/cli/CliError")("CliError", {
  exitCode: Schema.Number,
  detail: Schema.String,
  hint: Schema.optional(Schema.String),
  /** Set when the message was already printed (bulk summaries, @effect/cli's own usage errors). */
  printed: Schema.optional(Schema.Boolean)
}) {
  override get message(): string {
    return this.detail
  }
}

/**
 * A usage error (exit code 2).
 *
 * @since 0.1.0
 * @category constructors
 */
export const usage = (detail: string, hint?: string): CliError =>
  new CliError({ exitCode: ExitCode.usage, detail, ...(hint === undefined ? {} : { hint }) })

/**
 * Any other failure (exit code 1).
 *
 * @since 0.1.0
 * @category constructors
 */
export const failure = (detail: string, hint?: string): CliError =>
  new CliError({ exitCode: ExitCode.failure, detail, ...(hint === undefined ? {} : { hint }) })

/**
 * What to print and which code to exit with.
 *
 * @since 0.1.0
 * @category models
 */
export interface Report {
  readonly exitCode: number
  /** `undefined` when nothing more is to be printed. */
  readonly message: string | undefined
  readonly hint: string | undefined
}

const tagged = (u: unknown): u is { readonly _tag: string; readonly message: string } =>
  Predicate.hasProperty(u, "_tag") && typeof u._tag === "string"

const authHints: Record<string, string> = {
  MissingToken: "the server requires a token: set OBJECTSTORE_TOKEN or OBJECTSTORE_TOKEN_FILE (--token-file), " +
    "or a secret key with --key-file and --key-id",
  InvalidToken: "the token is malformed, expired, or signed by a key the server does not know",
  Forbidden: "the token does not grant this operation on this usecase and scope",
  Signing: "this needs a secret key: --key-file and --key-id (or OBJECTSTORE_KEY_FILE and OBJECTSTORE_KEY_ID)"
}

/**
 * Maps one error (a `CliError`, an SDK error, an @effect/cli validation error) to its report.
 *
 * @since 0.1.0
 * @category conversions
 */
export const fromError = (error: unknown): Report => {
  if (error instanceof CliError) {
    return { exitCode: error.exitCode, message: error.printed ? undefined : error.detail, hint: error.hint }
  }
  if (ValidationError.isValidationError(error)) {
    return { exitCode: ExitCode.usage, message: validationMessage(error), hint: "see objectstore --help" }
  }
  if (!tagged(error)) {
    return { exitCode: ExitCode.failure, message: `internal error: ${safeText(error)}`, hint: undefined }
  }
  const e = error as { readonly _tag: string; readonly message: string } & Record<string, unknown>
  switch (e._tag) {
    case "NotFoundError":
      return { exitCode: ExitCode.notFound, message: e.message, hint: undefined }
    case "AuthError":
      return { exitCode: ExitCode.auth, message: e.message, hint: authHints[String(e.reason)] }
    case "InvalidInputError":
      return { exitCode: ExitCode.usage, message: invalidInputMessage(e), hint: undefined }
    case "EmbeddedUrlError":
      return { exitCode: ExitCode.usage, message: `invalid url: ${e.message}`, hint: undefined }
    case "RangeNotSatisfiableError":
      return { exitCode: ExitCode.usage, message: e.message, hint: undefined }
    case "ResponseError":
      return e.status === 400 || e.status === 422 || e.status === 413
        ? { exitCode: ExitCode.usage, message: e.message, hint: "the server rejected the request as invalid" }
        : e.reason === "Killswitched"
        ? { exitCode: ExitCode.failure, message: e.message, hint: "access to this usecase or scope is disabled" }
        : { exitCode: ExitCode.failure, message: e.message, hint: e.retryable ? "try again later" : undefined }
    case "NetworkError":
      return {
        exitCode: ExitCode.failure,
        message: e.message,
        hint: e.reason === "Decode" ? undefined : "is the server running? check --url or OBJECTSTORE_URL"
      }
    default:
      return { exitCode: ExitCode.failure, message: e.message, hint: undefined }
  }
}

/** `invalid usecase: invalid usecase "a/b": …` says it once: a reason that names its field stands alone. */
const invalidInputMessage = (e: { readonly message: string } & Record<string, unknown>): string => {
  const field = String(e.field)
  const reason = String(e.reason)
  return reason.startsWith(field) || reason.startsWith(`invalid ${field}`) ? reason : e.message
}

/** An @effect/cli parse error (`Missing argument <file>`) as one line in the command's own style. */
const validationMessage = (error: ValidationError.ValidationError): string => {
  const text = oneLine(HelpDoc.toAnsiText(error.error).replace(/\x1b\[[0-9;]*m/g, ""))
  return /^[A-Z][a-z]/.test(text) ? `${text[0]!.toLowerCase()}${text.slice(1)}` : text
}

const safeText = (u: unknown): string => {
  if (u instanceof Error) return u.message.split("\n")[0] ?? "unknown"
  if (typeof u === "string") return u.split("\n")[0] ?? "unknown"
  return "unknown"
}

/**
 * Maps the cause of a failed run to its report: interruption is exit code 130, a defect is an internal error
 * (its first message line only, never a stack), a failure is mapped by {@link fromError}.
 *
 * @since 0.1.0
 * @category conversions
 */
export const fromCause = (cause: Cause.Cause<unknown>): Report => {
  const failure = Cause.failureOption(cause)
  if (Option.isSome(failure)) return fromError(failure.value)
  const defect = Cause.dieOption(cause)
  if (Option.isSome(defect)) {
    return { exitCode: ExitCode.failure, message: `internal error: ${safeText(defect.value)}`, hint: undefined }
  }
  if (Cause.isInterrupted(cause)) return { exitCode: ExitCode.interrupted, message: "interrupted", hint: undefined }
  return { exitCode: ExitCode.failure, message: "failed", hint: undefined }
}

/**
 * The lines printed on standard error for a report.
 *
 * @since 0.1.0
 * @category conversions
 */
export const render = (report: Report): string =>
  (report.message === undefined ? "" : `objectstore: ${oneLine(report.message)}\n`) +
  (report.hint === undefined ? "" : `hint: ${oneLine(report.hint)}\n`)

const kinds = new Map<number, string>(Object.entries(ExitCode).map(([name, code]) => [code, name]))

/**
 * The JSON line printed on standard error for a report under `--json` (empty when nothing is to be printed):
 * `{"type":"error","error":message,"exitCode":n,"kind":name,"hint":hint}`, where `kind` names the exit code
 * (`failure`, `usage`, `notFound`, `auth`, `partial`, `interrupted`) and `hint` is present only when there is one.
 *
 * @since 0.1.0
 * @category conversions
 */
export const renderJson = (report: Report): string =>
  report.message === undefined ? "" : `${
    JSON.stringify({
      type: "error",
      error: oneLine(report.message),
      exitCode: report.exitCode,
      kind: kinds.get(report.exitCode) ?? "failure",
      ...(report.hint === undefined ? {} : { hint: oneLine(report.hint) })
    })
  }\n`

/**
 * The text on a single line (newlines become spaces).
 *
 * @since 0.1.0
 * @category conversions
 */
export const oneLine = (text: string): string => text.replace(/\s*[\r\n]+\s*/g, " ").trim()
