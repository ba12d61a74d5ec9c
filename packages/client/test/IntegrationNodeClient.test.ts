/**
 * `NodeClient.layer` end to end: one line of setup against the local server over loopback, with each auth mode, and
 * `NodeClient.layerConfig` from the `OBJECTSTORE_*` variables.
 */
import * as HttpServer from "@effect/platform/HttpServer"
import { assert, describe, it, layer } from "@effect/vitest"
import * as NodeClient from "@objectstore/client/NodeClient"
import * as ObjectstoreClient from "@objectstore/client/ObjectstoreClient"
import * as Scope from "@objectstore/client/Scope"
import * as Usecase from "@objectstore/client/Usecase"
import * as Server from "@objectstore/server/Server"
import * as ConfigProvider from "effect/ConfigProvider"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Redacted from "effect/Redacted"
import * as crypto from "node:crypto"
import * as fs from "node:fs"
import * as path from "node:path"
import { tempDirSync } from "../../../test/support.js"

const keyPair = crypto.generateKeyPairSync("ed25519")
const privatePem = keyPair.privateKey.export({ format: "pem", type: "pkcs8" }).toString()
const publicPem = keyPair.publicKey.export({ format: "pem", type: "spki" }).toString()

const roundTrip = (options: Omit<NodeClient.Options, "baseUrl">) =>
  HttpServer.addressFormattedWith((baseUrl) =>
    Effect.gen(function*() {
      const client = yield* ObjectstoreClient.ObjectstoreClient
      const session = yield* client.session(Usecase.make("node"), Scope.make({ org: 42, project: 1337 }))
      const key = yield* session.put("via NodeClient")
      const text = yield* session.getText(key)
      yield* session.delete(key)
      return text
    }).pipe(Effect.provide(NodeClient.layer({ baseUrl, ...options })))
  )

describe("NodeClient", () => {
  layer(Server.layer({ port: 0 }), { timeout: 30_000 })("auth disabled", (it) => {
    it.effect("round trip with no auth", () =>
      Effect.gen(function*() {
        assert.strictEqual(yield* roundTrip({}), "via NodeClient")
      }))
  })

  layer(
    Server.layer({
      port: 0,
      auth: {
        enforce: true,
        keys: { kid: { publicKeys: [publicPem], maxPermissions: ["object.read", "object.write", "object.delete"] } }
      }
    }),
    { timeout: 30_000 }
  )("auth enforced", (it) => {
    it.effect("round trip with a secret key", () =>
      Effect.gen(function*() {
        assert.strictEqual(
          yield* roundTrip({ secretKey: { kid: "kid", privateKey: Redacted.make(privatePem) } }),
          "via NodeClient"
        )
      }))

    it.effect("no auth configured → AuthError MissingToken", () =>
      Effect.gen(function*() {
        const error = yield* Effect.flip(roundTrip({ metrics: false }))
        assert.strictEqual(error._tag, "AuthError")
        if (error._tag === "AuthError") assert.strictEqual(error.reason, "MissingToken")
      }))

    it.effect("layerConfig: the key file and id, or a token file, from the environment; overrides win", () =>
      HttpServer.addressFormattedWith((baseUrl) =>
        Effect.gen(function*() {
          const dir = tempDirSync("nodeclient-config")
          const keyFile = path.join(dir, "key.pem")
          fs.writeFileSync(keyFile, privatePem)
          const withEnv = (env: Record<string, string>, overrides: Partial<NodeClient.Options> = {}) =>
            Effect.gen(function*() {
              const client = yield* ObjectstoreClient.ObjectstoreClient
              const session = yield* client.session(Usecase.make("node"), Scope.make({ org: 42, project: 1337 }))
              const key = yield* session.put("via layerConfig")
              const text = yield* session.getText(key)
              yield* session.delete(key)
              return { text, options: client.options }
            }).pipe(
              Effect.provide(NodeClient.layerConfig(overrides)),
              Effect.withConfigProvider(ConfigProvider.fromMap(new Map(Object.entries(env))))
            )
          const signed = yield* withEnv({
            OBJECTSTORE_URL: baseUrl,
            OBJECTSTORE_KEY_FILE: keyFile,
            OBJECTSTORE_KEY_ID: "kid",
            OBJECTSTORE_TIMEOUT: "2m 30s",
            OBJECTSTORE_IDLE_TIMEOUT: "45s"
          })
          assert.strictEqual(signed.text, "via layerConfig")
          assert.strictEqual(Duration.toMillis(Duration.decode(signed.options.timeout!)), 150_000)
          assert.strictEqual(Duration.toMillis(Duration.decode(signed.options.idleTimeout!)), 45_000)

          // a token file holding a bad token: the server refuses it, so the file was read and sent
          const tokenFile = path.join(dir, "token")
          fs.writeFileSync(tokenFile, "bad.token.value\n")
          const bad = yield* Effect.flip(withEnv({ OBJECTSTORE_URL: baseUrl, OBJECTSTORE_TOKEN_FILE: tokenFile }))
          assert.strictEqual(bad._tag, "AuthError")
          // an override replaces what the environment says
          const overridden = yield* withEnv(
            { OBJECTSTORE_URL: baseUrl, OBJECTSTORE_TOKEN_FILE: tokenFile },
            { secretKey: { kid: "kid", privateKey: Redacted.make(privatePem) }, token: undefined }
          )
          assert.strictEqual(overridden.text, "via layerConfig")
        })
      ))

    it.effect("a bad static token → AuthError InvalidToken", () =>
      Effect.gen(function*() {
        const error = yield* Effect.flip(roundTrip({ token: Redacted.make("bad.token.value") }))
        assert.strictEqual(error._tag, "AuthError")
        if (error._tag === "AuthError") assert.strictEqual(error.reason, "InvalidToken")
      }))
  })

  it.effect("rejects a non-positive connect timeout", () =>
    Effect.gen(function*() {
      const error = yield* Effect.flip(
        Layer.build(NodeClient.layer({ baseUrl: "http://127.0.0.1:1", connectTimeout: 0 })).pipe(Effect.scoped)
      )
      assert.strictEqual(error._tag, "InvalidInputError")
      if (error._tag === "InvalidInputError") assert.strictEqual(error.field, "connectTimeout")
    }))

  it.effect("layerConfig fails naming the variable: no URL, a bad duration, a key without its id, a missing file", () =>
    Effect.gen(function*() {
      const fails = (env: Record<string, string>) =>
        Layer.build(NodeClient.layerConfig()).pipe(
          Effect.scoped,
          Effect.flip,
          Effect.withConfigProvider(ConfigProvider.fromMap(new Map(Object.entries(env))))
        )
      const noUrl = yield* fails({})
      assert.strictEqual(noUrl._tag, "ConfigError")
      assert.include(String(noUrl), "OBJECTSTORE_URL")
      const badDuration = yield* fails({ OBJECTSTORE_URL: "http://127.0.0.1:1", OBJECTSTORE_CONNECT_TIMEOUT: "soon" })
      assert.strictEqual(badDuration._tag, "ConfigError")
      assert.include(String(badDuration), "OBJECTSTORE_CONNECT_TIMEOUT")
      const zero = yield* fails({ OBJECTSTORE_URL: "http://127.0.0.1:1", OBJECTSTORE_TIMEOUT: "0" })
      assert.include(String(zero), "must be a positive duration")
      const noId = yield* fails({ OBJECTSTORE_URL: "http://127.0.0.1:1", OBJECTSTORE_KEY_FILE: "/x.pem" })
      assert.strictEqual(noId._tag, "InvalidInputError")
      if (noId._tag === "InvalidInputError") assert.strictEqual(noId.field, "OBJECTSTORE_KEY_ID")
      const unreadable = yield* fails({
        OBJECTSTORE_URL: "http://127.0.0.1:1",
        OBJECTSTORE_TOKEN_FILE: "/nonexistent/t"
      })
      assert.strictEqual(unreadable._tag, "InvalidInputError")
      if (unreadable._tag === "InvalidInputError") {
        assert.strictEqual(unreadable.field, "OBJECTSTORE_TOKEN_FILE")
        assert.include(unreadable.reason, "/nonexistent/t")
      }
    }))
})
