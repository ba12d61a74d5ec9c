/**
 * The permissions a token can grant (PROTOCOL §12.3, §12.5).
 *
 * @since 0.1.0
 */

/**
 * @since 0.1.0
 * @category models
 */
export type Permission = "object.read" | "object.write" | "object.delete"

/**
 * All three permissions, in the order the upstream clients send them.
 *
 * @since 0.1.0
 * @category constructors
 */
export const all: ReadonlyArray<Permission> = ["object.read", "object.write", "object.delete"]

/**
 * @since 0.1.0
 * @category guards
 */
export const isPermission = (value: unknown): value is Permission =>
  value === "object.read" || value === "object.write" || value === "object.delete"
