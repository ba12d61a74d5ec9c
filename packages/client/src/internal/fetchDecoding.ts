/**
 * The mark `FetchClient`'s transport leaves in the context: its `fetch` may decode `content-encoding: zstd` itself
 * (browsers always do, Node 24's fetch does, and neither can be told not to). With it, a zstd body that does not start
 * with a zstd frame is taken as already decoded (stored zstd always starts with a frame's magic number); without it
 * such a body is corrupt (`CompressionError`).
 *
 * @since 0.1.0
 * @internal
 */
import * as Context from "effect/Context"

/** @internal */
export class FetchDecoding extends Context.Tag("@objectstore/client/internal/FetchDecoding")<FetchDecoding, true>() {}
