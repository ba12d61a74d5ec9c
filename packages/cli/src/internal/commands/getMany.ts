/**
 * `objectstore get-many LIST`: downloads a list of keys into a folder, skipping unchanged files.
 *
 * @internal
 */
import * as Args from "@effect/cli/Args"
import * as Effect from "effect/Effect"
import * as Stdio from "../../Stdio.js"
import * as Bulk from "../bulk.js"
import * as Files from "../files.js"
import * as Help from "../help.js"
import * as Shared from "../shared.js"

/** @internal */
export const getMany = Help.define("get-many", {
  summary: "download a list of keys into a folder, skipping unchanged files",
  usage: "[OPTIONS] --dir DIR [LIST|-]",
  synopsis: "[LIST|-]",
  description: "Downloads the keys of LIST into DIR: lines KEY (saved under the key), PATH<TAB>KEY or " +
    "{\"path\",\"key\"}, as put-dir --write-manifest writes them. Checksums are verified; files appear only when " +
    "complete, and files already there with the same SHA-256 are skipped. Each failure is reported; exit code 5 " +
    "when some objects failed.",
  examples: [
    "objectstore get-many manifest.tsv --dir ./restored",
    "printf 'a.txt\\nb.txt\\n' | objectstore get-many --dir out --json"
  ]
}, {
  list: Help.arg(
    Args.withDefault(Args.text({ name: "list" }), "-"),
    "LIST|-",
    "the file listing the keys, or - for standard input (the default)"
  ),
  dir: Help.required("dir", { alias: "d", value: "DIR", help: "the folder to download into" }),
  force: Help.boolean("force", { help: "download even the files that are already there" }),
  concurrency: Help.integer("concurrency", 4, { min: 1 }, { value: "N", help: "large objects downloaded at once" }),
  json: Shared.bulkJson,
  ...Shared.connection
}, (flags) =>
  Effect.gen(function*() {
    const stdio = yield* Stdio.Stdio
    if (!Shared.isDash(flags.list)) yield* Files.statFile(flags.list)
    return yield* Shared.withSession(flags, (session) =>
      Bulk.getMany(session, stdio, {
        lines: Shared.linesOf(stdio, flags.list),
        outDir: flags.dir,
        concurrency: flags.concurrency,
        force: flags.force,
        json: flags.json
      }))
  }))
