/**
 * The Session operations: put, get, head, delete.
 *
 * @since 0.1.0
 * @internal
 */
import type * as HttpClientError from "@effect/platform/HttpClientError"
import type * as HttpClientResponse from "@effect/platform/HttpClientResponse"
import type * as HttpMethod from "@effect/platform/HttpMethod"
import * as ProtocolBytes from "@objectstore/protocol/Bytes"
import * as Metadata from "@objectstore/protocol/Metadata"
import * as Path from "@objectstore/protocol/Path"
import type * as ProtocolScope from "@objectstore/protocol/Scope"
import * as Timestamp from "@objectstore/protocol/Timestamp"
import * as Clock from "effect/Clock"
import type * as Context from "effect/Context"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Option from "effect/Option"
import * as Stream from "effect/Stream"
import type * as Body from "../Body.js"
import * as Compression from "../Compression.js"
import * as Encoding from "../Encoding.js"
import { InvalidInputError, NotFoundError, RangeNotSatisfiableError } from "../ObjectstoreError.js"
import type { AuthError, CompressionError, NetworkError, ResponseError } from "../ObjectstoreError.js"
import * as Scope from "../Scope.js"
import type * as Session from "../SessionModel.js"
import type * as Usecase from "../Usecase.js"
import * as BodyInternal from "./body.js"
import * as EncodingUpload from "./encodingUpload.js"
import * as Errors from "./errors.js"
import * as ExtendExpiryInternal from "./extendExpiry.js"
import * as Http from "./http.js"
import * as Insert from "./insert.js"
import * as ManyInternal from "./many.js"
import * as Meter from "./meter.js"
import * as MultipartInternal from "./multipart.js"
import * as MultipartUpload from "./multipartUpload.js"
import * as PresignInternal from "./presign.js"
import * as RangeInternal from "./range.js"
import * as ResumableInternal from "./resumable.js"
import * as UrlsInternal from "./urls.js"
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

/**
 * Validates the usecase and scope and builds the session.
 *
 * @internal
 */
export const make = (
  context: Http.ClientContext & { readonly compression: Compression.Service },
  usecase: Usecase.Usecase,
  scope: Scope.Scope
): Effect.Effect<Session.Service, InvalidInputError> =>
  Effect.gen(function*() {
    yield* Validation.usecase(usecase.name)
    if (usecase.compression !== "zstd" && usecase.compression !== "none") {
      return yield* new InvalidInputError({
        field: "compression",
        reason: `unknown compression ${usecase.compression}`
      })
    }
    const components: ProtocolScope.Components = yield* Scope.toComponents(scope)
    const rendered = yield* Scope.render(scope)
    return makeSession(context, usecase, components, rendered)
  })

const makeSession = (
  context: Http.ClientContext & { readonly compression: Compression.Service },
  usecase: Usecase.Usecase,
  components: ProtocolScope.Components,
  scope: string
): Session.Service => {
  const { compression, metrics } = context
  const path = (key: string | undefined) =>
    Path.objectPath({ basePath: context.basePath, resource: "objects", usecase: usecase.name, scope, key })
  const spec = (method: HttpMethod.HttpMethod, operation: Http.RequestSpec["operation"], key: string | undefined) => ({
    operation,
    usecase: usecase.name,
    scope: components,
    method,
    path: path(key),
    replayable: true,
    idempotent: method !== "POST",
    // Only get hands the body out; put, head and delete read it whole, so they skip the per-request scope abort.
    bodyInScope: operation === "get"
  })
  const annotate = (key?: string) =>
    Effect.annotateCurrentSpan({
      "objectstore.usecase": usecase.name,
      "objectstore.scope": scope,
      ...(key === undefined ? {} : { "objectstore.key": key })
    })
  const notFound = (key: string) => new NotFoundError({ usecase: usecase.name, scope, key })
  const urlContext: UrlsInternal.UrlContext = {
    origin: context.origin,
    basePath: context.basePath,
    usecase: usecase.name,
    scope,
    components,
    auth: context.auth
  }

  // Scoped: a stream body peeked for `contentType: "guess"` lives in the scope of the upload.
  const put = (body: Body.Input<unknown, unknown>, options: Session.PutOptions | undefined) =>
    Http.traced(
      "Session.put",
      metrics.track(
        "put",
        usecase.name,
        Effect.scoped(Effect.gen(function*() {
          const given = options?.key === undefined || options.key === "" ? undefined : options.key
          yield* annotate(given)
          if (given !== undefined) yield* Validation.newKey(given, context.nonPortableKeys)
          const chosen = yield* Insert.compression(usecase, options)
          const resolved = yield* EncodingUpload.resolve(body, {
            contentType: options?.contentType,
            compression: chosen,
            requested: options?.compression,
            encoding: options?.encoding
          })
          const headers = yield* Insert.headers(usecase, options, resolved)
          // A small body already in memory is compressed here, once, in one call (a zstd stream per body costs more
          // than the request); it is then sent, and replayed, as bytes with a length.
          const inMemory = resolved.compress ? BodyInternal.inMemory(resolved.body) : undefined
          const oneShot = inMemory !== undefined && inMemory.length <= BodyInternal.ONE_SHOT_LIMIT
          const payload = oneShot ? yield* Compression.compressBytes(compression, inMemory) : resolved.body
          const callerContext = yield* Effect.context<unknown>()
          const upload = BodyInternal.prepare(payload, {
            compression: resolved.compress && !oneShot ? "zstd" : "none",
            compress: compression.compress,
            context: callerContext as Context.Context<unknown>,
            contentType: headers[Metadata.CONTENT_TYPE] ?? Metadata.DEFAULT_CONTENT_TYPE
          })
          let counts: () => BodyInternal.Counts = () => ({ raw: 0, sent: 0 })
          const start = yield* Clock.currentTimeMillis
          const base = spec(given === undefined ? "POST" : "PUT", "put", given)
          const target = { method: base.method, path: base.path }
          const key = yield* Http.executeWhole(
            context,
            {
              ...base,
              headers,
              replayable: upload.replayable,
              body: Effect.map(upload.attempt, (attempt) => {
                counts = attempt.counts
                return attempt.prepared
              })
            },
            (response): Effect.Effect<string, Http.AttemptError<never>> =>
              response.status === 200 || response.status === 201
                ? readKey(response, target)
                : Http.failStatus(response)
          )
          if (given === undefined) yield* Effect.annotateCurrentSpan("objectstore.key", key)
          const end = yield* Clock.currentTimeMillis
          const { raw, sent } = counts()
          yield* metrics.recordSize("put", usecase.name, {
            bytes: sent,
            compression: resolved.compression,
            uncompressedBytes: oneShot ? inMemory.length : resolved.compress ? raw : undefined,
            elapsed: Duration.millis(end - start)
          })
          return key
        }))
      )
    )

  // The request half of get and getBytes: sends the request and decides how the body is to be read. With `whole`, the
  // body is read within the attempt (`bytes`), so a transfer broken off is retried like any failed attempt: no byte
  // has reached the caller yet.
  const open = <R>(
    key: string,
    options: Session.GetOptions | undefined,
    send: <A, E>(
      context: Http.ClientContext,
      spec: Http.RequestSpec,
      handle: (
        response: HttpClientResponse.HttpClientResponse,
        attempt: number
      ) => Effect.Effect<A, Http.AttemptError<E>>
    ) => Effect.Effect<A, E | AuthError | NetworkError | ResponseError, R>,
    whole: boolean
  ) =>
    Effect.gen(function*() {
      yield* annotate(key)
      yield* Validation.key(key)
      const rangeHeader = options?.range === undefined ? undefined : yield* RangeInternal.toHeader(options.range)
      const request = {
        ...spec("GET", "get", key),
        ...(rangeHeader === undefined ? {} : { headers: { range: rangeHeader } })
      }
      const target = { method: request.method, path: request.path }
      // The bytes the response promised (`Content-Length`, of the whole object or of the range): a body that ends
      // short is a failure, whatever the transport (undici checks on a socket; an in-process client may not).
      const expectedOf = (response: HttpClientResponse.HttpClientResponse) => {
        const length = response.headers["content-length"]
        return length !== undefined && /^\d+$/.test(length) ? Number(length) : undefined
      }
      let attempts = 1
      let decodedByTransport = false
      let start = yield* Clock.currentTimeMillis
      const { bytes, response } = yield* send(context, request, (response, attempt): Effect.Effect<
        { readonly response: HttpClientResponse.HttpClientResponse; readonly bytes: Uint8Array | undefined },
        Http.AttemptError<NotFoundError | RangeNotSatisfiableError>
      > => {
        attempts = attempt
        if (response.status === 200 || (response.status === 206 && rangeHeader !== undefined)) {
          if (!whole) return Effect.succeed({ response, bytes: undefined })
          return Effect.flatMap(
            Effect.mapError(response.arrayBuffer, (error) => Errors.fromHttpClientError(error, target)),
            (body) => {
              const bytes = new Uint8Array(body)
              // A `fetch` that decodes `content-encoding: zstd` itself (browsers, Node 24) hands over the payload,
              // not the stored frames the length counts: stored zstd always starts with a frame's magic number.
              if (
                context.fetchMayDecode === true && response.headers["content-encoding"] === "zstd" &&
                rangeHeader === undefined && Zstd.realCodecs.has(compression) && !ZstdFrames.startsWithFrame(bytes)
              ) {
                decodedByTransport = true
                return Effect.succeed({ response, bytes })
              }
              const expected = expectedOf(response)
              return expected === undefined || bytes.length === expected
                ? Effect.succeed({ response, bytes })
                : Effect.fail(Errors.shortBody(target, bytes.length, expected))
            }
          )
        }
        if (response.status === 404) {
          return Effect.zipRight(Http.drain(response), Effect.fail(Errors.failure(notFound(key))))
        }
        if (response.status === 416 && rangeHeader !== undefined) {
          const size = RangeInternal.unsatisfiedSize(response.headers["content-range"])
          return Effect.zipRight(
            Http.drain(response),
            Effect.fail(Errors.failure(
              new RangeNotSatisfiableError({
                usecase: usecase.name,
                scope,
                key,
                range: rangeHeader,
                ...(size === undefined ? {} : { size })
              })
            ))
          )
        }
        return Http.failStatus(response)
      })
      const stored = toObjectMetadata(response)
      const ranged = response.status === 206
        ? RangeInternal.fromContentRange(response.headers["content-range"]).pipe(Option.getOrUndefined)
        : undefined
      if (response.status === 206 && ranged === undefined) {
        return yield* Errors.decode(target, "206 response without a valid content-range")
      }
      // A range addresses the stored bytes: a slice of a zstd frame cannot be decompressed on its own.
      if (ranged !== undefined && stored.compression === "zstd" && options?.decompress === true) {
        return yield* new InvalidInputError({
          field: "decompress",
          reason: "a range of a zstd object is compressed bytes and cannot be decompressed; omit decompress " +
            "or pass false to receive them as stored"
        })
      }
      const passthrough = options?.acceptEncoding !== undefined &&
        Encoding.accepts(options.acceptEncoding, stored.compression)
      const decompress = stored.compression === "zstd" && options?.decompress !== false && !passthrough &&
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
      if (!whole) start = yield* Clock.currentTimeMillis
      const recordSize = (received: number, delivered: number) =>
        Effect.flatMap(Clock.currentTimeMillis, (end) =>
          metrics.recordSize("get", usecase.name, {
            bytes: received,
            compression: stored.compression,
            uncompressedBytes: decompress ? delivered : undefined,
            elapsed: Duration.millis(end - start)
          }))
      return {
        response,
        bytes,
        target,
        stored: decodedByTransport ? { ...stored, compression: "none" as const } : stored,
        ranged,
        decompress,
        size,
        recordSize,
        checkLength,
        attempts
      }
    })

  const get = (key: string, options: Session.GetOptions | undefined) =>
    Http.traced(
      "Session.get",
      metrics.track(
        "get",
        usecase.name,
        Effect.gen(function*() {
          const { attempts, checkLength, decompress, ranged, recordSize, response, size, stored, target } = yield* open(
            key,
            options,
            Http.execute,
            false
          )
          const clock = yield* Effect.clock
          // The download deadline runs while the caller waits for a chunk that has not arrived.
          const dog = new Watchdog.Watchdog(clock)
          const transport = context.transport
          if (transport !== undefined) {
            dog.onFire = (fired) => transport.cancel(response, new Watchdog.DeadlineError(fired))
          }
          const timedOut = (fired: Watchdog.Fired) =>
            Errors.withRetries(Errors.timeout(target, fired).error, attempts, "BodyStreamed")
          const mapError = (error: HttpClientError.ResponseError) =>
            dog.fired !== undefined
              ? timedOut(dog.fired)
              : Errors.withRetries(Errors.fromHttpClientError(error, target).error, attempts, "BodyStreamed")
          const idle = context.limits.idle
          let received = 0
          let delivered = 0
          // Set when the transport turned out to have decoded the zstd body itself (see `sniffDecoded`).
          let decodedByTransport = false
          const network = Meter.meter(response.stream, {
            onPull: () => dog.arm("download", idle),
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
            )
          })
          const decoding = (source: Stream.Stream<Uint8Array, NetworkError>) =>
            Meter.meter(compression.decompress(source), {
              onBytes: (bytes) => (delivered += bytes),
              mapError: (error: NetworkError | CompressionError) => error,
              onEnd: Effect.suspend(() => recordSize(received, delivered))
            })
          const body: Stream.Stream<Uint8Array, NetworkError | CompressionError> = !decompress
            ? network
            : context.fetchMayDecode !== true || response.headers["content-encoding"] !== "zstd" ||
                !Zstd.realCodecs.has(compression)
            ? decoding(network)
            : sniffDecoded(network, decoding, () => (decodedByTransport = true))
          // Another transport's body cannot be destroyed from outside: the deadline ends the stream instead.
          const stream = (transport !== undefined ? body : Stream.interruptWhen(
            body,
            Effect.async<never, NetworkError>((resume) => {
              if (dog.fired !== undefined) return resume(Effect.fail(timedOut(dog.fired)))
              dog.onFire = (fired) => resume(Effect.fail(timedOut(fired)))
            })
          )).pipe(Stream.ensuring(Effect.sync(() => dog.stop())))
          return {
            key,
            metadata: decompress ? { ...stored, compression: "none" as const } : stored,
            stream,
            ...(ranged === undefined ? {} : { range: ranged }),
            ...(size === undefined ? {} : { size })
          } satisfies Session.ObjectResponse
        })
      )
    )

  // The whole body in one read (within the attempt, so it is retried), without a Stream pipeline when there is
  // nothing to decompress.
  const getBytes = (key: string, options: Session.GetOptions | undefined) =>
    Http.traced(
      "Session.getBytes",
      metrics.track(
        "get",
        usecase.name,
        Effect.gen(function*() {
          const { bytes, decompress, recordSize } = yield* open(key, options, Http.executeWhole, true)
          const raw = bytes!
          const decoded = decompress ? yield* Compression.decompressBytes(compression, raw) : raw
          yield* recordSize(raw.length, decoded.length)
          return decoded
        })
      )
    )

  const head = (key: string) =>
    Http.traced(
      "Session.head",
      metrics.track(
        "head",
        usecase.name,
        Effect.gen(function*() {
          yield* annotate(key)
          yield* Validation.key(key)
          return yield* Http.executeWhole(context, spec("HEAD", "head", key), (response): Effect.Effect<
            Session.ObjectMetadata,
            Http.AttemptError<NotFoundError>
          > => {
            if (response.status === 204 || response.status === 200) {
              return Effect.as(Http.drain(response), toObjectMetadata(response))
            }
            if (response.status === 404) {
              return Effect.zipRight(Http.drain(response), Effect.fail(Errors.failure(notFound(key))))
            }
            return Http.failStatus(response)
          })
        })
      )
    )

  const del = (key: string) =>
    Http.traced(
      "Session.delete",
      metrics.track(
        "delete",
        usecase.name,
        Effect.gen(function*() {
          yield* annotate(key)
          yield* Validation.key(key)
          yield* Http.executeWhole(context, spec("DELETE", "delete", key), (response): Effect.Effect<
            void,
            Http.AttemptError<never>
          > => {
            if (response.status === 204 || response.status === 200 || response.status === 404) {
              return Http.drain(response)
            }
            return Http.failStatus(response)
          })
        })
      )
    )

  const multipart = MultipartInternal.make({ context, usecase, components, scope })
  const resumable = ResumableInternal.make({ context, usecase, components, scope })

  return {
    usecase,
    components,
    scope,
    put: <E, R>(body: Body.Input<E, R>, options?: Session.PutOptions) =>
      put(body as Body.Input<unknown, unknown>, options) as unknown as Effect.Effect<string, E | Session.PutError, R>,
    get: (key, options) => get(key, options),
    getBytes: (key, options) => getBytes(key, options),
    getText: (key, options) => Effect.map(getBytes(key, options), (bytes) => new TextDecoder().decode(bytes)),
    head,
    delete: del,
    extendExpiry: ExtendExpiryInternal.make({ context, usecase, components, scope }),
    resumable,
    multipart,
    upload: MultipartUpload.make({
      usecase,
      multipart,
      resumable,
      compression,
      put: (body, options) => put(body as Body.Input<unknown, unknown>, options)
    }),
    objectUrl: (key, options) => UrlsInternal.objectUrl(urlContext, key, options),
    presignedUrl: (method, key, duration) =>
      Effect.map(PresignInternal.presignedUrl(urlContext, method, key, duration), (signed) => signed.url),
    mintToken: (options) =>
      UrlsInternal.mintToken(context.auth, {
        usecase: usecase.name,
        components,
        permissions: options?.permissions,
        expiry: options?.expiry
      }),
    many: ManyInternal.make({
      context,
      usecase,
      components,
      scope,
      put: (body, options) => put(body as Body.Input<unknown, unknown>, options) as Effect.Effect<string, never>,
      toObjectMetadata
    })
  }
}

const readKey = (
  response: HttpClientResponse.HttpClientResponse,
  target: { readonly method: string; readonly path: string }
): Effect.Effect<string, Errors.Failure<NetworkError>> =>
  response.json.pipe(
    Effect.mapError((error) => Errors.fromHttpClientError(error, target)),
    Effect.flatMap((json) =>
      Either.match(Validation.keyAnswer(json), {
        onLeft: (reason) => Effect.fail(Errors.failure(Errors.decode(target, `insert response: ${reason}`))),
        onRight: Effect.succeed
      })
    )
  )

/**
 * The client view of a response's metadata headers.
 *
 * @internal
 */
export const toObjectMetadata = (
  response: Pick<HttpClientResponse.HttpClientResponse, "headers">
): Session.ObjectMetadata => {
  const get = (name: string): string | undefined => response.headers[name.toLowerCase()]
  const metadata = Metadata.fromResponseHeaders(response.headers)
  return {
    contentType: metadata.contentType,
    compression: metadata.compression === "zstd" ? "zstd" : "none",
    expirationPolicy: metadata.expirationPolicy,
    timeCreated: metadata.timeCreated === undefined ? undefined : Timestamp.toDate(metadata.timeCreated),
    timeCreatedText: metadata.timeCreated === undefined ? undefined : get(Metadata.TIME_CREATED),
    timeExpires: metadata.timeExpires === undefined ? undefined : Timestamp.toDate(metadata.timeExpires),
    timeExpiresText: metadata.timeExpires === undefined ? undefined : get(Metadata.TIME_EXPIRES),
    origin: metadata.origin,
    filename: metadata.filename,
    custom: metadata.custom
  }
}
