/**
 * The local server for benchmarks, run in its own process so that the client's CPU and memory are measured alone:
 * `Server.layer` over TCP on 127.0.0.1 (port 0), auth off, no body limit; memory storage, or filesystem storage
 * under the folder named by `BENCH_SERVER_STORAGE=filesystem:<dir>`.
 *
 * Prints one line `{"url":"http://127.0.0.1:<port>","pid":<pid>}` on stdout once listening, then serves until it
 * receives SIGTERM/SIGINT or its stdin closes (so it never outlives the benchmark that spawned it).
 */
import * as NodeRuntime from "@effect/platform-node/NodeRuntime"
import * as HttpServer from "@effect/platform/HttpServer"
import * as Server from "@objectstore/server/Server"
import * as Effect from "effect/Effect"

const storageSetting = process.env.BENCH_SERVER_STORAGE ?? "memory"
const storage = storageSetting.startsWith("filesystem:")
  ? { type: "filesystem" as const, path: storageSetting.slice("filesystem:".length) }
  : { type: "memory" as const }

const program = Effect.gen(function*() {
  const address = yield* HttpServer.addressWith((address) => Effect.succeed(address))
  if (address._tag !== "TcpAddress") return yield* Effect.dieMessage("expected a TCP address")
  process.stdout.write(JSON.stringify({ url: `http://127.0.0.1:${address.port}`, pid: process.pid }) + "\n")
  yield* Effect.async<void>((resume) => {
    process.stdin.resume()
    process.stdin.on("close", () => resume(Effect.void))
    process.stdin.on("end", () => resume(Effect.void))
  })
}).pipe(
  Effect.provide(Server.layer({
    host: "127.0.0.1",
    port: 0,
    storage,
    auth: { enforce: false, keys: {} },
    maxBodySize: undefined
  }))
)

NodeRuntime.runMain(program)
