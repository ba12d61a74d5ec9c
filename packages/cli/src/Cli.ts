/**
 * The `objectstore` command: `@effect/cli` commands over the SDK.
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
 * ```
 *
 * Commands `yield*` the {@link Stdio.Stdio} service and the platform's `FileSystem`; connection settings come from
 * flags, the environment (through Effect's `Config`) and a config file (see `Settings`). {@link main} runs the
 * command for an argument list and returns its exit code (see `CliError`), printing failures as one line plus a
 * hint; only `bin.ts` provides the production layers.
 *
 * @since 0.1.0
 */
import * as Args from "@effect/cli/Args"
import * as Command from "@effect/cli/Command"
import * as HelpDoc from "@effect/cli/HelpDoc"
import * as Options from "@effect/cli/Options"
import * as FileSystem from "@effect/platform/FileSystem"
import * as HttpServer from "@effect/platform/HttpServer"
import * as Auth from "@objectstore/client/Auth"
import * as Multipart from "@objectstore/client/Multipart"
import * as ObjectstoreClient from "@objectstore/client/ObjectstoreClient"
import * as ClientScope from "@objectstore/client/Scope"
import type * as Session from "@objectstore/client/Session"
import * as Tokens from "@objectstore/client/Tokens"
import * as Usecase from "@objectstore/client/Usecase"
import * as ExpirationPolicy from "@objectstore/protocol/ExpirationPolicy"
import * as Humantime from "@objectstore/protocol/Humantime"
import * as Permission from "@objectstore/protocol/Permission"
import * as ProtocolScope from "@objectstore/protocol/Scope"
import type * as ServerAuth from "@objectstore/server/Auth"
import * as Server from "@objectstore/server/Server"
import * as Embedded from "@objectstore/testing/Embedded"
import * as Cause from "effect/Cause"
import type * as Console from "effect/Console"
import * as Context from "effect/Context"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Exit from "effect/Exit"
import * as Layer from "effect/Layer"
import * as Logger from "effect/Logger"
import * as LogLevel from "effect/LogLevel"
import * as Option from "effect/Option"
import * as Redacted from "effect/Redacted"
import * as Stream from "effect/Stream"
import * as CliError from "./CliError.js"
import * as Bulk from "./internal/bulk.js"
import * as Files from "./internal/files.js"
import * as Format from "./internal/format.js"
import * as Progress from "./internal/progress.js"
import * as Settings from "./Settings.js"
import * as Stdio from "./Stdio.js"

/**
 * The command's version.
 *
 * @since 0.1.0
 * @category constants
 */
export const VERSION = "0.1.0"

// ---------------------------------------------------------------------------------------------------------------
// shared options

const connection = {
  url: Options.text("url").pipe(
    Options.withDescription("server URL: http(s)://host:port, memory: or file:<dir> (env OBJECTSTORE_URL)"),
    Options.optional
  ),
  tokenFile: Options.text("token-file").pipe(
    Options.withDescription("read the token from this file (env OBJECTSTORE_TOKEN_FILE, or OBJECTSTORE_TOKEN)"),
    Options.optional
  ),
  keyFile: Options.text("key-file").pipe(
    Options.withDescription("sign tokens with this Ed25519 PKCS#8 PEM key (env OBJECTSTORE_KEY_FILE)"),
    Options.optional
  ),
  keyId: Options.text("key-id").pipe(
    Options.withDescription("the key id of --key-file (env OBJECTSTORE_KEY_ID)"),
    Options.optional
  ),
  usecase: Options.text("usecase").pipe(
    Options.withAlias("u"),
    Options.withDescription("usecase (env OBJECTSTORE_USECASE)"),
    Options.optional
  ),
  scope: Options.text("scope").pipe(
    Options.withAlias("s"),
    Options.withDescription("scope in order, \"org=42 project=1337\" or org=42;project=1337 (env OBJECTSTORE_SCOPE)"),
    Options.repeated
  ),
  config: Options.text("config").pipe(
    Options.withDescription("JSON config file (env OBJECTSTORE_CONFIG; default ~/.config/objectstore/config.json)"),
    Options.optional
  )
}

const json = Options.boolean("json").pipe(Options.withDescription("machine-readable JSON output"))

const uploadOptions = {
  compression: Options.choice("compression", ["zstd", "none"]).pipe(
    Options.withDescription("compression of the upload (default zstd)"),
    Options.optional
  ),
  ttl: Options.text("ttl").pipe(Options.withDescription("expire after this time, e.g. 30d"), Options.optional),
  tti: Options.text("tti").pipe(Options.withDescription("expire after this idle time, e.g. 7d"), Options.optional),
  meta: Options.text("meta").pipe(
    Options.withAlias("m"),
    Options.withDescription("custom metadata name=value"),
    Options.repeated
  ),
  origin: Options.text("origin").pipe(Options.withDescription("where the payload came from"), Options.optional),
  contentType: Options.text("content-type").pipe(
    Options.withDescription("media type (default application/octet-stream; guess: sniff it)"),
    Options.optional
  ),
  partSize: Options.text("part-size").pipe(
    Options.withDescription("multipart part size, e.g. 8MiB (default 8MiB; larger files are multipart)"),
    Options.optional
  )
}

type ConnectionFlags = Settings.Flags

const settingsOf = (flags: ConnectionFlags, wildcard = false) =>
  Settings.resolve(flags, { allowWildcardScope: wildcard })

const fromEither = <A>(either: Either.Either<A, string>): Effect.Effect<A, CliError.CliError> =>
  Either.match(either, { onLeft: (reason) => Effect.fail(CliError.usage(reason)), onRight: Effect.succeed })

const optionalEither = <A>(
  option: Option.Option<string>,
  parse: (text: string) => Either.Either<A, string>
): Effect.Effect<A | undefined, CliError.CliError> =>
  Effect.map(
    Option.isNone(option) ? Effect.succeedNone : Effect.asSome(fromEither(parse(option.value))),
    Option.getOrUndefined
  )

/**
 * The client layer for resolved settings: an embedded store for `memory:` / `file:` URLs, else undici.
 *
 * @since 0.1.0
 * @category layers
 */
export const clientLayer = (settings: Settings.Settings) =>
  Embedded.layerFromUrl({
    baseUrl: settings.url,
    connectTimeout: "10 seconds",
    metrics: false,
    ...(settings.credentials._tag === "Token" ? { token: settings.credentials.token } : {}),
    ...(settings.credentials._tag === "SecretKey"
      ? { secretKey: { kid: settings.credentials.kid, privateKey: settings.credentials.privateKey } }
      : {})
  })

const withSession = <A, E, R>(
  flags: ConnectionFlags,
  use: (session: Session.Service, settings: Settings.Settings) => Effect.Effect<A, E, R>
) =>
  Effect.gen(function*() {
    const settings = yield* settingsOf(flags)
    if (settings.usecase === undefined) {
      return yield* CliError.usage("no usecase", "give --usecase NAME or set OBJECTSTORE_USECASE")
    }
    const usecase = settings.usecase
    return yield* Effect.scoped(Effect.gen(function*() {
      const context = yield* Layer.build(clientLayer(settings))
      const client = Context.get(context, ObjectstoreClient.ObjectstoreClient)
      const session = yield* client.session(Usecase.make(usecase), ClientScope.fromEntries(settings.scope))
      return yield* use(session, settings)
    }))
  })

const putOptionsOf = (flags: {
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

const printJson = (stdio: Stdio.Service, value: unknown) => stdio.out(`${JSON.stringify(value)}\n`)

// ---------------------------------------------------------------------------------------------------------------
// put / get / head / rm

const put = Command.make("put", {
  ...connection,
  ...uploadOptions,
  json,
  file: Args.text({ name: "file" }).pipe(Args.withDescription("the file to upload, or - for standard input")),
  key: Options.text("key").pipe(
    Options.withAlias("k"),
    Options.withDescription("the key (default: generated by the server)"),
    Options.optional
  ),
  filename: Options.text("filename").pipe(Options.withDescription("file name for downloads"), Options.optional),
  concurrency: Options.integer("concurrency").pipe(
    Options.withDescription("parts uploaded at once"),
    Options.withDefault(Multipart.DEFAULT_CONCURRENCY)
  )
}, (flags) =>
  Effect.gen(function*() {
    const stdio = yield* Stdio.Stdio
    const options = yield* putOptionsOf(flags)
    const partSize = yield* optionalEither(flags.partSize, Format.parseSize)
    if (flags.concurrency < 1) return yield* CliError.usage("--concurrency must be at least 1")
    const source: Multipart.Source<CliError.CliError> = isDash(flags.file)
      ? stdio.stdin
      : yield* Effect.as(Files.statFile(flags.file), { path: flags.file })
    return yield* withSession(flags, (session) =>
      Effect.scoped(Effect.gen(function*() {
        const tracker = yield* Progress.make(stdio, "put")
        if (!isDash(flags.file)) tracker.discover(1, yield* Files.statFile(flags.file))
        tracker.discovered()
        const result = yield* session.upload(source, {
          ...options,
          key: Option.getOrUndefined(flags.key),
          filename: Option.getOrUndefined(flags.filename),
          partSize,
          concurrency: flags.concurrency,
          onProgress: (progress) => Effect.sync(() => tracker.partial("put", progress.bytes))
        })
        if (flags.json) {
          yield* printJson(stdio, {
            key: result.key,
            bytes: result.bytes,
            sentBytes: result.sentBytes,
            parts: result.parts,
            multipart: result.uploadId !== undefined
          })
        } else yield* stdio.out(`${result.key}\n`)
      })))
  })).pipe(Command.withDescription("Upload a file or standard input; large files go through a multipart upload."))

const get = Command.make("get", {
  ...connection,
  json,
  key: Args.text({ name: "key" }),
  output: Options.text("output").pipe(
    Options.withAlias("o"),
    Options.withDescription("write to this file (default: standard output)"),
    Options.optional
  ),
  raw: Options.boolean("raw").pipe(Options.withDescription("the stored bytes, not decompressed")),
  range: Options.text("range").pipe(
    Options.withDescription("only bytes START-END, START- or -LENGTH of the stored bytes"),
    Options.optional
  )
}, (flags) =>
  Effect.gen(function*() {
    const stdio = yield* Stdio.Stdio
    const range = yield* optionalEither(flags.range, Format.parseRange)
    return yield* withSession(flags, (session) =>
      Effect.scoped(Effect.gen(function*() {
        const response = yield* session.get(flags.key, {
          decompress: !flags.raw && range === undefined,
          range
        })
        const output = Option.getOrUndefined(flags.output)
        if (output === undefined || isDash(output)) {
          yield* Stream.run(response.stream, stdio.stdout)
          return
        }
        const written = yield* Files.writeAtomically(output, response.stream, () => Effect.void)
        if (flags.json) {
          yield* printJson(stdio, { key: flags.key, path: output, bytes: written.size, sha256: written.sha256 })
        }
      })))
  })).pipe(Command.withDescription("Download an object to standard output or a file (decompressed unless --raw)."))

const metadataJson = (key: string, metadata: Session.ObjectMetadata) => ({
  key,
  contentType: metadata.contentType,
  compression: metadata.compression,
  expirationPolicy: ExpirationPolicy.format(metadata.expirationPolicy),
  timeCreated: metadata.timeCreatedText,
  timeExpires: metadata.timeExpiresText,
  origin: metadata.origin,
  filename: metadata.filename,
  custom: metadata.custom
})

const head = Command.make(
  "head",
  { ...connection, json, key: Args.text({ name: "key" }) },
  (flags) =>
    Effect.gen(function*() {
      const stdio = yield* Stdio.Stdio
      return yield* withSession(flags, (session) =>
        Effect.gen(function*() {
          const info = metadataJson(flags.key, yield* session.head(flags.key))
          if (flags.json) return yield* printJson(stdio, info)
          const lines: Array<string> = [
            `key: ${info.key}`,
            `content-type: ${info.contentType}`,
            `compression: ${info.compression}`,
            `expiration: ${info.expirationPolicy}`
          ]
          if (info.timeCreated !== undefined) lines.push(`created: ${info.timeCreated}`)
          if (info.timeExpires !== undefined) lines.push(`expires: ${info.timeExpires}`)
          if (info.origin !== undefined) lines.push(`origin: ${info.origin}`)
          if (info.filename !== undefined) lines.push(`filename: ${info.filename}`)
          for (const [name, value] of Object.entries(info.custom)) lines.push(`meta.${name}: ${value}`)
          yield* stdio.out(`${lines.join("\n")}\n`)
        }))
    })
).pipe(Command.withDescription("Print an object's metadata."))

const linesOf = (stdio: Stdio.Service, source: string): Stream.Stream<string, CliError.CliError> =>
  isDash(source) ? stdio.stdin.pipe(Stream.decodeText(), Stream.splitLines) : Bulk.fileLines(source)

const rm = Command.make("rm", {
  ...connection,
  json,
  keys: Args.text({ name: "key" }).pipe(Args.repeated),
  from: Options.text("from").pipe(
    Options.withDescription("delete the keys listed in this file (- for standard input; manifests work too)"),
    Options.optional
  )
}, (flags) =>
  Effect.gen(function*() {
    const stdio = yield* Stdio.Stdio
    if (flags.keys.length === 0 && Option.isNone(flags.from)) {
      return yield* CliError.usage("nothing to delete", "give keys, or --from FILE")
    }
    return yield* withSession(flags, (session): Effect.Effect<void, CliError.CliError | Session.DeleteError> => {
      if (Option.isNone(flags.from) && flags.keys.length === 1) {
        const key = flags.keys[0]!
        return Effect.zipRight(
          session.delete(key),
          flags.json ? printJson(stdio, { key, deleted: true }) : Effect.void
        )
      }
      const lines = Stream.concat(
        Stream.fromIterable(flags.keys),
        Option.isSome(flags.from) ? linesOf(stdio, flags.from.value) : Stream.empty
      )
      return Effect.asVoid(Bulk.deleteMany(session, stdio, lines, flags.json))
    })
  })).pipe(Command.withDescription("Delete objects (a missing object is not an error)."))

// ---------------------------------------------------------------------------------------------------------------
// bulk

const putDir = Command.make("put-dir", {
  ...connection,
  ...uploadOptions,
  json,
  dir: Args.text({ name: "dir" }).pipe(Args.withDescription("the folder to upload")),
  prefix: Options.text("prefix").pipe(
    Options.withDescription("prepended to every key (keys are the relative paths with / separators)"),
    Options.withDefault("")
  ),
  manifest: Options.text("manifest").pipe(
    Options.withDescription("upload only these files: lines PATH, PATH<TAB>KEY or JSON {\"path\",\"key\"}"),
    Options.optional
  ),
  writeManifest: Options.text("write-manifest").pipe(
    Options.withDescription("write PATH<TAB>KEY lines of what is on the server afterwards"),
    Options.optional
  ),
  threshold: Options.text("multipart-threshold").pipe(
    Options.withDescription("files larger than this use a multipart upload (default: the part size)"),
    Options.optional
  ),
  concurrency: Options.integer("concurrency").pipe(
    Options.withDescription("large files uploaded at once"),
    Options.withDefault(2)
  ),
  force: Options.boolean("force").pipe(Options.withDescription("upload even files that are already there"))
}, (flags) =>
  Effect.gen(function*() {
    const stdio = yield* Stdio.Stdio
    const put = yield* putOptionsOf(flags)
    const partSize = yield* optionalEither(flags.partSize, Format.parseSize)
    const threshold = (yield* optionalEither(flags.threshold, Format.parseSize)) ?? partSize ??
      Multipart.DEFAULT_PART_SIZE
    if (flags.concurrency < 1) return yield* CliError.usage("--concurrency must be at least 1")
    yield* Files.checkDirectory(flags.dir)
    return yield* withSession(flags, (session) =>
      Bulk.putDir(session, stdio, {
        root: flags.dir,
        prefix: flags.prefix,
        manifest: Option.getOrUndefined(flags.manifest),
        writeManifest: Option.getOrUndefined(flags.writeManifest),
        threshold,
        partSize,
        concurrency: flags.concurrency,
        force: flags.force,
        json: flags.json,
        put
      }))
  })).pipe(Command.withDescription(
    "Upload a folder tree (keys from relative paths) or the files of a manifest; unchanged files are skipped."
  ))

const getMany = Command.make("get-many", {
  ...connection,
  json,
  list: Args.text({ name: "list" }).pipe(
    Args.withDescription("file of keys (lines KEY, PATH<TAB>KEY or JSON {\"path\",\"key\"}), - for standard input"),
    Args.withDefault("-")
  ),
  dir: Options.text("dir").pipe(Options.withAlias("d"), Options.withDescription("the folder to download into")),
  concurrency: Options.integer("concurrency").pipe(
    Options.withDescription("large objects downloaded at once"),
    Options.withDefault(4)
  ),
  force: Options.boolean("force").pipe(Options.withDescription("download even files that are already there"))
}, (flags) =>
  Effect.gen(function*() {
    const stdio = yield* Stdio.Stdio
    if (flags.concurrency < 1) return yield* CliError.usage("--concurrency must be at least 1")
    if (!isDash(flags.list)) yield* Files.statFile(flags.list)
    return yield* withSession(flags, (session) =>
      Bulk.getMany(session, stdio, {
        lines: linesOf(stdio, flags.list),
        outDir: flags.dir,
        concurrency: flags.concurrency,
        force: flags.force,
        json: flags.json
      }))
  })).pipe(Command.withDescription(
    "Download a list of keys into a folder, verifying checksums; files already there are skipped."
  ))

// ---------------------------------------------------------------------------------------------------------------
// URLs and tokens

const parseDuration = (text: string) => fromEither(Humantime.parse(text))

const presign = Command.make("presign", {
  ...connection,
  json,
  key: Args.text({ name: "key" }),
  method: Options.choice("method", ["GET", "HEAD"]).pipe(Options.withDefault("GET" as const)),
  expires: Options.text("expires").pipe(
    Options.withDescription("validity, at most 7d"),
    Options.withDefault("1h")
  )
}, (flags) =>
  Effect.gen(function*() {
    const stdio = yield* Stdio.Stdio
    const duration = yield* parseDuration(flags.expires)
    return yield* withSession(flags, (session) =>
      Effect.gen(function*() {
        const url = yield* session.presignedUrl(flags.method, flags.key, duration)
        yield* flags.json
          ? printJson(stdio, { url, method: flags.method, expiresIn: Duration.toSeconds(duration) })
          : stdio.out(`${url}\n`)
      }))
  })).pipe(Command.withDescription("Print a URL pre-signed with the secret key for GET or HEAD of an object."))

const url = Command.make("url", {
  ...connection,
  json,
  key: Args.text({ name: "key" }),
  tokenValidity: Options.text("token-validity").pipe(
    Options.withDescription("embed a read-only token valid this long (needs a secret key)"),
    Options.optional
  )
}, (flags) =>
  Effect.gen(function*() {
    const stdio = yield* Stdio.Stdio
    const validity = yield* optionalEither(flags.tokenValidity, Humantime.parse)
    return yield* withSession(flags, (session) =>
      Effect.gen(function*() {
        const url = yield* session.objectUrl(flags.key, validity === undefined ? {} : { tokenValidity: validity })
        yield* flags.json ? printJson(stdio, { url }) : stdio.out(`${url}\n`)
      }))
  })).pipe(Command.withDescription("Print the object's URL (with --token-validity, carrying a read-only token)."))

const token = Command.make("token", {
  ...connection,
  json,
  permissions: Options.choice("permission", Permission.all as ReadonlyArray<Permission.Permission>).pipe(
    Options.withAlias("p"),
    Options.withDescription("a permission to grant (repeatable; default: all the key's)"),
    Options.repeated
  ),
  expires: Options.text("expires").pipe(Options.withDescription("validity (default 60s)"), Options.optional)
}, (flags) =>
  Effect.gen(function*() {
    const stdio = yield* Stdio.Stdio
    const expiry = yield* optionalEither(flags.expires, Humantime.parse)
    const settings = yield* settingsOf(flags, true)
    if (settings.usecase === undefined) {
      return yield* CliError.usage("no usecase", "give --usecase NAME or set OBJECTSTORE_USECASE")
    }
    if (settings.credentials._tag !== "SecretKey") {
      return yield* new CliError.CliError({
        exitCode: CliError.ExitCode.auth,
        detail: "minting a token needs a secret key",
        hint: "give --key-file and --key-id (or OBJECTSTORE_KEY_FILE and OBJECTSTORE_KEY_ID)"
      })
    }
    const auth = yield* Auth.makeSecretKey({
      kid: settings.credentials.kid,
      privateKey: settings.credentials.privateKey
    })
    const minted = yield* Tokens.mintWith(auth, {
      usecase: settings.usecase,
      scope: ClientScope.fromEntries(settings.scope),
      permissions: flags.permissions.length === 0 ? undefined : flags.permissions,
      expiry
    })
    yield* flags.json
      ? printJson(stdio, {
        token: Redacted.value(minted),
        usecase: settings.usecase,
        scope: ProtocolScope.render(settings.scope),
        permissions: flags.permissions.length === 0 ? undefined : flags.permissions,
        expiresIn: expiry === undefined ? undefined : Duration.toSeconds(expiry)
      })
      : stdio.out(`${Redacted.value(minted)}\n`)
  })).pipe(Command.withDescription("Mint a token for the usecase and scope (values may be *) with the secret key."))

// ---------------------------------------------------------------------------------------------------------------
// serve

const serve = Command.make("serve", {
  dir: Options.text("dir").pipe(
    Options.withDescription("keep objects in this folder (default: in memory)"),
    Options.optional
  ),
  host: Options.text("host").pipe(Options.withDefault("127.0.0.1")),
  port: Options.integer("port").pipe(Options.withDescription("0 picks a free port"), Options.withDefault(8888)),
  authKey: Options.text("auth-key").pipe(
    Options.withDescription("enforce auth with this public key: KID=PUBLIC_KEY.pem (repeatable)"),
    Options.repeated
  )
}, (flags) =>
  Effect.gen(function*() {
    const stdio = yield* Stdio.Stdio
    const fs = yield* FileSystem.FileSystem
    const keys: Record<string, ServerAuth.KeyEntry> = {}
    for (const spec of flags.authKey) {
      const eq = spec.indexOf("=")
      if (eq <= 0) return yield* CliError.usage(`bad --auth-key ${JSON.stringify(spec)}: expected KID=PUBLIC_KEY.pem`)
      const file = spec.slice(eq + 1)
      const pem = yield* fs.readFileString(file).pipe(Effect.mapError(() => CliError.usage(`cannot read ${file}`)))
      keys[spec.slice(0, eq)] = { publicKeys: [pem], maxPermissions: Permission.all }
    }
    const storage = Option.match(flags.dir, {
      onNone: () => ({ type: "memory" as const }),
      onSome: (path) => ({ type: "filesystem" as const, path })
    })
    const enforce = flags.authKey.length > 0
    return yield* HttpServer.addressFormattedWith((address) =>
      Effect.zipRight(
        Effect.zipRight(
          stdio.err(
            `objectstore: serving ${storage.type === "memory" ? "in memory" : storage.path} on ${address}` +
              `${enforce ? " (auth enforced)" : ""}; Ctrl-C stops\n`
          ),
          stdio.out(`${address}\n`)
        ),
        Effect.never
      )
    ).pipe(Effect.provide(Server.layer({ host: flags.host, port: flags.port, storage, auth: { enforce, keys } })))
  })).pipe(Command.withDescription("Run the local server (memory or --dir) for development, until Ctrl-C."))

// ---------------------------------------------------------------------------------------------------------------

/**
 * The root command.
 *
 * @since 0.1.0
 * @category commands
 */
export const command = Command.make("objectstore").pipe(
  Command.withDescription("Objectstore from the shell: uploads, downloads, bulk jobs, URLs, tokens, a local server."),
  Command.withSubcommands([put, get, head, rm, putDir, getMany, presign, url, token, serve])
)

const footer = HelpDoc.blocks([
  HelpDoc.h1("EXIT CODES"),
  HelpDoc.p(
    "0 success; 1 other failure; 2 usage or invalid input (bad flags or scope, missing file, rejected request);"
  ),
  HelpDoc.p("3 object not found; 4 auth (missing/invalid token, no permission, no secret key);"),
  HelpDoc.p("5 bulk job with some objects failed; 130 interrupted (Ctrl-C)."),
  HelpDoc.h1("ENVIRONMENT"),
  HelpDoc.p(
    "OBJECTSTORE_URL, OBJECTSTORE_TOKEN, OBJECTSTORE_TOKEN_FILE, OBJECTSTORE_KEY_FILE, OBJECTSTORE_KEY_ID, " +
      "OBJECTSTORE_USECASE, OBJECTSTORE_SCOPE, OBJECTSTORE_CONFIG. Flags win over the environment, which wins " +
      "over the config file."
  )
])

/**
 * Runs the command for a full argument vector (`[node, script, ...args]`), as `@effect/cli` does.
 *
 * @since 0.1.0
 * @category commands
 */
export const run = Command.run(command, { name: "objectstore", version: VERSION, executable: "objectstore", footer })

const consoleOf = (stdio: Stdio.Service, base: Console.Console): Console.Console => {
  const text = (args: ReadonlyArray<unknown>) => {
    const joined = `${args.map(String).join(" ")}\n`

    return stdio.color ? joined : joined.replace(/\x1b\[[0-9;]*m/g, "")
  }
  return {
    ...base,
    log: (...args) => stdio.out(text(args)),
    info: (...args) => stdio.out(text(args)),
    error: (...args) => stdio.err(text(args)),
    warn: (...args) => stdio.err(text(args))
  }
}

const loggerOf = (stdio: Stdio.Service) =>
  Logger.make(({ logLevel, message }) => {
    if (LogLevel.lessThan(logLevel, LogLevel.Warning)) return
    const text = (Array.isArray(message) ? message.map(String).join(" ") : String(message))
      .replace(/^objectstore:\s*/, "")
    const level = logLevel._tag === "Warning" ? "warning" : logLevel.label.toLowerCase()
    stdio.errSync(`objectstore: ${level}: ${CliError.oneLine(text)}\n`)
  })

/**
 * A standalone `-` (standard input or output) is replaced by this before parsing: `@effect/cli` takes any argument
 * starting with `-` for an option. Real arguments cannot contain a NUL character.
 */
const DASH = "\u0000-"

const isDash = (text: string) => text === "-" || text === DASH

/**
 * Runs the command for the user's arguments (without `node` and the script) and returns the exit code. Output
 * and errors go through `Stdio`: a failure prints `objectstore: <message>` and possibly `hint: …` on standard
 * error, never a stack trace; logs of level warning and above are printed on one line each.
 *
 * @since 0.1.0
 * @category commands
 */
export const main = (
  args: ReadonlyArray<string>
) =>
  Effect.gen(function*() {
    const stdio = yield* Stdio.Stdio
    const console = yield* Effect.console
    const exit = yield* Effect.exit(
      run(["node", "objectstore", ...args.map((arg) => (arg === "-" ? DASH : arg))]).pipe(
        Effect.withConsole(consoleOf(stdio, console)),
        Effect.provide(Logger.replace(Logger.defaultLogger, loggerOf(stdio)))
      )
    )
    if (Exit.isSuccess(exit)) return CliError.ExitCode.ok as number
    const report = CliError.fromCause(exit.cause)
    yield* stdio.err(CliError.render(report))
    return report.exitCode
  })

/**
 * Whether an exit is an interruption only (Ctrl-C).
 *
 * @since 0.1.0
 * @category commands
 */
export const isInterrupted = (exit: Exit.Exit<unknown, unknown>): boolean =>
  Exit.isFailure(exit) && Cause.isInterruptedOnly(exit.cause)
