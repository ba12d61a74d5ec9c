import * as HttpClientError from "@effect/platform/HttpClientError"
import * as HttpClientRequest from "@effect/platform/HttpClientRequest"
import { assert, describe, it } from "@effect/vitest"
import * as Errors from "@objectstore/client/internal/errors"
import * as Duration from "effect/Duration"

const target = { method: "PUT", path: "/v1/objects/u/_/k" }

describe("internal/errors", () => {
  it("parseRetryAfter: delta seconds, HTTP dates (past → zero), garbage ignored", () => {
    const now = Date.UTC(2026, 0, 1, 0, 0, 0)
    assert.isTrue(Duration.equals(Errors.parseRetryAfter("7", now)!, Duration.seconds(7)))
    assert.isTrue(Duration.equals(Errors.parseRetryAfter(" 0 ", now)!, Duration.zero))
    assert.isTrue(
      Duration.equals(Errors.parseRetryAfter("Thu, 01 Jan 2026 00:01:00 GMT", now)!, Duration.seconds(60))
    )
    assert.isTrue(Duration.equals(Errors.parseRetryAfter("Wed, 31 Dec 2025 00:00:00 GMT", now)!, Duration.zero))
    assert.isUndefined(Errors.parseRetryAfter("soon", now))
    assert.isUndefined(Errors.parseRetryAfter(undefined, now))
  })

  it("fromStatus: retry classes — only 429 and 503 are safe for POST", () => {
    const retryOf = (status: number) => Errors.fromStatus({ status, body: "", retryAfter: undefined }).retry
    assert.strictEqual(retryOf(429), "safe")
    assert.strictEqual(retryOf(503), "safe")
    assert.strictEqual(retryOf(502), "idempotent")
    assert.strictEqual(retryOf(504), "idempotent")
    for (const status of [400, 401, 403, 405, 413, 500, 501, 418]) assert.strictEqual(retryOf(status), "never")
  })

  it("fromStatus: 400 auth errors other than a missing token are InvalidToken", () => {
    const { error } = Errors.fromStatus({
      status: 400,
      body: JSON.stringify({ detail: "auth error: bad request: JWT header is missing `kid` field" }),
      retryAfter: undefined
    })
    assert.strictEqual(error._tag, "AuthError")
    if (error._tag === "AuthError") assert.strictEqual(error.reason, "InvalidToken")
  })

  it("fromStatus keeps Retry-After", () => {
    const failure = Errors.fromStatus({ status: 429, body: "", retryAfter: Duration.seconds(3) })
    assert.isTrue(Duration.equals(failure.retryAfter!, Duration.seconds(3)))
  })

  it("fromHttpClientError drops the request (and its token), keeps method, path and the cause's message", () => {
    const request = HttpClientRequest.put("http://os.test/v1/objects/u/_/k?os_auth=query-secret").pipe(
      HttpClientRequest.setHeader("x-os-auth", "Bearer header-secret")
    )
    const cause = Object.assign(new Error("read ECONNRESET"), { code: "ECONNRESET" })
    const failure = Errors.fromHttpClientError(
      new HttpClientError.RequestError({ request, reason: "Transport", cause }),
      target
    )
    assert.strictEqual(failure.retry, "idempotent")
    const error = failure.error
    assert.deepStrictEqual(
      { reason: error.reason, retryable: error.retryable, method: error.method, path: error.path },
      { reason: "Transport", retryable: true, method: "PUT", path: "/v1/objects/u/_/k" }
    )
    assert.include(error.detail, "ECONNRESET")
    for (const text of [String(error), JSON.stringify(error), error.message, error.stack ?? ""]) {
      assert.notInclude(text, "header-secret")
      assert.notInclude(text, "query-secret")
    }
  })

  it("fromHttpClientError: connect timeouts are Timeout and safe; refused is safe; body read failures idempotent", () => {
    const request = HttpClientRequest.get("http://os.test/")
    const of = (code: string) =>
      Errors.fromHttpClientError(
        new HttpClientError.RequestError({
          request,
          reason: "Transport",
          cause: Object.assign(new Error(code), { code })
        }),
        target
      )
    assert.strictEqual(of("UND_ERR_CONNECT_TIMEOUT").error.reason, "Timeout")
    assert.strictEqual(of("UND_ERR_CONNECT_TIMEOUT").retry, "safe")
    assert.strictEqual(of("ECONNREFUSED").retry, "safe")
    assert.strictEqual(of("UND_ERR_SOCKET").retry, "idempotent")
  })

  it("truncate bounds server text", () => {
    assert.strictEqual(Errors.truncate("short"), "short")
    assert.isBelow(Errors.truncate("y".repeat(50_000)).length, Errors.MAX_DETAIL + 64)
  })
})
