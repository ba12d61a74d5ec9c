/**
 * Where the command connects and as whom: resolved from flags, then environment variables, then a JSON config
 * file, then defaults (the first that sets a value wins).
 *
 * | setting | flag | environment | config file key |
 * |---|---|---|---|
 * | server URL (`http(s)://…`, or `memory:` / `file:<dir>` for an embedded store) | `--url` | `OBJECTSTORE_URL` | `url` |
 * | static token, as text | — | `OBJECTSTORE_TOKEN` | `token` |
 * | static token, from a file | `--token-file` | `OBJECTSTORE_TOKEN_FILE` | `tokenFile` |
 * | Ed25519 secret key (PKCS#8 PEM file) | `--key-file` | `OBJECTSTORE_KEY_FILE` | `keyFile` |
 * | its key id | `--key-id` | `OBJECTSTORE_KEY_ID` | `keyId` |
 * | usecase | `--usecase`, `-u` | `OBJECTSTORE_USECASE` | `usecase` |
 * | scope (`org=42 project=1337`) | `--scope`, `-s` | `OBJECTSTORE_SCOPE` | `scope` |
 * | config file | `--config` | `OBJECTSTORE_CONFIG` | — (default `~/.config/objectstore/config.json`, optional) |
 * | response deadline per attempt (`30s`) | — | `OBJECTSTORE_TIMEOUT` | `timeout` |
 * | longest pause in a transfer (`30s`) | — | `OBJECTSTORE_IDLE_TIMEOUT` | `idleTimeout` |
 * | connect deadline (`10s`) | — | `OBJECTSTORE_CONNECT_TIMEOUT` | `connectTimeout` |
 *
 * The credentials come as a unit from the first source that names any (a secret key before a token within one
 * source). Paths in the config file are relative to the file. Durations are humantime (`500ms`, `2m 30s`); each
 * deadline is the client's option of the same name (`ObjectstoreClient.Options`, `NodeClient.Options`). Environment variables are read through Effect's
 * `Config`, so tests use a `ConfigProvider`. Secrets stay `Redacted`.
 *
 * @since 0.1.0
 */
import * as FileSystem from "@effect/platform/FileSystem"
import * as Humantime from "@objectstore/protocol/Humantime"
import type * as ProtocolScope from "@objectstore/protocol/Scope"
import * as Config from "effect/Config"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Option from "effect/Option"
import * as Redacted from "effect/Redacted"
import * as path from "node:path"
import * as CliError from "./CliError.js"
import * as Format from "./internal/format.js"

/**
 * The default server URL: a local `objectstore serve`.
 *
 * @since 0.1.0
 * @category constants
 */
export const DEFAULT_URL = "http://127.0.0.1:8888"

/**
 * The default connect deadline of the command (the client's own default, 100 ms, suits a service next to its
 * server; a command may run anywhere).
 *
 * @since 0.1.0
 * @category constants
 */
export const DEFAULT_CONNECT_TIMEOUT: Duration.Duration = Duration.seconds(10)

/**
 * The request deadlines (each `undefined` for the client's default).
 *
 * @since 0.1.0
 * @category models
 */
export interface Deadlines {
  /** How long an attempt waits for the response headers (`ObjectstoreClient.Options.timeout`). */
  readonly timeout: Duration.Duration | undefined
  /** The longest pause in an upload or download (`ObjectstoreClient.Options.idleTimeout`). */
  readonly idleTimeout: Duration.Duration | undefined
  /** How long connecting may take (`NodeClient.Options.connectTimeout`; default {@link DEFAULT_CONNECT_TIMEOUT}). */
  readonly connectTimeout: Duration.Duration
}

/**
 * How requests are authenticated.
 *
 * @since 0.1.0
 * @category models
 */
export type Credentials =
  | { readonly _tag: "None" }
  | { readonly _tag: "Token"; readonly token: Redacted.Redacted<string> }
  | { readonly _tag: "SecretKey"; readonly kid: string; readonly privateKey: Redacted.Redacted<string> }

/**
 * The resolved settings.
 *
 * @since 0.1.0
 * @category models
 */
export interface Settings {
  readonly url: string
  readonly credentials: Credentials
  readonly usecase: string | undefined
  readonly scope: ProtocolScope.Components
  readonly deadlines: Deadlines
}

/**
 * What the flags say (each optional).
 *
 * @since 0.1.0
 * @category models
 */
export interface Flags {
  readonly url: Option.Option<string>
  readonly tokenFile: Option.Option<string>
  readonly keyFile: Option.Option<string>
  readonly keyId: Option.Option<string>
  readonly usecase: Option.Option<string>
  readonly scope: ReadonlyArray<string>
  readonly config: Option.Option<string>
}

interface Source {
  readonly name: string
  readonly url?: string | undefined
  readonly token?: Redacted.Redacted<string> | undefined
  readonly tokenFile?: string | undefined
  readonly keyFile?: string | undefined
  readonly keyId?: string | undefined
  readonly usecase?: string | undefined
  readonly scope?: ReadonlyArray<string> | undefined
  readonly timeout?: string | undefined
  readonly idleTimeout?: string | undefined
  readonly connectTimeout?: string | undefined
}

const env = (name: string) => Config.option(Config.string(name)).pipe(Config.map(Option.filter((s) => s !== "")))

const environment = Config.all({
  url: env("OBJECTSTORE_URL"),
  token: Config.option(Config.redacted("OBJECTSTORE_TOKEN")),
  tokenFile: env("OBJECTSTORE_TOKEN_FILE"),
  keyFile: env("OBJECTSTORE_KEY_FILE"),
  keyId: env("OBJECTSTORE_KEY_ID"),
  usecase: env("OBJECTSTORE_USECASE"),
  scope: env("OBJECTSTORE_SCOPE"),
  config: env("OBJECTSTORE_CONFIG"),
  timeout: env("OBJECTSTORE_TIMEOUT"),
  idleTimeout: env("OBJECTSTORE_IDLE_TIMEOUT"),
  connectTimeout: env("OBJECTSTORE_CONNECT_TIMEOUT"),
  home: env("HOME")
})

const str = (
  record: Record<string, unknown>,
  name: string,
  file: string
): Either.Either<string | undefined, string> => {
  const value = record[name]
  if (value === undefined || value === null) return Either.right(undefined)
  if (typeof value !== "string") return Either.left(`${file}: "${name}" must be a string`)
  return Either.right(value)
}

const readConfigFile = (
  file: string,
  explicit: boolean
): Effect.Effect<Source | undefined, CliError.CliError, FileSystem.FileSystem> =>
  Effect.gen(function*() {
    const fs = yield* FileSystem.FileSystem
    const text = yield* fs.readFileString(file).pipe(
      Effect.map(Option.some),
      Effect.catchAll((error) =>
        !explicit && error._tag === "SystemError" && error.reason === "NotFound"
          ? Effect.succeed(Option.none<string>())
          : Effect.fail(CliError.usage(`cannot read config file ${file}`, "check --config or OBJECTSTORE_CONFIG"))
      )
    )
    if (Option.isNone(text)) return undefined
    const parsed: unknown = yield* Effect.try({
      try: () => JSON.parse(text.value),
      catch: () => CliError.usage(`config file ${file} is not valid JSON`)
    })
    if (typeof parsed !== "object" || parsed === null || Array.isArray(parsed)) {
      return yield* CliError.usage(`config file ${file} must hold a JSON object`)
    }
    const record = parsed as Record<string, unknown>
    const get = (name: string) =>
      Either.match(str(record, name, file), {
        onLeft: (reason) => Effect.fail(CliError.usage(reason)),
        onRight: Effect.succeed
      })
    const dir = path.dirname(file)
    const relative = (p: string | undefined) => (p === undefined ? undefined : path.resolve(dir, p))
    const scope = record.scope
    let scopeTexts: ReadonlyArray<string> | undefined
    if (typeof scope === "string") scopeTexts = [scope]
    else if (typeof scope === "object" && scope !== null && !Array.isArray(scope)) {
      scopeTexts = Object.entries(scope as Record<string, unknown>).map(([k, v]) => `${k}=${String(v)}`)
    } else if (scope !== undefined) return yield* CliError.usage(`${file}: "scope" must be a string or an object`)
    const token = yield* get("token")
    return {
      name: `config file ${file}`,
      url: yield* get("url"),
      token: token === undefined ? undefined : Redacted.make(token),
      tokenFile: relative(yield* get("tokenFile")),
      keyFile: relative(yield* get("keyFile")),
      keyId: yield* get("keyId"),
      usecase: yield* get("usecase"),
      scope: scopeTexts,
      timeout: yield* get("timeout"),
      idleTimeout: yield* get("idleTimeout"),
      connectTimeout: yield* get("connectTimeout")
    }
  })

const first = <K extends keyof Source>(sources: ReadonlyArray<Source>, key: K): Source[K] | undefined => {
  for (const source of sources) if (source[key] !== undefined) return source[key]
  return undefined
}

const readSecret = (
  file: string,
  what: string,
  hint: string
): Effect.Effect<Redacted.Redacted<string>, CliError.CliError, FileSystem.FileSystem> =>
  Effect.flatMap(FileSystem.FileSystem, (fs) =>
    fs.readFileString(file).pipe(
      Effect.mapError(() => CliError.usage(`cannot read ${what} ${file}`, hint)),
      Effect.map((text) => Redacted.make(text.trim()))
    ))

/**
 * Resolves the settings from the flags, the environment (through `Config`) and the config file.
 *
 * @since 0.1.0
 * @category constructors
 */
export const resolve = (
  flags: Flags,
  options: { readonly allowWildcardScope?: boolean } = {}
): Effect.Effect<Settings, CliError.CliError, FileSystem.FileSystem> =>
  Effect.gen(function*() {
    const vars = yield* environment.pipe(
      Effect.mapError(() => CliError.usage("cannot read the OBJECTSTORE_* environment variables"))
    )
    const configPath = Option.orElse(flags.config, () => vars.config)
    const defaultPath = Option.map(vars.home, (home) => path.join(home, ".config", "objectstore", "config.json"))
    const file = Option.isSome(configPath)
      ? yield* readConfigFile(configPath.value, true)
      : Option.isSome(defaultPath)
      ? yield* readConfigFile(defaultPath.value, false)
      : undefined
    const sources: Array<Source> = [
      {
        name: "flags",
        url: Option.getOrUndefined(flags.url),
        tokenFile: Option.getOrUndefined(flags.tokenFile),
        keyFile: Option.getOrUndefined(flags.keyFile),
        keyId: Option.getOrUndefined(flags.keyId),
        usecase: Option.getOrUndefined(flags.usecase),
        scope: flags.scope.length > 0 ? flags.scope : undefined
      },
      {
        name: "environment",
        url: Option.getOrUndefined(vars.url),
        token: Option.getOrUndefined(vars.token),
        tokenFile: Option.getOrUndefined(vars.tokenFile),
        keyFile: Option.getOrUndefined(vars.keyFile),
        keyId: Option.getOrUndefined(vars.keyId),
        usecase: Option.getOrUndefined(vars.usecase),
        scope: Option.match(vars.scope, { onNone: () => undefined, onSome: (s) => [s] }),
        timeout: Option.getOrUndefined(vars.timeout),
        idleTimeout: Option.getOrUndefined(vars.idleTimeout),
        connectTimeout: Option.getOrUndefined(vars.connectTimeout)
      },
      ...(file === undefined ? [] : [file])
    ]
    const scopeTexts = first(sources, "scope") ?? []
    const scope = yield* Either.mapLeft(
      Format.parseScope(scopeTexts, options.allowWildcardScope === true),
      (reason) =>
        CliError.usage(reason, "give the scope as --scope \"org=42 project=1337\" (names and values in order)")
    )
    const auth = sources.find((s) => s.keyFile !== undefined || s.token !== undefined || s.tokenFile !== undefined)
    let credentials: Credentials = { _tag: "None" }
    if (auth?.keyFile !== undefined) {
      const kid = first(sources, "keyId")
      if (kid === undefined) {
        return yield* CliError.usage(
          "a secret key needs its key id",
          "set --key-id or OBJECTSTORE_KEY_ID (the kid the server knows the public key by)"
        )
      }
      credentials = {
        _tag: "SecretKey",
        kid,
        privateKey: yield* readSecret(auth.keyFile, "key file", "check --key-file or OBJECTSTORE_KEY_FILE")
      }
    } else if (auth?.token !== undefined) {
      credentials = { _tag: "Token", token: auth.token }
    } else if (auth?.tokenFile !== undefined) {
      credentials = {
        _tag: "Token",
        token: yield* readSecret(auth.tokenFile, "token file", "check --token-file or OBJECTSTORE_TOKEN_FILE")
      }
    }
    const deadline = (
      key: "timeout" | "idleTimeout" | "connectTimeout",
      variable: string
    ): Either.Either<Duration.Duration | undefined, ReturnType<typeof CliError.usage>> => {
      const source = sources.find((s) => s[key] !== undefined)
      if (source === undefined) return Either.right(undefined)
      const text = source[key]!
      const name = source.name === "environment" ? variable : `"${key}" in ${source.name}`
      return Either.match(Humantime.parse(text), {
        onLeft: (reason) =>
          Either.left(CliError.usage(`${name}: ${reason}`, "give a positive duration such as 30s, 500ms or 2m")),
        onRight: (duration) =>
          Duration.toMillis(duration) > 0
            ? Either.right(duration)
            : Either.left(CliError.usage(`${name} must be positive, got "${text}"`, "give a duration such as 30s"))
      })
    }
    return {
      url: first(sources, "url") ?? DEFAULT_URL,
      credentials,
      usecase: first(sources, "usecase"),
      scope,
      deadlines: {
        timeout: yield* deadline("timeout", "OBJECTSTORE_TIMEOUT"),
        idleTimeout: yield* deadline("idleTimeout", "OBJECTSTORE_IDLE_TIMEOUT"),
        connectTimeout: (yield* deadline("connectTimeout", "OBJECTSTORE_CONNECT_TIMEOUT")) ?? DEFAULT_CONNECT_TIMEOUT
      }
    }
  })
