/**
 * A profiling aid: counts the TCP connections undici opens while the SDK runs `count` operations of each kind
 * (connection reuse check), via undici's `undici:client:connected` diagnostics channel.
 *
 *   node --import tsx bench/profile/conns.ts [count] [concurrency]
 */
import * as Effect from "effect/Effect"
import * as diagnostics from "node:diagnostics_channel"
import { makePool, makeSdk, objectPath, rawGet, readHeaders } from "../lib/clients.js"
import { semiCompressible } from "../lib/data.js"
import { KiB } from "../lib/harness.js"
import { startServer } from "../lib/server.js"

const count = Number(process.argv[2] ?? 500)
const concurrency = Number(process.argv[3] ?? 1)
let connections = 0
diagnostics.channel("undici:client:connected").subscribe(() => connections++)

const main = async () => {
  const server = await startServer()
  const sdk = await makeSdk(server.url)
  const agent = makePool(server.url)
  const body = semiCompressible(KiB, 1)
  await sdk.run(sdk.session.put(body, { key: "small", compression: "none" }))
  const s = sdk.session
  const ops: Array<[string, () => Promise<unknown>]> = [
    ["raw get", () => rawGet(agent, server.url, "small")],
    ["raw head", async () => {
      const r = await agent.request({
        origin: server.url,
        path: objectPath("small"),
        method: "HEAD",
        headers: readHeaders,
        reset: false
      })
      await r.body.dump()
    }],
    ["sdk getBytes", () => sdk.run(s.getBytes("small"))],
    ["sdk head", () => sdk.run(s.head("small"))],
    ["sdk put", () => sdk.run(s.put(body, { key: "p", compression: "none" }))],
    ["sdk put zstd", () => sdk.run(s.put(body, { key: "pz", compression: "zstd" }))],
    ["sdk delete", () => sdk.run(s.delete("missing"))]
  ]
  for (const [name, op] of ops) {
    const before = connections
    await sdk.run(
      Effect.forEach(Array.from({ length: count }), () => Effect.promise(op), { concurrency, discard: true })
    )
    process.stderr.write(`${name.padEnd(14)} ${connections - before} new connections for ${count} requests\n`)
  }
  await sdk.dispose()
  await agent.destroy()
  await server.stop()
}

main().catch((error) => {
  process.stderr.write(`${error instanceof Error ? error.stack : String(error)}\n`)
  process.exit(1)
})
