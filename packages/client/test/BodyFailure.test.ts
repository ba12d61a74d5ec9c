/**
 * A caller's failing body stream fails `put` with the caller's own error, whichever transport carries it: over TCP the
 * request is aborted, in-process the server answers 400 about the truncated body first. Nothing is stored either way.
 */
import * as HttpServer from "@effect/platform/HttpServer"
import { assert, describe, it } from "@effect/vitest"
import * as Auth from "@objectstore/client/Auth"
import * as Compression from "@objectstore/client/Compression"
import * as Metrics from "@objectstore/client/Metrics"
import * as NodeClient from "@objectstore/client/NodeClient"
import * as ObjectstoreClient from "@objectstore/client/ObjectstoreClient"
import * as Scope from "@objectstore/client/Scope"
import type * as Usecase from "@objectstore/client/Usecase"
import * as UsecaseModule from "@objectstore/client/Usecase"
import * as Server from "@objectstore/server/Server"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Stream from "effect/Stream"

const Services = Layer.mergeAll(Compression.layer, Auth.layerNone, Metrics.layerNoop)

const inProcess = ObjectstoreClient.layer({ baseUrl: "http://objectstore.test", retry: false }).pipe(
  Layer.provide(Services),
  Layer.provideMerge(Server.layerHttpClient())
)

const tcp = Layer.unwrapEffect(
  HttpServer.addressFormattedWith((baseUrl) =>
    Effect.succeed(ObjectstoreClient.layer({ baseUrl, retry: false }).pipe(Layer.provide(Services)))
  )
).pipe(
  Layer.provide(NodeClient.layerHttpClient({ connectTimeout: "2 seconds" })),
  Layer.provideMerge(Server.layer({ port: 0 }))
)

class Boom {
  readonly _tag = "Boom"
}

const failingBody = Stream.concat(Stream.make(new Uint8Array(70_000).fill(7)), Stream.fail(new Boom()))

type Target = Layer.Layer<ObjectstoreClient.ObjectstoreClient | Server.ServerControl, unknown>

for (const [name, layer] of [["in-process", inProcess], ["tcp", tcp]] as ReadonlyArray<readonly [string, Target]>) {
  describe(`put with a failing body (${name})`, () => {
    for (const compression of ["none", "zstd"] as const) {
      it.effect(`fails with the caller's error and stores nothing (${compression})`, () =>
        Effect.gen(function*() {
          const client = yield* ObjectstoreClient.ObjectstoreClient
          const usecase: Usecase.Usecase = UsecaseModule.make("bodyfail", { compression })
          const session = yield* client.session(usecase, Scope.make({ org: 1 }))
          const error = yield* Effect.flip(session.put(failingBody, { key: `k-${compression}` }))
          assert.instanceOf(error, Boom)
          const control = yield* Server.ServerControl
          const stored = yield* control.storage.list
          assert.isFalse(stored.some((entry) => entry.id.usecase === "bodyfail"))
        }).pipe(Effect.provide(layer)))
    }
  })
}
