/**
 * Deterministic, realistic, semi-compressible payloads: JSON log lines (repeated vocabulary and structure, random ids,
 * numbers and hex traces) interleaved with short runs of random bytes, as attachments and event payloads look.
 * zstd level 3 compresses them about 3-4x (the exact ratio is reported by the workloads).
 */
import * as Random from "@objectstore/testing/Random"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import * as Stream from "effect/Stream"

const LEVELS = ["debug", "info", "info", "info", "warning", "error"]
const METHODS = ["GET", "GET", "GET", "POST", "PUT", "DELETE"]
const ROUTES = [
  "/api/0/projects/{org}/{project}/events/",
  "/api/0/organizations/{org}/issues/",
  "/api/0/projects/{org}/{project}/attachments/{id}/",
  "/api/0/organizations/{org}/releases/{id}/files/",
  "/api/0/projects/{org}/{project}/replays/{id}/recording-segments/"
]
const WORDS = [
  "request",
  "completed",
  "upstream",
  "timeout",
  "retrying",
  "cache",
  "miss",
  "hit",
  "stored",
  "attachment",
  "envelope",
  "processed",
  "rate",
  "limited",
  "symbolicated",
  "frames",
  "minidump",
  "sourcemap",
  "release",
  "artifact"
]

const hex = (random: () => number, digits: number): string => {
  let out = ""
  while (out.length < digits) out += Math.floor(random() * 0x100000000).toString(16).padStart(8, "0")
  return out.slice(0, digits)
}

/** `size` bytes of semi-compressible data from `seed`. */
export const semiCompressible = (size: number, seed = 1): Uint8Array => {
  const random = Random.seeded(seed)
  const out = new Uint8Array(size)
  const encoder = new TextEncoder()
  let offset = 0
  let ts = 1_700_000_000_000
  while (offset < size) {
    if (random() < 0.04) {
      // A short run of incompressible bytes (an embedded blob, a compressed field).
      const run = Math.min(size - offset, 64 + Math.floor(random() * 448))
      for (let i = 0; i < run; i++) out[offset + i] = Math.floor(random() * 256)
      offset += run
      continue
    }
    ts += Math.floor(random() * 50)
    const route = ROUTES[Math.floor(random() * ROUTES.length)]!
      .replace("{org}", `org-${Math.floor(random() * 40)}`)
      .replace("{project}", `p${Math.floor(random() * 400)}`)
      .replace("{id}", hex(random, 12))
    const words = Array.from({ length: 2 + Math.floor(random() * 5) }, () => WORDS[Math.floor(random() * WORDS.length)])
    const line = JSON.stringify({
      ts,
      level: LEVELS[Math.floor(random() * LEVELS.length)],
      host: `web-${Math.floor(random() * 32)}`,
      msg: `${METHODS[Math.floor(random() * METHODS.length)]} ${route} ${words.join(" ")}`,
      status: random() < 0.9 ? 200 : 500 + Math.floor(random() * 4),
      duration_ms: Math.round(random() * 250_000) / 100,
      trace_id: hex(random, 32),
      user: {
        id: Math.floor(random() * 1_000_000),
        ip: `10.${Math.floor(random() * 256)}.${Math.floor(random() * 256)}.7`
      }
    }) + "\n"
    const { written } = encoder.encodeInto(line, out.subarray(offset))
    offset += written
  }
  return out
}

/**
 * An endless source of semi-compressible chunks for payloads too big to hold: `chunkSize`-byte slices (copies) at
 * pseudo-random offsets of an 8 MiB pool, which is wider than zstd level 3's 2 MiB window, so the compression ratio
 * stays close to that of fresh data.
 */
export const chunkSource = (chunkSize: number, seed = 7): { readonly next: () => Uint8Array } => {
  const pool = semiCompressible(8 * 1024 * 1024, seed)
  const random = Random.seeded(seed + 1)
  return {
    next: () => {
      const start = Math.floor(random() * (pool.length - chunkSize))
      return pool.slice(start, start + chunkSize)
    }
  }
}

/**
 * `size` bytes (a multiple of `chunkSize`) as a stream of fresh chunks from {@link chunkSource}, one made per pull, so
 * the payload is never held whole.
 */
export const chunkStream = (size: number, chunkSize: number, seed?: number): Stream.Stream<Uint8Array> =>
  Stream.suspend(() => {
    const source = chunkSource(chunkSize, seed)
    let sent = 0
    return Stream.repeatEffectOption(Effect.suspend(() => {
      if (sent >= size) return Effect.fail(Option.none())
      sent += chunkSize
      return Effect.succeed(source.next())
    }))
  })

/** Splits bytes into views of `size` bytes (no copies). */
export const slices = (bytes: Uint8Array, size: number): Array<Uint8Array> => {
  const out: Array<Uint8Array> = []
  for (let offset = 0; offset < bytes.length; offset += size) out.push(bytes.subarray(offset, offset + size))
  return out
}
