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
export * as Metrics from "./Metrics.js"
