// The HTTP backend example. Run it with an embedded in-memory Objectstore (no server needed):
//   OBJECTSTORE_URL=memory: npx tsx examples/http-backend/main.ts
//   curl -s --data-binary @README.md -H 'content-type: text/markdown' localhost:3000/files   # {"key":"…"}
//   curl -s localhost:3000/files/<key>
// or against a server: OBJECTSTORE_URL=http://localhost:8888 (OBJECTSTORE_TOKEN if it enforces auth).
import * as NodeHttpServer from "@effect/platform-node/NodeHttpServer"
import * as NodeRuntime from "@effect/platform-node/NodeRuntime"
import * as HttpServer from "@effect/platform/HttpServer"
import * as Config from "effect/Config"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import { createServer } from "node:http"
import { ClientLive, HttpLive } from "./Backend.js"

const ServerLive = Layer.unwrapEffect(
  Effect.map(
    Config.all({
      port: Config.integer("PORT").pipe(Config.withDefault(3000)),
      host: Config.string("HOST").pipe(Config.withDefault("127.0.0.1"))
    }),
    ({ host, port }) => NodeHttpServer.layer(createServer, { port, host })
  )
)

HttpLive.pipe(
  HttpServer.withLogAddress,
  Layer.provide(ClientLive),
  Layer.provide(ServerLive),
  Layer.launch,
  NodeRuntime.runMain
)
