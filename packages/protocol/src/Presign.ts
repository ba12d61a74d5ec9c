/**
 * Pre-signed URLs (PROTOCOL §13): the query parameters, their lenient parsing on the server, and the canonical form
 * that is signed with Ed25519.
 *
 * The canonical form is `METHOD "\n" PATH "\n" CANONICAL_QUERY`, where the method is uppercase with `HEAD` mapped
 * to `GET`, the path is the raw wire path, and the query is the raw query split on `&` with names lowercased,
 * `os_sig` dropped and pieces sorted by byte order. Values are never decoded.
 *
 * @since 0.1.0
 */
import * as Either from "effect/Either"
import { compareUtf8, decodeUtf8, percentDecodeBytes } from "./internal/bytes.js"
import * as Path from "./Path.js"

/**
 * The longest validity of a pre-signed URL: 7 days, in seconds.
 *
 * @since 0.1.0
 * @category constants
 */
export const MAX_DURATION_SECONDS = 604_800

/**
 * The time a signed timestamp may lie in the future (clock skew allowance), in seconds.
 *
 * @since 0.1.0
 * @category constants
 */
export const SKEW_SECONDS = 60

/**
 * @since 0.1.0
 * @category constants
 */
export const PARAM_KID = "os_kid"

/**
 * @since 0.1.0
 * @category constants
 */
export const PARAM_TIMESTAMP = "os_timestamp"

/**
 * @since 0.1.0
 * @category constants
 */
export const PARAM_DURATION = "os_duration"

/**
 * @since 0.1.0
 * @category constants
 */
export const PARAM_SIGNATURE = "os_sig"

const lowerAscii = (text: string): string => text.replace(/[A-Z]/g, (c) => c.toLowerCase())

/**
 * The canonical string that is signed (§13.2). `path` is the encoded path exactly as sent; `rawQuery` is the raw
 * query text without the leading `?` (empty when there is none).
 *
 * @example
 * ```ts
 * import * as Presign from "@objectstore/protocol/Presign"
 *
 * Presign.canonicalForm("HEAD", "/v1/objects/testing/_/key", "b=2&A=1&os_sig=x")
 * // "GET\n/v1/objects/testing/_/key\na=1&b=2"
 * ```
 *
 * @since 0.1.0
 * @category encoding
 */
export const canonicalForm = (method: string, path: string, rawQuery: string): string => {
  const upper = method.toUpperCase()
  const pieces: Array<string> = []
  for (const piece of rawQuery.split("&")) {
    if (piece.length === 0) continue
    const eq = piece.indexOf("=")
    const name = lowerAscii(eq < 0 ? piece : piece.slice(0, eq))
    if (name === PARAM_SIGNATURE) continue
    pieces.push(eq < 0 ? name : name + piece.slice(eq))
  }
  pieces.sort(compareUtf8)
  return `${upper === "HEAD" ? "GET" : upper}\n${path}\n${pieces.join("&")}`
}

/**
 * Whether the raw query makes a request pre-signed (§12.1): some `&`-separated piece is named exactly `os_sig`
 * (the text before its first `=`, or the whole piece), compared before any decoding.
 *
 * @since 0.1.0
 * @category guards
 */
export const isPresigned = (rawQuery: string): boolean =>
  rawQuery.split("&").some((piece) => {
    const eq = piece.indexOf("=")
    return (eq < 0 ? piece : piece.slice(0, eq)) === PARAM_SIGNATURE
  })

/**
 * The parsed pre-sign parameters.
 *
 * @since 0.1.0
 * @category models
 */
export interface Params {
  readonly kid: string
  /** The signing time (fractions below a millisecond are dropped). */
  readonly timestamp: Date
  /** The signing time in epoch milliseconds. */
  readonly timestampMillis: number
  /** Validity in seconds (not yet checked against {@link MAX_DURATION_SECONDS}). */
  readonly duration: number
  /** The raw (form-decoded, not base64-decoded) signature. */
  readonly signature: string
}

const formDecode = (text: string): string => {
  const bytes = percentDecodeBytes(text.replace(/\+/g, " "))
  return decodeUtf8(bytes) ?? new TextDecoder().decode(bytes)
}

/**
 * Form-decodes a raw query into `[name, value]` pairs (`+` is a space, invalid percent sequences are kept).
 *
 * @since 0.1.0
 * @category decoding
 */
export const parseQuery = (rawQuery: string): Array<readonly [string, string]> => {
  const pairs: Array<readonly [string, string]> = []
  for (const piece of rawQuery.split("&")) {
    if (piece.length === 0) continue
    const eq = piece.indexOf("=")
    pairs.push(eq < 0 ? [formDecode(piece), ""] : [formDecode(piece.slice(0, eq)), formDecode(piece.slice(eq + 1))])
  }
  return pairs
}

const lenientTimestamp = /^(\d{4})-(\d{2})-(\d{2})[T ](\d{2}):(\d{2}):(\d{2})(?:\.(\d+))?(Z|\+00:00)?$/

/**
 * Parses an `os_timestamp` leniently (§13.1): `YYYY-MM-DD` (year 1970–9999), `T` or a space, `HH:MM:SS`, an optional
 * `.fraction` and an optional `Z` or `+00:00`; always UTC. Returns epoch milliseconds.
 *
 * @since 0.1.0
 * @category parsing
 */
export const parseTimestamp = (text: string): Either.Either<number, string> => {
  const match = lenientTimestamp.exec(text)
  if (match === null) return Either.left("invalid timestamp")
  const [year, month, day, hour, minute, second] = match.slice(1, 7).map(Number) as [
    number,
    number,
    number,
    number,
    number,
    number
  ]
  if (year < 1970 || month < 1 || month > 12 || day < 1 || hour > 23 || minute > 59 || second > 59) {
    return Either.left("invalid timestamp")
  }
  const millis = Date.UTC(year, month - 1, day, hour, minute, second)
  const check = new Date(millis)
  if (check.getUTCDate() !== day || check.getUTCMonth() !== month - 1) return Either.left("invalid timestamp")
  const fraction = Number((match[7] ?? "").slice(0, 3).padEnd(3, "0"))
  return Either.right(millis + fraction)
}

const MAX_U64 = 18_446_744_073_709_551_615n

/**
 * Parses the four pre-sign parameters from a raw query (§13.4 step 2): form-decoding, each exactly once,
 * `os_duration` an unsigned 64-bit integer, `os_timestamp` as {@link parseTimestamp}. The signature is not decoded
 * here.
 *
 * @since 0.1.0
 * @category parsing
 */
export const parseParams = (rawQuery: string): Either.Either<Params, string> => {
  const invalid = Either.left("presigned URL has missing or invalid parameters")
  const found = new Map<string, Array<string>>()
  for (const [name, value] of parseQuery(rawQuery)) {
    const values = found.get(name)
    if (values === undefined) found.set(name, [value])
    else values.push(value)
  }
  const one = (name: string): string | undefined => {
    const values = found.get(name)
    return values !== undefined && values.length === 1 ? values[0] : undefined
  }
  const kid = one(PARAM_KID)
  const timestamp = one(PARAM_TIMESTAMP)
  const duration = one(PARAM_DURATION)
  const signature = one(PARAM_SIGNATURE)
  if (kid === undefined || timestamp === undefined || duration === undefined || signature === undefined) {
    return invalid
  }
  if (!/^\+?[0-9]+$/.test(duration) || BigInt(duration) > MAX_U64) return invalid
  const millis = parseTimestamp(timestamp)
  if (Either.isLeft(millis)) return invalid
  return Either.right({
    kid,
    timestamp: new Date(millis.right),
    timestampMillis: millis.right,
    duration: Number(duration),
    signature
  })
}

const pad = (n: number, width = 2): string => n.toString().padStart(width, "0")

/**
 * Formats a signing time as clients send it: `YYYY-MM-DDTHH:MM:SSZ` (fractions of a second are dropped).
 *
 * @since 0.1.0
 * @category formatting
 */
export const formatTimestamp = (epochSeconds: number): string => {
  const date = new Date(Math.floor(epochSeconds) * 1000)
  return `${pad(date.getUTCFullYear(), 4)}-${pad(date.getUTCMonth() + 1)}-${pad(date.getUTCDate())}T${
    pad(date.getUTCHours())
  }:${pad(date.getUTCMinutes())}:${pad(date.getUTCSeconds())}Z`
}

/**
 * The encoded query a client signs and sends (§13.3, step 3):
 * `encodeQuery("os_kid=<kid>&os_timestamp=<time>&os_duration=<seconds>")`. Append `&os_sig=<signature>` to it
 * for the URL.
 *
 * @since 0.1.0
 * @category encoding
 */
export const signedQuery = (options: {
  readonly kid: string
  readonly epochSeconds: number
  readonly durationSeconds: number
}): string =>
  Path.encodeQuery(
    `${PARAM_KID}=${options.kid}&${PARAM_TIMESTAMP}=${formatTimestamp(options.epochSeconds)}&${PARAM_DURATION}=${
      Math.ceil(options.durationSeconds)
    }`
  )

/**
 * Whether a request at `nowMillis` lies in the validity window of §13.4 step 5:
 * `timestamp − 60 s ≤ now ≤ timestamp + duration`.
 *
 * @since 0.1.0
 * @category guards
 */
export const isWithinWindow = (params: Pick<Params, "timestampMillis" | "duration">, nowMillis: number): boolean =>
  params.timestampMillis - SKEW_SECONDS * 1000 <= nowMillis &&
  nowMillis <= params.timestampMillis + params.duration * 1000
