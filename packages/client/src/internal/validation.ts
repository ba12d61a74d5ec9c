/**
 * The one validation path of the client: keys, usecases, durations and the JSON answers it decodes. Every
 * operation checks its input here, so the rules and the error text (the value quoted, the rule named) are the same
 * everywhere; the rules themselves are the protocol package's (`Identifiers`).
 *
 * @since 0.1.0
 * @internal
 */
import * as Identifiers from "@objectstore/protocol/Identifiers"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Option from "effect/Option"
import * as ParseResult from "effect/ParseResult"
import * as Schema from "effect/Schema"
import { InvalidInputError } from "../ObjectstoreError.js"

/**
 * What a write does with a key outside §4.3's recommendations (`Identifiers.validatePortableKey`): `"warn"` logs a
 * warning and writes it, `"reject"` fails with `InvalidInputError`, `"allow"` writes it silently.
 *
 * @internal
 */
export type NonPortableKeys = "warn" | "reject" | "allow"

/** @internal */
export const invalid = (field: string, reason: string): InvalidInputError => new InvalidInputError({ field, reason })

/**
 * `Right` as success, `Left(reason)` as `InvalidInputError` on `field`.
 *
 * @internal
 */
export const check = <A>(field: string, result: Either.Either<A, string>): Either.Either<A, InvalidInputError> =>
  Either.mapLeft(result, (reason) => invalid(field, reason))

/**
 * A key any operation can address (`Identifiers.validateKey`): reads, checks, deletes, URLs.
 *
 * @internal
 */
export const key = (value: string): Either.Either<string, InvalidInputError> =>
  check("key", Identifiers.validateKey(value))

/**
 * The key of a write: addressable, and within §4.3's recommendations unless `policy` lets it through (with a
 * warning for `"warn"`, the default).
 *
 * @internal
 */
export const newKey = (
  value: string,
  policy: NonPortableKeys | undefined
): Effect.Effect<string, InvalidInputError> =>
  Effect.suspend(() => {
    const checked = checkNewKey(value, policy)
    if (Either.isLeft(checked)) return Either.left(checked.left)
    const { warning } = checked.right
    return warning === undefined ? Effect.succeed(value) : Effect.as(warnNonPortable(warning), value)
  })

/**
 * {@link newKey} without its warning: the key, or why it cannot be written (not addressable; not portable when
 * `reject`), and whether `newKey` would warn about it (a non-portable key under the `"warn"` policy).
 *
 * @internal
 */
export const checkNewKey = (
  value: string,
  policy: NonPortableKeys | undefined
): Either.Either<{ readonly key: string; readonly warning: string | undefined }, InvalidInputError> => {
  const addressable = key(value)
  if (Either.isLeft(addressable)) return Either.left(addressable.left)
  if (policy === "allow") return Either.right({ key: value, warning: undefined })
  const portable = Identifiers.validatePortableKey(value)
  if (Either.isRight(portable)) return Either.right({ key: value, warning: undefined })
  if (policy === "reject") return Either.left(invalid("key", portable.left))
  return Either.right({ key: value, warning: portable.left })
}

/**
 * Logs the warning {@link checkNewKey} found.
 *
 * @internal
 */
export const warnNonPortable = (warning: string): Effect.Effect<void> =>
  Effect.logWarning(`${warning}; writing it anyway (set nonPortableKeys: "reject" or "allow")`)

/**
 * A usecase name (`Identifiers.validateUsecase`).
 *
 * @internal
 */
export const usecase = (name: string): Either.Either<string, InvalidInputError> =>
  check("usecase", Identifiers.validateUsecase(name))

/**
 * Decodes a positive duration: finite, or also infinite when `infinite` is set. The reason names the rule and
 * quotes the value.
 *
 * @internal
 */
export const duration = (
  input: Duration.DurationInput,
  options?: { readonly infinite?: boolean | undefined }
): Either.Either<Duration.Duration, string> => {
  const decoded = Duration.decodeUnknown(input)
  const rule = options?.infinite === true ? "a positive duration (or infinity)" : "a positive, finite duration"
  const shown = typeof input === "string" ? JSON.stringify(input) : String(input)
  if (Option.isNone(decoded)) return Either.left(`must be ${rule}, got ${shown}`)
  if (!Duration.isFinite(decoded.value)) {
    return options?.infinite === true ? Either.right(decoded.value) : Either.left(`must be ${rule}, got ${shown}`)
  }
  return Duration.toMillis(decoded.value) > 0
    ? Either.right(decoded.value)
    : Either.left(`must be ${rule}, got ${shown}`)
}

/**
 * {@link duration} as `InvalidInputError` on `field`.
 *
 * @internal
 */
export const positiveDuration = (
  input: Duration.DurationInput,
  field: string
): Either.Either<Duration.Duration, InvalidInputError> => check(field, duration(input))

/**
 * Decodes a JSON text with `schema` (surrounding whitespace allowed); the reason is Schema's, with the text quoted
 * (shortened) when it is not JSON at all.
 *
 * @internal
 */
export const decodeJson = <A, I>(schema: Schema.Schema<A, I>) => {
  const decode = Schema.decodeUnknownEither(Schema.parseJson(schema))
  return (text: string): Either.Either<A, string> =>
    Either.mapLeft(decode(text.trim()), (error) => ParseResult.TreeFormatter.formatErrorSync(error))
}

/**
 * Decodes a parsed JSON answer with `schema`; the reason is Schema's own description of what does not fit.
 *
 * @internal
 */
export const decodeAnswer = <A, I>(schema: Schema.Schema<A, I>) => {
  const decode = Schema.decodeUnknownEither(schema)
  return (json: unknown): Either.Either<A, string> =>
    Either.mapLeft(decode(json), (error) => ParseResult.TreeFormatter.formatErrorSync(error))
}

const decodeKeyAnswer = decodeAnswer(Schema.Struct({ key: Schema.NonEmptyString }))

/**
 * The key of a `{"key": …}` answer (insert, resumable commit, multipart complete), from its parsed JSON.
 *
 * @internal
 */
export const keyAnswer = (json: unknown): Either.Either<string, string> => {
  // The answer of every successful write: taken without a Schema run; anything else gets Schema's reason.
  const key = typeof json === "object" && json !== null ? (json as { readonly key?: unknown }).key : undefined
  if (typeof key === "string" && key !== "") return Either.right(key)
  return Either.map(decodeKeyAnswer(json), (answer) => answer.key)
}
