/**
 * The response shapes every handler answers with: the JSON error format (PROTOCOL §14.1), JSON bodies and the
 * plain-text answers of §14.2.
 *
 * @internal
 */
import * as HttpServerResponse from "@effect/platform/HttpServerResponse"
import * as ApiError from "@objectstore/protocol/ApiError"

/** @internal */
export const TEXT_PLAIN = "text/plain; charset=utf-8"

/** `{"detail", "causes"}` with `status`. @internal */
export const jsonError = (status: number, detail: string, causes?: ReadonlyArray<string>) =>
  HttpServerResponse.text(ApiError.encode(detail, causes), { status, contentType: "application/json" })

/** @internal */
export const textResponse = (status: number, body: string) =>
  HttpServerResponse.text(body, { status, contentType: TEXT_PLAIN })

/** @internal */
export const jsonBody = (status: number, value: unknown) =>
  HttpServerResponse.text(JSON.stringify(value), { status, contentType: "application/json" })
