/**
 * @since 0.1.0
 */
export * as ObjectstoreTest from "./ObjectstoreTest.js"

/**
 * @since 0.1.0
 */
export * as Faults from "./Faults.js"

/**
 * @since 0.1.0
 */
export * as RequestLog from "./RequestLog.js"

/**
 * @since 0.1.0
 */
export * as Embedded from "./Embedded.js"

/**
 * @since 0.1.0
 */
export * as Random from "./Random.js"
