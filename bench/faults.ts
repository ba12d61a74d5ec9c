/**
 * The fault × operation table: every client operation against every fault of the loopback fault server
 * (`packages/client/test/support/faultServer.ts`), in front of the local server (in this process, memory storage).
 * For each cell: the outcome (typed error tag and reason, or `ok`), the time it took, the attempts the fault server
 * saw (and the client reports), and the connections left open afterwards. The same cells run in the test suite
 * (`packages/client/test/FaultSuite.test.ts`), which asserts them.
 *
 * - `explicit`: short explicit deadlines (connect 150 ms, headers 600 ms, idle 500 ms, 1 retry 20 ms later, keep-alive 250 ms, httpSpans on), real
 *   time.
 * - `default`: the default options (connect 100 ms, headers 30 s, idle 30 s, 3 retries exponential from 100 ms),
 *   on a TestClock moved from timer to timer whenever the fault server is quiet: times are what the client's clock
 *   says (so 30 s costs no 30 s), exact to the timer.
 * - `connect`: the connect deadline alone, real time: single attempts against a full accept queue (item 3 of
 *   issue 13), `--rounds` each.
 *
 *   node --import tsx bench/faults.ts [explicit|default|connect ...] [--only <text>] [--rounds <n>]
 */
import * as NodeRuntime from "@effect/platform-node/NodeRuntime"
import { ObjectstoreClient, Scope, Usecase } from "@objectstore/client"
import * as NodeClient from "@objectstore/client/NodeClient"
import * as Server from "@objectstore/server/Server"
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as os from "node:os"
import * as FaultServer from "../packages/client/test/support/faultServer.js"
import * as Suite from "../packages/client/test/support/faultSuite.js"

const args = process.argv.slice(2)
const flag = (name: string) => {
  const i = args.indexOf(name)
  return i >= 0 ? args[i + 1] : undefined
}
const modes = args.filter((arg) => ["explicit", "default", "connect"].includes(arg))
const selected = modes.length === 0 ? ["explicit", "default", "connect"] : modes
const only = flag("--only")
const rounds = Number(flag("--rounds") ?? 20)

const seconds = (millis: number) => millis >= 10_000 ? `${(millis / 1000).toFixed(1)} s` : `${Math.round(millis)} ms`

interface Row {
  readonly result: Suite.Result
  readonly problems: ReadonlyArray<string>
}

const table = (rows: ReadonlyArray<Row>) => {
  const lines = [
    "| operation | fault | outcome | time | attempts (server / client) | retries | open after | as documented |",
    "|---|---|---|---|---|---|---|---|"
  ]
  for (const { problems, result: r } of rows) {
    lines.push(
      `| ${r.operation} | ${r.fault} | ${r.outcome} | ${seconds(r.millis)} | ${r.faulted} / ${r.attempts ?? "-"} | ${
        r.retries ?? "-"
      } | ${r.open}${r.lingering === undefined ? "" : ` (${r.lingering} after keep-alive)`} | ${
        problems.length === 0 ? "yes" : `**no**: ${problems.map((p) => p.replace(/^[^:]*: [^:]*: /, "")).join("; ")}`
      } |`
    )
  }
  return lines.join("\n")
}

const matrix = (env: Suite.Env, mode: Suite.Mode) =>
  Effect.forEach(
    Suite.faults.flatMap((fault) =>
      Suite.operations
        .filter((operation) => only === undefined || `${operation.name} ${fault.name}`.includes(only))
        .map((operation) => [operation, fault] as const)
    ),
    ([operation, fault]) =>
      Effect.scoped(Suite.runCell(env, operation, fault, mode)).pipe(
        Effect.map((result): Row => ({ result, problems: Suite.check(operation, fault, result) })),
        Effect.timeoutFail({ duration: "120 seconds", onTimeout: () => new Error("cell did not finish") }),
        Effect.tapError(() =>
          Effect.sync(() => process.stderr.write(`${operation.name} × ${fault.name}: did not finish in 120 s\n`))
        )
      ),
    // one at a time per operation: the figures are of each cell, not of a saturated process
    { concurrency: Suite.operations.length }
  )

/** Single attempts against a full accept queue: when does the connect deadline fire? */
const connect = Effect.gen(function*() {
  const lines = ["| connectTimeout | median | min | max | late by (median) |", "|---|---|---|---|---|"]
  for (const timeout of [100, 250, 1000, 2000]) {
    const times: Array<number> = []
    for (let i = 0; i < (timeout >= 1000 ? Math.ceil(rounds / 4) : rounds); i++) {
      const millis = yield* Effect.scoped(Effect.gen(function*() {
        const server = yield* FaultServer.make({ fault: { _tag: "NeverAccept" }, upstream: "http://127.0.0.1:1" })
        const context = yield* Layer.build(
          NodeClient.layer({ baseUrl: server.url, connectTimeout: `${timeout} millis`, retry: false, metrics: false })
        )
        const client = Context.get(context, ObjectstoreClient.ObjectstoreClient)
        const session = yield* client.session(Usecase.make("faults"), Scope.make({ org: 1 }))
        const start = performance.now()
        yield* Effect.either(session.head("k"))
        return performance.now() - start
      }))
      times.push(millis)
    }
    times.sort((a, b) => a - b)
    const median = times[times.length >> 1]!
    lines.push(
      `| ${timeout} ms | ${median.toFixed(1)} ms | ${times[0]!.toFixed(1)} ms | ${times.at(-1)!.toFixed(1)} ms | ${
        (median - timeout).toFixed(1)
      } ms |`
    )
  }
  return lines.join("\n")
})

const main = Effect.gen(function*() {
  const env = yield* Suite.environment
  const load = () => os.loadavg().map((n) => n.toFixed(2)).join(" / ")
  console.log(`# Fault × operation\n\nNode ${process.version}; load average before: ${load()}\n`)
  for (const mode of selected) {
    const start = performance.now()
    if (mode === "connect") {
      console.log(`## connect deadline (real time, single attempts, full accept queue)\n\n${yield* connect}\n`)
    } else {
      const results = yield* matrix(env, mode as Suite.Mode)
      const failing = results.filter((row) => row.problems.length > 0).length
      console.log(
        `## ${
          mode === "explicit"
            ? "explicit short deadlines (real time)"
            : "default options (TestClock time, moved timer to timer)"
        }\n\n${table(results)}\n\n${failing} of ${results.length} cells differ from the documented behaviour.\n`
      )
    }
    console.log(`_${mode}: ${((performance.now() - start) / 1000).toFixed(1)} s of wall time; load: ${load()}_\n`)
  }
}).pipe(Effect.scoped, Effect.provide(Server.layer({ port: 0 })))

NodeRuntime.runMain(main)
