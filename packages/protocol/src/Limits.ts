/**
 * Protocol limits (PROTOCOL §10, Appendix A.4).
 *
 * @since 0.1.0
 */

/**
 * The maximum number of operations in one batch request.
 *
 * @since 0.1.0
 * @category constants
 */
export const MAX_BATCH_OPERATIONS = 1000

/**
 * The maximum payload of one batch insert part, in bytes (exactly 1 MiB is allowed).
 *
 * @since 0.1.0
 * @category constants
 */
export const MAX_BATCH_PART_SIZE = 1_048_576

/**
 * zstd's worst-case compressed size for `n` input bytes (`ZSTD_COMPRESSBOUND`):
 * `n + (n >> 8) + (n < 131072 ? (131072 - n) >> 11 : 0)`. A payload whose bound fits in
 * {@link MAX_BATCH_PART_SIZE} always fits in a batch part after compression.
 *
 * @since 0.1.0
 * @category encoding
 */
export const compressBound = (n: number): number =>
  n + Math.floor(n / 256) + (n < 131_072 ? Math.floor((131_072 - n) / 2048) : 0)
