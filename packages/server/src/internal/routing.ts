/**
 * Routing on the raw request target (PROTOCOL §3, §3.1). Nothing here normalises the path: static segments are
 * matched literally, captures are taken from the raw text and percent-decoded afterwards.
 *
 * @internal
 */
import type * as Path from "@objectstore/protocol/Path"
import * as Either from "effect/Either"

/** The resources of `/v1/<resource>/...` (one list, the protocol's). @internal */
export type Resource = Path.Resource

/** @internal */
export type Route =
  | { readonly _tag: "Health" }
  | { readonly _tag: "Ready" }
  | {
    readonly _tag: "Object"
    readonly resource: Resource
    /** Raw (still percent-encoded) captures. */
    readonly usecase: string
    readonly scopes: string
    /** `undefined` for the collection routes (`…/{scopes}/` and, where accepted, `…/{scopes}`). */
    readonly key: string | undefined
  }

/** @internal */
export type Match =
  | { readonly _tag: "NotFound" }
  | { readonly _tag: "MethodNotAllowed"; readonly allow: ReadonlyArray<string> }
  | { readonly _tag: "Matched"; readonly route: Route }

/** @internal */
export interface Target {
  readonly path: string
  /** Raw query text without `?`; empty when absent. */
  readonly query: string
}

/**
 * Splits a request target into path and query. An absolute-form target (`http://host/path`) is reduced to its
 * path; a fragment (never sent by conforming clients) is dropped.
 *
 * @internal
 */
export const splitTarget = (target: string): Target => {
  let rest = target
  const absolute = /^[A-Za-z][A-Za-z0-9+.-]*:\/\/[^/?#]*/.exec(rest)
  if (absolute !== null) rest = rest.slice(absolute[0].length)
  const hash = rest.indexOf("#")
  if (hash >= 0) rest = rest.slice(0, hash)
  const question = rest.indexOf("?")
  const path = question >= 0 ? rest.slice(0, question) : rest
  const query = question >= 0 ? rest.slice(question + 1) : ""
  return { path: path === "" ? "/" : path, query }
}

const withHead = (methods: ReadonlyArray<string>): ReadonlyArray<string> =>
  methods.includes("GET") && !methods.includes("HEAD") ? [...methods, "HEAD"] : methods

const collectionMethods: Record<Resource, ReadonlyArray<string> | undefined> = {
  "objects": ["POST"],
  "objects:batch": ["POST"],
  "objects:multipart": ["POST"],
  "objects:multipart:parts": undefined,
  "objects:multipart:complete": undefined
}

/** Collections reachable without the trailing `/` (§3: O1 and M1; batch requires it). */
const collectionWithoutSlash: Record<Resource, boolean> = {
  "objects": true,
  "objects:batch": false,
  "objects:multipart": true,
  "objects:multipart:parts": false,
  "objects:multipart:complete": false
}

const itemMethods: Record<Resource, ReadonlyArray<string> | undefined> = {
  "objects": ["GET", "HEAD", "PUT", "DELETE", "PATCH"],
  "objects:batch": undefined,
  "objects:multipart": ["PUT", "DELETE"],
  "objects:multipart:parts": ["PUT", "GET"],
  "objects:multipart:complete": ["POST"]
}

const isResource = (text: string): text is Resource => Object.prototype.hasOwnProperty.call(itemMethods, text)

const objectPattern = /^\/v1\/([^/]+)\/([^/]+)\/([^/]+)(\/(.*))?$/s

const check = (method: string, methods: ReadonlyArray<string>, route: Route): Match => {
  const allowed = withHead(methods)
  return allowed.includes(method) ? { _tag: "Matched", route } : { _tag: "MethodNotAllowed", allow: allowed }
}

/**
 * Matches a method and raw path against the route table.
 *
 * @internal
 */
export const match = (method: string, path: string): Match => {
  if (path === "/health") return check(method, ["GET"], { _tag: "Health" })
  if (path === "/ready") return check(method, ["GET"], { _tag: "Ready" })
  const groups = objectPattern.exec(path)
  if (groups === null) return { _tag: "NotFound" }
  const [, resource, usecase, scopes, slashRest, rest] = groups
  if (!isResource(resource!)) return { _tag: "NotFound" }
  if (slashRest === undefined || rest === "") {
    const methods = collectionMethods[resource]
    if (methods === undefined) return { _tag: "NotFound" }
    if (slashRest === undefined && !collectionWithoutSlash[resource]) return { _tag: "NotFound" }
    return check(method, methods, { _tag: "Object", resource, usecase: usecase!, scopes: scopes!, key: undefined })
  }
  const methods = itemMethods[resource]
  if (methods === undefined) return { _tag: "NotFound" }
  return check(method, methods, { _tag: "Object", resource, usecase: usecase!, scopes: scopes!, key: rest! })
}

const isHex = (code: number) =>
  (code >= 0x30 && code <= 0x39) || (code >= 0x41 && code <= 0x46) || (code >= 0x61 && code <= 0x66)

const utf8 = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true })

/**
 * Percent-decodes a raw path capture as UTF-8 (`+` stays `+`; a `%` not followed by two hex digits stays literal).
 * Fails when the decoded bytes are not valid UTF-8.
 *
 * @internal
 */
export const percentDecode = (text: string): Either.Either<string, string> => {
  if (!text.includes("%")) return Either.right(text)
  const raw = Buffer.from(text, "utf8")
  const out = Buffer.alloc(raw.length)
  let length = 0
  for (let i = 0; i < raw.length; i++) {
    const byte = raw[i]!
    if (byte === 0x25 && i + 2 < raw.length && isHex(raw[i + 1]!) && isHex(raw[i + 2]!)) {
      out[length++] = parseInt(String.fromCharCode(raw[i + 1]!, raw[i + 2]!), 16)
      i += 2
    } else {
      out[length++] = byte
    }
  }
  try {
    return Either.right(utf8.decode(out.subarray(0, length)))
  } catch {
    return Either.left("invalid UTF-8")
  }
}
