/**
 * `NodeClient.layer` end to end: one line of setup against the local server over loopback, with each auth mode.
 */
import * as HttpServer from "@effect/platform/HttpServer"
import { assert, describe, it, layer } from "@effect/vitest"
import * as NodeClient from "@objectstore/client/NodeClient"
import * as ObjectstoreClient from "@objectstore/client/ObjectstoreClient"
import * as Scope from "@objectstore/client/Scope"
import * as Usecase from "@objectstore/client/Usecase"
import * as Server from "@objectstore/server/Server"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Redacted from "effect/Redacted"
import * as crypto from "node:crypto"

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
})
