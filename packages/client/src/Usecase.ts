/**
 * A usecase: the top-level namespace of objects on the server (PROTOCOL §1, §4.1), with the defaults this
 * client applies to uploads in it.
 *
 * `Usecase.make` is a pure constructor; the name is validated when a session is made (one path segment: non-empty,
 * no `/`, not `.` or `..`, no control characters; `my.usecase`, `with space` and `ü` are fine, percent-encoded as the
 * Python client does), so usecases can be declared at module level.
 *
 * @example
 * ```ts
 * import { Usecase } from "@objectstore/client"
 * import * as ExpirationPolicy from "@objectstore/protocol/ExpirationPolicy"
 *
 * export const attachments = Usecase.make("attachments", {
 *   expirationPolicy: ExpirationPolicy.timeToIdle("30 days")
 * })
 * ```
 *
 * @since 0.1.0
 */
import * as ExpirationPolicy from "@objectstore/protocol/ExpirationPolicy"

/**
 * How uploads are compressed: `"zstd"` (the default) compresses on the client and sends
 * `Content-Encoding: zstd`; `"none"` stores the bytes as given.
 *
 * @since 0.1.0
 * @category models
 */
export type Compression = "zstd" | "none"

/**
 * @since 0.1.0
 * @category models
 */
export interface Usecase {
  readonly _tag: "Usecase"
  /** The usecase name as it appears in the URL. */
  readonly name: string
  /** Default compression of uploads (per-upload option overrides it). */
  readonly compression: Compression
  /** Default expiration policy of uploads (per-upload option overrides it). */
  readonly expirationPolicy: ExpirationPolicy.ExpirationPolicy
}

/**
 * @since 0.1.0
 * @category models
 */
export interface Options {
  /** Default `"zstd"`. */
  readonly compression?: Compression | undefined
  /** Default `manual` (objects never expire). Setting one on every usecase is strongly recommended. */
  readonly expirationPolicy?: ExpirationPolicy.ExpirationPolicy | undefined
}

/**
 * Declares a usecase. Pure: nothing is validated until a session is made with it.
 *
 * @since 0.1.0
 * @category constructors
 */
export const make = (name: string, options?: Options): Usecase => ({
  _tag: "Usecase",
  name,
  compression: options?.compression ?? "zstd",
  expirationPolicy: options?.expirationPolicy ?? ExpirationPolicy.manual
})
