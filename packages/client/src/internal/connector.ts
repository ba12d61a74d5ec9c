/**
 * How `NodeClient`'s undici pools open connections: undici's own connector, with two changes.
 *
 * - **A precise connect deadline.** undici's connect timer runs on its coarse timer wheel (a 500 ms tick), so a
 *   100 ms `connectTimeout` fired after about a second. Here the deadline is a timer of its own on Effect's
 *   `Clock` (see `watchdog.schedule`): it fires within a few milliseconds of the configured value, and follows
 *   `TestClock` in tests. As undici does, the deadline is declared only after pending I/O has been handled, so a
 *   connection that completed while the event loop was busy is not failed.
 * - **The server's answer wins over a broken upload.** A server may answer a request before it has read the body
 *   (413, 429, 503...) and then reset the connection. If the client writes the next chunk of the body after the
 *   reset has arrived but before it has read the answer, the write fails (`ECONNRESET`, `EPIPE`) and undici would
 *   destroy the connection with that error, losing the answer still waiting in the socket. Here a write that
 *   fails so is reported as done: the rest of the body goes nowhere, the answer is read and becomes the outcome,
 *   and if the connection ends with no answer the write error is what the request fails with.
 *
 * @internal
 */
import * as Undici from "@effect/platform-node/Undici"
import type * as Clock from "effect/Clock"
import type * as net from "node:net"
import * as Watchdog from "./watchdog.js"

/** Errors of a write to a connection the server has reset or closed. */
const brokenPipe = new Set(["ECONNRESET", "EPIPE"])

type WriteCallback = (error?: Error | null) => void

interface Writes {
  _write: (chunk: unknown, encoding: BufferEncoding, callback: WriteCallback) => void
  _writev?: ((chunks: Array<{ chunk: unknown; encoding: BufferEncoding }>, callback: WriteCallback) => void) | undefined
}

/**
 * Makes the socket's writes to a reset connection succeed silently, keeping the error for when the connection ends
 * (see the module documentation).
 *
 * @internal
 */
export const keepAnswers = (socket: net.Socket): void => {
  const writes = socket as unknown as Writes
  let broken: Error | undefined
  const guard = (callback: WriteCallback): WriteCallback => (error) => {
    const code = (error as { code?: unknown } | null | undefined)?.code
    if (error !== null && error !== undefined && typeof code === "string" && brokenPipe.has(code)) {
      broken ??= error
      return callback()
    }
    callback(error)
  }
  const write = writes._write
  writes._write = function(this: net.Socket, chunk, encoding, callback) {
    if (broken !== undefined) return callback()
    return write.call(this, chunk, encoding, guard(callback))
  }
  const writev = writes._writev
  if (writev !== undefined) {
    writes._writev = function(this: net.Socket, chunks, callback) {
      if (broken !== undefined) return callback()
      return writev.call(this, chunks, guard(callback))
    }
  }
  // The connection ended without an answer completing the request: fail it with the write error, as undici would
  // have done at once. (This listener is added before undici's own.)
  socket.once("end", () => {
    if (broken !== undefined) socket.destroy(broken)
  })
}

/**
 * A connector with a precise deadline of `timeout` milliseconds on `clock` (`Infinity`: none) whose sockets keep
 * the server's answers (see the module documentation).
 *
 * @internal
 */
export const make = (
  options: { readonly timeout: number; readonly clock: Clock.Clock }
): Undici.buildConnector.connector => {
  const base = Undici.buildConnector({ timeout: 0 }) as unknown as (
    options: Undici.buildConnector.Options,
    callback: Undici.buildConnector.Callback
  ) => net.Socket
  const { clock, timeout } = options
  return (connectOptions, callback) => {
    let pending = true
    let cancel: (() => void) | undefined
    const socket = base(connectOptions, (error, connected) => {
      if (!pending) {
        connected?.destroy()
        return
      }
      pending = false
      cancel?.()
      if (error !== null) return callback(error, null)
      keepAnswers(connected as net.Socket)
      callback(null, connected)
    })
    if (timeout !== Infinity && pending) {
      cancel = Watchdog.schedule(clock, timeout, () => {
        if (!pending) return
        pending = false
        const error = new Undici.errors.ConnectTimeoutError(
          `Connect Timeout Error (attempted address: ${connectOptions.hostname}:${connectOptions.port}, timeout: ${
            Math.round(timeout)
          }ms)`
        )
        socket.destroy(error)
        callback(error, null)
      })
    }
  }
}
