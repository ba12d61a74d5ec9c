/**
 * @since 0.1.0
 */
export * as ApiError from "./ApiError.js"

/**
 * @since 0.1.0
 */
export * as Base64Url from "./Base64Url.js"

/**
 * @since 0.1.0
 */
export * as ExpirationPolicy from "./ExpirationPolicy.js"

/**
 * @since 0.1.0
 */
export * as Humantime from "./Humantime.js"

/**
 * @since 0.1.0
 */
export * as Identifiers from "./Identifiers.js"

/**
 * @since 0.1.0
 */
export * as Limits from "./Limits.js"

/**
 * @since 0.1.0
 */
export * as MediaType from "./MediaType.js"

/**
 * @since 0.1.0
 */
export * as Metadata from "./Metadata.js"

/**
 * @since 0.1.0
 */
export * as Path from "./Path.js"

/**
 * @since 0.1.0
 */
export * as Permission from "./Permission.js"

/**
 * @since 0.1.0
 */
export * as Presign from "./Presign.js"

/**
 * @since 0.1.0
 */
export * as Range from "./Range.js"

/**
 * @since 0.1.0
 */
export * as Scope from "./Scope.js"

/**
 * @since 0.1.0
 */
export * as Timestamp from "./Timestamp.js"

/**
 * @since 0.1.0
 */
export * as Token from "./Token.js"

/**
 * @since 0.1.0
 */
export * as MultipartForm from "./MultipartForm.js"

/**
 * @since 0.1.0
 */
export * as Bytes from "./Bytes.js"

/**
 * @since 0.1.0
 */
export * as Resumable from "./Resumable.js"

/**
 * @since 0.1.0
 */
export * as ExtendExpiry from "./ExtendExpiry.js"
