/**
 * @since 0.1.0
 */
export * as ObjectstoreError from "./ObjectstoreError.js"

/**
 * @since 0.1.0
 */
export * as ObjectstoreClient from "./ObjectstoreClient.js"

/**
 * @since 0.1.0
 */
export * as Session from "./Session.js"

/**
 * @since 0.1.0
 */
export * as SessionModel from "./SessionModel.js"

/**
 * @since 0.1.0
 */
export * as ObjectModel from "./ObjectModel.js"

/**
 * @since 0.1.0
 */
export * as Multipart from "./Multipart.js"

/**
 * @since 0.1.0
 */
export * as Usecase from "./Usecase.js"

/**
 * @since 0.1.0
 */
export * as Scope from "./Scope.js"

/**
 * @since 0.1.0
 */
export * as Body from "./Body.js"

/**
 * @since 0.1.0
 */
export * as Expiration from "./Expiration.js"

/**
 * @since 0.1.0
 */
export * as Compression from "./Compression.js"

/**
 * @since 0.1.0
 */
export * as Auth from "./Auth.js"

/**
 * @since 0.1.0
 */
export * as AuthModel from "./AuthModel.js"

/**
 * @since 0.1.0
 */
export * as Metrics from "./Metrics.js"

/**
 * @since 0.1.0
 */
export * as Urls from "./Urls.js"

/**
 * @since 0.1.0
 */
export * as Tokens from "./Tokens.js"

/**
 * @since 0.1.0
 */
export * as Range from "./Range.js"

/**
 * @since 0.1.0
 */
export * as Encoding from "./Encoding.js"

/**
 * @since 0.1.0
 */
export * as ContentType from "./ContentType.js"

/**
 * @since 0.1.0
 */
export * as Batch from "./Batch.js"

/**
 * @since 0.1.0
 */
export * as Resumable from "./Resumable.js"

/**
 * @since 0.1.0
 */
export * as Transport from "./Transport.js"
