/**
 * The fault suite of `FaultSuite.test.ts` with the default options (connect 100 ms, response 30 s, idle 30 s, 3
 * retries exponential from 100 ms, `httpSpans` off): the client's deadlines run on a TestClock that is moved from
 * one pending timer to the next whenever nothing is being exchanged with the fault server, so a 30 s default costs
 * no 30 s of waiting (`support/faultSuite.ts`, `drive`). Every stall must end in `NetworkError` `Timeout` within
 * the documented bound, every other fault as with explicit deadlines, with the default number of attempts.
 */
import { assert, layer } from "@effect/vitest"
import * as NodeClient from "@objectstore/client/NodeClient"
import * as ObjectstoreClient from "@objectstore/client/ObjectstoreClient"
import * as Server from "@objectstore/server/Server"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Suite from "./support/faultSuite.js"

layer(Server.layer({ port: 0 }), { excludeTestServices: true, timeout: 60_000 })("faults × operations", (it) => {
  it.effect("the defaults the suite assumes are the documented ones", () =>
    Effect.sync(() => {
      assert.strictEqual(Duration.toMillis(NodeClient.DEFAULT_CONNECT_TIMEOUT), Suite.limits.default.connect)
      assert.strictEqual(Duration.toMillis(ObjectstoreClient.DEFAULT_TIMEOUT), Suite.limits.default.headers)
      assert.strictEqual(Duration.toMillis(ObjectstoreClient.DEFAULT_IDLE_TIMEOUT), Suite.limits.default.idle)
      assert.strictEqual(Duration.toMillis(NodeClient.DEFAULT_KEEP_ALIVE_TIMEOUT), Suite.limits.default.keepAlive)
    }))

  it.scoped(
    "default options (TestClock): every operation × every fault",
    () =>
      Effect.gen(function*() {
        const { cells, problems } = yield* Suite.matrix(yield* Suite.environment, "default")
        assert.strictEqual(cells, Suite.faults.length * Suite.operations.length)
        assert.deepStrictEqual(problems, [])
      }),
    { timeout: 120_000 }
  )
})
