/**
 * Expiration policies of objects (PROTOCOL §6.2, §8), re-exported from `@objectstore/protocol` so that
 * applications can import everything from the client:
 *
 * - `manual` (the default): the object lives until it is deleted;
 * - `timeToLive(duration)`: it expires `duration` after it was written;
 * - `timeToIdle(duration)`: it expires `duration` after it was last read (or written).
 *
 * @example
 * ```ts
 * import { Expiration, Usecase } from "@objectstore/client"
 *
 * export const attachments = Usecase.make("attachments", { expirationPolicy: Expiration.timeToIdle("30 days") })
 * ```
 *
 * @since 0.1.0
 */
export * from "@objectstore/protocol/ExpirationPolicy"
