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
  const none = { usecase, compression: "none" }
  const compressed = sizes.compression === "zstd" ? { usecase, compression: "zstd" } : undefined
  const bare = { usecase }
  eachDistribution(sizes, (kind, value, compression) =>
    out.push({
      kind,
      value,
      tags: compression === undefined ? bare : compression === "none" ? none : compressed!
    }))
  return out
}

/**
 * {@link distributions} without building them: `visit` gets each one's kind, value and `compression` tag (none for a
 * size without one), in the same order.
 *
 * @internal
 */
export const eachDistribution = (
  sizes: SizesInput,
  visit: (kind: SizeKind, value: number, compression: "none" | "zstd" | undefined) => void
): void => {
  const seconds = Duration.toMillis(sizes.elapsed) / 1000
  const recordSize = (bytes: number, compression: "none" | "zstd" | undefined) => {
    if (!finite(bytes)) return
    visit("size", bytes, compression)
    if (seconds > 0 && bytes > 0) {
      visit("throughput", bytes / seconds, compression)
      visit("inverse_throughput", seconds / bytes, compression)
    }
  }
  if (sizes.compression === undefined) {
    recordSize(sizes.bytes, undefined)
  } else if (sizes.compression === "none") {
    recordSize(sizes.bytes, "none")
  } else {
    const uncompressed = sizes.uncompressedBytes
    if (uncompressed !== undefined) recordSize(uncompressed, "none")
    recordSize(sizes.bytes, sizes.compression)
    if (uncompressed !== undefined && uncompressed > 0 && finite(sizes.bytes)) {
      visit("compression_ratio", sizes.bytes / uncompressed, sizes.compression)
    }
  }
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
