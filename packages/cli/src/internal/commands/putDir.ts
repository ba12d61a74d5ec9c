/**
 * `objectstore put-dir DIR`: uploads a tree or the files of a manifest, skipping unchanged files.
 *
 * @internal
 */
import * as Args from "@effect/cli/Args"
import * as Multipart from "@objectstore/client/Multipart"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import * as Stdio from "../../Stdio.js"
import * as Bulk from "../bulk.js"
import * as Files from "../files.js"
import * as Format from "../format.js"
import * as Help from "../help.js"
import * as Shared from "../shared.js"

/** @internal */
export const putDir = Help.define("put-dir", {
  summary: "upload a folder tree, skipping unchanged files",
  usage: "[OPTIONS] DIR",
  description: "Uploads the files under DIR (or those --manifest lists), keyed by their relative paths: small files " +
    "in batches, large ones as multipart uploads. Objects keep their size and SHA-256 in their metadata, so a " +
    "re-run skips unchanged files. Each failure is reported; exit code 5 when some objects failed.",
  examples: [
    "objectstore put-dir ./artifacts --prefix nightly/ --write-manifest manifest.tsv",
    "objectstore put-dir . --manifest changed.txt --ttl 7d --json"
  ]
}, {
  dir: Help.arg(Args.text({ name: "dir" }), "DIR", "the folder to upload"),
  prefix: Help.withDefault("prefix", "", {
    value: "TEXT",
    help: "prepended to every key"
  }),
  manifest: Help.optional("manifest", {
    value: "FILE",
    help: "upload only the files listed: lines PATH, PATH<TAB>KEY or {\"path\",\"key\"}"
  }),
  writeManifest: Help.optional("write-manifest", {
    value: "FILE",
    help: "write PATH<TAB>KEY lines of what is on the server afterwards"
  }),
  force: Help.boolean("force", { help: "upload even the files that are already there" }),
  ...Shared.upload,
  threshold: Help.optional("multipart-threshold", {
    value: "SIZE",
    help: "files larger than this go up as multipart uploads",
    default: "the part size"
  }),
  concurrency: Help.integer("concurrency", 2, { min: 1 }, { value: "N", help: "large files uploaded at once" }),
  json: Shared.bulkJson,
  ...Shared.connection
}, (flags) =>
  Effect.gen(function*() {
    const stdio = yield* Stdio.Stdio
    const put = yield* Shared.putOptionsOf(flags)
    const partSize = yield* Shared.optionalEither(flags.partSize, Format.parseSize)
    const threshold = (yield* Shared.optionalEither(flags.threshold, Format.parseSize)) ?? partSize ??
      Multipart.DEFAULT_PART_SIZE
    yield* Files.checkDirectory(flags.dir)
    return yield* Shared.withSession(flags, (session) =>
      Bulk.putDir(session, stdio, {
        root: flags.dir,
        prefix: flags.prefix,
        manifest: Option.getOrUndefined(flags.manifest),
        writeManifest: Option.getOrUndefined(flags.writeManifest),
        threshold,
        partSize,
        concurrency: flags.concurrency,
        force: flags.force,
        json: flags.json,
        put
      }))
  }))
