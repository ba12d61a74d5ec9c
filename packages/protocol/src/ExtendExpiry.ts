/**
 * Extending an object's expiry (PROTOCOL §23): the JSON body of `PATCH /v1/objects/{usecase}/{scopes}/{key}` and
 * its duration grammar.
 *
 * The body is `{"extend_expiry":{"at":"<RFC 3339>"}}` or `{"extend_expiry":{"after":"<duration>","from":"creation"|"now"}}`;
 * unknown fields are rejected. Durations are written in `d h m s` units, largest first, space-separated
 * (`30d`, `1d 12h`, `90m`, zero as `0s`).
 *
 * @since 0.1.0
 */
import * as Either from "effect/Either"
import * as Option from "effect/Option"
import * as Timestamp from "./Timestamp.js"

/**
 * What a `PATCH` asks for: a deadline, or a duration from the object's creation or from now.
 *
 * @since 0.1.0
 * @category models
 */
export type Request =
  | { readonly _tag: "At"; /** Epoch microseconds. */ readonly at: bigint; readonly text: string }
  | { readonly _tag: "After"; readonly seconds: number; readonly from: "creation" | "now" }

const UNITS = [["d", 86_400], ["h", 3_600], ["m", 60], ["s", 1]] as const

/**
 * Formats whole seconds in the `d h m s` grammar: every non-zero unit, largest first, space-separated; zero is
 * `0s`.
 *
 * @since 0.1.0
 * @category formatting
 */
export const formatDuration = (seconds: number): string => {
  if (!Number.isSafeInteger(seconds) || seconds < 0) throw new RangeError(`not a whole number of seconds: ${seconds}`)
  if (seconds === 0) return "0s"
  const terms: Array<string> = []
  let rest = seconds
  for (const [unit, size] of UNITS) {
    const n = Math.floor(rest / size)
    rest -= n * size
    if (n > 0) terms.push(`${n}${unit}`)
  }
  return terms.join(" ")
}

/**
 * Parses the `d h m s` grammar: one or more `<digits><unit>` terms with units among `d`, `h`, `m`, `s`, each at
 * most once and largest first, separated by single spaces. Returns whole seconds.
 *
 * @since 0.1.0
 * @category parsing
 */
export const parseDuration = (text: string): Either.Either<number, string> => {
  const bad = Either.left(
    `invalid duration ${JSON.stringify(text)}: expected terms like "30d", "1d 12h" or "0s" (units d, h, m, s)`
  )
  if (text === "") return bad
  let next = 0
  let total = 0
  for (const term of text.split(" ")) {
    const match = /^([0-9]+)([dhms])$/.exec(term)
    if (match === null) return bad
    const index = UNITS.findIndex(([unit]) => unit === match[2])
    if (index < next) return bad
    next = index + 1
    total += Number(match[1]) * UNITS[index]![1]
  }
  return Number.isSafeInteger(total) ? Either.right(total) : Either.left(`duration ${JSON.stringify(text)} is too long`)
}

const isRecord = (u: unknown): u is Record<string, unknown> => typeof u === "object" && u !== null && !Array.isArray(u)

const onlyFields = (value: Record<string, unknown>, path: string, allowed: ReadonlyArray<string>) => {
  for (const name of Object.keys(value)) {
    if (!allowed.includes(name)) {
      return `${path}unknown field \`${name}\`, expected ${allowed.map((a) => `\`${a}\``).join(" or ")}`
    }
  }
  return undefined
}

/**
 * Parses a request body already decoded from JSON. `Left` is the reason (the server answers 422).
 *
 * @since 0.1.0
 * @category parsing
 */
export const parse = (json: unknown): Either.Either<Request, string> => {
  if (!isRecord(json)) return Either.left("invalid type: expected struct ExtendRequest")
  const unknown = onlyFields(json, "", ["extend_expiry"])
  if (unknown !== undefined) return Either.left(unknown)
  const body = json.extend_expiry
  if (body === undefined) return Either.left("missing field `extend_expiry`")
  if (!isRecord(body)) return Either.left("extend_expiry: invalid type: expected struct")
  const unknownInner = onlyFields(body, "extend_expiry: ", ["at", "after", "from"])
  if (unknownInner !== undefined) return Either.left(unknownInner)
  if (body.at !== undefined) {
    if (body.after !== undefined || body.from !== undefined) {
      return Either.left("extend_expiry: `at` cannot be combined with `after` or `from`")
    }
    if (typeof body.at !== "string") return Either.left("extend_expiry.at: invalid type: expected a string")
    const at = Timestamp.parse(body.at)
    if (Option.isNone(at)) return Either.left(`extend_expiry.at: invalid RFC 3339 timestamp ${JSON.stringify(body.at)}`)
    return Either.right({ _tag: "At", at: at.value, text: body.at })
  }
  if (body.after === undefined) return Either.left("extend_expiry: expected `at`, or `after` and `from`")
  if (typeof body.after !== "string") return Either.left("extend_expiry.after: invalid type: expected a string")
  if (body.from !== "creation" && body.from !== "now") {
    return Either.left(
      body.from === undefined
        ? "extend_expiry: missing field `from`"
        : "extend_expiry.from: unknown variant, expected `creation` or `now`"
    )
  }
  const seconds = parseDuration(body.after)
  if (Either.isLeft(seconds)) return Either.left(`extend_expiry.after: ${seconds.left}`)
  return Either.right({ _tag: "After", seconds: seconds.right, from: body.from })
}

/**
 * The JSON body of a request.
 *
 * @since 0.1.0
 * @category encoding
 */
export const encode = (request: Request): string =>
  JSON.stringify({
    extend_expiry: request._tag === "At"
      ? { at: request.text }
      : { after: formatDuration(request.seconds), from: request.from }
  })
