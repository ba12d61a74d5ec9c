/**
 * Raw loopback HTTP for the server tests: `node:http` with the path sent byte for byte (no URL normalisation), any
 * header bytes, and bodies as strings, bytes or chunk lists.
 */
import * as HttpServer from "@effect/platform/HttpServer"
import * as Effect from "effect/Effect"
import * as Http from "node:http"

export interface RawResponse {
  readonly status: number
  readonly headers: Http.IncomingHttpHeaders
  readonly body: Buffer
  readonly text: string
}

export interface RawRequest {
  readonly method: string
  readonly path: string
  readonly headers?: Readonly<Record<string, string>>
  readonly body?: string | Uint8Array | ReadonlyArray<Uint8Array> | undefined
}

export const send = (port: number, request: RawRequest): Effect.Effect<RawResponse> =>
  Effect.async<RawResponse>((resume) => {
    const req = Http.request(
      { host: "127.0.0.1", port, method: request.method, path: request.path, headers: request.headers, agent: false },
      (res) => {
        const chunks: Array<Buffer> = []
        res.on("data", (chunk: Buffer) => chunks.push(chunk))
        res.on("end", () => {
          const body = Buffer.concat(chunks)
          resume(Effect.succeed({ status: res.statusCode!, headers: res.headers, body, text: body.toString("utf8") }))
        })
        res.on("error", (error) => resume(Effect.die(error)))
      }
    )
    req.on("error", (error) => resume(Effect.die(error)))
    const body = request.body
    if (body === undefined) req.end()
    else if (typeof body === "string" || body instanceof Uint8Array) req.end(body)
    else {
      for (const chunk of body) req.write(chunk)
      req.end()
    }
    return Effect.sync(() => req.destroy())
  })

export const serverPort: Effect.Effect<number, never, HttpServer.HttpServer> = Effect.map(
  HttpServer.HttpServer,
  (server) => (server.address as HttpServer.TcpAddress).port
)

/** A request against the server in context. */
export const http = (request: RawRequest) => Effect.flatMap(serverPort, (port) => send(port, request))

export const json = (response: RawResponse): any => JSON.parse(response.text)
