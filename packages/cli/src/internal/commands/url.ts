/**
 * `objectstore url KEY`: the object's URL, optionally with a read-only token.
 *
 * @internal
 */
import * as Args from "@effect/cli/Args"
import * as Humantime from "@objectstore/protocol/Humantime"
import * as Effect from "effect/Effect"
import * as Stdio from "../../Stdio.js"
import * as Help from "../help.js"
import * as Shared from "../shared.js"

/** @internal */
export const url = Help.define("url", {
  summary: "print an object's URL, optionally carrying a read-only token",
  usage: "[OPTIONS] KEY",
  description: "Prints the object's URL. With --token-validity the URL carries a read-only token for this one " +
    "object, minted with the secret key (--key-file and --key-id).",
  examples: ["objectstore url reports/2026-11-28.pdf --token-validity 1h"]
}, {
  key: Help.arg(Args.text({ name: "key" }), "KEY", "the object's key"),
  tokenValidity: Help.optional("token-validity", {
    value: "DURATION",
    help: "embed a read-only token valid this long"
  }),
  json: Shared.json("{url}"),
  ...Shared.connection
}, (flags) =>
  Effect.gen(function*() {
    const stdio = yield* Stdio.Stdio
    const validity = yield* Shared.optionalEither(flags.tokenValidity, Humantime.parse)
    return yield* Shared.withSession(flags, (session) =>
      Effect.gen(function*() {
        const url = yield* session.objectUrl(flags.key, validity === undefined ? {} : { tokenValidity: validity })
        yield* flags.json ? Shared.printJson(stdio, { url }) : stdio.out(`${url}\n`)
      }))
  }))
