/**
 * `objectstore presign KEY`: a pre-signed URL.
 *
 * @internal
 */
import * as Args from "@effect/cli/Args"
import * as Humantime from "@objectstore/protocol/Humantime"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Stdio from "../../Stdio.js"
import * as Help from "../help.js"
import * as Shared from "../shared.js"

/** @internal */
export const presign = Help.define("presign", {
  summary: "print a pre-signed URL for GET or HEAD of an object",
  usage: "[OPTIONS] KEY",
  description: "Prints a URL that anyone holding it can fetch without a token until it expires, signed with the " +
    "secret key (--key-file and --key-id). Objects stored with zstd come back compressed: browsers and " +
    "curl --compressed decode them.",
  examples: ["objectstore presign reports/2026-11-28.pdf --expires 10m"]
}, {
  key: Help.arg(Args.text({ name: "key" }), "KEY", "the object's key"),
  method: Help.choiceWithDefault("method", ["GET", "HEAD"], "GET", { help: "the request the URL allows" }),
  expires: Help.withDefault("expires", "1h", { value: "DURATION", help: "how long the URL works, at most 7d" }),
  json: Shared.json("{url, method, expiresIn}"),
  ...Shared.connection
}, (flags) =>
  Effect.gen(function*() {
    const stdio = yield* Stdio.Stdio
    const duration = yield* Shared.fromEither(Humantime.parse(flags.expires))
    return yield* Shared.withSession(flags, (session) =>
      Effect.gen(function*() {
        const url = yield* session.presignedUrl(flags.method, flags.key, duration)
        yield* flags.json
          ? Shared.printJson(stdio, { url, method: flags.method, expiresIn: Duration.toSeconds(duration) })
          : stdio.out(`${url}\n`)
      }))
  }))
