/**
 * Configuration precedence: flags > environment > config file > defaults; credentials as a unit.
 */
import * as NodeContext from "@effect/platform-node/NodeContext"
import { assert, describe, it } from "@effect/vitest"
import * as Settings from "@objectstore/cli/Settings"
import * as ConfigProvider from "effect/ConfigProvider"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import * as Redacted from "effect/Redacted"
import * as fs from "node:fs"
import * as path from "node:path"
import { tempDir } from "./helpers.js"

const noFlags: Settings.Flags = {
  url: Option.none(),
  tokenFile: Option.none(),
  keyFile: Option.none(),
  keyId: Option.none(),
  usecase: Option.none(),
  scope: [],
  config: Option.none()
}

const resolve = (flags: Partial<Settings.Flags>, env: Record<string, string>) =>
  Settings.resolve({ ...noFlags, ...flags }).pipe(
    Effect.provide(NodeContext.layer),
    Effect.withConfigProvider(ConfigProvider.fromMap(new Map(Object.entries(env))))
  )

describe("Settings.resolve", () => {
  it.effect("flags win over the environment, which wins over the config file", () =>
    Effect.gen(function*() {
      const home = tempDir("settings-home")
      const dir = path.join(home, ".config", "objectstore")
      fs.mkdirSync(dir, { recursive: true })
      fs.writeFileSync(path.join(dir, "token"), "file-token\n")
      fs.writeFileSync(
        path.join(dir, "config.json"),
        JSON.stringify({
          url: "http://from-file:1",
          usecase: "file-usecase",
          scope: { org: 1, project: 2 },
          tokenFile: "token"
        })
      )
      const fromFile = yield* resolve({}, { HOME: home })
      assert.strictEqual(fromFile.url, "http://from-file:1")
      assert.strictEqual(fromFile.usecase, "file-usecase")
      assert.deepStrictEqual(fromFile.scope, [["org", "1"], ["project", "2"]])
      assert.strictEqual(fromFile.credentials._tag, "Token")
      if (fromFile.credentials._tag === "Token") {
        assert.strictEqual(Redacted.value(fromFile.credentials.token), "file-token", "relative to the config file")
      }

      const env = { HOME: home, OBJECTSTORE_USECASE: "env-usecase", OBJECTSTORE_SCOPE: "org=3;project=4" }
      const fromEnv = yield* resolve({}, env)
      assert.strictEqual(fromEnv.url, "http://from-file:1")
      assert.strictEqual(fromEnv.usecase, "env-usecase")
      assert.deepStrictEqual(fromEnv.scope, [["org", "3"], ["project", "4"]])

      const fromFlags = yield* resolve({ usecase: Option.some("flag-usecase"), scope: ["org=5", "project=6"] }, env)
      assert.strictEqual(fromFlags.usecase, "flag-usecase")
      assert.deepStrictEqual(fromFlags.scope, [["org", "5"], ["project", "6"]])

      // a token in the environment replaces the file's credentials; a key file by flag replaces both
      const keyFile = path.join(home, "key.pem")
      fs.writeFileSync(keyFile, "-----BEGIN PRIVATE KEY-----\n…\n")
      const envToken = yield* resolve({}, { ...env, OBJECTSTORE_TOKEN: "env-token" })
      assert.strictEqual(envToken.credentials._tag, "Token")
      const flagKey = yield* resolve({ keyFile: Option.some(keyFile) }, {
        ...env,
        OBJECTSTORE_TOKEN: "env-token",
        OBJECTSTORE_KEY_ID: "kid-from-env"
      })
      assert.deepInclude(flagKey.credentials, { _tag: "SecretKey", kid: "kid-from-env" })
      const noKid = yield* Effect.flip(resolve({ keyFile: Option.some(keyFile) }, env))
      assert.strictEqual(noKid.exitCode, 2)
      assert.include(String(noKid.hint), "--key-id")
    }))

  it.effect("defaults, explicit config file errors, scope syntax", () =>
    Effect.gen(function*() {
      const none = yield* resolve({}, {})
      assert.strictEqual(none.url, Settings.DEFAULT_URL)
      assert.strictEqual(none.usecase, undefined)
      assert.deepStrictEqual(none.scope, [])
      assert.deepStrictEqual(none.credentials, { _tag: "None" })

      const missing = yield* Effect.flip(resolve({ config: Option.some("/nonexistent/config.json") }, {}))
      assert.strictEqual(missing.exitCode, 2)
      const dir = tempDir("settings-bad")
      fs.writeFileSync(path.join(dir, "bad.json"), "{ not json")
      const bad = yield* Effect.flip(resolve({}, { OBJECTSTORE_CONFIG: path.join(dir, "bad.json") }))
      assert.include(bad.detail, "not valid JSON")

      const spaced = yield* resolve({ scope: ["org=42 project=1337"] }, {})
      assert.deepStrictEqual(spaced.scope, [["org", "42"], ["project", "1337"]])
      const empty = yield* resolve({ scope: ["_"] }, {})
      assert.deepStrictEqual(empty.scope, [])
      for (const scope of ["org", "=1", "org=", "org=a/b", "org=1;org=2", "org=*"]) {
        const error = yield* Effect.flip(resolve({ scope: [scope] }, {}))
        assert.strictEqual(error.exitCode, 2, scope)
      }
      const wildcard = yield* Settings.resolve({ ...noFlags, scope: ["org=*"] }, { allowWildcardScope: true }).pipe(
        Effect.provide(NodeContext.layer),
        Effect.withConfigProvider(ConfigProvider.fromMap(new Map()))
      )
      assert.deepStrictEqual(wildcard.scope, [["org", "*"]])
    }))

  it.effect("deadlines: environment over config file, humantime, the connect default, bad values name their source", () =>
    Effect.gen(function*() {
      const ms = (d: Duration.Duration | undefined) => d === undefined ? undefined : Duration.toMillis(d)
      const none = yield* resolve({}, {})
      assert.deepStrictEqual(
        [ms(none.deadlines.timeout), ms(none.deadlines.idleTimeout), ms(none.deadlines.connectTimeout)],
        [undefined, undefined, Duration.toMillis(Settings.DEFAULT_CONNECT_TIMEOUT)]
      )
      const dir = tempDir("settings-deadlines")
      const config = path.join(dir, "config.json")
      fs.writeFileSync(config, JSON.stringify({ timeout: "2m 30s", idleTimeout: "45s", connectTimeout: "250ms" }))
      const fromFile = yield* resolve({}, { OBJECTSTORE_CONFIG: config })
      assert.deepStrictEqual(
        [ms(fromFile.deadlines.timeout), ms(fromFile.deadlines.idleTimeout), ms(fromFile.deadlines.connectTimeout)],
        [150_000, 45_000, 250]
      )
      const fromEnv = yield* resolve({}, { OBJECTSTORE_CONFIG: config, OBJECTSTORE_IDLE_TIMEOUT: "500ms" })
      assert.strictEqual(ms(fromEnv.deadlines.idleTimeout), 500)
      assert.strictEqual(ms(fromEnv.deadlines.timeout), 150_000, "each deadline from the first source that sets it")

      const bad = yield* Effect.flip(resolve({}, { OBJECTSTORE_TIMEOUT: "soon" }))
      assert.strictEqual(bad.exitCode, 2)
      assert.include(bad.detail, "OBJECTSTORE_TIMEOUT")
      const zero = yield* Effect.flip(resolve({}, { OBJECTSTORE_CONNECT_TIMEOUT: "0" }))
      assert.include(zero.detail, "OBJECTSTORE_CONNECT_TIMEOUT must be positive")
      fs.writeFileSync(config, JSON.stringify({ idleTimeout: "1 fortnight" }))
      const badFile = yield* Effect.flip(resolve({}, { OBJECTSTORE_CONFIG: config }))
      assert.include(badFile.detail, `"idleTimeout" in config file ${config}`)
    }))
})
