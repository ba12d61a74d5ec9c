/**
 * The `objectstore-server` command, as upstream's `objectstore` server binary (PROTOCOL §16):
 *
 * ```text
 * objectstore-server [-c config.yaml] <command>
 *   run [--http-addr ip:port] [--storage-type filesystem|memory] [--storage-path dir]
 *       [--auth-enforce[=true|false]] [--max-body-size bytes] [--batch-memory-budget bytes]
 *                      serve, configured by the OS__* environment (flags win over it)
 *   healthcheck        GET http://<http_addr>/health; exit 0 only on 2xx
 *   version            print the version
 *   sleep <seconds>    wait, then exit 0
 * ```
 *
 * Configuration comes from `OS__*` variables over upstream's defaults (`0.0.0.0:8888`, filesystem storage at
 * `data`, auth enforced). YAML config files (`-c`) are not supported (exit 2). A misconfiguration fails at start
 * with one line on stderr and exit code 1.
 *
 * This is the only module of the package that reads `process.env` and `process.argv`.
 *
 * @since 0.1.0
 */
import * as NodeRuntime from "@effect/platform-node/NodeRuntime"
import * as HttpServer from "@effect/platform/HttpServer"
import * as Cause from "effect/Cause"
import * as Console from "effect/Console"
import * as Data from "effect/Data"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Exit from "effect/Exit"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as fs from "node:fs"
import * as Config from "./Config.js"
import * as Server from "./Server.js"

/** Ends the program with `code` after printing `message` (if any) on stderr. */
class Stop extends Data.TaggedError("Stop")<{ readonly code: number; readonly message?: string | undefined }> {}

const USAGE = `usage: objectstore-server [-c config.yaml] <command>

commands:
  run            serve (configured by OS__* variables; see below)
  healthcheck    GET http://<http_addr>/health, exit non-zero unless 2xx
  version        print the version
  sleep <secs>   sleep, then exit

run flags (win over the environment):
  --http-addr <ip:port>           OS__HTTP_ADDR (default 0.0.0.0:8888)
  --storage-type <type>           OS__STORAGE__TYPE: filesystem (default) or memory
  --storage-path <dir>            OS__STORAGE__PATH (default data)
  --auth-enforce[=<bool>]         OS__AUTH__ENFORCE (default true; needs OS__AUTH__KEYS)
  --max-body-size <bytes>         OS__DEV__MAX_BODY_SIZE
  --batch-memory-budget <bytes>   OS__DEV__BATCH_MEMORY_BUDGET (default 33554432)`

const usageError = (message: string) => new Stop({ code: 2, message: `${message}\n\n${USAGE}` })

/** Flag → the variable it stands for. */
const FLAGS: Readonly<Record<string, string>> = {
  "--http-addr": "OS__HTTP_ADDR",
  "--storage-type": "OS__STORAGE__TYPE",
  "--storage-path": "OS__STORAGE__PATH",
  "--auth-enforce": "OS__AUTH__ENFORCE",
  "--max-body-size": "OS__DEV__MAX_BODY_SIZE",
  "--batch-memory-budget": "OS__DEV__BATCH_MEMORY_BUDGET"
}

interface Invocation {
  readonly command: string | undefined
  readonly args: ReadonlyArray<string>
  /** Flag values by variable name. */
  readonly flags: ReadonlyMap<string, { readonly flag: string; readonly value: string }>
}

const parseArgs = (argv: ReadonlyArray<string>): Either.Either<Invocation, Stop> => {
  let command: string | undefined
  const args: Array<string> = []
  const flags = new Map<string, { flag: string; value: string }>()
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!
    if (arg === "-c" || arg === "--config" || arg.startsWith("--config=")) {
      return Either.left(
        new Stop({
          code: 2,
          message: "config files are not supported by this server, use OS__* environment variables instead"
        })
      )
    }
    if (arg === "-h" || arg === "--help") return Either.left(new Stop({ code: 0, message: USAGE }))
    if (arg.startsWith("-") && !arg.startsWith("--")) return Either.left(usageError(`unknown option ${arg}`))
    if (arg.startsWith("--")) {
      const eq = arg.indexOf("=")
      const flag = eq === -1 ? arg : arg.slice(0, eq)
      const variable = FLAGS[flag]
      if (variable === undefined) return Either.left(usageError(`unknown option ${flag}`))
      let value: string
      if (eq !== -1) value = arg.slice(eq + 1)
      else if (flag === "--auth-enforce" && (argv[i + 1] === undefined || argv[i + 1]!.startsWith("-"))) value = "true"
      else if (argv[i + 1] === undefined) return Either.left(usageError(`option ${flag} needs a value`))
      else value = argv[++i]!
      flags.set(variable, { flag, value })
      continue
    }
    if (command === undefined) command = arg
    else args.push(arg)
  }
  return Either.right({ command, args, flags })
}

/** The environment with flag values replacing their variables (in any letter case). */
const withFlags = (
  env: Readonly<Record<string, string | undefined>>,
  flags: Invocation["flags"]
): Record<string, string | undefined> => {
  const out: Record<string, string | undefined> = {}
  for (const [name, value] of Object.entries(env)) {
    if (!flags.has(name.toUpperCase())) out[name] = value
  }
  for (const [variable, { value }] of flags) out[variable] = value
  return out
}

const configError = (flags: Invocation["flags"]) => (error: Config.ServerConfigError) => {
  const flag = flags.get(error.variable)?.flag
  return new Stop({
    code: 1,
    message: flag === undefined ? error.message : `${flag}: ${error.message.slice(error.variable.length + 2)}`
  })
}

const describeStartError = (error: { readonly message: string; readonly cause?: unknown }): string => {
  const cause = error.cause instanceof Error ? error.cause.message : undefined
  return [error.message, cause].filter((part) => part !== undefined && part !== "").join(": ") || String(error)
}

const run = (invocation: Invocation, env: Readonly<Record<string, string | undefined>>) =>
  Effect.gen(function*() {
    if (invocation.args.length > 0) return yield* usageError(`unexpected argument ${invocation.args[0]}`)
    const config = yield* Config.fromEnvironment(withFlags(env, invocation.flags), Config.upstreamDefaults).pipe(
      Effect.mapError(configError(invocation.flags))
    )
    const listening = HttpServer.addressFormattedWith((address) =>
      Effect.logInfo(`objectstore-server listening on ${address}`).pipe(
        Effect.annotateLogs({
          storage: config.storage.type === "filesystem" ? `filesystem:${config.storage.path}` : "memory",
          auth: config.auth.enforce ? "enforced" : Object.keys(config.auth.keys).length > 0 ? "evaluated" : "disabled"
        })
      )
    )
    return yield* Layer.launch(Layer.effectDiscard(listening).pipe(Layer.provideMerge(Server.layer(config)))).pipe(
      Effect.mapError((error) => new Stop({ code: 1, message: `cannot start: ${describeStartError(error)}` }))
    )
  })

/** The address to dial for a listen address: the wildcard addresses mean this host. */
const dialHost = (host: string): string => host === "0.0.0.0" ? "127.0.0.1" : host === "::" ? "::1" : host

const healthcheck = (invocation: Invocation, env: Readonly<Record<string, string | undefined>>) =>
  Effect.gen(function*() {
    const addr = yield* Config.httpAddrFromEnvironment(withFlags(env, invocation.flags), Config.upstreamDefaults).pipe(
      Either.mapLeft(configError(invocation.flags))
    )
    const host = dialHost(addr.host)
    const url = `http://${host.includes(":") ? `[${host}]` : host}:${addr.port}/health`
    const status = yield* Effect.tryPromise({
      try: async (signal) => {
        const response = await fetch(url, { signal: AbortSignal.any([signal, AbortSignal.timeout(10_000)]) })
        await response.body?.cancel()
        return response.status
      },
      catch: (cause) =>
        new Stop({
          code: 1,
          message: `healthcheck ${url} failed: ${(cause as Error).cause ?? (cause as Error).message}`
        })
    })
    if (status < 200 || status > 299) {
      return yield* new Stop({ code: 1, message: `healthcheck ${url} failed: status ${status}` })
    }
    yield* Console.log(`healthcheck ${url}: ${status}`)
  })

const version = Effect.sync(() => {
  const pkg = JSON.parse(fs.readFileSync(new URL("../package.json", import.meta.url), "utf8")) as { version: string }
  return pkg.version
}).pipe(Effect.flatMap((v) => Console.log(`objectstore-server ${v}`)))

const sleep = (args: ReadonlyArray<string>) =>
  Effect.gen(function*() {
    const seconds = args.length === 1 && /^[0-9]+(\.[0-9]+)?$/.test(args[0]!) ? Number(args[0]) : undefined
    if (seconds === undefined) return yield* usageError("sleep needs one argument: a number of seconds")
    yield* Effect.sleep(Duration.seconds(seconds))
  })

/**
 * The program for `argv` (without `node` and the script) and `env`. Exits through `Stop` failures carrying the exit
 * code and a message.
 */
const main = (
  argv: ReadonlyArray<string>,
  env: Readonly<Record<string, string | undefined>>
): Effect.Effect<void, Stop> =>
  Effect.gen(function*() {
    const invocation = yield* parseArgs(argv)
    const onlyRunFlags = (name: string) =>
      invocation.flags.size > 0 && name !== "run" && name !== "healthcheck"
        ? Effect.fail(usageError(`options are only accepted by run and healthcheck`))
        : Effect.void
    switch (invocation.command) {
      case "run":
        return yield* run(invocation, env)
      case "healthcheck":
        if (invocation.args.length > 0) return yield* usageError(`unexpected argument ${invocation.args[0]}`)
        return yield* healthcheck(invocation, env)
      case "version":
        yield* onlyRunFlags("version")
        return yield* version
      case "sleep":
        yield* onlyRunFlags("sleep")
        return yield* sleep(invocation.args)
      case undefined:
        return yield* usageError("missing command")
      default:
        return yield* usageError(`unknown command ${invocation.command}`)
    }
  })

const report = (cause: Cause.Cause<Stop>): Effect.Effect<void> => {
  const stop = Cause.failureOption(cause)
  if (Option.isSome(stop)) {
    return stop.value.message === undefined
      ? Effect.void
      : stop.value.code === 0
      ? Console.log(stop.value.message)
      : Console.error(`objectstore-server: ${stop.value.message}`)
  }
  return Cause.isInterruptedOnly(cause) ? Effect.void : Console.error(Cause.pretty(cause))
}

NodeRuntime.runMain(
  // eslint-disable-next-line no-restricted-properties -- the bin is where the environment is read
  main(process.argv.slice(2), process.env).pipe(Effect.tapErrorCause(report)),
  {
    disableErrorReporting: true,
    teardown: (exit, onExit) => {
      if (Exit.isSuccess(exit) || Cause.isInterruptedOnly(exit.cause)) return onExit(0)
      const stop = Cause.failureOption(exit.cause)
      onExit(Option.isSome(stop) && stop.value instanceof Stop ? stop.value.code : 1)
    }
  }
)
