/**
 * JWT claims for Objectstore tokens (PROTOCOL §12.3, §12.5): building them in the key order upstream clients use
 * (`res`, `permissions`, `exp`), validating them on the server, and the authorization rule.
 *
 * Signing and signature verification are not here (they need a crypto library); this module only deals with the
 * claims JSON.
 *
 * @since 0.1.0
 */
import * as Either from "effect/Either"
import * as Permission from "./Permission.js"
import type * as Scope from "./Scope.js"

/**
 * The claim key of the usecase inside `res`.
 *
 * @since 0.1.0
 * @category constants
 */
export const USECASE_CLAIM = "os:usecase"

/**
 * The clock leeway the server allows on `exp`, in seconds.
 *
 * @since 0.1.0
 * @category constants
 */
export const LEEWAY_SECONDS = 60

/**
 * The validated claims of a token.
 *
 * @since 0.1.0
 * @category models
 */
export interface Claims {
  readonly res: Readonly<Record<string, string>>
  readonly permissions: ReadonlyArray<Permission.Permission>
  /** Expiry, Unix seconds. */
  readonly exp: number
}

/**
 * The resource grant `{"os:usecase": usecase, ...scopes}` in scope order; scope values are strings (use `"*"` as
 * a wildcard value).
 *
 * @since 0.1.0
 * @category constructors
 */
export const resource = (usecase: string, scopes: Scope.Components): Record<string, string> =>
  Object.fromEntries([[USECASE_CLAIM, usecase], ...scopes])

/**
 * Builds the claims object; its JSON keys come out as `res`, `permissions`, `exp` (Appendix A.2).
 *
 * @example
 * ```ts
 * import * as Token from "@objectstore/protocol/Token"
 *
 * JSON.stringify(Token.claims({ usecase: "attachments", scopes: [["org", "42"]], permissions: ["object.read"], exp: 1 }))
 * // '{"res":{"os:usecase":"attachments","org":"42"},"permissions":["object.read"],"exp":1}'
 * ```
 *
 * @since 0.1.0
 * @category constructors
 */
export const claims = (options: {
  readonly usecase: string
  readonly scopes: Scope.Components
  readonly permissions: ReadonlyArray<Permission.Permission>
  readonly exp: number
}): Claims => ({
  res: resource(options.usecase, options.scopes),
  permissions: [...options.permissions],
  exp: options.exp
})

const shortEscapes: Readonly<Record<string, string>> = {
  "\"": "\\\"",
  "\\": "\\\\",
  "\n": "\\n",
  "\r": "\\r",
  "\t": "\\t",
  "\b": "\\b",
  "\f": "\\f"
}

/**
 * A JSON string as Python's `json.dumps` writes it by default (`ensure_ascii`): every character outside printable
 * ASCII (` ` to `~`) as `\uXXXX` in lowercase hex, UTF-16 code unit by code unit.
 */
const pythonJsonString = (text: string): string =>
  `"${
    text.replace(
      /["\\]|[^ -~]/g,
      (char) => shortEscapes[char] ?? `\\u${char.charCodeAt(0).toString(16).padStart(4, "0")}`
    )
  }"`

/**
 * The claims as the JWT payload's exact bytes, the way the Python client (PyJWT over `json.dumps` with compact
 * separators) writes them: `{"res":{"os:usecase":…,<scopes in order>},"permissions":[…],"exp":…}`. Unlike
 * `JSON.stringify` of {@link claims}, the scope keeps its order when a name looks like an integer (a JavaScript
 * object lists those first), and characters outside printable ASCII are escaped as `\uXXXX`.
 *
 * @example
 * ```ts
 * import * as Token from "@objectstore/protocol/Token"
 *
 * Token.encodeClaims({ usecase: "u", scopes: [["2", "x"], ["org", "1"]], permissions: ["object.read"], exp: 1 })
 * // '{"res":{"os:usecase":"u","2":"x","org":"1"},"permissions":["object.read"],"exp":1}'
 * ```
 *
 * @since 0.1.0
 * @category encoding
 */
export const encodeClaims = (options: {
  readonly usecase: string
  readonly scopes: Scope.Components
  readonly permissions: ReadonlyArray<Permission.Permission>
  readonly exp: number
}): string => {
  const res = [[USECASE_CLAIM, options.usecase] as const, ...options.scopes]
    .map(([name, value]) => `${pythonJsonString(name)}:${pythonJsonString(value)}`)
    .join(",")
  const permissions = options.permissions.map(pythonJsonString).join(",")
  return `{"res":{${res}},"permissions":[${permissions}],"exp":${Math.trunc(options.exp)}}`
}

const isRecord = (value: unknown): value is Record<string, unknown> =>
  typeof value === "object" && value !== null && !Array.isArray(value)

const checkListClaim = (
  value: unknown,
  accepted: ReadonlyArray<string>,
  name: string
): string | undefined => {
  if (typeof value === "string") return accepted.includes(value) ? undefined : `invalid ${name}`
  if (Array.isArray(value)) {
    return value.some((v) => typeof v === "string" && accepted.includes(v)) ? undefined : `invalid ${name}`
  }
  return undefined
}

/**
 * Validates a decoded JWT payload on the server: `res` must be an object of strings with `os:usecase`;
 * `permissions` an array of known permissions; `exp` an integer; `aud` (if a string or array) must be or contain
 * `objectstore`; `iss` (if a string or array) must be or contain `sentry` or `relay`. Other types of `aud`/`iss`
 * and other claims are ignored. Expiry is not checked here (see {@link isExpired}).
 *
 * @since 0.1.0
 * @category validation
 */
export const validateClaims = (payload: unknown): Either.Either<Claims, string> => {
  if (!isRecord(payload)) return Either.left("claims must be a JSON object")
  const { exp, permissions, res } = payload
  if (exp === undefined) return Either.left("missing required claim: exp")
  if (typeof exp !== "number" || !Number.isInteger(exp)) return Either.left("exp must be an integer")
  if (!isRecord(res)) return Either.left("res must be an object")
  for (const value of Object.values(res)) {
    if (typeof value !== "string") return Either.left("res values must be strings")
  }
  if (typeof res[USECASE_CLAIM] !== "string" || !Object.hasOwn(res, USECASE_CLAIM)) {
    return Either.left(`res is missing ${USECASE_CLAIM}`)
  }
  if (!Array.isArray(permissions)) return Either.left("permissions must be an array")
  for (const permission of permissions) {
    if (!Permission.isPermission(permission)) return Either.left("unknown permission")
  }
  const audience = checkListClaim(payload.aud, ["objectstore"], "audience")
  if (audience !== undefined) return Either.left(audience)
  const issuer = checkListClaim(payload.iss, ["sentry", "relay"], "issuer")
  if (issuer !== undefined) return Either.left(issuer)
  return Either.right({
    res: res as Record<string, string>,
    permissions: permissions as ReadonlyArray<Permission.Permission>,
    exp
  })
}

/**
 * Whether `exp` has passed at `nowSeconds`, allowing {@link LEEWAY_SECONDS} of leeway (`exp + leeway < now`).
 *
 * @since 0.1.0
 * @category guards
 */
export const isExpired = (
  claims: Pick<Claims, "exp">,
  nowSeconds: number,
  leewaySeconds: number = LEEWAY_SECONDS
): boolean => claims.exp + leewaySeconds < nowSeconds

/**
 * The §12.5 authorization rule: `permission` is granted, `res["os:usecase"]` equals `usecase` exactly, and every
 * scope `(name, value)` of the request has `res[name]` equal to `"*"` or to `value`. Entries of `res` that the
 * request does not use are ignored. Pass the effective permissions (token ∩ key) in `claims.permissions`.
 *
 * @since 0.1.0
 * @category guards
 */
export const authorizes = (
  claims: Pick<Claims, "res" | "permissions">,
  permission: Permission.Permission,
  usecase: string,
  scopes: Scope.Components
): boolean => {
  if (!claims.permissions.includes(permission)) return false
  if (!Object.hasOwn(claims.res, USECASE_CLAIM) || claims.res[USECASE_CLAIM] !== usecase) return false
  return scopes.every(([name, value]) => {
    if (!Object.hasOwn(claims.res, name)) return false
    const granted = claims.res[name]
    return granted === "*" || granted === value
  })
}
