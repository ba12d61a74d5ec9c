/**
 * What the Python client records for a finished transfer (PROTOCOL §21), as plain data, shared by the Effect
 * metrics layer and the backend adapter.
 *
 * @internal
 */
import * as Cause from "effect/Cause"
import * as Duration from "effect/Duration"
import * as Option from "effect/Option"

/** @internal */
export type SizeKind = "size" | "compression_ratio" | "throughput" | "inverse_throughput"

/** @internal */
export interface Distribution {
  readonly kind: SizeKind
  readonly value: number
  /** Always `usecase`, plus `compression` when the size has one. */
  readonly tags: Readonly<Record<string, string>>
}

/** @internal */
export interface SizesInput {
  readonly bytes: number
  readonly compression?: "none" | "zstd" | undefined
  readonly uncompressedBytes?: number | undefined
  readonly elapsed: Duration.Duration
}

const finite = (value: number): boolean => Number.isFinite(value) && value >= 0

/**
 * The distributions for one transfer:
 *
 * - without a compression (a multipart part): `size` of `bytes`, tagged `usecase`;
 * - with compression `none`: `size` of `bytes`, tagged `compression=none`;
 * - with compression `zstd`: `size` of the uncompressed bytes (when known) tagged `compression=none`, `size` of the
 *   compressed bytes tagged `compression=zstd`, and `compression_ratio` = compressed ÷ uncompressed;
 * - for every recorded size, when elapsed > 0 and the size > 0: `throughput` (bytes per second) and
 *   `inverse_throughput` (seconds per byte) with the same tags.
 *
 * @internal
 */
export const distributions = (usecase: string, sizes: SizesInput): ReadonlyArray<Distribution> => {
  const out: Array<Distribution> = []
  const seconds = Duration.toMillis(sizes.elapsed) / 1000
  const recordSize = (bytes: number, tags: Readonly<Record<string, string>>) => {
    if (!finite(bytes)) return
    out.push({ kind: "size", value: bytes, tags })
    if (seconds > 0 && bytes > 0) {
      out.push({ kind: "throughput", value: bytes / seconds, tags })
      out.push({ kind: "inverse_throughput", value: seconds / bytes, tags })
    }
  }
  if (sizes.compression === undefined) {
    recordSize(sizes.bytes, { usecase })
  } else if (sizes.compression === "none") {
    recordSize(sizes.bytes, { usecase, compression: "none" })
  } else {
    const uncompressed = sizes.uncompressedBytes
    if (uncompressed !== undefined) recordSize(uncompressed, { usecase, compression: "none" })
    recordSize(sizes.bytes, { usecase, compression: sizes.compression })
    if (uncompressed !== undefined && uncompressed > 0 && finite(sizes.bytes)) {
      out.push({
        kind: "compression_ratio",
        value: sizes.bytes / uncompressed,
        tags: { usecase, compression: sizes.compression }
      })
    }
  }
  return out
}

/**
 * OpenTelemetry's `error.type` of a failed operation: the tag of its (first) typed error (`NotFoundError`,
 * `NetworkError`, …), or `_OTHER` for a defect or an untagged failure.
 *
 * @internal
 */
export const errorType = (cause: Cause.Cause<unknown>): string => {
  const failure = Cause.failureOption(cause)
  if (Option.isNone(failure)) return "_OTHER"
  const error = failure.value
  return typeof error === "object" && error !== null && "_tag" in error && typeof error._tag === "string"
    ? error._tag
    : "_OTHER"
}
