/**
 * What a client request addresses: the operation (from method and path, PROTOCOL §3), the usecase, scope and key.
 *
 * @since 0.1.0
 * @internal
 */
import type * as HttpClientRequest from "@effect/platform/HttpClientRequest"
import * as UrlParams from "@effect/platform/UrlParams"

/**
 * The operations of the protocol, named like the client's metrics operations (batch is the `objects:batch`
 * endpoint that `Session.many` uses).
 *
 * @internal
 */
export type Operation =
  | "put"
  | "get"
  | "head"
  | "delete"
  | "batch"
  | "multipart.initiate"
  | "multipart.put_part"
  | "multipart.list_parts"
  | "multipart.complete"
  | "multipart.abort"
  | "other"

/** @internal */
export interface Target {
  readonly method: string
  /** The path as sent (still percent-encoded), without the query. */
  readonly path: string
  /** The query without `?` (may carry pre-signing parameters). */
  readonly query: string
  readonly operation: Operation
  readonly usecase: string | undefined
  /** The scope segment as in the URL (`org=42;project=1337`, `_` for none). */
  readonly scope: string | undefined
  /** The decoded key, when the path has one. */
  readonly key: string | undefined
}

const objectPattern = /(?:^|\/)v1\/(objects(?::[a-z:]+)?)\/([^/]+)\/([^/]+)(?:\/(.*))?$/s

const decode = (text: string): string => {
  try {
    return decodeURIComponent(text)
  } catch {
    return text
  }
}

const classify = (method: string, resource: string, hasKey: boolean): Operation => {
  switch (resource) {
    case "objects":
      if (method === "POST" || method === "PUT") return "put"
      if (method === "GET") return "get"
      if (method === "HEAD") return "head"
      if (method === "DELETE") return "delete"
      return "other"
    case "objects:batch":
      return "batch"
    case "objects:multipart":
      if (method === "DELETE") return "multipart.abort"
      return method === "POST" || (method === "PUT" && hasKey) ? "multipart.initiate" : "other"
    case "objects:multipart:parts":
      if (method === "PUT") return "multipart.put_part"
      return method === "GET" ? "multipart.list_parts" : "other"
    case "objects:multipart:complete":
      return "multipart.complete"
    default:
      return "other"
  }
}

/**
 * Parses the URL of a request into its target.
 *
 * @internal
 */
export const fromRequest = (request: HttpClientRequest.HttpClientRequest): Target => {
  let rest = request.url.replace(/^[A-Za-z][A-Za-z0-9+.-]*:\/\/[^/?#]*/, "")
  const hash = rest.indexOf("#")
  if (hash >= 0) rest = rest.slice(0, hash)
  const question = rest.indexOf("?")
  const path = question >= 0 ? rest.slice(0, question) : rest
  const params = UrlParams.toString(request.urlParams)
  const query = [question >= 0 ? rest.slice(question + 1) : "", params].filter((part) => part !== "").join("&")
  const groups = objectPattern.exec(path)
  if (groups === null) {
    return {
      method: request.method,
      path,
      query,
      operation: "other",
      usecase: undefined,
      scope: undefined,
      key: undefined
    }
  }
  const [, resource, usecase, scope, key] = groups
  const hasKey = key !== undefined && key !== ""
  return {
    method: request.method,
    path,
    query,
    operation: classify(request.method, resource!, hasKey),
    usecase: decode(usecase!),
    scope: decode(scope!),
    key: hasKey ? decode(key) : undefined
  }
}
