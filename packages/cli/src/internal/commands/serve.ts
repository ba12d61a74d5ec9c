/**
 * `objectstore serve`: the local server, until Ctrl-C.
 *
 * @internal
 */
import * as FileSystem from "@effect/platform/FileSystem"
import * as HttpServer from "@effect/platform/HttpServer"
import * as Permission from "@objectstore/protocol/Permission"
import type * as ServerAuth from "@objectstore/server/Auth"
import * as Server from "@objectstore/server/Server"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import * as CliError from "../../CliError.js"
import * as Stdio from "../../Stdio.js"
import * as Help from "../help.js"

/** @internal */
export const serve = Help.define("serve", {
  summary: "run a local server (in memory or in a folder) until Ctrl-C",
  usage: "[OPTIONS]",
  description: "Runs the local Objectstore server for development and prints its URL on standard output (the " +
    "status on standard error). Objects live in memory, or in --dir. Without --auth-key any request is allowed; " +
    "with it, requests need a token signed by one of the keys. Ctrl-C (or SIGTERM) stops it, exit code 0.",
  examples: [
    "objectstore serve --dir ./data &",
    "objectstore serve --port 9000 --auth-key dev=dev.pub.pem"
  ],
  ownsSignals: true
}, {
  dir: Help.optional("dir", { value: "DIR", help: "keep objects in this folder", default: "in memory" }),
  host: Help.withDefault("host", "127.0.0.1", {
    value: "ADDRESS",
    help: "the address to listen on; 0.0.0.0 for every interface"
  }),
  port: Help.integer("port", 8888, { min: 0, max: 65535 }, { value: "PORT", help: "the port; 0 picks a free one" }),
  authKey: Help.repeated("auth-key", {
    value: "KID=PEM",
    help: "enforce auth: accept tokens signed by the Ed25519 public key in file PEM, known as KID"
  })
}, (flags) =>
  Effect.gen(function*() {
    const stdio = yield* Stdio.Stdio
    const fs = yield* FileSystem.FileSystem
    const keys: Record<string, ServerAuth.KeyEntry> = {}
    for (const spec of flags.authKey) {
      const eq = spec.indexOf("=")
      if (eq <= 0) return yield* CliError.usage(`bad --auth-key ${JSON.stringify(spec)}: expected KID=PUBLIC_KEY.pem`)
      const file = spec.slice(eq + 1)
      const pem = yield* fs.readFileString(file).pipe(Effect.mapError(() => CliError.usage(`cannot read ${file}`)))
      keys[spec.slice(0, eq)] = { publicKeys: [pem], maxPermissions: Permission.all }
    }
    const storage = Option.match(flags.dir, {
      onNone: () => ({ type: "memory" as const }),
      onSome: (path) => ({ type: "filesystem" as const, path })
    })
    const enforce = flags.authKey.length > 0
    return yield* HttpServer.addressFormattedWith((address) =>
      Effect.gen(function*() {
        yield* stdio.err(
          `objectstore: serving ${storage.type === "memory" ? "in memory" : storage.path} on ${address}` +
            `${enforce ? " (auth enforced)" : ""}; Ctrl-C stops\n`
        )
        yield* stdio.out(`${address}\n`)
        // Ctrl-C is how a server is meant to stop: not an interruption, exit code 0
        yield* stdio.signal
        yield* stdio.err("objectstore: stopped\n")
      })
    ).pipe(Effect.provide(Server.layer({ host: flags.host, port: flags.port, storage, auth: { enforce, keys } })))
  }))
