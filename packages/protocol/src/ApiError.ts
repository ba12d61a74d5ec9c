/**
 * The JSON error body of the server (PROTOCOL §14.1): `{"detail":"…","causes":["…"]}`, with `causes` omitted
 * when empty. The text is for humans; callers decide by status code.
 *
 * @since 0.1.0
 */
import * as Option from "effect/Option"

/**
 * A parsed error body. Both fields are optional for clients.
 *
 * @since 0.1.0
 * @category models
 */
export interface ApiError {
  readonly detail?: string
  readonly causes?: ReadonlyArray<string>
}

/**
 * Encodes an error body; `causes` is omitted when empty.
 *
 * @example
 * ```ts
 * import * as ApiError from "@objectstore/protocol/ApiError"
 *
 * ApiError.encode("client error: Content-Length header is required")
 * // '{"detail":"client error: Content-Length header is required"}'
 * ```
 *
 * @since 0.1.0
 * @category encoding
 */
export const encode = (detail: string, causes?: ReadonlyArray<string>): string =>
  JSON.stringify(causes !== undefined && causes.length > 0 ? { detail, causes } : { detail })

/**
 * Parses an error body. Returns `None` when the text is not a JSON object; fields of the wrong type are dropped.
 *
 * @since 0.1.0
 * @category parsing
 */
export const parse = (text: string): Option.Option<ApiError> => {
  let value: unknown
  try {
    value = JSON.parse(text)
  } catch {
    return Option.none()
  }
  if (typeof value !== "object" || value === null || Array.isArray(value)) return Option.none()
  const record = value as Record<string, unknown>
  const detail = typeof record.detail === "string" ? record.detail : undefined
  const causes = Array.isArray(record.causes) && record.causes.every((c) => typeof c === "string")
    ? (record.causes as ReadonlyArray<string>)
    : undefined
  return Option.some({
    ...(detail !== undefined ? { detail } : {}),
    ...(causes !== undefined ? { causes } : {})
  })
}
