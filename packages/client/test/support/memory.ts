/**
 * The harness of the memory tests: a lazily generated large payload, a retained-memory sampler, and a client over
 * loopback TCP to a filesystem-backed server in the same process.
 */
import * as HttpServer from "@effect/platform/HttpServer"
import * as Auth from "@objectstore/client/Auth"
import * as Compression from "@objectstore/client/Compression"
import * as Metrics from "@objectstore/client/Metrics"
import * as NodeClient from "@objectstore/client/NodeClient"
import * as ObjectstoreClient from "@objectstore/client/ObjectstoreClient"
import * as Server from "@objectstore/server/Server"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Stream from "effect/Stream"
import * as crypto from "node:crypto"
import * as v8 from "node:v8"
import * as vm from "node:vm"
import { tempDirLayer } from "../../../../test/support.js"

export const MiB = 1024 * 1024

/** A fresh 1 MiB chunk per step: random-looking (so zstd does real work) and different every time. */
const seed = crypto.randomBytes(MiB)
export const chunk = (i: number): Uint8Array => {
  const out = new Uint8Array(MiB)
  out.set(seed)
  new DataView(out.buffer).setUint32(0, i)
  return out
}

/** `sizeMiB` chunks, one element per chunk, so each 1 MiB buffer is only made when the consumer asks for more. */
export const generated = (sizeMiB: number): Stream.Stream<Uint8Array> =>
  Stream.range(0, sizeMiB - 1).pipe(Stream.rechunk(1), Stream.map(chunk))

// A full GC before each sample measures what is retained, not garbage V8 has not collected yet (it lets up to
// 64 MB of dead external buffers accumulate before collecting).
v8.setFlagsFromString("--expose-gc")
const gc = vm.runInNewContext("gc") as () => void

const memory = () => {
  gc()
  const usage = process.memoryUsage()
  return usage.heapUsed + usage.arrayBuffers
}

/**
 * Samples retained memory while `effect` runs, about every `everyMillis`; returns its result and the peak growth.
 * A full GC costs tens of milliseconds on a test worker's heap, so the pause after each sample is at least four
 * times the last sample's cost: the sampler never takes more than a fifth of the time, on a quiet machine or a
 * loaded one (sampling back to back used to starve the transfer it measured).
 */
export const measured = <A, E, R>(effect: Effect.Effect<A, E, R>, everyMillis: number) =>
  Effect.gen(function*() {
    const baseline = memory()
    let peak = baseline
    let timer: ReturnType<typeof setTimeout> | undefined
    const sample = () => {
      const started = performance.now()
      peak = Math.max(peak, memory())
      timer = setTimeout(sample, Math.max(everyMillis, 4 * (performance.now() - started)))
    }
    timer = setTimeout(sample, everyMillis)
    const result = yield* Effect.ensuring(effect, Effect.sync(() => clearTimeout(timer)))
    peak = Math.max(peak, memory())
    return { result, growth: peak - baseline }
  })

/** The client (undici, no retries, no metrics) of a server on a loopback port storing in a fresh temporary folder. */
export const clientAndServer = (prefix: string) =>
  tempDirLayer(prefix, (root) =>
    Layer.unwrapEffect(
      HttpServer.addressFormattedWith((baseUrl) =>
        Effect.succeed(
          ObjectstoreClient.layer({ baseUrl, retry: false }).pipe(
            Layer.provide(Layer.mergeAll(
              NodeClient.layerHttpClient({ connectTimeout: "2 seconds", direct: true }),
              Compression.layer,
              Auth.layerNone,
              Metrics.layerNoop
            ))
          )
        )
      )
    ).pipe(Layer.provide(Server.layer({ port: 0, storage: { type: "filesystem", path: root } }))))
