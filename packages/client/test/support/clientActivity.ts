/**
 * What the client does in real time that a fault server cannot see, for a test that moves a `TestClock` only when
 * nothing is happening (`faultSuite.ts`, `drive`):
 *
 * - **its connections**: request heads and body chunks written to a socket, response body chunks received (undici's
 *   diagnostics channels, per origin). A server that stopped reading sees nothing while the client still fills the
 *   socket buffers (several MB on loopback).
 * - **its codec**: `node:zlib`'s zstd streams (the codec `Compression.layer` picks on Node.js ≥ 22.15) compress and
 *   decompress on the libuv thread pool: while a chunk is being worked on, the event loop is idle and neither the
 *   server nor the client's sockets show anything, yet the client is busy, not waiting. (`zstd-napi`, the codec on
 *   Node.js 20, works on the main thread, so the event loop is blocked meanwhile and no test code runs.)
 *
 * The instruments only observe: undici's channels are published anyway, and the zlib hook notes, around the
 * runtime's own `_transform`, which transforms have a chunk in hand, changing nothing else. A transform whose
 * output buffer is full waits for its reader (a socket that no longer drains), not for the codec: it does not count.
 */
import * as diagnostics from "node:diagnostics_channel"
import type { Readable } from "node:stream"
import * as zlib from "node:zlib"

const lastByOrigin = new Map<string, number>()
let lastCodec = 0
/** The transforms with a chunk in hand (until zlib calls back). */
const working = new Set<Readable>()

/**
 * Whether a codec is working now: a transform has a chunk in hand and room for its output. With its output buffer
 * full it waits for its reader (zlib resumes once read), which is the reader's wait, not the codec's work.
 */
const codecBusy = (): boolean => {
  for (const transform of working) {
    if (transform.readableLength < transform.readableHighWaterMark) return true
  }
  return false
}

const originOf = (message: unknown): string | undefined => {
  const origin = (message as { request?: { origin?: unknown } }).request?.origin
  return origin === undefined ? undefined : String(origin).replace(/\/$/, "")
}

const touch = (message: unknown) => {
  const origin = originOf(message)
  if (origin !== undefined) lastByOrigin.set(origin, performance.now())
}

let installed = false

/** Starts observing (once per process). */
const install = () => {
  if (installed) return
  installed = true
  for (
    const name of [
      "undici:client:sendHeaders",
      "undici:request:bodyChunkSent",
      "undici:request:bodySent",
      "undici:request:headers",
      "undici:request:bodyChunkReceived"
    ]
  ) diagnostics.subscribe(name, touch)
  const Compress = (zlib as { ZstdCompress?: { prototype: object } }).ZstdCompress
  if (Compress === undefined) return
  // The prototype that defines `_transform` for the zstd streams (zlib's base class).
  let owner: object | null = Compress.prototype
  while (owner !== null && !Object.prototype.hasOwnProperty.call(owner, "_transform")) {
    owner = Object.getPrototypeOf(owner) as object | null
  }
  if (owner === null) return
  type Transform = (
    this: Readable,
    chunk: unknown,
    encoding: unknown,
    callback: (...args: Array<unknown>) => void
  ) => void
  const target = owner as { _transform: Transform }
  const original = target._transform
  target._transform = function(this: Readable, chunk, encoding, callback) {
    working.add(this)
    lastCodec = performance.now()
    const finish = () => {
      if (!working.delete(this)) return
      lastCodec = performance.now()
      this.removeListener("close", finish)
    }
    // A transform destroyed mid-chunk still calls back (zlib's `processCallback`); `close` is the safety net.
    this.once("close", finish)
    return original.call(this, chunk, encoding, (...args) => {
      finish()
      callback(...args)
    })
  }
}

install()

/**
 * The last time (`performance.now()`) the client did something towards `origin` (`http://127.0.0.1:port`) or its
 * codec worked; `Infinity` while the codec is working now.
 */
export const lastActivity = (origin: string): number =>
  codecBusy() ? Infinity : Math.max(lastByOrigin.get(origin.replace(/\/$/, "")) ?? 0, lastCodec)

/** Forgets `origin` (its fault server is gone). */
export const forget = (origin: string): void => {
  lastByOrigin.delete(origin.replace(/\/$/, ""))
}
