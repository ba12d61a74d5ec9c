/**
 * Every error built from a server answer keeps the server's `detail` and `causes` (PROTOCOL §14.1; issue 16 item 6):
 * auth errors of single requests and of batch operations, resumable and expiry refusals, response errors. End to end
 * through the local server, over loopback TCP and in-process, with auth enforced.
 */
import * as HttpServer from "@effect/platform/HttpServer"
import { assert, describe, layer } from "@effect/vitest"
import * as Auth from "@objectstore/client/Auth"
import * as Batch from "@objectstore/client/Batch"
import * as Compression from "@objectstore/client/Compression"
import * as Metrics from "@objectstore/client/Metrics"
import * as NodeClient from "@objectstore/client/NodeClient"
import * as ObjectstoreClient from "@objectstore/client/ObjectstoreClient"
import * as Scope from "@objectstore/client/Scope"
import * as Usecase from "@objectstore/client/Usecase"
import * as Server from "@objectstore/server/Server"
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Layer from "effect/Layer"
import * as Redacted from "effect/Redacted"
import { pemKeyPair } from "./support/keyPair.js"

const main = pemKeyPair()
const readOnly = pemKeyPair()

const serverOptions = {
  auth: {
    enforce: true,
    keys: {
      main: {
        publicKeys: [main.publicPem],
        maxPermissions: ["object.read", "object.write", "object.delete"] as const
      },
      ro: { publicKeys: [readOnly.publicPem], maxPermissions: ["object.read"] as const }
    }
  }
}

/** Clients with full rights, read-only rights and no token, against one server. */
class Clients extends Context.Tag("test/Clients")<Clients, {
  readonly main: ObjectstoreClient.Service
  readonly readOnly: ObjectstoreClient.Service
  readonly anonymous: ObjectstoreClient.Service
}>() {}

const clients = (baseUrl: string) =>
  Layer.scoped(
    Clients,
    Effect.gen(function*() {
      const build = (auth: Layer.Layer<Auth.Auth, any>) =>
        Effect.map(
          Layer.build(
            ObjectstoreClient.layer({ baseUrl, retry: false }).pipe(
              Layer.provide(Layer.mergeAll(Compression.layer, auth, Metrics.layerNoop))
            )
          ),
          (context) => Context.get(context, ObjectstoreClient.ObjectstoreClient)
        )
      return {
        main: yield* build(Auth.layerSecretKey({ kid: "main", privateKey: Redacted.make(main.privatePem) })),
        readOnly: yield* build(Auth.layerSecretKey({ kid: "ro", privateKey: Redacted.make(readOnly.privatePem) })),
        anonymous: yield* build(Auth.layerNone)
      }
    })
  )

const tcp = Layer.unwrapEffect(HttpServer.addressFormattedWith((baseUrl) => Effect.succeed(clients(baseUrl)))).pipe(
  Layer.provide(NodeClient.layerHttpClient({ connectTimeout: "2 seconds" })),
  Layer.provide(Server.layer({ port: 0, ...serverOptions }))
)

const inProcess = clients("http://objectstore.test").pipe(Layer.provide(Server.layerHttpClient(serverOptions)))

const usecase = Usecase.make("causes", { compression: "none" })
const scope = Scope.make({ org: 3 })

const suite = (name: string, env: Layer.Layer<Clients, any, never>) =>
  layer(env, { timeout: 60_000 })(name, (it) => {
    it.effect("a missing token and a missing permission: AuthError keeps detail and causes", () =>
      Effect.gen(function*() {
        const { anonymous, readOnly } = yield* Clients
        const missing = yield* Effect.flip((yield* anonymous.session(usecase, scope)).getBytes("k"))
        assert.deepInclude(missing, {
          _tag: "AuthError",
          reason: "MissingToken",
          status: 400,
          detail: "auth error: bad request: No authorization token provided",
          causes: ["bad request: No authorization token provided"]
        })
        const denied = yield* Effect.flip((yield* readOnly.session(usecase, scope)).put("x", { key: "k" }))
        assert.deepInclude(denied, {
          _tag: "AuthError",
          reason: "Forbidden",
          status: 403,
          detail: "auth error: operation not allowed",
          causes: ["operation not allowed"]
        })
      }))

    it.effect("a batch operation refused by the server: its AuthError keeps detail and causes", () =>
      Effect.gen(function*() {
        const { readOnly } = yield* Clients
        const session = yield* readOnly.session(usecase, scope)
        const [outcome] = yield* Batch.collectAll(session.many([Batch.put("x", { key: "k" })]))
        const result = outcome!.result as Either.Either<unknown, unknown>
        assert.isTrue(Either.isLeft(result))
        if (Either.isLeft(result)) {
          assert.deepInclude(result.left, {
            _tag: "AuthError",
            status: 403,
            detail: "auth error: operation not allowed",
            causes: ["operation not allowed"]
          })
        }
      }))

    it.effect("a cancelled resumable session: ResumableSessionGoneError keeps detail and causes", () =>
      Effect.gen(function*() {
        const { main } = yield* Clients
        const session = yield* main.session(usecase, scope)
        const upload = yield* session.resumable.create({ key: "resumed", length: 4 })
        yield* upload.cancel()
        const gone = yield* Effect.flip(upload.put(0, new Uint8Array(4)))
        assert.strictEqual(gone._tag, "ResumableSessionGoneError")
        if (gone._tag === "ResumableSessionGoneError") {
          assert.isString(gone.detail)
          assert.isTrue(gone.detail!.startsWith("client error: "))
          assert.deepStrictEqual(gone.causes, [gone.detail!.slice("client error: ".length)])
        }
      }))

    it.effect("a refused expiry extension: ExpiryRejectedError keeps the plain-text answer as detail", () =>
      Effect.gen(function*() {
        const { main } = yield* Clients
        const session = yield* main.session(usecase, scope)
        // a deadline past what the server can represent: 422, a framework rejection in plain text (§14.2)
        yield* session.put("x", { key: "expiring" })
        const refused = yield* Effect.flip(session.extendExpiry("expiring", { fromNow: "100000000 days" }))
        assert.deepStrictEqual({ ...refused }, {
          _tag: "ExpiryRejectedError",
          key: "expiring",
          status: 422,
          detail: "Failed to deserialize the JSON body into the target type: extend_expiry: the deadline falls after " +
            "9999-12-31T23:59:59.999999Z"
        } as any)
      }))
  })

describe("error details and causes from the server", () => {
  suite("loopback TCP", tcp)
  suite("in-process", inProcess)
})
