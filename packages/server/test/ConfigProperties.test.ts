import { assert, describe, it } from "@effect/vitest"
import * as Humantime from "@objectstore/protocol/Humantime"
import * as Config from "@objectstore/server/Config"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Exit from "effect/Exit"
import * as fc from "fast-check"

// Property tests of the OS__* variables whose values range widely: booleans, counts and sizes, durations and
// addresses. No key files are configured here, so reading the environment never does I/O and runs synchronously.

const read = (env: Record<string, string>): Either.Either<Config.ServerConfig, Config.ServerConfigError> => {
  const exit = Effect.runSyncExit(Config.fromEnvironment(env))
  if (Exit.isSuccess(exit)) return Either.right(exit.value)
  if (exit.cause._tag === "Fail") return Either.left(exit.cause.error)
  throw new Error(`unexpected failure: ${String(exit.cause)}`)
}

const readOk = (env: Record<string, string>) => Either.getOrThrowWith(read(env), (error) => new Error(error.message))

/** The error for `env`, which must fail naming `variable`, its message starting with it. */
const failure = (env: Record<string, string>, variable: string): Config.ServerConfigError => {
  const result = read(env)
  if (Either.isRight(result)) throw new Error(`${JSON.stringify(env)} was accepted`)
  assert.strictEqual(result.left.variable, variable)
  assert.isTrue(result.left.message.startsWith(`${variable}: `), result.left.message)
  return result.left
}

const whitespace = fc.stringMatching(/^[ \t]{0,2}$/)
const padded = (text: fc.Arbitrary<string>) =>
  fc.tuple(whitespace, text, whitespace).map(([before, value, after]) => `${before}${value}${after}`)
/** Any letter case of `text`. */
const anyCase = (text: string) =>
  fc.array(fc.boolean(), { minLength: text.length, maxLength: text.length }).map((upper) =>
    [...text].map((c, i) => upper[i] ? c.toUpperCase() : c.toLowerCase()).join("")
  )

const flags = {
  OS__AUTH__ENFORCE: (config: Config.ServerConfig) => config.auth.enforce,
  OS__DEV__ENFORCE_EXPIRATION: (config: Config.ServerConfig) => config.enforceExpiration,
  OS__DEV__RESUMABLE: (config: Config.ServerConfig) => config.resumable
}
const counts = {
  OS__HTTP__MAX_REQUESTS: (config: Config.ServerConfig) => config.maxRequests,
  OS__SERVICE__MAX_CONCURRENCY: (config: Config.ServerConfig) => config.maxConcurrency,
  OS__SERVICE__CONCURRENCY_QUEUE: (config: Config.ServerConfig) => config.concurrencyQueue,
  OS__DEV__MAX_BODY_SIZE: (config: Config.ServerConfig) => config.maxBodySize
}
const positiveCounts = {
  OS__DEV__BATCH_MEMORY_BUDGET: (config: Config.ServerConfig) => config.batchMemoryBudget,
  OS__DEV__RESUMABLE_CHUNK_LIMIT: (config: Config.ServerConfig) => config.resumableChunkLimit
}
const durations = { OS__SERVICE__CONCURRENCY_TIMEOUT: (config: Config.ServerConfig) => config.concurrencyTimeout }
const positiveDurations = {
  OS__DEV__REAP_INTERVAL: (config: Config.ServerConfig) => config.reapInterval,
  OS__DEV__MULTIPART_MAX_AGE: (config: Config.ServerConfig) => config.multipartMaxAge,
  OS__DEV__RESUMABLE_MAX_AGE: (config: Config.ServerConfig) => config.resumableMaxAge
}

describe("Config.fromEnvironment (properties)", () => {
  it("booleans: true/false/1/0 in any case with surrounding blanks; anything else names the variable and value", () => {
    fc.assert(
      fc.property(
        fc.constantFrom(...Object.keys(flags) as Array<keyof typeof flags>),
        fc.constantFrom("true", "false", "1", "0").chain((word) =>
          padded(anyCase(word)).map((text) => [text, word === "true" || word === "1"] as const)
        ),
        (variable, [text, value]) => {
          if (variable === "OS__AUTH__ENFORCE" && value) {
            // read as true: enforced with no keys is refused
            const error = read({ [variable]: text })
            assert.isTrue(Either.isLeft(error) && /no keys are configured/.test(error.left.message), text)
          } else {
            assert.strictEqual(flags[variable](readOk({ [variable]: text })), value)
          }
        }
      ),
      { numRuns: 200 }
    )
    fc.assert(
      fc.property(
        fc.constantFrom(...Object.keys(flags)),
        fc.string({ maxLength: 8 }).filter((text) => !["true", "false", "1", "0"].includes(text.trim().toLowerCase())),
        (variable, text) => {
          const error = failure({ [variable]: text }, variable)
          assert.include(error.message, `expected true or false, got ${JSON.stringify(text)}`)
        }
      ),
      { numRuns: 200 }
    )
  })

  it("counts and sizes: any safe non-negative integer; signs, fractions, units and overflow fail with the value", () => {
    const all = { ...counts, ...positiveCounts }
    fc.assert(
      fc.property(
        fc.constantFrom(...Object.keys(all) as Array<keyof typeof all>),
        fc.maxSafeNat(),
        whitespace,
        (variable, n, blank) => {
          if (n === 0 && variable in positiveCounts) return
          assert.strictEqual(all[variable](readOk({ [variable]: `${blank}${n}${blank}` })), n)
        }
      ),
      { numRuns: 300 }
    )
    fc.assert(
      fc.property(
        fc.constantFrom(...Object.keys(all)),
        fc.oneof(
          fc.integer({ min: -1e9, max: -1 }).map(String),
          fc.tuple(fc.nat(), fc.integer({ min: 1, max: 9 })).map(([n, f]) => `${n}.${f}`),
          fc.tuple(fc.nat(), fc.constantFrom("KiB", "MB", "k", "e3", " 1")).map(([n, unit]) => `${n}${unit}`),
          fc.bigInt({ min: 2n ** 53n, max: 2n ** 70n }).map(String),
          fc.string({ maxLength: 6 }).filter((text) => !/^[ \t]*[0-9]+[ \t]*$/.test(text))
        ),
        (variable, text) => {
          const error = failure({ [variable]: text }, variable)
          assert.include(error.message, `expected a non-negative integer, got ${JSON.stringify(text)}`)
        }
      ),
      { numRuns: 300 }
    )
    for (const variable of Object.keys(positiveCounts)) {
      assert.match(failure({ [variable]: "0" }, variable).message, /must be at least 1, got "0"$/)
    }
  })

  it("durations: any humantime duration reads back exactly; zero is refused where it must be positive", () => {
    const all = { ...durations, ...positiveDurations }
    fc.assert(
      fc.property(
        fc.constantFrom(...Object.keys(all) as Array<keyof typeof all>),
        fc.oneof(
          fc.constantFrom(0n, 1n, 999n, 10n ** 9n),
          fc.bigInt({ min: 0n, max: 10n ** 9n * 3600n * 24n * 365n * 100n })
        ),
        whitespace,
        (variable, nanos, blank) => {
          const duration = Duration.nanos(nanos)
          const env = { [variable]: `${blank}${Humantime.format(duration)}${blank}` }
          if (nanos === 0n && variable in positiveDurations) {
            assert.isTrue(
              failure(env, variable).message.endsWith(`must be greater than zero, got ${JSON.stringify(env[variable])}`)
            )
          } else {
            const read = all[variable](readOk(env))
            assert.isTrue(Duration.equals(read, duration), `${Humantime.format(duration)} read as ${String(read)}`)
          }
        }
      ),
      { numRuns: 300 }
    )
    fc.assert(
      fc.property(
        fc.constantFrom(...Object.keys(all)),
        fc.oneof(fc.constantFrom("5 parsecs", "-1s", "1", "s", "1h 2"), fc.stringMatching(/^[a-z]{1,5}$/)),
        (variable, text) => {
          assert.include(failure({ [variable]: text }, variable).message, `invalid duration ${JSON.stringify(text)}: `)
        }
      ),
      { numRuns: 100 }
    )
  })

  it("OS__HTTP_ADDR: any IPv4 or bracketed IPv6 address and port; ports past 65535 fail", () => {
    fc.assert(
      fc.property(
        fc.oneof(fc.ipV4(), fc.ipV6().map((host) => `[${host}]`)),
        fc.integer({ min: 0, max: 65535 }),
        (host, port) => {
          const config = readOk({ OS__HTTP_ADDR: `${host}:${port}` })
          assert.deepStrictEqual([config.host, config.port], [host.replace(/^\[(.*)\]$/, "$1"), port])
          assert.deepStrictEqual(
            Config.httpAddrFromEnvironment({ OS__HTTP_ADDR: `${host}:${port}` }),
            Either.right({ host: config.host, port })
          )
        }
      ),
      { numRuns: 200 }
    )
    fc.assert(
      fc.property(fc.ipV4(), fc.integer({ min: 65536, max: 99999 }), (host, port) => {
        const text = `${host}:${port}`
        const error = failure({ OS__HTTP_ADDR: text }, "OS__HTTP_ADDR")
        assert.include(error.message, `port ${port} is out of range`)
        assert.include(error.message, JSON.stringify(text))
      }),
      { numRuns: 50 }
    )
  })

  it("variable names match in any letter case after OS__; unknown OS__ variables never fail", () => {
    fc.assert(
      fc.property(
        fc.tuple(anyCase("os__"), anyCase("dev__batch_order")).map(([prefix, rest]) => prefix + rest),
        fc.constantFrom("completion", "reverse", "shuffle"),
        fc.dictionary(
          fc.stringMatching(/^[A-Z]{1,6}$/).map((name) => `OS__UNKNOWN__${name}`),
          fc.string({ maxLength: 10 })
        ),
        (name, order, unknown) => {
          assert.strictEqual(readOk({ ...unknown, [name]: order }).batchOrder, order)
        }
      ),
      { numRuns: 200 }
    )
  })
})
