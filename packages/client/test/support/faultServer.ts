/**
 * A loopback server that misbehaves on purpose, in front of a real Objectstore server: requests the fault applies to
 * get it; every other request (and the healthy half of a response fault) is passed on to the upstream server.
 *
 * | fault | what the server does |
 * |---|---|
 * | `NeverAccept` | nothing: its accept queue is full (a listener in a blocked worker thread), connects hang |
 * | `NeverRead` | accepts connections and never reads a byte from them |
 * | `StallHeaders` | reads the whole request and never answers |
 * | `StallBody` | sends the headers and half of the (upstream) response body, then nothing |
 * | `StopReading` | reads `after` bytes of the request body, then stops reading |
 * | `ResetBeforeUpload` | resets the connection (RST) as soon as the request head has arrived |
 * | `ResetDuringUpload` | resets after `after` bytes of the request body |
 * | `ResetBeforeDownload` | reads the whole request, then resets instead of answering |
 * | `ResetDuringDownload` | sends the headers and half of the response body, then resets |
 * | `Early` | answers `status` (with `Retry-After` when given) before reading the body, then resets |
 * | `Truncate` | sends the headers (with the full `Content-Length`) and half of the body, then closes (FIN) |
 * | `CorruptZstd` | flips the magic number of every zstd frame in the response body |
 * | `Trickle` | reads the first `slow` bytes of the request body `upload` bytes, and writes the response `bytes` at a time, every `every` ms |
 * | `None` | passes everything on |
 *
 * Response faults leave bodiless responses (HEAD, 204) as they are. The server counts connections (and how many are
 * open) and the requests a fault was applied to, and records the time of its last activity, so a test driving a
 * `TestClock` can tell when nothing more will happen without the clock moving.
 */
import * as Deferred from "effect/Deferred"
import * as Effect from "effect/Effect"
import type * as EffectScope from "effect/Scope"
import * as http from "node:http"
import * as net from "node:net"
import { Worker } from "node:worker_threads"

export type Fault =
  | { readonly _tag: "NeverAccept" }
  | { readonly _tag: "NeverRead" }
  | { readonly _tag: "StallHeaders" }
  | { readonly _tag: "StallBody" }
  | { readonly _tag: "StopReading"; readonly after: number }
  | { readonly _tag: "ResetBeforeUpload" }
  | { readonly _tag: "ResetDuringUpload"; readonly after: number }
  | { readonly _tag: "ResetBeforeDownload" }
  | { readonly _tag: "ResetDuringDownload" }
  | { readonly _tag: "Early"; readonly status: number; readonly retryAfter?: number | undefined }
  | { readonly _tag: "Truncate" }
  | { readonly _tag: "CorruptZstd" }
  | {
    readonly _tag: "Trickle"
    readonly bytes: number
    readonly upload: number
    readonly slow: number
    readonly every: number
  }
  | { readonly _tag: "None" }

export interface RequestHead {
  readonly method: string
  readonly url: string
  readonly headers: http.IncomingHttpHeaders
}

export interface Options {
  readonly fault: Fault
  /** The real server (`http://127.0.0.1:port`) healthy requests go to. */
  readonly upstream: string
  /** Which requests get the fault (default: all). */
  readonly when?: ((request: RequestHead) => boolean) | undefined
  /** At most this many requests get it (default: all that match). */
  readonly times?: number | undefined
}

export interface FaultServer {
  readonly url: string
  /** Connections accepted so far. */
  readonly connections: () => number
  /** Connections open now. */
  readonly open: () => number
  /** Requests seen (faulted or passed on). */
  readonly requests: () => number
  /** Requests the fault was applied to (connections, for `NeverRead`). */
  readonly faulted: () => number
  /** `performance.now()` of the last thing the server saw or did. */
  readonly lastActivity: () => number
  /** Requests being exchanged now: received and neither answered, reset, nor stalled by the fault. */
  readonly busy: () => number
  /** Completes once an `Early` answer has been sent and its connection reset. */
  readonly answered: Effect.Effect<void>
  /** Stops stalling: paused connections are read (and drained) again, so the client's closes are seen. */
  readonly release: Effect.Effect<void>
}

const hopByHop = new Set(["connection", "keep-alive", "transfer-encoding", "proxy-connection", "upgrade"])

const forwardedHeaders = (raw: ReadonlyArray<string>): Array<string> => {
  const out: Array<string> = []
  for (let i = 0; i < raw.length; i += 2) {
    if (!hopByHop.has(raw[i]!.toLowerCase())) out.push(raw[i]!, raw[i + 1]!)
  }
  return out
}

const ZSTD_MAGIC = Buffer.from([0x28, 0xb5, 0x2f, 0xfd])

const corruptFrames = (body: Buffer): Buffer => {
  const out = Buffer.from(body)
  for (let at = out.indexOf(ZSTD_MAGIC); at >= 0; at = out.indexOf(ZSTD_MAGIC, at + 4)) {
    out[at] = 0x00
    out[at + 1] = 0x00
  }
  return out
}

/**
 * A listener whose accept queue is full: a worker thread listens with a backlog of 1 and then blocks, never
 * accepting; the two connections such a queue holds (Linux: backlog + 1) are made at once, and the kernel drops every
 * later connection attempt (its SYN). One is enough for any number of clients: made once, closed when the last
 * scope using it closes.
 */
let backlogUsers = 0
let backlog: Promise<{ port: number; release: () => Promise<void> }> | undefined

const fullBacklog = Effect.acquireRelease(
  Effect.suspend(() => {
    backlogUsers++
    if (backlog === undefined) backlog = Effect.runPromise(makeFullBacklog)
    return Effect.promise(() => backlog!)
  }),
  ({ release }) =>
    Effect.suspend(() => {
      if (--backlogUsers > 0) return Effect.void
      backlog = undefined
      return Effect.promise(release)
    })
)

const makeFullBacklog = Effect.async<{ port: number; release: () => Promise<void> }>((resume) => {
  const gate = new SharedArrayBuffer(4)
  const worker = new Worker(
    `const { parentPort, workerData } = require("node:worker_threads")
const net = require("node:net")
const server = net.createServer()
server.listen({ port: 0, host: "127.0.0.1", backlog: 1 }, () => {
  parentPort.postMessage(server.address().port)
  Atomics.wait(new Int32Array(workerData), 0, 0)
  server.close()
})`,
    { eval: true, workerData: gate }
  )
  worker.once("message", async (port: number) => {
    const fillers = await Promise.all([0, 1].map(() =>
      new Promise<net.Socket>((resolve) => {
        const socket = net.connect(port, "127.0.0.1")
        socket.on("error", () => {})
        socket.once("connect", () => resolve(socket))
      })
    ))
    resume(Effect.succeed({
      port,
      release: async () => {
        for (const socket of fillers) socket.destroy()
        const flag = new Int32Array(gate)
        Atomics.store(flag, 0, 1)
        Atomics.notify(flag, 0)
        await worker.terminate()
      }
    }))
  })
})

/** Starts a fault server in front of `options.upstream`, closed (with every connection) when the scope closes. */
export const make = (options: Options): Effect.Effect<FaultServer, never, EffectScope.Scope> =>
  Effect.gen(function*() {
    const { fault } = options
    const answered = yield* Deferred.make<void>()
    let lastActivity = performance.now()
    const touch = () => {
      lastActivity = performance.now()
    }
    if (fault._tag === "NeverAccept") {
      const { port } = yield* fullBacklog
      return {
        url: `http://127.0.0.1:${port}`,
        connections: () => 0,
        open: () => 0,
        requests: () => 0,
        faulted: () => 0,
        lastActivity: () => lastActivity,
        busy: () => 0,
        answered: Deferred.await(answered),
        release: Effect.void
      } satisfies FaultServer
    }
    let connections = 0
    let requests = 0
    let faulted = 0
    let busy = 0
    const sockets = new Set<net.Socket>()
    const paused = new Set<net.Socket>()
    const pausedRequests = new Set<http.IncomingMessage>()
    const timers = new Set<ReturnType<typeof setTimeout>>()
    const proxied = new Set<http.ClientRequest>()
    const later = (ms: number, f: () => void) => {
      const timer = setTimeout(() => {
        timers.delete(timer)
        f()
      }, ms)
      timers.add(timer)
    }
    const stall = (socket: net.Socket) => {
      socket.pause()
      paused.add(socket)
    }
    const upstream = new URL(options.upstream)

    const reset = (socket: net.Socket) => {
      touch()
      if (!socket.destroyed) socket.resetAndDestroy()
    }

    /** Passes the request on; `respond` writes the upstream answer (status, headers, whole body) to the client. */
    const proxy = (
      request: http.IncomingMessage,
      response: http.ServerResponse,
      respond: (status: number, headers: Array<string>, body: Buffer) => void,
      throttle?: { readonly bytes: number; readonly every: number; readonly slow: number }
    ) => {
      const outgoing = http.request({
        host: upstream.hostname,
        port: upstream.port,
        method: request.method,
        path: request.url,
        headers: forwardedHeaders(request.rawHeaders),
        agent: false
      })
      // A client that went away leaves no half-sent request holding the upstream server.
      proxied.add(outgoing)
      outgoing.on("close", () => proxied.delete(outgoing))
      response.on("close", () => {
        if (!response.writableFinished) outgoing.destroy()
      })
      outgoing.on("error", () => {
        if (!response.headersSent) {
          response.writeHead(502)
          response.end()
        }
      })
      outgoing.on("response", (answer) => {
        touch()
        const chunks: Array<Buffer> = []
        answer.on("data", (chunk: Buffer) => {
          touch()
          chunks.push(chunk)
        })
        answer.on("end", () => {
          touch()
          respond(answer.statusCode ?? 502, forwardedHeaders(answer.rawHeaders), Buffer.concat(chunks))
        })
      })
      // The request is read again once the upstream has taken what it was given and the throttle allows.
      let draining = false
      let throttled = false
      let read = 0
      const resume = () => {
        if (!draining && !throttled) request.resume()
      }
      request.on("data", (chunk: Buffer) => {
        touch()
        if (!outgoing.write(chunk)) {
          draining = true
          request.pause()
          outgoing.once("drain", () => {
            draining = false
            resume()
          })
        }
        read += chunk.length
        if (throttle !== undefined && read <= throttle.slow) {
          // As slow as `bytes` every `every` ms: pause for as long as this chunk takes at that rate.
          throttled = true
          request.pause()
          later(Math.max(1, Math.round(throttle.every * chunk.length / throttle.bytes)), () => {
            throttled = false
            resume()
          })
        }
      })
      request.on("end", () => {
        touch()
        outgoing.end()
      })
    }

    const passOn =
      (_request: http.IncomingMessage, response: http.ServerResponse) =>
      (status: number, headers: Array<string>, body: Buffer) => {
        response.writeHead(status, headers)
        response.end(body)
      }

    /** The headers and half of the body (a bodiless answer is passed on whole); `then` runs once that is written. */
    const half = (
      response: http.ServerResponse,
      then: (socket: net.Socket) => void
    ) =>
    (status: number, headers: Array<string>, body: Buffer) => {
      if (body.length === 0) {
        response.writeHead(status, headers)
        response.end()
        return
      }
      response.writeHead(status, headers)
      response.write(body.subarray(0, Math.max(1, body.length >> 1)), () => {
        touch()
        then(response.socket!)
      })
    }

    const handle = (
      request: http.IncomingMessage,
      response: http.ServerResponse,
      faulty: Fault,
      stalled: () => void
    ) => {
      const socket = request.socket
      switch (faulty._tag) {
        case "None":
        case "NeverAccept":
        case "NeverRead":
          return proxy(request, response, passOn(request, response))
        case "StallHeaders":
          request.on("data", touch)
          request.on("end", stalled)
          return
        case "StopReading": {
          request.on("end", stalled)
          let read = 0
          request.on("data", (chunk: Buffer) => {
            touch()
            read += chunk.length
            if (read >= faulty.after && !request.isPaused()) {
              // The socket is no longer read once the request's buffer is full (http flow control).
              request.pause()
              pausedRequests.add(request)
              stalled()
            }
          })
          return
        }
        case "ResetBeforeUpload":
          return reset(socket)
        case "ResetDuringUpload": {
          let read = 0
          request.on("data", (chunk: Buffer) => {
            read += chunk.length
            if (read >= faulty.after) reset(socket)
          })
          request.on("end", () => reset(socket))
          return
        }
        case "ResetBeforeDownload":
          request.on("data", touch)
          request.on("end", () => reset(socket))
          return
        case "Early": {
          const body = JSON.stringify({ detail: `early ${faulty.status}` })
          response.writeHead(faulty.status, {
            "content-type": "application/json",
            "content-length": Buffer.byteLength(body),
            ...(faulty.retryAfter === undefined ? {} : { "retry-after": String(faulty.retryAfter) })
          })
          response.end(body, () => {
            reset(socket)
            Deferred.unsafeDone(answered, Effect.void)
          })
          return
        }
        case "StallBody":
          return proxy(request, response, half(response, stalled))
        case "ResetDuringDownload":
          return proxy(request, response, half(response, reset))
        case "Truncate":
          return proxy(request, response, half(response, (socket) => socket.end()))
        case "CorruptZstd":
          return proxy(request, response, (status, headers, body) => {
            response.writeHead(status, headers)
            response.end(corruptFrames(body))
          })
        case "Trickle":
          return proxy(request, response, (status, headers, body) => {
            response.writeHead(status, headers)
            const next = (offset: number) => {
              touch()
              if (offset >= body.length) return void response.end()
              response.write(body.subarray(offset, offset + faulty.bytes))
              later(faulty.every, () => next(offset + faulty.bytes))
            }
            next(0)
          }, { bytes: faulty.upload, every: faulty.every, slow: faulty.slow })
      }
    }

    const web = http.createServer({ keepAliveTimeout: 0 }, (request, response) => {
      touch()
      requests++
      const applies = (options.times === undefined || faulted < options.times) &&
        (options.when === undefined ||
          options.when({ method: request.method!, url: request.url!, headers: request.headers }))
      if (applies) faulted++
      busy++
      let exchanging = true
      const over = () => {
        if (exchanging) {
          exchanging = false
          busy--
        }
      }
      response.on("finish", over)
      response.on("close", over)
      request.socket.on("close", over)
      handle(request, response, applies ? fault : { _tag: "None" }, over)
    })
    web.on("clientError", (_error, socket) => socket.destroy())

    const server = net.createServer((socket) => {
      touch()
      connections++
      sockets.add(socket)
      socket.on("error", () => {})
      socket.on("close", () => {
        touch()
        sockets.delete(socket)
        paused.delete(socket)
      })
      if (fault._tag === "NeverRead" && (options.times === undefined || faulted < options.times)) {
        faulted++
        stall(socket)
        return
      }
      web.emit("connection", socket)
    })
    const port = yield* Effect.acquireRelease(
      Effect.async<number>((resume) => {
        server.listen(0, "127.0.0.1", () => resume(Effect.succeed((server.address() as net.AddressInfo).port)))
      }),
      () =>
        Effect.async<void>((resume) => {
          for (const timer of timers) clearTimeout(timer)
          for (const outgoing of proxied) outgoing.destroy()
          for (const socket of sockets) socket.destroy()
          web.close()
          server.close(() => resume(Effect.void))
        })
    )
    return {
      url: `http://127.0.0.1:${port}`,
      connections: () => connections,
      open: () => sockets.size,
      requests: () => requests,
      faulted: () => faulted,
      lastActivity: () => lastActivity,
      busy: () => busy,
      answered: Deferred.await(answered),
      release: Effect.sync(() => {
        for (const request of pausedRequests) {
          request.removeAllListeners("data")
          request.on("data", () => {})
          request.resume()
        }
        pausedRequests.clear()
        for (const socket of paused) {
          socket.on("data", () => {})
          socket.resume()
        }
        paused.clear()
      })
    } satisfies FaultServer
  })
