/**
 * Every operation against every fault of a loopback server that misbehaves on purpose (`support/faultServer.ts`), in
 * front of the real local server, through `NodeClient`'s transport, with explicit short deadlines on the live clock
 * and the transport's `http.client` spans on (`support/faultSuite.ts`; the default options are in
 * `FaultSuiteDefaults.test.ts`). Each cell must fail with the documented typed error (tag, reason, attempts and
 * what the retries did) or succeed, in bounded time (at least the deadlines it went through); the server must have
 * seen the documented number of attempts (a single-use body never twice); no connection may be left open beyond the
 * spare an abandoned request leaves, and none after the keep-alive timeout; and the token must appear in nothing a
 * recording tracer (span attributes, events and exits, serialised then and later) or a logger at level All was
 * given, nor in the error however it is printed, nor in a metric key. On a loaded machine, a cell that differs
 * while the event loop stalled past a deadline's scale is run again, alone (`Suite.matrix`).
 *
 * `node --import tsx bench/faults.ts` prints the same cells as a table.
 */
import { assert, layer } from "@effect/vitest"
import * as Server from "@objectstore/server/Server"
import * as Effect from "effect/Effect"
import * as Suite from "./support/faultSuite.js"

layer(Server.layer({ port: 0 }), { excludeTestServices: true, timeout: 60_000 })("faults × operations", (it) => {
  it.scoped(
    "explicit deadlines (live clock, httpSpans on): every operation × every fault",
    () =>
      Effect.gen(function*() {
        const { cells, problems, rerun } = yield* Suite.matrix(yield* Suite.environment, "explicit")
        if (rerun > 0) yield* Effect.logWarning(`${rerun} cell run(s) repeated after an event-loop stall`)
        assert.strictEqual(cells, Suite.faults.length * Suite.operations.length)
        assert.deepStrictEqual(problems, [])
      }),
    { timeout: 120_000 }
  )
})
