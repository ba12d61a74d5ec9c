/**
 * The two sides of every comparison: the SDK as users get it (`NodeClient.layer`: undici, best zstd, metrics,
 * default retries) and a raw undici `Pool` with the same connection settings, plus the exact headers the SDK sends.
 */
import { ObjectstoreClient, Scope, Usecase } from "@objectstore/client"
import * as NodeClient from "@objectstore/client/NodeClient"
import type * as Session from "@objectstore/client/Session"
import * as Path from "@objectstore/protocol/Path"
import * as Effect from "effect/Effect"
import * as ManagedRuntime from "effect/ManagedRuntime"
import { Pool } from "undici"

/** The usecase and scope every workload writes to. */
export const USECASE = "bench"
export const SCOPE = { org: 1, project: 2 }
const SCOPE_SEGMENT = "org=1;project=2"

/**
 * Connect timeout for both sides: generous, because the shared machine may stall a connect; it does not affect a
 * reused connection. Keep-alive as the SDK default (4 s).
 */
const CONNECT_TIMEOUT_MS = 10_000
const KEEP_ALIVE_MS = 4_000

/** The `User-Agent` the SDK sends, sent by the baseline too. */
export const USER_AGENT: string = ObjectstoreClient.DEFAULT_USER_AGENT

export interface Sdk {
  readonly session: Session.Service
  readonly run: <A, E>(effect: Effect.Effect<A, E, never>) => Promise<A>
  readonly dispose: () => Promise<void>
}

/** The SDK over a fresh runtime (one undici Agent for its lifetime). */
export const makeSdk = async (
  url: string,
  options: { readonly compression?: Usecase.Compression; readonly metrics?: boolean; readonly retry?: false } = {}
): Promise<Sdk> => {
  const runtime = ManagedRuntime.make(
    NodeClient.layer({
      baseUrl: url,
      connectTimeout: CONNECT_TIMEOUT_MS,
      metrics: options.metrics ?? true,
      ...(options.retry === false ? { retry: false } : {})
    })
  )
  const usecase = Usecase.make(USECASE, { compression: options.compression ?? "zstd" })
  const session = await runtime.runPromise(
    Effect.flatMap(ObjectstoreClient.ObjectstoreClient, (client) => client.session(usecase, Scope.make(SCOPE)))
  )
  return {
    session,
    run: (effect) => runtime.runPromise(effect),
    dispose: () => runtime.dispose()
  }
}

/**
 * The baseline's transport: a raw undici `Pool` for the server's origin, configured like the SDK's (which also pools
 * per origin). HEAD requests must pass `reset: false`, as the SDK does, or undici closes the connection after each.
 */
export const makePool = (origin: string): Pool =>
  new Pool(origin, { connect: { timeout: CONNECT_TIMEOUT_MS }, keepAliveTimeout: KEEP_ALIVE_MS })

/** The headers the SDK sends with get, head and delete. */
export const readHeaders: Record<string, string> = { "user-agent": USER_AGENT }

/** The path of an object in the bench usecase and scope. */
export const objectPath = (key: string): string =>
  Path.objectPath({ basePath: "", resource: "objects", usecase: USECASE, scope: SCOPE_SEGMENT, key })

/** A raw undici GET of `key`, its body read whole: the baseline's get as the profiling aids make it. */
export const rawGet = async (pool: Pool, origin: string, key: string): Promise<ArrayBuffer> => {
  const response = await pool.request({ origin, path: objectPath(key), method: "GET", headers: readHeaders })
  return response.body.arrayBuffer()
}

/** The headers the SDK sends with a put (manual expiration, no metadata). */
export const putHeaders = (compression: "zstd" | "none"): Record<string, string> => ({
  "user-agent": USER_AGENT,
  "content-type": "application/octet-stream",
  ...(compression === "zstd" ? { "content-encoding": "zstd" } : {})
})
