/**
 * @since 0.1.0
 */
export * as Permission from "./Permission.js"

/**
 * @since 0.1.0
 */
export * as Scope from "./Scope.js"
