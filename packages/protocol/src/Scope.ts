/**
 * Scopes: the ordered `(name, value)` pairs under a usecase (PROTOCOL §4.2).
 *
 * CONTRACT STUB (owned by the protocol work): `Components` is fixed; the functions are to be implemented.
 *
 * @since 0.1.0
 */

/**
 * Ordered scope components; order is significant for addressing.
 *
 * @since 0.1.0
 * @category models
 */
export type Components = ReadonlyArray<readonly [name: string, value: string]>
