/**
 * Scopes: the ordered `(name, value)` pairs that isolate objects inside a usecase and bound what a token may
 * access (PROTOCOL §4.2, §12.5). Order matters: `org=42;project=1337` and `project=1337;org=42` are different
 * scopes. We recommend `org` and `project` as the first two components.
 *
 * Constructors are pure; names and values are validated (characters `A-Za-z0-9_-()$!+'`, no duplicate names)
 * when a session is made, which fails with `InvalidInputError` before any request.
 *
 * @example
 * ```ts
 * import { Scope } from "@objectstore/client"
 *
 * const scope = Scope.make({ org: 42, project: 1337 })
 * const same = Scope.fromEntries([["org", 42], ["project", 1337]])
 * const written = Scope.parse("org=42;project=1337") // Either: also "org=42 project=1337"
 * const none = Scope.empty
 * ```
 *
 * @since 0.1.0
 */
import * as ProtocolScope from "@objectstore/protocol/Scope"
import * as Config from "effect/Config"
import * as ConfigError from "effect/ConfigError"
import * as Either from "effect/Either"
import { InvalidInputError } from "./ObjectstoreError.js"

/**
 * A scope value: strings are used as they are, numbers and bigints in plain decimal (integers only).
 *
 * @since 0.1.0
 * @category models
 */
export type Value = string | number | bigint

/**
 * @since 0.1.0
 * @category models
 */
export interface Scope {
  readonly _tag: "Scope"
  /** The components in order, as given. */
  readonly entries: ReadonlyArray<readonly [name: string, value: Value]>
  /** Set when the scope was built in a way that cannot be trusted (reported when a session is made). */
  readonly problem?: string | undefined
}

const integerLike = /^(0|[1-9][0-9]*)$/

/**
 * A scope from a record, in insertion order: `Scope.make({ org: 42, project: 1337 })`.
 *
 * JavaScript enumerates integer-like property names (`"1"`, `"42"`) first and in numeric order, whatever the
 * insertion order, so a record with such names cannot express the intended order: it is rejected when a session
 * is made. Use {@link fromEntries} for those.
 *
 * @since 0.1.0
 * @category constructors
 */
export const make = (components: Readonly<Record<string, Value>>): Scope => {
  const entries = Object.entries(components)
  const bad = entries.find(([name]) => integerLike.test(name))
  return {
    _tag: "Scope",
    entries,
    problem: bad === undefined ? undefined : `scope name ${JSON.stringify(bad[0])} looks like an integer; ` +
      "JavaScript reorders such record keys, so use Scope.fromEntries to keep the order"
  }
}

/**
 * A scope from ordered pairs: `Scope.fromEntries([["org", 42], ["project", 1337]])`.
 *
 * @since 0.1.0
 * @category constructors
 */
export const fromEntries = (entries: Iterable<readonly [name: string, value: Value]>): Scope => ({
  _tag: "Scope",
  entries: Array.from(entries, ([name, value]) => [name, value] as const)
})

/**
 * A scope from its written form, as the CLI and configuration write it: `name=value` pairs in order, separated by
 * `;`, `,` or whitespace (`org=42;project=1337` and `org=42 project=1337` are the same scope); an empty text or
 * `_` is the empty scope. Fails with an `InvalidInputError` (field `scope`) that quotes the text when a pair is
 * malformed or a name or value is invalid.
 *
 * @since 0.1.0
 * @category constructors
 */
export const parse = (text: string): Either.Either<Scope, InvalidInputError> =>
  Either.match(ProtocolScope.parseText(text), {
    onLeft: (reason) => Either.left(new InvalidInputError({ field: "scope", reason })),
    onRight: (components) => Either.right(fromEntries(components))
  })

/**
 * A `Config` that reads a scope in its written form ({@link parse}) from the variable `name`, e.g.
 * `Scope.config("OBJECTSTORE_SCOPE")`. A malformed value is a `ConfigError` that quotes it.
 *
 * @since 0.1.0
 * @category constructors
 */
export const config = (name: string): Config.Config<Scope> =>
  Config.mapOrFail(
    Config.string(name),
    (text) => Either.mapLeft(parse(text), (error) => ConfigError.InvalidData([name], error.reason))
  )

/**
 * The scope with no components (rendered `_` in URLs).
 *
 * @since 0.1.0
 * @category constructors
 */
export const empty: Scope = { _tag: "Scope", entries: [] }

/**
 * Appends components after the existing ones.
 *
 * @since 0.1.0
 * @category combinators
 */
export const append = (self: Scope, entries: Iterable<readonly [name: string, value: Value]>): Scope => {
  const more = fromEntries(entries)
  return { _tag: "Scope", entries: [...self.entries, ...more.entries], problem: self.problem }
}

/**
 * Validates a scope and converts it to the protocol's string components (values formatted, names and values
 * checked against §4.2, duplicate names rejected).
 *
 * @since 0.1.0
 * @category conversions
 */
export const toComponents = (self: Scope): Either.Either<ProtocolScope.Components, InvalidInputError> => {
  if (self.problem !== undefined) {
    return Either.left(new InvalidInputError({ field: "scope", reason: self.problem }))
  }
  const components: Array<readonly [string, string]> = []
  for (const [name, value] of self.entries) {
    const formatted = ProtocolScope.formatValue(value)
    if (Either.isLeft(formatted)) {
      return Either.left(
        new InvalidInputError({ field: "scope", reason: `value of ${JSON.stringify(name)}: ${formatted.left}` })
      )
    }
    components.push([name, formatted.right])
  }
  return Either.mapLeft(
    ProtocolScope.validate(components),
    (reason) => new InvalidInputError({ field: "scope", reason })
  )
}

/**
 * The URL form of a valid scope (`org=42;project=1337`, `_` when empty).
 *
 * @since 0.1.0
 * @category conversions
 */
export const render = (self: Scope): Either.Either<string, InvalidInputError> =>
  Either.map(toComponents(self), ProtocolScope.render)
