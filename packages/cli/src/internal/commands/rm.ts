/**
 * `objectstore rm KEY…`: deletes objects, one or a list.
 *
 * @internal
 */
import * as Args from "@effect/cli/Args"
import type * as Session from "@objectstore/client/Session"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import * as Stream from "effect/Stream"
import * as CliError from "../../CliError.js"
import * as Stdio from "../../Stdio.js"
import * as Bulk from "../bulk.js"
import * as Help from "../help.js"
import * as Shared from "../shared.js"

/** @internal */
export const rm = Help.define("rm", {
  summary: "delete objects",
  usage: "[OPTIONS] KEY... | --from FILE",
  synopsis: "KEY...",
  description: "Deletes objects: the keys given, and the keys listed in --from FILE (one per line, or the key " +
    "column of a manifest). A missing object is not an error. More than one key goes through batch requests.",
  examples: ["objectstore rm reports/2026-11-28.pdf", "objectstore rm --from manifest.tsv"]
}, {
  keys: Help.arg(Args.repeated(Args.text({ name: "key" })), "KEY...", "the keys to delete"),
  from: Help.optional("from", {
    value: "FILE",
    help: "also delete the keys listed in FILE (- for standard input)"
  }),
  json: Shared.json("one line per key and a summary line"),
  ...Shared.connection
}, (flags) =>
  Effect.gen(function*() {
    const stdio = yield* Stdio.Stdio
    if (flags.keys.length === 0 && Option.isNone(flags.from)) {
      return yield* CliError.usage("nothing to delete", "give keys, or --from FILE")
    }
    return yield* Shared.withSession(flags, (session): Effect.Effect<void, CliError.CliError | Session.DeleteError> => {
      if (Option.isNone(flags.from) && flags.keys.length === 1) {
        const key = flags.keys[0]!
        return Effect.zipRight(
          session.delete(key),
          flags.json ? Shared.printJson(stdio, { key, deleted: true }) : Effect.void
        )
      }
      const lines = Stream.concat(
        Stream.fromIterable(flags.keys),
        Option.isSome(flags.from) ? Shared.linesOf(stdio, flags.from.value) : Stream.empty
      )
      return Effect.asVoid(Bulk.deleteMany(session, stdio, lines, flags.json))
    })
  }))
