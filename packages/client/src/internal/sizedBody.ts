/**
 * Bodies of a known exact length (multipart parts, resumable chunks): bytes, a replayable factory or a stream with
 * `contentLength`, checked and turned into the HTTP body of one attempt (sent with that `Content-Length`; the
 * caller's own stream failure is captured, since `HttpBody.stream` would turn it into a transport error).
 *
 * The server refuses a part or chunk without a `Content-Length` (PROTOCOL §20 item 16). NodeClient's transport
 * sends a stream with its length; another `HttpClient` may not (`fetch` sends every stream chunked), so there a
 * stream is collected for the attempt and sent as bytes: one part or chunk in memory at a time.
 *
 * @since 0.1.0
 * @internal
 */
import * as HttpBody from "@effect/platform/HttpBody"
import * as Bytes from "@objectstore/protocol/Bytes"
import type * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import * as Ref from "effect/Ref"
import * as Stream from "effect/Stream"
import * as Body from "../Body.js"
import { InvalidInputError } from "../ObjectstoreError.js"
import type * as Http from "./http.js"

const invalid = (field: string, reason: string) => new InvalidInputError({ field, reason })

/** @internal */
export interface Sized {
  readonly length: number
  readonly replayable: boolean
  readonly prepare: Effect.Effect<Http.PreparedBody>
}

/**
 * Checks `body` against `declared` (required for streams) and prepares its attempts in the caller's context; with
 * `whole`, a stream is collected and sent as bytes (for transports that would send it without its length).
 *
 * @internal
 */
export const make = (
  body: Body.Sized<unknown, unknown>,
  declared: number | undefined,
  callerContext: Context.Context<unknown>,
  whole: boolean
): Effect.Effect<Sized, InvalidInputError> =>
  Effect.suspend(() => {
    if (declared !== undefined && !(Number.isSafeInteger(declared) && declared >= 0)) {
      return Effect.fail(invalid("contentLength", "must be a non-negative integer"))
    }
    let length: number
    let replayable: boolean
    let source: (() => Stream.Stream<Uint8Array, unknown, unknown>) | undefined
    if (body instanceof Uint8Array) {
      if (declared !== undefined && declared !== body.length) {
        return Effect.fail(invalid("contentLength", `is ${declared} but the body has ${body.length} bytes`))
      }
      length = body.length
      replayable = true
    } else if (Body.isReplayable(body)) {
      const known = declared ?? body.contentLength
      if (known === undefined) return Effect.fail(invalid("contentLength", "is required for a stream body"))
      if (body.contentLength !== undefined && known !== body.contentLength) {
        return Effect.fail(invalid("contentLength", `is ${known} but the body says ${body.contentLength}`))
      }
      length = known
      replayable = true
      source = body.make
    } else {
      if (declared === undefined) return Effect.fail(invalid("contentLength", "is required for a stream body"))
      length = declared
      replayable = false
      let used = false
      const stream = body as Stream.Stream<Uint8Array, unknown, unknown>
      source = () => {
        if (used) return Stream.die(new Error("a stream body cannot be sent twice"))
        used = true
        return stream
      }
    }
    const make = source
    const prepare: Effect.Effect<Http.PreparedBody> = make === undefined || length === 0
      ? Effect.succeed({
        body: HttpBody.uint8Array(body instanceof Uint8Array ? body : new Uint8Array(0), "application/octet-stream")
      })
      : whole
      ? collected(make().pipe(Stream.provideContext(callerContext)), length)
      : Effect.map(Ref.make(Option.none<unknown>()), (captured) => ({
        body: HttpBody.stream(
          make().pipe(
            Stream.tapError((error) => Ref.set(captured, Option.some<unknown>(error))),
            Stream.provideContext(callerContext)
          ),
          "application/octet-stream",
          length
        ),
        failed: Ref.get(captured)
      }))
    return Effect.succeed({ length, replayable, prepare })
  })

/**
 * `stream` collected into the bytes of one attempt. The caller's failure, or a stream whose length is not the
 * declared one, becomes a body that fails at once, with that failure captured (as the streamed form reports it).
 */
const collected = (
  stream: Stream.Stream<Uint8Array, unknown>,
  length: number
): Effect.Effect<Http.PreparedBody> =>
  Effect.match(Bytes.collect(stream), {
    onFailure: failing,
    onSuccess: (bytes): Http.PreparedBody =>
      bytes.length === length
        ? { body: HttpBody.uint8Array(bytes, "application/octet-stream") }
        : failing(invalid("contentLength", `is ${length} but the stream had ${bytes.length} bytes`))
  })

const failing = (error: unknown): Http.PreparedBody => ({
  body: HttpBody.stream(Stream.fail(error), "application/octet-stream"),
  failed: Effect.succeedSome(error)
})
