/**
 * `Session.get` (the body as a stream, under the download deadline) and `Session.getBytes` (the body in one read,
 * within the attempt), over one request half (`open`).
 *
 * @since 0.1.0
 * @internal
 */
import type * as HttpClientError from "@effect/platform/HttpClientError"
import type * as HttpClientResponse from "@effect/platform/HttpClientResponse"
import * as ProtocolBytes from "@objectstore/protocol/Bytes"
import * as Metadata from "@objectstore/protocol/Metadata"
import * as Clock from "effect/Clock"
import * as Context from "effect/Context"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Exit from "effect/Exit"
import * as Option from "effect/Option"
import type * as Scope from "effect/Scope"
import * as Stream from "effect/Stream"
import * as Compression from "../Compression.js"
import * as Encoding from "../Encoding.js"
import type * as Metrics from "../Metrics.js"
import { InvalidInputError, RangeNotSatisfiableError } from "../ObjectstoreError.js"
import type { AuthError, CompressionError, NetworkError, NotFoundError, ResponseError } from "../ObjectstoreError.js"
import type * as Session from "../SessionModel.js"
import * as Errors from "./errors.js"
import * as Http from "./http.js"
import * as Meter from "./meter.js"
import * as RangeInternal from "./range.js"
import * as Env from "./sessionEnv.js"
import * as Spans from "./spans.js"
import * as Validation from "./validation.js"
import * as Watchdog from "./watchdog.js"
import * as Zstd from "./zstd.js"
import * as ZstdFrames from "./zstdFrames.js"

/**
 * A zstd body from a transport that may have decoded it already (`fetch` in browsers and Node 24 decodes
 * `content-encoding: zstd` and cannot be told not to): the first bytes tell, since stored zstd always starts with a
 * frame's magic number. Decoded: handed on as it is (`onDecoded`); else through `decoding`.
 */
const sniffDecoded = <E>(
  network: Stream.Stream<Uint8Array, E>,
  decoding: (source: Stream.Stream<Uint8Array, E>) => Stream.Stream<Uint8Array, E | CompressionError>,
  onDecoded: () => void
): Stream.Stream<Uint8Array, E | CompressionError> =>
  Stream.unwrapScoped(Effect.gen(function*() {
    const pull = yield* Stream.toPull(network)
    const head: Array<Uint8Array> = []
    let size = 0
    let ended = false
    while (size < 4 && !ended) {
      const next = yield* Effect.either(pull)
      if (Either.isLeft(next)) {
        if (Option.isSome(next.left)) return Stream.fail(next.left.value)
        ended = true
      } else {
        for (const chunk of next.right) {
          head.push(chunk)
          size += chunk.length
        }
      }
    }
    const first = ProtocolBytes.concat(head)
    const all = Stream.concat(
      first.length === 0 ? Stream.empty : Stream.make(first),
      ended ? Stream.empty : Stream.repeatEffectChunkOption(pull)
    )
    if (ZstdFrames.startsWithFrame(first)) return decoding(all)
    onDecoded()
    return all
  }))

type Send<R> = <A, E>(
  context: Http.ClientContext,
  spec: Http.RequestSpec,
  handle: (response: HttpClientResponse.HttpClientResponse, attempt: number) => Effect.Effect<A, Http.AttemptError<E>>
) => Effect.Effect<A, E | AuthError | NetworkError | ResponseError, R>

/** The bytes the response promised (`Content-Length`, of the whole object or of the range). */
const expectedOf = (response: HttpClientResponse.HttpClientResponse) => {
  const length = response.headers["content-length"]
  return length !== undefined && /^\d+$/.test(length) ? Number(length) : undefined
}

interface Received {
  readonly response: HttpClientResponse.HttpClientResponse
  readonly bytes: Uint8Array | undefined
  /** The transport decoded the zstd body itself (see {@link sniffDecoded}). */
  readonly decodedByTransport: boolean
}

/**
 * One attempt's answer to a get: the response (and with `whole`, its bytes, checked against the promised length),
 * or the failure its status means.
 */
const receive = (
  env: Env.Env,
  key: string,
  rangeHeader: string | undefined,
  target: { readonly method: string; readonly path: string },
  whole: boolean
) =>
(
  response: HttpClientResponse.HttpClientResponse
): Effect.Effect<Received, Http.AttemptError<NotFoundError | RangeNotSatisfiableError>> => {
  const { context } = env
  if (response.status === 200 || (response.status === 206 && rangeHeader !== undefined)) {
    if (!whole) return Effect.succeed({ response, bytes: undefined, decodedByTransport: false })
    const read = response.arrayBuffer
    const received = (body: ArrayBuffer): Effect.Effect<Received, Http.AttemptError<never>> => {
      const bytes = new Uint8Array(body)
      // A `fetch` that decodes `content-encoding: zstd` itself (browsers, Node 24) hands over the payload,
      // not the stored frames the length counts: stored zstd always starts with a frame's magic number.
      if (
        context.fetchMayDecode === true && response.headers["content-encoding"] === "zstd" &&
        rangeHeader === undefined && Zstd.isRealCodec(context.compression) && !ZstdFrames.startsWithFrame(bytes)
      ) {
        return Effect.succeed({ response, bytes, decodedByTransport: true })
      }
      // A body that ends short is a failure, whatever the transport (undici checks on a socket; an in-process
      // client may not).
      const expected = expectedOf(response)
      return expected === undefined || bytes.length === expected
        ? Effect.succeed({ response, bytes, decodedByTransport: false })
        : Effect.fail(Errors.shortBody(target, bytes.length, expected))
    }
    // A body read whole by the transport is at hand.
    const known = Http.settled(read)
    return known !== undefined && Exit.isSuccess(known)
      ? received(known.value)
      : Effect.flatMap(Effect.mapError(read, (error) => Errors.fromHttpClientError(error, target)), received)
  }
  if (response.status === 404) {
    return Effect.zipRight(Http.drain(response), Effect.fail(Errors.failure(Env.notFound(env, key))))
  }
  if (response.status === 416 && rangeHeader !== undefined) {
    const size = RangeInternal.unsatisfiedSize(response.headers["content-range"])
    return Effect.zipRight(
      Http.drain(response),
      Effect.fail(Errors.failure(
        new RangeNotSatisfiableError({
          usecase: env.usecase.name,
          scope: env.scope,
          key,
          range: rangeHeader,
          ...(size === undefined ? {} : { size })
        })
      ))
    )
  }
  return Http.failStatus(response)
}

/**
 * The request half of get and getBytes: sends the request and decides how the body is to be read. With `whole`, the
 * body is read within the attempt (`bytes`), so a transfer broken off is retried like any failed attempt: no byte
 * has reached the caller yet.
 */
/** A get whose response has arrived, and what reading its body needs. */
interface Opened {
  readonly response: HttpClientResponse.HttpClientResponse
  /** The whole body, when it was read within the attempt. */
  readonly bytes: Uint8Array | undefined
  readonly target: { readonly method: string; readonly path: string }
  /** The stored object's metadata, parsed from the headers when asked for (`getBytes` needs only `compression`). */
  readonly stored: () => Session.ObjectMetadata
  readonly compression: "zstd" | "none"
  readonly ranged: Session.ObjectResponse["range"]
  readonly decompress: boolean
  readonly size: number | undefined
  readonly recordSize: (received: number, delivered: number) => Effect.Effect<void>
  /**
   * {@link recordSize} on the fiber that opened the get (`Spans.recordSizeOn`: at once when the metrics service
   * records synchronously, answering `undefined`), for a body read by that same fiber (`getBytes`).
   */
  readonly recordSizeHere: (received: number, delivered: number) => Effect.Effect<void> | undefined
  readonly checkLength: (received: number) => Effect.Effect<void, NetworkError>
  readonly attempts: number
}

type OpenError =
  | InvalidInputError
  | NotFoundError
  | RangeNotSatisfiableError
  | AuthError
  | NetworkError
  | ResponseError

const open = <R>(
  env: Env.Env,
  key: string,
  options: Session.GetOptions | undefined,
  send: Send<R>,
  whole: boolean
): Effect.Effect<Opened, OpenError, R> => {
  const { context } = env
  const checked = Validation.key(key)
  if (Either.isLeft(checked)) return Effect.fail(checked.left)
  let rangeHeader: string | undefined
  if (options?.range !== undefined) {
    const header = RangeInternal.toHeader(options.range)
    if (Either.isLeft(header)) return Effect.fail(header.left)
    rangeHeader = header.right
  }
  const request = {
    ...Env.spec(env, "GET", "get", key),
    ...(rangeHeader === undefined ? {} : { headers: { range: rangeHeader } })
  }
  const target = { method: request.method, path: request.path }
  const answer = receive(env, key, rangeHeader, target, whole)
  return Effect.withFiberRuntime<Opened, OpenError, R>((fiber) => {
    const clock = Context.get(fiber.currentDefaultServices, Clock.Clock)
    let attempts = 1
    let start = clock.unsafeCurrentTimeMillis()
    const sent = send(context, request, (response, attempt) => {
      attempts = attempt
      return answer(response)
    })
    return Effect.flatMap(sent, ({ bytes, decodedByTransport, response }): Effect.Effect<Opened, OpenError> => {
      const compression = Metadata.isZstd(response.headers[Metadata.CONTENT_ENCODING]) ? "zstd" : "none"
      const ranged = response.status === 206
        ? RangeInternal.fromContentRange(response.headers["content-range"]).pipe(Option.getOrUndefined)
        : undefined
      if (response.status === 206 && ranged === undefined) {
        return Effect.fail(Errors.decode(target, "206 response without a valid content-range"))
      }
      // A range addresses the stored bytes: a slice of a zstd frame cannot be decompressed on its own.
      if (ranged !== undefined && compression === "zstd" && options?.decompress === true) {
        return Effect.fail(
          new InvalidInputError({
            field: "decompress",
            reason: "a range of a zstd object is compressed bytes and cannot be decompressed; omit decompress " +
              "or pass false to receive them as stored"
          })
        )
      }
      const passthrough = options?.acceptEncoding !== undefined &&
        Encoding.accepts(options.acceptEncoding, compression)
      const decompress = compression === "zstd" && options?.decompress !== false && !passthrough &&
        ranged === undefined && !decodedByTransport
      const length = response.headers["content-length"]
      const size = ranged !== undefined
        ? ranged.size
        : response.status === 200 && length !== undefined && /^\d+$/.test(length)
        ? Number(length)
        : undefined
      const expected = expectedOf(response)
      // A `get` body read by the caller: the failure is the caller's to retry (`BodyStreamed`).
      const checkLength = (received: number): Effect.Effect<void, NetworkError> =>
        expected === undefined || received === expected
          ? Effect.void
          : Effect.fail(
            Errors.withRetries(Errors.shortBody(target, received, expected).error, attempts, "BodyStreamed")
          )
      if (!whole) start = clock.unsafeCurrentTimeMillis()
      const sizes = (received: number, delivered: number): Metrics.Sizes => ({
        bytes: received,
        compression,
        uncompressedBytes: decompress ? delivered : undefined,
        elapsed: Duration.millis(clock.unsafeCurrentTimeMillis() - start)
      })
      const recordSize = (received: number, delivered: number) =>
        context.metrics.recordSize("get", env.usecase.name, sizes(received, delivered))
      const recordSizeHere = (received: number, delivered: number) =>
        Spans.recordSizeOn(context.metrics, fiber, "get", env.usecase.name, sizes(received, delivered))
      return Effect.succeed({
        response,
        bytes,
        target,
        stored: () => {
          const stored = Env.toObjectMetadata(response)
          return decodedByTransport ? { ...stored, compression: "none" as const } : stored
        },
        compression,
        ranged,
        decompress,
        size,
        recordSize,
        recordSizeHere,
        checkLength,
        attempts
      })
    })
  })
}

/** The body of an opened get as the caller's stream: metered, decompressed as needed, under the download deadline. */
const bodyStream = (env: Env.Env, opened: Opened, clock: Clock.Clock) => {
  const { compression, limits, transport } = env.context
  const { attempts, checkLength, decompress, recordSize, response, target } = opened
  // The download deadline runs while the caller waits for a chunk that has not arrived.
  const dog = new Watchdog.Watchdog(clock)
  if (transport !== undefined) {
    dog.onFire = (fired) => transport.cancel(response, new Watchdog.DeadlineError(fired))
  }
  const timedOut = (fired: Watchdog.Fired) =>
    Errors.withRetries(Errors.timeout(target, fired).error, attempts, "BodyStreamed")
  const mapError = (error: HttpClientError.ResponseError) =>
    dog.fired !== undefined
      ? timedOut(dog.fired)
      : Errors.withRetries(Errors.fromHttpClientError(error, target).error, attempts, "BodyStreamed")
  let received = 0
  let delivered = 0
  // Set when the transport turned out to have decoded the zstd body itself (see `sniffDecoded`).
  let decodedByTransport = false
  const network = Meter.meter(response.stream, {
    onPull: () => dog.arm("download", limits.idle),
    onBytes: (bytes) => {
      dog.disarm()
      received += bytes
    },
    mapError,
    onEnd: Effect.suspend(() =>
      decodedByTransport
        ? recordSize(received, received)
        : decompress
        ? checkLength(received)
        : Effect.zipRight(checkLength(received), recordSize(received, received))
    ),
    // The network stage stops whenever the caller's stream does (its consumer closes it), so no stage is added for
    // this.
    onExit: () => dog.stop()
  })
  const decoding = (source: Stream.Stream<Uint8Array, NetworkError>) =>
    Meter.meter(compression.decompress(source), {
      onBytes: (bytes) => (delivered += bytes),
      mapError: (error: NetworkError | CompressionError) => error,
      onEnd: Effect.suspend(() => recordSize(received, delivered))
    })
  const body: Stream.Stream<Uint8Array, NetworkError | CompressionError> = !decompress
    ? network
    : env.context.fetchMayDecode !== true || response.headers["content-encoding"] !== "zstd" ||
        !Zstd.isRealCodec(compression)
    ? decoding(network)
    : sniffDecoded(network, decoding, () => (decodedByTransport = true))
  // Another transport's body cannot be destroyed from outside: the deadline ends the stream instead.
  return transport !== undefined ? body : Stream.interruptWhen(
    body,
    Effect.async<never, NetworkError>((resume) => {
      if (dog.fired !== undefined) return resume(Effect.fail(timedOut(dog.fired)))
      dog.onFire = (fired) => resume(Effect.fail(timedOut(fired)))
    })
  )
}

/**
 * `Session.get`: the body as a stream in the caller's `Scope`.
 *
 * @internal
 */
export const get = (
  env: Env.Env,
  key: string,
  options: Session.GetOptions | undefined
): Effect.Effect<Session.ObjectResponse, Session.GetError | RangeNotSatisfiableError, Scope.Scope> =>
  Spans.operation(
    "Session.get",
    env.context,
    "get",
    env.usecase.name,
    Effect.flatMap(open(env, key, options, Http.execute, false), (opened) =>
      Effect.clockWith((clock) => {
        const stored = opened.stored()
        return Effect.succeed(
          {
            key,
            metadata: opened.decompress ? { ...stored, compression: "none" as const } : stored,
            stream: bodyStream(env, opened, clock),
            ...(opened.ranged === undefined ? {} : { range: opened.ranged }),
            ...(opened.size === undefined ? {} : { size: opened.size })
          } satisfies Session.ObjectResponse
        )
      })),
    () => Env.attributes(env, key)
  )

/**
 * `Session.getBytes`: the whole body in one read (within the attempt, so it is retried), without a Stream pipeline
 * when there is nothing to decompress.
 *
 * @internal
 */
export const getBytes = (
  env: Env.Env,
  key: string,
  options: Session.GetOptions | undefined
): Effect.Effect<Uint8Array, Session.GetError | RangeNotSatisfiableError | CompressionError> =>
  Spans.operation(
    "Session.getBytes",
    env.context,
    "get",
    env.usecase.name,
    Effect.flatMap(
      open(env, key, options, Http.executeAndRead, true),
      ({ bytes, decompress, recordSizeHere }) => {
        const raw = bytes!
        const recorded = (delivered: Uint8Array): Effect.Effect<Uint8Array> => {
          const recording = recordSizeHere(raw.length, delivered.length)
          return recording === undefined ? Effect.succeed(delivered) : Effect.as(recording, delivered)
        }
        return decompress
          ? Effect.flatMap(Compression.decompressBytes(env.context.compression, raw), recorded)
          : recorded(raw)
      }
    ),
    () => Env.attributes(env, key)
  )
