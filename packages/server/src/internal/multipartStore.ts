/**
 * What both multipart stores share: part etags, checking a part body against its `Content-Length` and
 * `Content-MD5` while it streams, and the completion checks (PROTOCOL §11).
 *
 * @internal
 */
import * as Effect from "effect/Effect"
import * as Stream from "effect/Stream"
import * as Crypto from "node:crypto"
import * as StorageModel from "../StorageModel.js"

/** The etag of a part: its quoted hex MD5 (§17.3). @internal */
export const etagOf = (md5: Uint8Array): string => `"${Buffer.from(md5).toString("hex")}"`

/** @internal */
export const noSuchUpload = () =>
  new StorageModel.MultipartError({ reason: "NoSuchUpload", detail: "multipart upload not found" })

/**
 * A part body that counts and hashes what passes through it and fails with `IncompleteBody` as soon as it is
 * longer than announced, or when it ends shorter. `finish` checks the MD5 (when expected) after the body ended
 * and returns the digest.
 *
 * @internal
 */
export const checkedBody = <E>(
  body: Stream.Stream<Uint8Array, E>,
  expected: StorageModel.PartExpectation
): {
  readonly stream: Stream.Stream<Uint8Array, E | StorageModel.MultipartError>
  readonly finish: Effect.Effect<{ readonly md5: Uint8Array; readonly size: number }, StorageModel.MultipartError>
} => {
  const hash = Crypto.createHash("md5")
  let size = 0
  const stream = Stream.mapEffect(body, (chunk) => {
    size += chunk.length
    if (size > expected.contentLength) {
      return Effect.fail(
        new StorageModel.MultipartError({
          reason: "IncompleteBody",
          detail: `the part body is longer than its Content-Length of ${expected.contentLength} bytes`
        })
      )
    }
    hash.update(chunk)
    return Effect.succeed(chunk)
  })
  const finish = Effect.suspend(() => {
    if (size !== expected.contentLength) {
      return Effect.fail(
        new StorageModel.MultipartError({
          reason: "IncompleteBody",
          detail: `the part body ended after ${size} of ${expected.contentLength} bytes`
        })
      )
    }
    const md5 = new Uint8Array(hash.digest())
    if (expected.contentMd5 !== undefined && !Buffer.from(md5).equals(Buffer.from(expected.contentMd5))) {
      return Effect.fail(
        new StorageModel.MultipartError({
          reason: "BadDigest",
          detail: `Content-MD5 mismatch: the part body has MD5 ${
            Buffer.from(md5).toString("base64")
          }, the header says ${Buffer.from(expected.contentMd5).toString("base64")}`
        })
      )
    }
    return Effect.succeed({ md5, size })
  })
  return { stream, finish }
}

/**
 * Checks the parts of a completion request against the stored parts; returns the stored parts in request order.
 * Part numbers must be strictly ascending (§11.5: production backends require it; a number listed twice would
 * let a few stored bytes build an object of any size), and with `maxSize` the parts may add up to at most that many
 * bytes. Messages for unknown parts and etags follow the upstream filesystem backend.
 *
 * @internal
 */
export const resolveParts = <P extends { readonly info: StorageModel.PartInfo }>(
  stored: ReadonlyMap<number, P>,
  requested: ReadonlyArray<StorageModel.CompletePart>,
  options?: StorageModel.CompleteOptions | undefined
): Effect.Effect<ReadonlyArray<P>, StorageModel.MultipartError> =>
  Effect.suspend(() => {
    for (let i = 1; i < requested.length; i++) {
      const previous = requested[i - 1]!.partNumber
      const current = requested[i]!.partNumber
      if (current <= previous) {
        return Effect.fail(
          new StorageModel.MultipartError({
            reason: "InvalidPartOrder",
            detail: current === previous
              ? `part number ${current} is listed more than once`
              : `the list of parts is not in ascending order: part number ${current} follows ${previous}`
          })
        )
      }
    }
    const out: Array<P> = []
    let size = 0
    for (const part of requested) {
      const found = stored.get(part.partNumber)
      if (found === undefined) {
        return Effect.fail(
          new StorageModel.MultipartError({
            reason: "InvalidPart",
            detail: `part number ${part.partNumber} was not uploaded`
          })
        )
      }
      if (found.info.etag !== part.etag) {
        return Effect.fail(
          new StorageModel.MultipartError({
            reason: "InvalidPart",
            detail: `etag mismatch for part ${part.partNumber}: expected ${found.info.etag}, got ${part.etag}`
          })
        )
      }
      out.push(found)
      size += found.info.size
    }
    const maxSize = options?.maxSize
    if (maxSize !== undefined && size > maxSize) {
      return Effect.fail(
        new StorageModel.MultipartError({
          reason: "EntityTooLarge",
          detail: `the listed parts add up to ${size} bytes, more than the object size limit of ${maxSize} bytes`
        })
      )
    }
    return Effect.succeed(out)
  })

/** Epoch nanoseconds → epoch microseconds. @internal */
export const nanosToMicros = (nanos: bigint): bigint => nanos / 1000n
