/**
 * What the commands share: the connection flags and `--json`, the upload flags of `put` and `put-dir`, the session
 * built from the resolved settings, and small parsing helpers.
 *
 * @internal
 */
import * as NodeFileSystem from "@effect/platform-node/NodeFileSystem"
import * as Auth from "@objectstore/client/Auth"
import * as Compression from "@objectstore/client/Compression"
import * as Metrics from "@objectstore/client/Metrics"
import * as NodeClient from "@objectstore/client/NodeClient"
import * as ObjectstoreClient from "@objectstore/client/ObjectstoreClient"
import type { AuthError, InvalidInputError } from "@objectstore/client/ObjectstoreError"
import * as ClientScope from "@objectstore/client/Scope"
import type * as Session from "@objectstore/client/Session"
import * as Usecase from "@objectstore/client/Usecase"
import * as ExpirationPolicy from "@objectstore/protocol/ExpirationPolicy"
import * as Humantime from "@objectstore/protocol/Humantime"
import type * as ServerAuth from "@objectstore/server/Auth"
import * as Embedded from "@objectstore/server/Embedded"
import type * as Storage from "@objectstore/server/Storage"
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as Stream from "effect/Stream"
import * as CliError from "../CliError.js"
import * as Settings from "../Settings.js"
import type * as Stdio from "../Stdio.js"
import * as Bulk from "./bulk.js"
import * as Format from "./format.js"
import * as Help from "./help.js"

// ---------------------------------------------------------------------------------------------------------------
// flags

const connectionDoc = (value: string, help: string, more: Partial<Help.FlagDoc> = {}): Help.FlagDoc => ({
  value,
  help,
  group: "connection",
  ...more
})

/**
 * Where to connect and as whom; every command but `serve` takes them. Each is also read from the environment
 * (`--key-file` from `OBJECTSTORE_KEY_FILE`) and the config file: see `Settings`.
 *
 * @internal
 */
export const connection = {
  url: Help.optional(
    "url",
    connectionDoc("URL", "server URL, or memory: or file:DIR for a store in the process", {
      default: Settings.DEFAULT_URL
    })
  ),
  tokenFile: Help.optional(
    "token-file",
    connectionDoc("FILE", "a file holding the token (or the token itself in OBJECTSTORE_TOKEN)")
  ),
  keyFile: Help.optional("key-file", connectionDoc("PEM", "sign tokens with this Ed25519 secret key (PKCS#8)")),
  keyId: Help.optional("key-id", connectionDoc("KID", "the key's id")),
  usecase: Help.optional("usecase", connectionDoc("NAME", "the usecase", { alias: "u" })),
  scope: Help.repeated("scope", connectionDoc("SCOPE", "the scope in order: \"org=42 project=1337\"", { alias: "s" })),
  config: Help.optional(
    "config",
    connectionDoc("FILE", "a JSON file of these settings", { default: "~/.config/objectstore/config.json" })
  )
}

/** `--json` with the command's own description of what it prints. @internal */
export const json = (what: string) => Help.boolean("json", { help: `print ${what} as JSON` })

/** `--json` of the bulk commands. @internal */
export const bulkJson = json("one line per object and a summary line")

/** How `put` and `put-dir` store objects. @internal */
export const upload = {
  compression: Help.choice("compression", ["zstd", "none"], {
    value: "ALGO",
    help: "how the stored bytes are compressed: zstd or none",
    default: "zstd"
  }),
  ttl: Help.optional("ttl", { value: "DURATION", help: "delete this long after the upload, e.g. 30d" }),
  tti: Help.optional("tti", { value: "DURATION", help: "delete after this long without reads, e.g. 7d" }),
  meta: Help.repeated("meta", { alias: "m", value: "NAME=VALUE", help: "custom metadata" }),
  origin: Help.optional("origin", { value: "TEXT", help: "where the payload came from, e.g. an IP address" }),
  contentType: Help.optional("content-type", {
    value: "TYPE",
    help: "media type; guess sniffs it from the bytes",
    default: "application/octet-stream"
  }),
  partSize: Help.optional("part-size", {
    value: "SIZE",
    help: "part size of multipart uploads, e.g. 16MiB",
    default: "8MiB"
  })
}

// ---------------------------------------------------------------------------------------------------------------
// helpers

/**
 * A standalone `-` (standard input or output) is replaced by this before parsing: `@effect/cli` takes any argument
 * starting with `-` for an option. Real arguments cannot contain a NUL character.
 *
 * @internal
 */
export const DASH = "\u0000-"

/** Whether an argument is `-`. @internal */
export const isDash = (text: string) => text === "-" || text === DASH

/** A parse result as a usage error. @internal */
export const fromEither = <A>(either: Either.Either<A, string>): Effect.Effect<A, CliError.CliError> =>
  Either.match(either, { onLeft: (reason) => Effect.fail(CliError.usage(reason)), onRight: Effect.succeed })

/** An optional flag parsed, or `undefined`. @internal */
export const optionalEither = <A>(
  option: Option.Option<string>,
  parse: (text: string) => Either.Either<A, string>
): Effect.Effect<A | undefined, CliError.CliError> =>
  Effect.map(
    Option.isNone(option) ? Effect.succeedNone : Effect.asSome(fromEither(parse(option.value))),
    Option.getOrUndefined
  )

/** One JSON line on standard output. @internal */
export const printJson = (stdio: Stdio.Service, value: unknown) => stdio.out(`${JSON.stringify(value)}\n`)

/** The lines of a file, or of standard input for `-`. @internal */
export const linesOf = (stdio: Stdio.Service, source: string): Stream.Stream<string, CliError.CliError> =>
  isDash(source) ? stdio.stdin.pipe(Stream.decodeText(), Stream.splitLines) : Bulk.fileLines(source)

/** The settings for the connection flags. @internal */
export const settingsOf = (flags: Settings.Flags, wildcard = false) =>
  Settings.resolve(flags, { allowWildcardScope: wildcard })

/** The usecase of the settings, or a usage error. @internal */
export const usecaseOf = (settings: Settings.Settings): Effect.Effect<string, CliError.CliError> =>
  settings.usecase === undefined
    ? CliError.usage("no usecase", "give --usecase NAME or set OBJECTSTORE_USECASE")
    : Effect.succeed(settings.usecase)

/**
 * The client layer for resolved settings: the server embedded in-process for `memory:` / `file:` URLs (no
 * credentials needed: its auth is off), else undici to the server at the URL.
 *
 * @internal
 */
export const clientLayer = (settings: Settings.Settings): Layer.Layer<
  ObjectstoreClient.ObjectstoreClient,
  | AuthError
  | InvalidInputError
  | Embedded.EmbeddedUrlError
  | ServerAuth.AuthConfigError
  | Storage.StorageError
> => {
  // the request deadlines are the client's own, so they apply to the embedded server too
  const deadlines = {
    ...(settings.deadlines.timeout === undefined ? {} : { timeout: settings.deadlines.timeout }),
    ...(settings.deadlines.idleTimeout === undefined ? {} : { idleTimeout: settings.deadlines.idleTimeout })
  }
  return Embedded.isEmbeddedUrl(settings.url)
    ? ObjectstoreClient.layer({ baseUrl: Embedded.INTERNAL_BASE_URL, ...deadlines }).pipe(
      Layer.provide(Layer.mergeAll(Compression.layer, Auth.layerNone, Metrics.layerNoop, NodeFileSystem.layer)),
      Layer.provide(Embedded.layerHttpClient(settings.url))
    )
    : NodeClient.layer({
      baseUrl: settings.url,
      connectTimeout: settings.deadlines.connectTimeout,
      ...deadlines,
      metrics: false,
      ...(settings.credentials._tag === "Token" ? { token: settings.credentials.token } : {}),
      ...(settings.credentials._tag === "SecretKey"
        ? { secretKey: { kid: settings.credentials.kid, privateKey: settings.credentials.privateKey } }
        : {})
    })
}

/** Runs `use` with a session for the connection flags (closed afterwards). @internal */
export const withSession = <A, E, R>(
  flags: Settings.Flags,
  use: (session: Session.Service, settings: Settings.Settings) => Effect.Effect<A, E, R>
) =>
  Effect.gen(function*() {
    const settings = yield* settingsOf(flags)
    const usecase = yield* usecaseOf(settings)
    return yield* Effect.scoped(Effect.gen(function*() {
      const context = yield* Layer.build(clientLayer(settings))
      const client = Context.get(context, ObjectstoreClient.ObjectstoreClient)
      const session = yield* client.session(Usecase.make(usecase), ClientScope.fromEntries(settings.scope))
      return yield* use(session, settings)
    }))
  })

/** The put options of the upload flags. @internal */
export const putOptionsOf = (flags: {
  readonly compression: Option.Option<"zstd" | "none">
  readonly ttl: Option.Option<string>
  readonly tti: Option.Option<string>
  readonly meta: ReadonlyArray<string>
  readonly origin: Option.Option<string>
  readonly contentType: Option.Option<string>
}): Effect.Effect<Session.PutOptions, CliError.CliError> =>
  Effect.gen(function*() {
    if (Option.isSome(flags.ttl) && Option.isSome(flags.tti)) {
      return yield* CliError.usage("--ttl and --tti exclude each other")
    }
    const ttl = yield* optionalEither(flags.ttl, Humantime.parse)
    const tti = yield* optionalEither(flags.tti, Humantime.parse)
    const metadata = yield* fromEither(Format.parsePairs(flags.meta, "metadata"))
    return {
      compression: Option.getOrUndefined(flags.compression),
      expirationPolicy: ttl !== undefined
        ? ExpirationPolicy.timeToLive(ttl)
        : tti !== undefined
        ? ExpirationPolicy.timeToIdle(tti)
        : undefined,
      metadata: Object.keys(metadata).length === 0 ? undefined : metadata,
      origin: Option.getOrUndefined(flags.origin),
      contentType: Option.getOrUndefined(flags.contentType)
    }
  })
