/**
 * Parsing of command-line values and human-readable formatting.
 *
 * @internal
 */
import * as ProtocolRange from "@objectstore/protocol/Range"
import * as ProtocolScope from "@objectstore/protocol/Scope"
import * as Either from "effect/Either"

/**
 * Parses scope arguments (repeated `--scope` flags add components in order); each is the written form of
 * `ProtocolScope.parseText` (`org=42;project=1337` or `org=42 project=1337`).
 *
 * @internal
 */
export const parseScope = (
  texts: ReadonlyArray<string>,
  allowWildcard = false
): Either.Either<ProtocolScope.Components, string> =>
  ProtocolScope.parseText(texts.join(";"), { wildcard: allowWildcard })

/**
 * Parses `name=value` metadata pairs.
 *
 * @internal
 */
export const parsePairs = (
  texts: ReadonlyArray<string>,
  what: string
): Either.Either<Record<string, string>, string> => {
  const out: Record<string, string> = {}
  for (const text of texts) {
    const eq = text.indexOf("=")
    if (eq <= 0) return Either.left(`bad ${what} ${JSON.stringify(text)}: expected name=value`)
    out[text.slice(0, eq).toLowerCase()] = text.slice(eq + 1)
  }
  return Either.right(out)
}

const units: Record<string, number> = {
  "": 1,
  b: 1,
  k: 1024,
  kb: 1000,
  kib: 1024,
  m: 1024 ** 2,
  mb: 1000 ** 2,
  mib: 1024 ** 2,
  g: 1024 ** 3,
  gb: 1000 ** 3,
  gib: 1024 ** 3
}

/**
 * Parses a byte size: `1048576`, `512KiB`, `8MiB`, `8M` (binary), `10MB` (decimal).
 *
 * @internal
 */
export const parseSize = (text: string): Either.Either<number, string> => {
  const match = /^\s*(\d+(?:\.\d+)?)\s*([a-z]*)\s*$/i.exec(text)
  const unit = match === null ? undefined : units[match[2]!.toLowerCase()]
  if (match === null || unit === undefined) {
    return Either.left(`bad size ${JSON.stringify(text)}: expected e.g. 1048576, 512KiB or 8MiB`)
  }
  const value = Math.floor(Number(match[1]) * unit)
  return value > 0 ? Either.right(value) : Either.left(`bad size ${JSON.stringify(text)}: must be positive`)
}

/**
 * Parses a byte range: `0-99` (inclusive), `100-` (from), `-50` (the last 50 bytes); a `bytes=` prefix is allowed.
 *
 * @internal
 */
export const parseRange = (text: string): Either.Either<ProtocolRange.ByteRange, string> => {
  const match = /^(?:bytes=)?(\d*)-(\d*)$/.exec(text.trim())
  const bad = Either.left(`bad range ${JSON.stringify(text)}: expected START-END, START- or -LENGTH`)
  if (match === null) return bad
  const [, start, end] = match
  if (start === "" && end === "") return bad
  if (start === "") return Either.right(ProtocolRange.suffix(Number(end)))
  if (end === "") return Either.right(ProtocolRange.from(Number(start)))
  if (Number(end) < Number(start)) return bad
  return Either.right(ProtocolRange.fromTo(Number(start), Number(end)))
}

/**
 * `1.5 MiB`, `312 B`.
 *
 * @internal
 */
export const bytes = (n: number): string => {
  if (n < 1024) return `${n} B`
  const names = ["KiB", "MiB", "GiB", "TiB"]
  let value = n / 1024
  let i = 0
  while (value >= 1024 && i < names.length - 1) {
    value /= 1024
    i++
  }
  return `${value.toFixed(value >= 100 ? 0 : 1)} ${names[i]}`
}

/**
 * `850 ms`, `12.3 s`, `4m05s`.
 *
 * @internal
 */
export const duration = (millis: number): string => {
  if (millis < 1000) return `${Math.round(millis)} ms`
  if (millis < 60_000) return `${(millis / 1000).toFixed(1)} s`
  const s = Math.round(millis / 1000)
  return `${Math.floor(s / 60)}m${String(s % 60).padStart(2, "0")}s`
}

/**
 * Parses one line of a key list or manifest: `a<TAB>b`, JSON `{"path":…,"key":…}`, or a single column. Empty
 * lines and `#` comments give `undefined`.
 *
 * @internal
 */
export const parseListLine = (
  line: string
): Either.Either<
  | { readonly path: string | undefined; readonly key: string | undefined; readonly single: string | undefined }
  | undefined,
  string
> => {
  const text = line.replace(/\r$/, "")
  if (text.trim() === "" || text.startsWith("#")) return Either.right(undefined)
  if (text.trimStart().startsWith("{")) {
    let parsed: unknown
    try {
      parsed = JSON.parse(text)
    } catch {
      return Either.left("not valid JSON")
    }
    const record = parsed as Record<string, unknown>
    const path = typeof record.path === "string" ? record.path : undefined
    const key = typeof record.key === "string" ? record.key : undefined
    if (path === undefined && key === undefined) return Either.left("a JSON line needs \"path\" or \"key\"")
    return Either.right({ path, key, single: undefined })
  }
  const tab = text.indexOf("\t")
  if (tab >= 0) return Either.right({ path: text.slice(0, tab), key: text.slice(tab + 1), single: undefined })
  return Either.right({ path: undefined, key: undefined, single: text })
}
