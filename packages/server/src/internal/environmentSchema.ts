/**
 * The schema of the `OS__*` environment (PROTOCOL §16): one property per honoured variable, keyed by its canonical
 * name, so a decode failure's path starts with the variable it is about. Scalar variables decode from their text;
 * structured ones (`OS__AUTH__KEYS`, `OS__USECASES`, `OS__KILLSWITCHES`) from the literal value read by
 * `Environment.structured`, whose scalars may be strings, numbers or booleans.
 *
 * Every failure message says what was expected and what was found; `describeFailure` turns a `ParseError` into the
 * variable and that message, prefixed by where inside a structured value it is (`key "kid1": …`,
 * `usecase "a": expiration.ttl.max: …`, `killswitch 0: …`).
 *
 * @since 0.1.0
 * @internal
 */
import * as Humantime from "@objectstore/protocol/Humantime"
import * as Permission from "@objectstore/protocol/Permission"
import * as Duration from "effect/Duration"
import * as Either from "effect/Either"
import * as ParseResult from "effect/ParseResult"
import * as Schema from "effect/Schema"
import * as net from "node:net"
import type * as KeyFiles from "./keyFiles.js"
import * as Literal from "./literal.js"

const quote = (text: string) => JSON.stringify(text)

/** A value for a message: a string quoted, a literal rendered in the §16.2 syntax, an absent one as "nothing". */
const describe = (value: unknown): string =>
  value === undefined
    ? "nothing"
    : typeof value === "string"
    ? quote(value)
    : typeof value === "number" || typeof value === "boolean" || typeof value === "object"
    ? Literal.render(value as Literal.LiteralValue)
    : String(value)

/** The text of a scalar of a structured value (`project=7` reads as the number 7, meant as "7"). */
const scalarText = (value: unknown): string | undefined =>
  typeof value === "string"
    ? value
    : typeof value === "number" || typeof value === "boolean"
    ? String(value)
    : undefined

/** Decodes with `decode`, failing with its message; `encode` gives the input back. */
const decodeWith = <A>(
  to: Schema.Schema<A>,
  decode: (input: unknown) => Either.Either<A, string>,
  encode: (value: A) => unknown
) =>
  Schema.transformOrFail(Schema.Unknown, to, {
    strict: true,
    decode: (input, _, ast) => Either.mapLeft(decode(input), (message) => new ParseResult.Type(ast, input, message)),
    encode: (value) => ParseResult.succeed(encode(value))
  })

/**
 * A value decoded by `parse` from a variable's text or a structured value's scalar, failing with `parse`'s message
 * (or `notText`'s for a dictionary or array); `format` gives the text back.
 */
const fromText = <A>(
  to: Schema.Schema<A>,
  parse: (text: string, input: unknown) => Either.Either<A, string>,
  format: (value: A) => string,
  notText: (input: unknown) => string
) =>
  decodeWith(to, (input) => {
    const text = scalarText(input)
    return text === undefined ? Either.left(notText(input)) : parse(text, input)
  }, format)

const DurationType = Schema.declare(Duration.isDuration, { identifier: "Duration" })

/**
 * `true`/`false` (any case), `1`/`0`; surrounding whitespace is ignored.
 *
 * @since 0.1.0
 * @internal
 */
export const Flag = fromText(
  Schema.Boolean,
  (text, input) => {
    if (typeof input === "boolean") return Either.right(input)
    const lower = text.trim().toLowerCase()
    if (lower === "true" || lower === "1") return Either.right(true)
    if (lower === "false" || lower === "0") return Either.right(false)
    return Either.left(`expected true or false, got ${describe(input)}`)
  },
  String,
  (input) => `expected true or false, got ${describe(input)}`
)

/**
 * A non-negative integer in plain decimal digits, at most 2^53 − 1; surrounding whitespace is ignored.
 *
 * @since 0.1.0
 * @internal
 */
export const Count = fromText(
  Schema.NonNegativeInt,
  (text, input) => {
    const trimmed = text.trim()
    const n = Number(trimmed)
    return /^[0-9]+$/.test(trimmed) && Number.isSafeInteger(n)
      ? Either.right(n)
      : Either.left(`expected a non-negative integer, got ${describe(input)}`)
  },
  String,
  (input) => `expected a non-negative integer, got ${describe(input)}`
)

/** A count of at least 1; `what` names it in the message (which shows the variable's text). */
const positiveCount = (what: string) =>
  Count.pipe(
    Schema.filter((n) => n >= 1, { message: (issue) => `${what} must be at least 1, got ${describe(issue.actual)}` })
  )

/**
 * A humantime duration (PROTOCOL §6.2); surrounding whitespace is ignored.
 *
 * @since 0.1.0
 * @internal
 */
export const HumanDuration = fromText(
  DurationType,
  (text, input) =>
    Either.mapLeft(Humantime.parse(text.trim()), (reason) => `invalid duration ${describe(input)}: ${reason}`),
  Humantime.format,
  (input) => `expected a duration, got ${describe(input)}`
)

/** A duration greater than zero; `what` names it in the message (which shows the variable's text). */
const positiveDuration = (what: string) =>
  HumanDuration.pipe(
    Schema.filter((d) => Duration.greaterThan(d, Duration.zero), {
      message: (issue) => `${what} must be greater than zero, got ${describe(issue.actual)}`
    })
  )

/**
 * A listen address: `ip:port` (IPv4) or `[v6]:port`, the host kept without brackets. Port 0 means "any free port".
 *
 * @since 0.1.0
 * @internal
 */
export const HttpAddr = fromText(
  Schema.Struct({ host: Schema.String, port: Schema.Int }),
  (text) => {
    const match = /^(?:\[([^\]]*)\]|([^:[\]]*)):([0-9]{1,5})$/.exec(text.trim())
    const expected = `expected ip:port or [ipv6]:port, got ${quote(text)}`
    if (match === null) return Either.left(expected)
    const host = match[1] ?? match[2]!
    const port = Number(match[3])
    if (match[1] !== undefined ? !net.isIPv6(host) : !net.isIPv4(host)) return Either.left(expected)
    if (port > 65535) return Either.left(`port ${port} is out of range (0 to 65535), got ${quote(text)}`)
    return Either.right({ host, port })
  },
  ({ host, port }) => `${host.includes(":") ? `[${host}]` : host}:${port}`,
  (input) => `expected ip:port or [ipv6]:port, got ${describe(input)}`
)

const UPSTREAM_STORAGE_TYPES = ["gcs", "bigtable", "s3compatible", "tiered"]

const StorageType = fromText<"memory" | "filesystem">(
  Schema.Literal("memory", "filesystem"),
  (text) => {
    const lower = text.trim().toLowerCase()
    if (lower === "memory" || lower === "filesystem") return Either.right(lower)
    if (UPSTREAM_STORAGE_TYPES.includes(lower)) {
      return Either.left(`storage type "${lower}" is not supported by this server (use filesystem or memory)`)
    }
    return Either.left(`unknown storage type ${quote(text)} (use filesystem or memory)`)
  },
  String,
  (input) => `expected filesystem or memory, got ${describe(input)}`
)

const StoragePath = Schema.String.pipe(
  Schema.filter((path) => path !== "", { message: () => "expected a directory path, got an empty value" })
)

const BatchOrder = fromText<"completion" | "reverse" | "shuffle">(
  Schema.Literal("completion", "reverse", "shuffle"),
  (text) => {
    const lower = text.trim().toLowerCase()
    return lower === "completion" || lower === "reverse" || lower === "shuffle"
      ? Either.right(lower)
      : Either.left(`expected completion, reverse or shuffle, got ${quote(text)}`)
  },
  String,
  (input) => `expected completion, reverse or shuffle, got ${describe(input)}`
)

// ---------------------------------------------------------------------------------------------------------------
// Structured values

/**
 * The message of a container (dictionary, array) that got something else: `<expected>, got <value>`. It overrides
 * the inner issue only when the value itself is of the wrong kind (a struct with defaults is a transformation whose
 * inner issue would otherwise say "Expected Struct (Encoded side)"); a failure inside keeps its own message.
 */
const expected = (what: string) => (issue: ParseResult.ParseIssue) => ({
  message: `${what}, got ${describe(issue.actual)}`,
  override: (issue._tag === "Transformation" ? issue.issue : issue)._tag === "Type"
})

/** A text scalar of a structured value (numbers and booleans read as their text). */
const Text = (message: string) =>
  fromText(Schema.String, Either.right, String, (input) => `${message}, got ${describe(input)}`)

type Dict = { readonly [key: string]: Literal.LiteralValue }

const LiteralDict = (message: string) =>
  Schema.declare((input: unknown): input is Dict => Literal.isDict(input as Literal.LiteralValue), {
    message: expected(message)
  })

/** Maps the values of `dict` with `f` in order, into an object whose properties are defined (never assigned). */
const mapEntries = <A, B>(
  dict: { readonly [key: string]: A },
  f: (value: A) => Either.Either<B, ParseResult.ParseIssue>
): Either.Either<Record<string, B>, ParseResult.ParseIssue> => {
  const out: Record<string, B> = {}
  for (const [key, value] of Object.entries(dict)) {
    const mapped = f(value)
    if (Either.isLeft(mapped)) return Either.left(new ParseResult.Pointer(key, dict, mapped.left))
    Object.defineProperty(out, key, { value: mapped.right, enumerable: true, writable: true, configurable: true })
  }
  return Either.right(out)
}

/**
 * A dictionary whose values decode with `value`, its entries kept in order. Schema's own `Record` assigns the
 * decoded properties, which would turn a key `__proto__` into the prototype; this defines them, so such a key stays
 * plain data, as the literal parser keeps it.
 */
const Dictionary = <A, I>(value: Schema.Schema<A, I>, message: string) =>
  Schema.transformOrFail(
    LiteralDict(message),
    Schema.declare((input: unknown): input is { readonly [key: string]: A } =>
      typeof input === "object" && input !== null
    ),
    {
      strict: true,
      decode: (dict, options) => mapEntries(dict, (entry) => ParseResult.decodeUnknownEither(value)(entry, options)),
      encode: (record, options) =>
        mapEntries(
          record,
          (entry) =>
            ParseResult.encodeEither(value)(entry, options) as Either.Either<
              Literal.LiteralValue,
              ParseResult.ParseIssue
            >
        )
    }
  )

/** `key_files`: one path, or a non-empty array of paths. */
const KeyFilePaths = decodeWith(
  Schema.Array(Schema.String),
  (input) => {
    const files: unknown = typeof input === "string" ? [input] : input
    return Array.isArray(files) && files.length > 0 && files.every((file) => typeof file === "string" && file !== "")
      ? Either.right(files as ReadonlyArray<string>)
      : Either.left(`key_files must be a non-empty array of paths, got ${describe(input)}`)
  },
  (files) => files
)

const PermissionName = Schema.Literal(...Permission.all).annotations({
  // override: a union of literals would otherwise report each literal it is not
  message: (issue) => ({
    message: `unknown permission ${describe(issue.actual)} (expected ${Permission.all.join(", ")})`,
    override: true
  })
})

/** One key id of `OS__AUTH__KEYS`: `{key_files=[…],max_permissions=[…]}`. */
const KeyEntry = Schema.Struct({
  key_files: Schema.propertySignature(KeyFilePaths).annotations({
    missingMessage: () => "key_files must be a non-empty array of paths, got nothing"
  }),
  max_permissions: Schema.optionalWith(
    Schema.Array(PermissionName).annotations({ message: expected("max_permissions must be an array") }),
    { default: () => [] }
  )
}).annotations({ message: expected("expected {key_files=[…],max_permissions=[…]}") })

/**
 * `OS__AUTH__KEYS`: the key directory (§12.6), kid → key files and maximum permissions (repeated permissions kept
 * once). The files are read by `KeyFiles.load`.
 *
 * @since 0.1.0
 * @internal
 */
export const KeyDirectory = Schema.transform(
  Dictionary(KeyEntry, "expected a dictionary {kid={key_files=[…],max_permissions=[…]}}"),
  Schema.Array(Schema.Struct({
    kid: Schema.String,
    files: Schema.Array(Schema.String),
    maxPermissions: Schema.Array(Schema.Literal(...Permission.all))
  })),
  {
    strict: true,
    decode: (dict): ReadonlyArray<KeyFiles.KeySource> =>
      Object.entries(dict).map(([kid, entry]) => ({
        kid,
        files: entry.key_files,
        maxPermissions: [...new Set(entry.max_permissions)]
      })),
    encode: (sources) => {
      const out: Record<string, typeof KeyEntry.Type> = {}
      for (const source of sources) {
        Object.defineProperty(out, source.kid, {
          value: { key_files: source.files, max_permissions: source.maxPermissions },
          enumerable: true,
          writable: true,
          configurable: true
        })
      }
      return out
    }
  }
)

/** The rules of one expiration kind: `{allowed=…}`, and `{…,max=…}` where a maximum applies. */
const ExpirationKind = <const WithMax extends boolean>(withMax: WithMax) =>
  Schema.Struct({
    allowed: Schema.optionalWith(Flag, { default: () => true }),
    ...(withMax ? { max: Schema.optional(HumanDuration) } : {})
  }).annotations({ message: expected("expected a dictionary") })

const Expiration = Schema.Struct({
  manual: Schema.optional(ExpirationKind(false)),
  ttl: Schema.optional(ExpirationKind(true)),
  tti: Schema.optional(ExpirationKind(true))
}).annotations({ message: expected("expiration must be a dictionary") })

const UsecaseEntry = Schema.Struct({ expiration: Schema.optional(Expiration) }).annotations({
  message: expected("expected a dictionary")
})

/**
 * `OS__USECASES`: usecase → expiration rules (§6.7), each kind present (allowed, with an optional maximum) or
 * `undefined`.
 *
 * @since 0.1.0
 * @internal
 */
export const Usecases = Dictionary(
  Schema.transform(
    UsecaseEntry,
    Schema.Struct({
      manual: Schema.UndefinedOr(Schema.Struct({ allowed: Schema.Boolean })),
      ttl: Schema.UndefinedOr(Schema.Struct({ allowed: Schema.Boolean, max: Schema.optional(DurationType) })),
      tti: Schema.UndefinedOr(Schema.Struct({ allowed: Schema.Boolean, max: Schema.optional(DurationType) }))
    }),
    {
      strict: false,
      decode: (entry) => ({ manual: entry.expiration?.manual, ttl: entry.expiration?.ttl, tti: entry.expiration?.tti }),
      encode: (rules) => ({ expiration: rules })
    }
  ),
  "expected a dictionary {usecase={expiration={…}}}"
)

/**
 * `OS__KILLSWITCHES`: matchers (§14.5), each field `undefined` when not given.
 *
 * @since 0.1.0
 * @internal
 */
export const Killswitches = Schema.Array(
  Schema.transform(
    Schema.Struct({
      usecase: Schema.optional(Text("usecase must be a string")),
      scopes: Schema.optional(Dictionary(Text("must be a string"), "scopes must be a dictionary")),
      service: Schema.optional(Text("service must be a string"))
    }).annotations({ message: expected("expected a dictionary") }),
    Schema.Struct({
      usecase: Schema.UndefinedOr(Schema.String),
      scopes: Schema.UndefinedOr(Schema.Record({ key: Schema.String, value: Schema.String })),
      service: Schema.UndefinedOr(Schema.String)
    }),
    {
      strict: false,
      decode: (entry) => ({ usecase: entry.usecase, scopes: entry.scopes, service: entry.service }),
      encode: (killswitch) => killswitch
    }
  )
).annotations({ message: expected("expected an array [{usecase=…,scopes={…},service=…}]") })

/**
 * The honoured variables, by canonical name. Absent variables decode to absent properties.
 *
 * @since 0.1.0
 * @internal
 */
export const Environment = Schema.Struct({
  OS__HTTP_ADDR: Schema.optional(HttpAddr),
  OS__STORAGE__TYPE: Schema.optional(StorageType),
  OS__STORAGE__PATH: Schema.optional(StoragePath),
  OS__AUTH__ENFORCE: Schema.optional(Flag),
  OS__AUTH__KEYS: Schema.optional(KeyDirectory),
  OS__HTTP__MAX_REQUESTS: Schema.optional(Count),
  OS__SERVICE__MAX_CONCURRENCY: Schema.optional(Count),
  OS__SERVICE__CONCURRENCY_QUEUE: Schema.optional(Count),
  OS__SERVICE__CONCURRENCY_TIMEOUT: Schema.optional(HumanDuration),
  OS__USECASES: Schema.optional(Usecases),
  OS__KILLSWITCHES: Schema.optional(Killswitches),
  OS__DEV__MAX_BODY_SIZE: Schema.optional(Count),
  OS__DEV__ENFORCE_EXPIRATION: Schema.optional(Flag),
  OS__DEV__REAP_INTERVAL: Schema.optional(positiveDuration("the interval")),
  OS__DEV__BATCH_ORDER: Schema.optional(BatchOrder),
  OS__DEV__MULTIPART_MAX_AGE: Schema.optional(positiveDuration("the age")),
  OS__DEV__BATCH_MEMORY_BUDGET: Schema.optional(positiveCount("the budget")),
  OS__DEV__RESUMABLE: Schema.optional(Flag),
  OS__DEV__RESUMABLE_MAX_AGE: Schema.optional(positiveDuration("the age")),
  OS__DEV__RESUMABLE_CHUNK_LIMIT: Schema.optional(positiveCount("the limit"))
})

/**
 * The variables whose values are structured (§16.2): read with `Environment.structured`, nested variables merged.
 *
 * @since 0.1.0
 * @internal
 */
export const structuredVariables: ReadonlySet<keyof typeof Environment.fields> = new Set([
  "OS__AUTH__KEYS",
  "OS__USECASES",
  "OS__KILLSWITCHES"
])

/** Where inside a structured variable's value a failure is, as a message prefix. */
const where: Readonly<Record<string, (path: ReadonlyArray<PropertyKey>) => string>> = {
  OS__AUTH__KEYS: (path) => path.length === 0 ? "" : `key ${quote(String(path[0]))}: `,
  OS__USECASES: (path) =>
    path.length === 0
      ? ""
      : `usecase ${quote(String(path[0]))}: ${path.length >= 3 ? `${path.slice(1).map(String).join(".")}: ` : ""}`,
  OS__KILLSWITCHES: (path) =>
    path.length === 0
      ? ""
      : `killswitch ${String(path[0])}: ${
        path[1] === "scopes" && path.length === 3 ? `scope ${quote(String(path[2]))} ` : ""
      }`
}

/**
 * The variable a decode failure of `Environment` is about, and what is wrong (the first failure).
 *
 * @since 0.1.0
 * @internal
 */
export const describeFailure = (
  error: ParseResult.ParseError
): { readonly variable: string; readonly reason: string } => {
  const [issue] = ParseResult.ArrayFormatter.formatErrorSync(error)
  const [variable, ...path] = issue?.path ?? []
  const name = String(variable ?? "OS")
  return { variable: name, reason: `${where[name]?.(path) ?? ""}${issue?.message ?? "invalid value"}` }
}
