/**
 * `objectstore head KEY`: an object's metadata.
 *
 * @internal
 */
import * as Args from "@effect/cli/Args"
import type * as Session from "@objectstore/client/Session"
import * as ExpirationPolicy from "@objectstore/protocol/ExpirationPolicy"
import * as Effect from "effect/Effect"
import * as Stdio from "../../Stdio.js"
import * as Help from "../help.js"
import * as Shared from "../shared.js"

const metadataJson = (key: string, metadata: Session.ObjectMetadata) => ({
  key,
  contentType: metadata.contentType,
  compression: metadata.compression,
  expirationPolicy: ExpirationPolicy.format(metadata.expirationPolicy),
  timeCreated: metadata.timeCreatedText,
  timeExpires: metadata.timeExpiresText,
  origin: metadata.origin,
  filename: metadata.filename,
  custom: metadata.custom
})

/** @internal */
export const head = Help.define("head", {
  summary: "print an object's metadata",
  usage: "[OPTIONS] KEY",
  description: "Prints an object's metadata, one name: value per line: content type, compression, expiration, " +
    "times, origin, file name and the custom metadata (meta.NAME). Exits with 3 when there is no such object.",
  examples: ["objectstore head reports/2026-11-28.pdf", "objectstore head logs.tar --json | jq .custom"]
}, {
  key: Help.arg(Args.text({ name: "key" }), "KEY", "the object's key"),
  json: Shared.json("the metadata"),
  ...Shared.connection
}, (flags) =>
  Effect.gen(function*() {
    const stdio = yield* Stdio.Stdio
    return yield* Shared.withSession(flags, (session) =>
      Effect.gen(function*() {
        const info = metadataJson(flags.key, yield* session.head(flags.key))
        if (flags.json) return yield* Shared.printJson(stdio, info)
        const lines: Array<string> = [
          `key: ${info.key}`,
          `content-type: ${info.contentType}`,
          `compression: ${info.compression}`,
          `expiration: ${info.expirationPolicy}`
        ]
        if (info.timeCreated !== undefined) lines.push(`created: ${info.timeCreated}`)
        if (info.timeExpires !== undefined) lines.push(`expires: ${info.timeExpires}`)
        if (info.origin !== undefined) lines.push(`origin: ${info.origin}`)
        if (info.filename !== undefined) lines.push(`filename: ${info.filename}`)
        for (const [name, value] of Object.entries(info.custom)) lines.push(`meta.${name}: ${value}`)
        yield* stdio.out(`${lines.join("\n")}\n`)
      }))
  }))
