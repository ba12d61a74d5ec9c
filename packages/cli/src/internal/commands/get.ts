/**
 * `objectstore get KEY`: one download to standard output or a file.
 *
 * @internal
 */
import * as Args from "@effect/cli/Args"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import * as Stream from "effect/Stream"
import * as Stdio from "../../Stdio.js"
import * as Files from "../files.js"
import * as Format from "../format.js"
import * as Help from "../help.js"
import * as Shared from "../shared.js"

/** @internal */
export const get = Help.define("get", {
  summary: "download an object to standard output or a file",
  usage: "[OPTIONS] KEY",
  description: "Downloads an object, decompressed, to standard output or to -o FILE. A file is written under a " +
    "temporary name and renamed when complete, so it is never seen half-written.",
  examples: [
    "objectstore get reports/2026-11-28.pdf -o report.pdf",
    "objectstore get logs.tar | tar -t"
  ]
}, {
  key: Help.arg(Args.text({ name: "key" }), "KEY", "the object's key"),
  output: Help.optional("output", {
    alias: "o",
    value: "FILE",
    help: "write to FILE",
    default: "standard output"
  }),
  raw: Help.boolean("raw", { help: "the stored bytes, not decompressed" }),
  range: Help.optional("range", {
    value: "RANGE",
    help: "only bytes START-END, START- or -LENGTH of the stored bytes"
  }),
  json: Shared.json("{key, path, bytes, sha256} of a file written with -o"),
  ...Shared.connection
}, (flags) =>
  Effect.gen(function*() {
    const stdio = yield* Stdio.Stdio
    const range = yield* Shared.optionalEither(flags.range, Format.parseRange)
    return yield* Shared.withSession(flags, (session) =>
      Effect.scoped(Effect.gen(function*() {
        const response = yield* session.get(flags.key, {
          decompress: !flags.raw && range === undefined,
          range
        })
        const output = Option.getOrUndefined(flags.output)
        if (output === undefined || Shared.isDash(output)) {
          yield* Stream.run(response.stream, stdio.stdout)
          return
        }
        const written = yield* Files.writeAtomically(output, response.stream, () => Effect.void)
        if (flags.json) {
          yield* Shared.printJson(stdio, { key: flags.key, path: output, bytes: written.size, sha256: written.sha256 })
        }
      })))
  }))
