/**
 * Scopes: the ordered `(name, value)` pairs under a usecase (PROTOCOL §4.2).
 *
 * Names and values share one alphabet (`A-Z a-z 0-9 _ - ( ) $ ! + '`) and are never empty. A scope list renders
 * into the URL as `name=value` pairs joined with `;` (`org=42;project=1337`), or as the placeholder `_` when it is
 * empty. Clients validate with {@link validate} (which also rejects duplicate names); the server parses the path
 * segment with {@link parse}, which accepts duplicates as upstream does.
 *
 * @since 0.1.0
 */
import * as Either from "effect/Either"

/**
 * Ordered scope components; order is significant for addressing.
 *
 * @since 0.1.0
 * @category models
 */
export type Components = ReadonlyArray<readonly [name: string, value: string]>

/**
 * The path segment that stands for "no scopes".
 *
 * @since 0.1.0
 * @category constants
 */
export const EMPTY = "_"

const partPattern = /^[A-Za-z0-9_\-()$!+']+$/
const ALLOWED = "names and values may use only letters, digits and _ - ( ) $ ! + '"

/**
 * Whether `text` is a valid scope name or value: non-empty and made only of `A-Z a-z 0-9 _ - ( ) $ ! + '`.
 *
 * @since 0.1.0
 * @category guards
 */
export const isValidPart = (text: string): boolean => partPattern.test(text)

/**
 * Validates components the way the client does before sending: every name and value must be valid
 * ({@link isValidPart}) and names must not repeat. Zero components are allowed.
 *
 * @since 0.1.0
 * @category validation
 */
export const validate = (components: Components): Either.Either<Components, string> => {
  const seen = new Set<string>()
  for (const [name, value] of components) {
    if (name.length === 0) return Either.left("scope name must not be empty")
    if (!isValidPart(name)) return Either.left(`invalid scope name ${JSON.stringify(name)}: ${ALLOWED}`)
    if (value.length === 0) return Either.left(`scope ${JSON.stringify(name)} has an empty value`)
    if (!isValidPart(value)) {
      return Either.left(`invalid value ${JSON.stringify(value)} for scope ${JSON.stringify(name)}: ${ALLOWED}`)
    }
    if (seen.has(name)) return Either.left(`duplicate scope name ${JSON.stringify(name)}`)
    seen.add(name)
  }
  return Either.right(components)
}

/**
 * Renders components into their URL segment: `org=42;project=1337`, or `_` when there are none. Valid components
 * need no escaping.
 *
 * @since 0.1.0
 * @category formatting
 */
export const render = (components: Components): string =>
  components.length === 0 ? EMPTY : components.map(([name, value]) => `${name}=${value}`).join(";")

/**
 * Parses a (percent-decoded) scopes path segment with the server rules of §4.2: `_` means none; otherwise pieces
 * separated by `;`, each split at its first `=`; a piece without `=`, an empty name or value, or a character
 * outside the allowed set is rejected. Duplicate names are accepted.
 *
 * @since 0.1.0
 * @category parsing
 */
export const parse = (segment: string): Either.Either<Components, string> => {
  if (segment === EMPTY) return Either.right([])
  const components: Array<readonly [string, string]> = []
  for (const piece of segment.split(";")) {
    const index = piece.indexOf("=")
    if (index < 0) return Either.left(`invalid scope ${JSON.stringify(piece)}: missing '='`)
    const name = piece.slice(0, index)
    const value = piece.slice(index + 1)
    if (name.length === 0) return Either.left(`invalid scope ${JSON.stringify(piece)}: empty name`)
    if (value.length === 0) return Either.left(`invalid scope ${JSON.stringify(piece)}: empty value`)
    if (!isValidPart(name) || !isValidPart(value)) {
      return Either.left(`invalid scope ${JSON.stringify(piece)}: invalid character`)
    }
    components.push([name, value])
  }
  return Either.right(components)
}

/**
 * Parses the written form of a scope used on command lines and in configuration (`OBJECTSTORE_SCOPE`):
 * `name=value` pairs in order, separated by `;`, `,` or whitespace, so `org=42;project=1337`,
 * `org=42,project=1337` and `org=42 project=1337` are the same scope. Each pair is split at its first `=`; an empty
 * text or `_` alone is the empty scope. The result is checked with {@link validate}; with `wildcard`, a value may
 * also be `*` (any value), which only a token's grant allows (§12.5). Errors quote the text they refer to.
 *
 * @since 0.1.0
 * @category parsing
 */
export const parseText = (
  text: string,
  options?: { readonly wildcard?: boolean | undefined }
): Either.Either<Components, string> => {
  const components: Array<readonly [string, string]> = []
  for (const piece of text.split(/[;,\s]+/)) {
    if (piece === "" || piece === EMPTY) continue
    const index = piece.indexOf("=")
    if (index <= 0 || index === piece.length - 1) {
      const where = piece === text.trim() ? "" : ` in ${JSON.stringify(text)}`
      return Either.left(
        `bad scope ${JSON.stringify(piece)}${where}: expected name=value pairs, e.g. org=42;project=1337`
      )
    }
    components.push([piece.slice(0, index), piece.slice(index + 1)])
  }
  const checked = options?.wildcard === true
    ? components.map(([name, value]) => [name, value === "*" ? "0" : value] as const)
    : components
  return Either.map(
    Either.mapLeft(validate(checked), (reason) => `bad scope ${JSON.stringify(text)}: ${reason}`),
    () => components
  )
}

/**
 * Formats a scope value: strings are returned as is, numbers and bigints in plain decimal (no exponent). Numbers
 * must be integers (`NaN`, infinities and fractions are rejected); negative integers are formatted with a `-`.
 * Booleans (which JavaScript callers can pass despite the type) are rejected: the Python client sends `True`, the
 * Rust client `true`, so the caller must choose the string (§4.2).
 *
 * @since 0.1.0
 * @category formatting
 */
export const formatValue = (value: string | number | bigint): Either.Either<string, string> => {
  if (typeof value === "string") return Either.right(value)
  if (typeof value === "boolean") {
    // Python sends True/False, Rust true/false: a boolean would address different scopes per client.
    return Either.left(
      `scope value ${value} is a boolean, which the official clients spell differently (Python "${
        value ? "True" : "False"
      }", Rust "${value}"); pass the string the other writers of this scope use`
    )
  }
  if (typeof value === "bigint") return Either.right(value.toString())
  if (!Number.isInteger(value)) return Either.left(`scope value ${value} is not an integer`)
  return Either.right(BigInt(value).toString())
}
