/**
 * @since 0.1.0
 */
export * as ObjectstoreError from "./ObjectstoreError.js"
