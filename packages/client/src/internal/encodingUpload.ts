/**
 * Upload options of `put` that decide the body's encoding and type before it is sent: pre-compressed bodies
 * (`encoding: "zstd"`: record the encoding, do not compress again) and the opt-in content-type guess
 * (`contentType: "guess"`), which sniffs the first bytes without buffering more than the first chunk(s) of a stream.
 *
 * @since 0.1.0
 * @internal
 */
import * as Bytes from "@objectstore/protocol/Bytes"
import * as Chunk from "effect/Chunk"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import type * as EffectScope from "effect/Scope"
import * as Sink from "effect/Sink"
import * as Stream from "effect/Stream"
import * as Body from "../Body.js"
import * as ContentType from "../ContentType.js"
import { InvalidInputError } from "../ObjectstoreError.js"
import type * as Usecase from "../Usecase.js"

/** @internal */
export interface Resolved<E, R> {
  /** The body to upload (a peeked stream is re-assembled). */
  readonly body: Body.Input<E, R>
  /** The `Content-Type` to send (`undefined`: the default). */
  readonly contentType: string | undefined
  /** The encoding recorded on the object (`Content-Encoding`). */
  readonly compression: Usecase.Compression
  /** Whether the client compresses the body (false for pre-compressed bodies). */
  readonly compress: boolean
}

const ZSTD_MAGIC = [0x28, 0xb5, 0x2f, 0xfd]

/** A zstd frame or a skippable frame (magic 0x184D2A50–0x184D2A5F, little endian). */
const looksLikeZstd = (bytes: Uint8Array): boolean =>
  bytes.length >= 4 && (
    ZSTD_MAGIC.every((byte, i) => bytes[i] === byte) ||
    ((bytes[0]! & 0xf0) === 0x50 && bytes[1] === 0x2a && bytes[2] === 0x4d && bytes[3] === 0x18)
  )

/** Collects whole chunks until at least `SNIFF_LENGTH` bytes (or the end). */
const sniffSink = Sink.fold(
  { chunks: [] as Array<Uint8Array>, length: 0 },
  (state) => state.length < ContentType.SNIFF_LENGTH,
  (state, chunk: Uint8Array) => ({ chunks: [...state.chunks, chunk], length: state.length + chunk.length })
)

const sniff = (head: ReadonlyArray<Uint8Array>, ended: boolean): string | undefined =>
  ContentType.guess(Bytes.concat(head), { truncated: !ended })

/**
 * Whether {@link resolve} peels `body` (a single-use stream whose type is guessed), and so needs a `Scope` that
 * lasts as long as the upload; it needs none for any other body.
 *
 * @internal
 */
export const peels = (body: Body.Input<unknown, unknown>, contentType: string | undefined): boolean =>
  contentType === ContentType.GUESS && typeof body !== "string" && !(body instanceof Uint8Array) &&
  !Body.isReplayable(body)

/**
 * Resolves `encoding`, `compression` and `contentType: "guess"` for one `put`, at once where no body must be read
 * (an `Either`: the usual case, which then costs a put no Effect step), else as an effect. A stream body that must
 * be sniffed is peeled in the caller's `Scope` (its remainder stays valid while the scope is open).
 *
 * @internal
 */
export const resolve = <E, R>(
  body: Body.Input<E, R>,
  options: {
    readonly contentType: string | undefined
    /** The compression in effect (the option, else the usecase's). */
    readonly compression: Usecase.Compression
    /** The `compression` option as given (only an explicit `"none"` conflicts with `encoding`). */
    readonly requested: Usecase.Compression | undefined
    readonly encoding: unknown
  }
):
  | Either.Either<Resolved<E, R>, InvalidInputError>
  | Effect.Effect<Resolved<E, R>, E | InvalidInputError, R | EffectScope.Scope> =>
{
  const precompressed = options.encoding !== undefined
  if (precompressed && options.encoding !== "zstd") {
    return Either.left(
      new InvalidInputError({
        field: "encoding",
        reason: `the only encoding of pre-compressed bodies is "zstd", got ${JSON.stringify(options.encoding)}`
      })
    )
  }
  if (precompressed && options.requested === "none") {
    return Either.left(
      new InvalidInputError({
        field: "encoding",
        reason: "a zstd body cannot be stored with compression \"none\" (drop one of the two options)"
      })
    )
  }
  const bytes = typeof body === "string"
    ? new TextEncoder().encode(body)
    : body instanceof Uint8Array
    ? body
    : undefined
  if (precompressed && bytes !== undefined && bytes.length > 0 && !looksLikeZstd(bytes)) {
    return Either.left(
      new InvalidInputError({ field: "encoding", reason: "the body does not start with a zstd frame" })
    )
  }
  const compression: Usecase.Compression = precompressed ? "zstd" : options.compression
  const compress = compression === "zstd" && !precompressed
  if (options.contentType !== ContentType.GUESS) {
    return Either.right({ body, contentType: options.contentType, compression, compress })
  }
  if (precompressed) {
    return Either.left(
      new InvalidInputError({
        field: "contentType",
        reason: "the type of pre-compressed data cannot be guessed; give it explicitly"
      })
    )
  }
  if (bytes !== undefined) {
    return Either.right({ body, contentType: ContentType.guess(bytes), compression, compress })
  }
  if (Body.isReplayable(body)) {
    // A replayable body yields the same bytes every time: read just its beginning once.
    const replayable = body as Body.Replayable<E, R>
    return Effect.map(Stream.run(replayable.make(), sniffSink), (head): Resolved<E, R> => ({
      body,
      contentType: sniff(head.chunks, head.length < ContentType.SNIFF_LENGTH),
      compression,
      compress
    }))
  }
  const stream = body as Stream.Stream<Uint8Array, E, R>
  return Effect.map(Stream.peel(stream, sniffSink), ([head, rest]): Resolved<E, R> => ({
    body: Stream.concat(Stream.fromChunk(Chunk.unsafeFromArray(head.chunks)), rest),
    // Whether the stream ended is unknown here: treat the head as a prefix.
    contentType: sniff(head.chunks, false),
    compression,
    compress
  }))
}
