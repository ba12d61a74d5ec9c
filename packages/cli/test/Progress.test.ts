/**
 * The progress line: what it shows as a terminal gets narrower, and that the `+` of "more to come" goes once the
 * list of work is complete, while the work goes on.
 */
import { assert, describe, it } from "@effect/vitest"
import * as Stdio from "@objectstore/cli/Stdio"
import type * as Session from "@objectstore/client/Session"
import * as Effect from "effect/Effect"
import * as Fiber from "effect/Fiber"
import * as Stream from "effect/Stream"
import * as fs from "node:fs"
import * as path from "node:path"
import { eventually } from "../../../test/support.js"
import * as Bulk from "../src/internal/bulk.js"
import * as Progress from "../src/internal/progress.js"
import { tempDir } from "./helpers.js"

const state: Progress.State = {
  label: "upload",
  objects: true,
  bytes: true,
  objectsDone: 12,
  totalObjects: 201,
  bytesDone: 10 * 1024 * 1024,
  totalBytes: 50 * 1024 * 1024,
  final: true,
  millis: 2000
}

describe("progress line", () => {
  it("shows objects, bytes, rate, time and time left, and drops the least useful parts first", () => {
    assert.strictEqual(
      Progress.line(state, 100),
      "upload  12/201 objects  10.0 MiB/50.0 MiB  5.0 MiB/s  2.0 s  ETA 8.0 s"
    )
    assert.strictEqual(Progress.line(state, 66), "upload  12/201 objects  10.0 MiB/50.0 MiB  5.0 MiB/s  ETA 8.0 s")
    assert.strictEqual(Progress.line(state, 60), "upload  12/201 objects  10.0 MiB/50.0 MiB  ETA 8.0 s")
    assert.strictEqual(Progress.line(state, 50), "upload  12/201 objects  10.0 MiB/50.0 MiB")
    assert.strictEqual(Progress.line(state, 40), "upload  12/201 objects")
    assert.strictEqual(Progress.line(state, 12), "upload  12/")
    for (const width of [1, 12, 40, 50, 60, 66, 100]) {
      assert.isAtMost(Progress.line(state, width).length, Math.max(1, width - 1), `width ${width}`)
    }
  })

  it("marks totals still growing with +, and gives no time left then, nor for under a second", () => {
    assert.strictEqual(
      Progress.line({ ...state, final: false }, 100),
      "upload  12/201+ objects  10.0 MiB/50.0 MiB+  5.0 MiB/s  2.0 s"
    )
    assert.notInclude(Progress.line({ ...state, bytesDone: state.totalBytes - 1024 }, 100), "ETA")
  })

  it("one upload counts bytes (of an unknown total from standard input); deletes count objects", () => {
    const one = { ...state, objects: false, objectsDone: 0, totalObjects: 0, totalBytes: 0 }
    assert.strictEqual(Progress.line(one, 100), "upload  10.0 MiB  5.0 MiB/s  2.0 s")
    assert.strictEqual(Progress.line({ ...state, label: "delete", bytes: false }, 100), "delete  12/201 objects  2.0 s")
  })

  it.live("put-dir drops the + as soon as the tree is walked, while an upload is still going", () =>
    Effect.gen(function*() {
      const root = tempDir("progress-tree")
      fs.writeFileSync(path.join(root, "a.bin"), new Uint8Array(2048))
      fs.writeFileSync(path.join(root, "b.bin"), new Uint8Array(4096))
      // a session whose uploads never finish: only the walk can end
      const session = {
        many: (operations: Stream.Stream<unknown>) => Stream.drain(operations),
        upload: () => Effect.never
      } as unknown as Session.Service
      const capture = Stdio.makeCapture({ tty: true })
      const stdio = yield* Effect.provide(Stdio.Stdio, capture.layer)
      const fiber = yield* Effect.fork(
        Bulk.putDir(session, stdio, {
          root,
          prefix: "",
          manifest: undefined,
          writeManifest: undefined,
          threshold: 1024,
          partSize: undefined,
          concurrency: 2,
          force: true,
          json: false,
          put: {}
        })
      )
      yield* eventually(Effect.sync(() => capture.stderr()), (stderr) => stderr.includes("upload  0/2 objects  "))
      assert.notInclude(capture.stderr().split("\r").at(-2) ?? "", "+")
      yield* Fiber.interrupt(fiber)
      assert.isTrue(capture.stderr().endsWith("\r\x1b[K"), "the line is erased when the job stops")
    }))
})
