import { assert, describe, it } from "@effect/vitest"
import * as Config from "@objectstore/server/Config"
import * as Server from "@objectstore/server/Server"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as crypto from "node:crypto"
import * as fs from "node:fs"
import * as path from "node:path"
import { tempDirSync } from "../../../test/support.js"

const dir = tempDirSync("config")

const pemFile = (name: string): { file: string; pem: string } => {
  const pem = crypto.generateKeyPairSync("ed25519").publicKey.export({ type: "spki", format: "pem" }).toString()
  const file = path.join(dir, name)
  fs.writeFileSync(file, pem)
  return { file, pem }
}
const oldKey = pemFile("old.pem")
const newKey = pemFile("new.pem")
const roKey = pemFile("ro.pem")
const notAKey = path.join(dir, "garbage.pem")
fs.writeFileSync(notAKey, "-----BEGIN PUBLIC KEY-----\nnope\n-----END PUBLIC KEY-----\n")
const rsaKey = path.join(dir, "rsa.pem")
fs.writeFileSync(
  rsaKey,
  crypto.generateKeyPairSync("rsa", { modulusLength: 1024 }).publicKey.export({ type: "spki", format: "pem" })
)

const read = (env: Record<string, string>, base?: Config.ServerConfig) => Config.fromEnvironment(env, base)
const failure = (env: Record<string, string>, base?: Config.ServerConfig) =>
  Effect.flip(Config.fromEnvironment(env, base))

describe("Config.fromEnvironment", () => {
  it.effect("an empty environment gives the base unchanged", () =>
    Effect.gen(function*() {
      assert.deepStrictEqual(yield* read({}), Config.defaults)
      const upstream = yield* read({ OS__AUTH__ENFORCE: "false" }, Config.upstreamDefaults)
      assert.strictEqual(upstream.host, "0.0.0.0")
      assert.strictEqual(upstream.port, 8888)
      assert.deepStrictEqual(upstream.storage, { type: "filesystem", path: "data" })
    }))

  it.effect("upstream defaults with no keys refuse to start (auth enforced)", () =>
    Effect.gen(function*() {
      const error = yield* failure({}, Config.upstreamDefaults)
      assert.strictEqual(error._tag, "ServerConfigError")
      assert.match(error.message, /^Auth enforcement is enabled but no keys are configured/)
      const explicit = yield* failure({ OS__AUTH__ENFORCE: "true", OS__AUTH__KEYS: "{}" })
      assert.match(explicit.message, /no keys are configured/)
    }))

  it.effect("OS__HTTP_ADDR: IPv4 and bracketed IPv6, errors name the variable", () =>
    Effect.gen(function*() {
      const v4 = yield* read({ OS__HTTP_ADDR: "127.0.0.1:9123" })
      assert.deepStrictEqual([v4.host, v4.port], ["127.0.0.1", 9123])
      const v6 = yield* read({ OS__HTTP_ADDR: "[::1]:0" })
      assert.deepStrictEqual([v6.host, v6.port], ["::1", 0])
      for (const bad of ["localhost:80", "1.2.3.4", "1.2.3.4:70000", "::1:80", "[1.2.3.4]:80", ":80", "1.2.3.4:x"]) {
        const error = yield* failure({ OS__HTTP_ADDR: bad })
        assert.strictEqual(error.variable, "OS__HTTP_ADDR", bad)
        assert.match(error.message, /^OS__HTTP_ADDR: /)
      }
    }))

  it.effect("names are case-insensitive after the prefix; unknown and ignored variables are ignored", () =>
    Effect.gen(function*() {
      const config = yield* read({
        os__storage__type: "FileSystem",
        Os__Storage__Path: "/tmp/x",
        OS__RATE_LIMITS__THROUGHPUT__GLOBAL_RPS: "nonsense",
        OS__LOGGING__LEVEL: "debug",
        OS__SOMETHING_ELSE: "{not valid",
        OS__SERVICE__BULK_CONCURRENCY_PCT: "60",
        OTHER__STORAGE__TYPE: "gcs"
      })
      assert.deepStrictEqual(config.storage, { type: "filesystem", path: "/tmp/x" })
    }))

  it.effect("OS__STORAGE__TYPE: filesystem, memory; other upstream types are a clear error", () =>
    Effect.gen(function*() {
      const fsBase: Config.ServerConfig = { ...Config.defaults, storage: { type: "filesystem", path: "d" } }
      assert.deepStrictEqual((yield* read({ OS__STORAGE__TYPE: "memory" }, fsBase)).storage, { type: "memory" })
      assert.deepStrictEqual((yield* read({ OS__STORAGE__PATH: "e" }, fsBase)).storage, {
        type: "filesystem",
        path: "e"
      })
      assert.deepStrictEqual((yield* read({ OS__STORAGE__TYPE: "filesystem" })).storage, {
        type: "filesystem",
        path: "data"
      })
      const gcs = yield* failure({ OS__STORAGE__TYPE: "gcs" })
      assert.strictEqual(
        gcs.message,
        "OS__STORAGE__TYPE: storage type \"gcs\" is not supported by this server (use filesystem or memory)"
      )
      const unknown = yield* failure({ OS__STORAGE__TYPE: "floppy" })
      assert.match(unknown.message, /^OS__STORAGE__TYPE: unknown storage type "floppy"/)
    }))

  it.effect("OS__AUTH__KEYS: reads key files (rotation, relative paths), max_permissions", () =>
    Effect.gen(function*() {
      const relative = path.relative(process.cwd(), newKey.file)
      const config = yield* read({
        OS__AUTH__ENFORCE: "true",
        OS__AUTH__KEYS:
          `{kid1={key_files=["${oldKey.file}","${relative}"],max_permissions=["object.read","object.write"],}, kid2={key_files=["${roKey.file}"],max_permissions=["object.read"]}}`
      })
      assert.strictEqual(config.auth.enforce, true)
      assert.deepStrictEqual(config.auth.keys, {
        kid1: { publicKeys: [oldKey.pem, newKey.pem], maxPermissions: ["object.read", "object.write"] },
        kid2: { publicKeys: [roKey.pem], maxPermissions: ["object.read"] }
      })
      // max_permissions defaults to the empty set
      const empty = yield* read({ OS__AUTH__KEYS: `{k={key_files=["${roKey.file}"]}}` })
      assert.deepStrictEqual(empty.auth.keys.k!.maxPermissions, [])
    }))

  it.effect("OS__AUTH__KEYS: nested variables extend the dictionary (names lowercased)", () =>
    Effect.gen(function*() {
      const config = yield* read({
        OS__AUTH__KEYS: `{a={key_files=["${oldKey.file}"],max_permissions=["object.read"]}}`,
        OS__AUTH__KEYS__MyKid__KEY_FILES: `["${newKey.file}"]`,
        OS__AUTH__KEYS__MyKid__MAX_PERMISSIONS: `[object.delete]`,
        OS__AUTH__KEYS__A__MAX_PERMISSIONS: `["object.write"]`
      })
      assert.deepStrictEqual(Object.keys(config.auth.keys).sort(), ["a", "mykid"])
      assert.deepStrictEqual(config.auth.keys.mykid, { publicKeys: [newKey.pem], maxPermissions: ["object.delete"] })
      assert.deepStrictEqual(config.auth.keys.a, { publicKeys: [oldKey.pem], maxPermissions: ["object.write"] })
    }))

  it.effect("OS__AUTH__KEYS: bad syntax, unreadable or unparsable files, unknown permissions fail clearly", () =>
    Effect.gen(function*() {
      const syntax = yield* failure({ OS__AUTH__KEYS: "{kid1={key_files=[\"a.pem\"]" })
      assert.strictEqual(syntax.variable, "OS__AUTH__KEYS")
      assert.match(
        syntax.message,
        /^OS__AUTH__KEYS: invalid value: expected "," or "}", found end of input at position \d+$/
      )

      const missing = path.join(dir, "missing.pem")
      const unreadable = yield* failure({ OS__AUTH__KEYS: `{kid1={key_files=["${missing}"],max_permissions=[]}}` })
      assert.strictEqual(
        unreadable.message,
        `OS__AUTH__KEYS: key "kid1": cannot read key file ${JSON.stringify(missing)} (ENOENT)`
      )

      for (const file of [notAKey, rsaKey]) {
        const bad = yield* failure({ OS__AUTH__KEYS: `{kid1={key_files=["${file}"]}}` })
        assert.strictEqual(
          bad.message,
          `OS__AUTH__KEYS: key "kid1": key file ${JSON.stringify(file)} is not an Ed25519 public key in PEM form`
        )
      }

      const permission = yield* failure({
        OS__AUTH__KEYS: `{kid1={key_files=["${oldKey.file}"],max_permissions=["object.admin"]}}`
      })
      assert.match(permission.message, /^OS__AUTH__KEYS: key "kid1": unknown permission "object.admin"/)

      const noFiles = yield* failure({ OS__AUTH__KEYS: `{kid1={max_permissions=["object.read"]}}` })
      assert.match(noFiles.message, /key_files must be a non-empty array/)

      const notDict = yield* failure({ OS__AUTH__KEYS: `[1,2]` })
      assert.match(notDict.message, /^OS__AUTH__KEYS: expected a dictionary/)
    }))

  it.effect("booleans and numbers are validated, naming the variable", () =>
    Effect.gen(function*() {
      const config = yield* read({
        OS__AUTH__ENFORCE: "FALSE",
        OS__HTTP__MAX_REQUESTS: "0",
        OS__SERVICE__MAX_CONCURRENCY: "3",
        OS__SERVICE__CONCURRENCY_QUEUE: "2",
        OS__SERVICE__CONCURRENCY_TIMEOUT: "1.5s",
        OS__DEV__MAX_BODY_SIZE: "1048576",
        OS__DEV__ENFORCE_EXPIRATION: "false",
        OS__DEV__REAP_INTERVAL: "100ms",
        OS__DEV__BATCH_ORDER: "reverse",
        OS__DEV__BATCH_MEMORY_BUDGET: "1048576"
      })
      assert.strictEqual(config.auth.enforce, false)
      assert.strictEqual(config.maxRequests, 0)
      assert.strictEqual(config.maxConcurrency, 3)
      assert.strictEqual(config.concurrencyQueue, 2)
      assert.isTrue(Duration.equals(config.concurrencyTimeout, Duration.millis(1500)))
      assert.strictEqual(config.maxBodySize, 1048576)
      assert.strictEqual(config.enforceExpiration, false)
      assert.isTrue(Duration.equals(config.reapInterval, Duration.millis(100)))
      assert.strictEqual(config.batchOrder, "reverse")
      assert.strictEqual(config.batchMemoryBudget, 1048576)

      const cases: Array<[string, string, RegExp]> = [
        ["OS__AUTH__ENFORCE", "yes", /expected true or false/],
        ["OS__HTTP__MAX_REQUESTS", "ten", /expected a non-negative integer/],
        ["OS__SERVICE__MAX_CONCURRENCY", "-1", /expected a non-negative integer/],
        ["OS__SERVICE__CONCURRENCY_QUEUE", "1.5", /expected a non-negative integer/],
        ["OS__SERVICE__CONCURRENCY_TIMEOUT", "5 parsecs", /invalid duration/],
        ["OS__DEV__MAX_BODY_SIZE", "1MB", /expected a non-negative integer/],
        ["OS__DEV__ENFORCE_EXPIRATION", "maybe", /expected true or false/],
        ["OS__DEV__REAP_INTERVAL", "0s", /greater than zero/],
        ["OS__DEV__BATCH_ORDER", "random", /expected completion, reverse or shuffle/],
        ["OS__DEV__BATCH_MEMORY_BUDGET", "0", /at least 1/],
        ["OS__DEV__BATCH_MEMORY_BUDGET", "32MiB", /expected a non-negative integer/]
      ]
      for (const [variable, value, pattern] of cases) {
        const error = yield* failure({ [variable]: value })
        assert.strictEqual(error.variable, variable)
        assert.isTrue(error.message.startsWith(`${variable}: `), error.message)
        assert.match(error.message, pattern)
      }
    }))

  it.effect("OS__USECASES: expiration rules", () =>
    Effect.gen(function*() {
      const config = yield* read({
        OS__USECASES:
          "{attachments={expiration={manual={allowed=false},ttl={max=\"90d\"},tti={allowed=false}}}, logs={expiration={tti={max=7d}}}, open={}}"
      })
      const attachments = config.usecases.attachments!
      assert.deepStrictEqual(attachments.manual, { allowed: false })
      assert.strictEqual(attachments.ttl!.allowed, true)
      assert.isTrue(Duration.equals(attachments.ttl!.max!, Duration.days(90)))
      assert.deepStrictEqual(attachments.tti, { allowed: false })
      assert.isTrue(Duration.equals(config.usecases.logs!.tti!.max!, Duration.days(7)))
      assert.strictEqual(config.usecases.logs!.manual, undefined)
      assert.deepStrictEqual(config.usecases.open, { manual: undefined, ttl: undefined, tti: undefined })

      const bad = yield* failure({ OS__USECASES: "{a={expiration={ttl={max=\"soon\"}}}}" })
      assert.match(bad.message, /^OS__USECASES: usecase "a": expiration.ttl.max: invalid duration "soon"/)
      const badAllowed = yield* failure({ OS__USECASES: "{a={expiration={manual={allowed=nope}}}}" })
      assert.match(badAllowed.message, /^OS__USECASES: usecase "a": expiration.manual.allowed: expected true or false/)
    }))

  it.effect("OS__KILLSWITCHES: array of matchers", () =>
    Effect.gen(function*() {
      const config = yield* read({
        OS__KILLSWITCHES: "[{usecase=\"blocked\",scopes={org=\"42\",project=7},service=\"test-*\"}, {}]"
      })
      assert.deepStrictEqual(config.killswitches, [
        { usecase: "blocked", scopes: { org: "42", project: "7" }, service: "test-*" },
        { usecase: undefined, scopes: undefined, service: undefined }
      ])
      const bad = yield* failure({ OS__KILLSWITCHES: "{usecase=x}" })
      assert.match(bad.message, /^OS__KILLSWITCHES: expected an array/)
      const badScopes = yield* failure({ OS__KILLSWITCHES: "[{scopes=[1]}]" })
      assert.match(badScopes.message, /^OS__KILLSWITCHES: killswitch 0: scopes must be a dictionary/)
    }))

  it("httpAddrFromEnvironment reads only the listen address", () => {
    assert.deepStrictEqual(
      Config.httpAddrFromEnvironment({ OS__HTTP_ADDR: "[::1]:1234", OS__AUTH__KEYS: "{broken" }),
      Either.right({ host: "::1", port: 1234 })
    )
    assert.deepStrictEqual(
      Config.httpAddrFromEnvironment({}, Config.upstreamDefaults),
      Either.right({ host: "0.0.0.0", port: 8888 })
    )
    assert.isTrue(Either.isLeft(Config.httpAddrFromEnvironment({ OS__HTTP_ADDR: "nope" })))
  })
})

describe("exposure warning", () => {
  it("warns when auth is off on an address other machines may reach, and only then", () => {
    const at = (host: string, enforce: boolean) =>
      Server.exposureWarning({ ...Config.upstreamDefaults, host, port: 8888, auth: { enforce, keys: {} } })
    const warning = at("0.0.0.0", false)
    assert.isDefined(warning)
    assert.include(warning, "auth is not enforced and the server listens on 0.0.0.0:8888")
    assert.include(warning, "127.0.0.1")
    assert.include(at("::", false), "[::]:8888")
    assert.isDefined(at("192.0.2.7", false))
    for (const loopback of ["127.0.0.1", "127.1.2.3", "::1", "localhost"]) assert.isUndefined(at(loopback, false))
    assert.isUndefined(at("0.0.0.0", true))
  })
})
