import * as HttpClient from "@effect/platform/HttpClient"
import * as HttpClientResponse from "@effect/platform/HttpClientResponse"
import { assert, describe, it } from "@effect/vitest"
import * as Auth from "@objectstore/client/Auth"
import * as Compression from "@objectstore/client/Compression"
import * as Metrics from "@objectstore/client/Metrics"
import * as ObjectstoreClient from "@objectstore/client/ObjectstoreClient"
import * as Scope from "@objectstore/client/Scope"
import * as Usecase from "@objectstore/client/Usecase"
import * as Config from "effect/Config"
import * as ConfigProvider from "effect/ConfigProvider"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"

const urls: Array<string> = []
const headers: Array<Record<string, string>> = []
const Http = Layer.succeed(
  HttpClient.HttpClient,
  HttpClient.make((request) =>
    Effect.sync(() => {
      urls.push(request.url)
      headers.push({ ...request.headers })
      return HttpClientResponse.fromWeb(request, new Response(null, { status: 204 }))
    })
  )
)
const Services = Layer.mergeAll(
  Http,
  Layer.succeed(Auth.Auth, Auth.Auth.of({ token: () => Effect.succeedNone, signer: Option.none() })),
  Layer.succeed(
    Metrics.Metrics,
    Metrics.Metrics.of({
      track: (_op, _usecase, effect) => effect,
      recordSize: () => Effect.void,
      recordResponse: () => Effect.void,
      recordRetry: () => Effect.void
    })
  ),
  Compression.layerFzstd
)

const headUrl = (options: ObjectstoreClient.Options, key = "k") =>
  Effect.gen(function*() {
    const client = yield* ObjectstoreClient.ObjectstoreClient
    const session = yield* client.session(Usecase.make("u"), Scope.empty)
    yield* session.head(key)
    return urls.at(-1)!
  }).pipe(Effect.provide(ObjectstoreClient.layer(options).pipe(Layer.provide(Services))))

describe("ObjectstoreClient", () => {
  it.effect("keeps the base URL's path prefix, with or without a trailing slash", () =>
    Effect.gen(function*() {
      assert.strictEqual(yield* headUrl({ baseUrl: "http://os.test:8888" }), "http://os.test:8888/v1/objects/u/_/k")
      assert.strictEqual(yield* headUrl({ baseUrl: "http://os.test/" }), "http://os.test/v1/objects/u/_/k")
      assert.strictEqual(
        yield* headUrl({ baseUrl: "http://os.test/api/prefix/" }),
        "http://os.test/api/prefix/v1/objects/u/_/k"
      )
      assert.strictEqual(
        yield* headUrl({ baseUrl: "http://os.test/api%20x" }),
        "http://os.test/api%20x/v1/objects/u/_/k"
      )
      assert.strictEqual(yield* headUrl({ baseUrl: "http://[::1]:8888" }), "http://[::1]:8888/v1/objects/u/_/k")
    }))

  it.effect("sends the already-encoded path unchanged (no re-encoding, no double encoding)", () =>
    Effect.gen(function*() {
      assert.strictEqual(
        yield* headUrl({ baseUrl: "http://os.test" }, "looks%20encoded/café ~'@:&;="),
        "http://os.test/v1/objects/u/_/looks%2520encoded/caf%C3%A9%20~'@:&;="
      )
    }))

  it.effect("sets a User-Agent (default or given)", () =>
    Effect.gen(function*() {
      yield* headUrl({ baseUrl: "http://os.test" })
      assert.strictEqual(headers.at(-1)!["user-agent"], ObjectstoreClient.DEFAULT_USER_AGENT)
      yield* headUrl({ baseUrl: "http://os.test", userAgent: "my-app/1" })
      assert.strictEqual(headers.at(-1)!["user-agent"], "my-app/1")
      assert.strictEqual(headers.at(-1)!["x-os-auth"], undefined)
    }))

  it.effect("rejects bad options with InvalidInputError", () =>
    Effect.gen(function*() {
      for (
        const [options, field] of [
          [{ baseUrl: "not a url" }, "baseUrl"],
          [{ baseUrl: "ftp://os.test" }, "baseUrl"],
          [{ baseUrl: "http://os.test/?q=1" }, "baseUrl"],
          [{ baseUrl: "http://user:pw@os.test/" }, "baseUrl"],
          [{ baseUrl: "http://os.test", timeout: -1 }, "timeout"],
          [{ baseUrl: "http://os.test", retry: { times: -1 } }, "retry.times"]
        ] as const
      ) {
        const error = yield* Effect.flip(headUrl(options))
        assert.strictEqual(error._tag, "InvalidInputError")
        if (error._tag === "InvalidInputError") assert.strictEqual(error.field, field)
      }
    }))

  it.effect("layerConfig reads the options from Config", () =>
    Effect.gen(function*() {
      const client = yield* ObjectstoreClient.ObjectstoreClient
      assert.strictEqual(client.options.baseUrl, "http://config.test/prefix")
      assert.strictEqual(client.options.userAgent, "cfg")
      const session = yield* client.session(Usecase.make("u"), Scope.make({ org: 1 }))
      yield* session.delete("k")
      assert.strictEqual(urls.at(-1), "http://config.test/prefix/v1/objects/u/org=1/k")
    }).pipe(
      Effect.provide(
        ObjectstoreClient.layerConfig({
          baseUrl: Config.string("OBJECTSTORE_URL"),
          userAgent: Config.string("OBJECTSTORE_UA")
        }).pipe(
          Layer.provide(Services),
          Layer.provide(
            Layer.setConfigProvider(
              ConfigProvider.fromMap(
                new Map([["OBJECTSTORE_URL", "http://config.test/prefix"], ["OBJECTSTORE_UA", "cfg"]])
              )
            )
          )
        )
      )
    ))
})
