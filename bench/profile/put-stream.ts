/**
 * A profiling aid: a 64 MiB streamed upload (256 KiB chunks, no compression) through the SDK, through the platform
 * HttpClient alone (HttpBody.stream), and through raw undici (a Readable), with wall time and client CPU time.
 *
 *   node --import tsx bench/profile/put-stream.ts [rounds]
 */
import * as NodeHttpClient from "@effect/platform-node/NodeHttpClient"
import * as HttpBody from "@effect/platform/HttpBody"
import * as HttpClient from "@effect/platform/HttpClient"
import * as HttpClientRequest from "@effect/platform/HttpClientRequest"
import * as Effect from "effect/Effect"
import * as ManagedRuntime from "effect/ManagedRuntime"
import * as Option from "effect/Option"
import * as Stream from "effect/Stream"
import { performance } from "node:perf_hooks"
import { Readable } from "node:stream"
import { makePool, makeSdk, objectPath, putHeaders } from "../lib/clients.js"
import { chunkSource } from "../lib/data.js"
import { KiB, median, MiB } from "../lib/harness.js"
import { startServer } from "../lib/server.js"

const SIZE = 64 * MiB
const CHUNK = 256 * KiB
const rounds = Number(process.argv[2] ?? 3)
const source = chunkSource(CHUNK)
const CHUNKS = Array.from({ length: SIZE / CHUNK }, () => source.next())

const effectStream = (): Stream.Stream<Uint8Array> =>
  Stream.suspend(() => {
    let i = 0
    return Stream.repeatEffectOption(
      Effect.suspend(() => i < CHUNKS.length ? Effect.succeed(CHUNKS[i++]!) : Effect.fail(Option.none()))
    )
  })

const main = async () => {
  const server = await startServer()
  const sdk = await makeSdk(server.url)
  const pool = makePool(server.url)
  const platform = ManagedRuntime.make(NodeHttpClient.layerUndici)
  const client = await platform.runPromise(HttpClient.HttpClient)
  const url = server.url + objectPath("stream")
  const cases: Array<[string, () => Promise<unknown>]> = [
    ["raw undici Readable", async () => {
      const r = await pool.request({
        origin: server.url,
        path: objectPath("stream"),
        method: "PUT",
        headers: putHeaders("none"),
        body: Readable.from(CHUNKS)
      })
      await r.body.text()
    }],
    ["platform HttpBody.stream", () =>
      platform.runPromise(Effect.flatMap(
        client.execute(
          HttpClientRequest.put(url).pipe(
            HttpClientRequest.setHeaders(putHeaders("none")),
            HttpClientRequest.setBody(HttpBody.stream(effectStream(), "application/octet-stream"))
          )
        ),
        (r) => r.text
      ))],
    ["sdk put stream", () => sdk.run(sdk.session.put(effectStream(), { key: "stream", compression: "none" }))]
  ]
  const results = new Map<string, Array<[number, number]>>(cases.map(([name]) => [name, []]))
  for (let i = 0; i < rounds + 1; i++) {
    for (const [name, run] of cases) {
      const cpu = process.cpuUsage()
      const start = performance.now()
      await run()
      const wall = performance.now() - start
      const used = process.cpuUsage(cpu)
      if (i > 0) results.get(name)!.push([SIZE / MiB / (wall / 1000), (used.user + used.system) / 1000])
    }
  }
  for (const [name, values] of results) {
    process.stderr.write(
      `${name.padEnd(26)} ${median(values.map((v) => v[0])).toFixed(0).padStart(5)} MiB/s  client CPU ${
        median(values.map((v) => v[1])).toFixed(0)
      } ms\n`
    )
  }
  await sdk.dispose()
  await platform.dispose()
  await pool.destroy()
  await server.stop()
}

main().catch((error) => {
  process.stderr.write(`${error instanceof Error ? error.stack : String(error)}\n`)
  process.exit(1)
})
