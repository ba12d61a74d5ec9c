/**
 * Reading request bodies, shared by every handler that takes one (single inserts, batch, multipart parts).
 *
 * Over TCP the `node:http` request is read directly rather than through `request.stream`, which destroys the socket
 * when reading stops early (so a 413 or a batch framing error could never reach the client). Reading directly has
 * one trap this module closes: a client that disconnects mid-body makes the request emit `aborted`/`close` but
 * neither `end` nor always `error`, and a plain readable stream would then wait forever, holding the handler (and
 * any temporary file) and blocking server shutdown. Such a body fails instead.
 *
 * @internal
 */
import * as NodeHttpServerRequest from "@effect/platform-node/NodeHttpServerRequest"
import * as NodeStream from "@effect/platform-node/NodeStream"
import type * as HttpServerRequest from "@effect/platform/HttpServerRequest"
import * as HttpServerResponse from "@effect/platform/HttpServerResponse"
import * as Data from "effect/Data"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Stream from "effect/Stream"
import * as Http from "node:http"
import * as Responses from "./responses.js"

/** How much of an unwanted body is read and discarded so the connection can carry the next request. */
const DRAIN_LIMIT = 64 * 1024 * 1024

/**
 * The `node:http` request under a server request, when served over TCP (`undefined` in-process).
 *
 * @internal
 */
export const incomingMessage = (request: HttpServerRequest.HttpServerRequest): Http.IncomingMessage | undefined => {
  const source: unknown = NodeHttpServerRequest.toIncomingMessage(request)
  return source instanceof Http.IncomingMessage ? source : undefined
}

/** Completes when the client goes away before the body ended. */
const disconnected = (source: Http.IncomingMessage): Effect.Effect<void> =>
  Effect.async<void>((resume) => {
    if (source.readableAborted || (source.destroyed && !source.readableEnded)) return resume(Effect.void)
    const onClose = () => {
      if (!source.readableEnded) resume(Effect.void)
    }
    source.once("aborted", onClose)
    source.once("close", onClose)
    return Effect.sync(() => {
      source.off("aborted", onClose)
      source.off("close", onClose)
    })
  })

const DISCONNECTED = "the client disconnected before the body ended"

/**
 * Listens to a `node:http` request body read directly: `more` on every `event` ("data" hands each chunk, "readable"
 * says there is something to `read()`), `end` once it has ended, and `failed` with the reason when it cannot be read
 * to its end (an error, or the connection closed or aborted before the end). The listeners run only from the
 * stream's events (never synchronously); the returned function removes them all.
 */
const listen = (
  source: Http.IncomingMessage,
  event: "data" | "readable",
  on: {
    readonly more: (chunk: Buffer) => void
    readonly end: () => void
    readonly failed: (reason: string) => void
  }
): () => void => {
  const onError = (error: unknown) => on.failed(String(error))
  const onClose = () => {
    if (!source.readableEnded) on.failed(DISCONNECTED)
  }
  source.on(event, on.more)
  source.once("end", on.end)
  source.once("error", onError)
  source.once("aborted", onClose)
  source.once("close", onClose)
  return () => {
    source.off(event, on.more)
    source.off("end", on.end)
    source.off("error", onError)
    source.off("aborted", onClose)
    source.off("close", onClose)
  }
}

/**
 * The request body as a stream. `onError` maps a read failure (including a client that disconnected mid-body)
 * to the caller's error type.
 *
 * @internal
 */
export const stream = <E>(
  request: HttpServerRequest.HttpServerRequest,
  onError: (reason: string) => E
): Stream.Stream<Uint8Array, E> => {
  const source = incomingMessage(request)
  if (source === undefined) return Stream.mapError(request.stream, (error) => onError(error.message))
  return NodeStream.fromReadable<E, Uint8Array>(() => source, (error) => onError(String(error)), {
    closeOnDone: false
  }).pipe(
    Stream.interruptWhen(
      Effect.flatMap(disconnected(source), () => Effect.fail(onError(DISCONNECTED)))
    )
  )
}

/**
 * The next piece of a body read straight from the `node:http` request (everything it has buffered, waiting for more
 * when it has nothing): `null` once the body has ended. Fails with the reason when the body cannot be read to its
 * end (including a client that disconnected mid-body). Nothing is read until it is asked for, so the caller sets
 * the pace, and stopping early leaves the socket alone (the response still reaches the client).
 *
 * @internal
 */
export const read = (source: Http.IncomingMessage): Effect.Effect<Uint8Array | null, string> =>
  Effect.async<Uint8Array | null, string>((resume) => {
    const take = (): boolean => {
      const chunk: Buffer | null = source.read()
      if (chunk !== null) resume(Effect.succeed(chunk))
      else if (source.readableEnded) resume(Effect.succeed(null))
      else return false
      return true
    }
    if (source.readableEnded) return resume(Effect.succeed(null))
    if (source.readableAborted || source.destroyed) return resume(Effect.fail(DISCONNECTED))
    if (take()) return
    const stop = listen(source, "readable", {
      more: () => {
        if (take()) stop()
      },
      end: () => {
        stop()
        resume(Effect.succeed(null))
      },
      failed: (reason) => {
        stop()
        resume(Effect.fail(reason))
      }
    })
    return Effect.sync(stop)
  })

/**
 * Reads and discards the rest of a body (up to 64 MiB): `true` when the body ended, so the connection can carry the
 * next request; `false` when the response should close the connection.
 *
 * @internal
 */
export const drain = (request: HttpServerRequest.HttpServerRequest): Effect.Effect<boolean> => {
  const source = incomingMessage(request)
  if (source === undefined || source.readableEnded) return Effect.succeed(true)
  return stream(request, () => undefined).pipe(
    Stream.runFoldWhile(0, (total) => total <= DRAIN_LIMIT, (total, chunk: Uint8Array) => total + chunk.length),
    Effect.map(() => source.readableEnded),
    Effect.orElseSucceed(() => false)
  )
}

/**
 * The whole body of a request served over TCP, read straight from the `node:http` request (no Stream: for a small
 * body that is most of the cost of a request); `undefined` in-process, where `stream` is the way. Fails with
 * `onTooLarge()` as soon as more than `limit` bytes arrived (the rest is left unread, for `drain`), and with
 * `onError(reason)` when the body cannot be read to its end (including a client that disconnected mid-body).
 *
 * @internal
 */
export const collect = <E>(
  request: HttpServerRequest.HttpServerRequest,
  options: {
    readonly limit: number | undefined
    readonly onError: (reason: string) => E
    readonly onTooLarge: () => E
  }
): Effect.Effect<Uint8Array, E> | undefined => {
  const found = incomingMessage(request)
  if (found === undefined) return undefined
  const source: Http.IncomingMessage = found
  return Effect.async<Uint8Array, E>((resume) => {
    if (source.readableEnded) return resume(Effect.succeed(new Uint8Array(0)))
    if (source.readableAborted || source.destroyed) return resume(Effect.fail(options.onError(DISCONNECTED)))
    const chunks: Array<Buffer> = []
    let size = 0
    const fail = (error: E) => {
      stop()
      source.pause()
      resume(Effect.fail(error))
    }
    const stop = listen(source, "data", {
      more: (chunk) => {
        size += chunk.length
        if (options.limit !== undefined && size > options.limit) return fail(options.onTooLarge())
        chunks.push(chunk)
      },
      end: () => {
        stop()
        resume(Effect.succeed(chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks, size)))
      },
      failed: (reason) => fail(options.onError(reason))
    })
    return Effect.sync(stop)
  })
}

/**
 * `application/json` or `application/*+json`, with any parameters (axum's `Json` rule).
 *
 * @internal
 */
export const isJsonContentType = (value: string | undefined): boolean => {
  if (value === undefined) return false
  const essence = value.split(";")[0]!.trim().toLowerCase()
  const match = /^application\/([^/\s]+)$/.exec(essence)
  return match !== null && (match[1] === "json" || match[1]!.endsWith("+json"))
}

class ReadError extends Data.TaggedError("ReadError")<{ readonly reason: string }> {}

/**
 * Reads a small body whole as UTF-8 text (a JSON document), as axum's `Json` extractor: more than `limit` bytes
 * → 413 `Failed to buffer the request body: length limit exceeded`, a broken body → 400 (plain text).
 *
 * @internal
 */
export const readBounded = (
  request: HttpServerRequest.HttpServerRequest,
  limit: number
): Effect.Effect<Either.Either<string, HttpServerResponse.HttpServerResponse>> =>
  Effect.gen(function*() {
    const declared = request.headers["content-length"]
    const tooLarge = Effect.map(drain(request), (ended) => {
      const response = Responses.textResponse(413, "Failed to buffer the request body: length limit exceeded")
      return Either.left(ended ? response : HttpServerResponse.setHeader(response, "connection", "close"))
    })
    if (declared !== undefined && /^\d+$/.test(declared) && Number(declared) > limit) return yield* tooLarge
    const chunks: Array<Uint8Array> = []
    let size = 0
    const read = yield* Stream.runForEachWhile(stream(request, (reason) => new ReadError({ reason })), (chunk) =>
      Effect.sync(() => {
        size += chunk.length
        if (size > limit) {
          return false
        }
        chunks.push(chunk)
        return true
      })).pipe(Effect.either)
    if (Either.isLeft(read)) {
      return Either.left(Responses.textResponse(400, `Failed to buffer the request body: ${read.left.reason}`))
    }
    if (size > limit) {
      return yield* tooLarge
    }
    return Either.right(Buffer.concat(chunks).toString("utf8"))
  })
