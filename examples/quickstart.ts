// The README's quick start. Run it against a server on port 8888 (or OBJECTSTORE_URL):
//   OS__AUTH__ENFORCE=false OS__STORAGE__TYPE=memory npx objectstore-server run &
//   npx tsx examples/quickstart.ts
import { ObjectstoreClient, Scope, Usecase } from "@objectstore/client"
import * as NodeClient from "@objectstore/client/NodeClient"
import * as Effect from "effect/Effect"

const program = Effect.gen(function*() {
  const client = yield* ObjectstoreClient.ObjectstoreClient
  const session = yield* client.session(Usecase.make("attachments"), Scope.make({ org: 42, project: 1337 }))

  const key = yield* session.put("Hello, world!") // upload; the server picks the key
  const text = yield* session.getText(key) // download (zstd is undone transparently)
  yield* session.delete(key)
  return text
})

program.pipe(
  Effect.provide(NodeClient.layer({ baseUrl: process.env.OBJECTSTORE_URL ?? "http://localhost:8888" })),
  Effect.runPromise
).then(console.log)
