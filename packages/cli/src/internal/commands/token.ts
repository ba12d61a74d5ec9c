/**
 * `objectstore token`: mints a token with the secret key.
 *
 * @internal
 */
import * as Auth from "@objectstore/client/Auth"
import * as ClientScope from "@objectstore/client/Scope"
import * as Tokens from "@objectstore/client/Tokens"
import * as Humantime from "@objectstore/protocol/Humantime"
import * as Permission from "@objectstore/protocol/Permission"
import * as ProtocolScope from "@objectstore/protocol/Scope"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Redacted from "effect/Redacted"
import * as CliError from "../../CliError.js"
import * as Stdio from "../../Stdio.js"
import * as Help from "../help.js"
import * as Shared from "../shared.js"

/** @internal */
export const token = Help.define("token", {
  summary: "mint a token for the usecase and scope with the secret key",
  usage: "[OPTIONS]",
  description: "Prints a token for the usecase and scope, signed with the secret key (--key-file and --key-id), " +
    "for a program that has no key: give it as OBJECTSTORE_TOKEN. Scope values may be * (any value).",
  examples: ["export OBJECTSTORE_TOKEN=$(objectstore token -s 'org=42 project=*' -p object.read --expires 1h)"]
}, {
  permissions: Help.repeatedChoice("permission", Permission.all as ReadonlyArray<Permission.Permission>, {
    alias: "p",
    value: "NAME",
    help: `a permission to grant: ${Permission.all.join(", ")}`,
    default: "all the key's"
  }),
  expires: Help.optional("expires", { value: "DURATION", help: "how long the token is valid", default: "60s" }),
  json: Shared.json("{token, usecase, scope, permissions, expiresIn}"),
  ...Shared.connection
}, (flags) =>
  Effect.gen(function*() {
    const stdio = yield* Stdio.Stdio
    const expiry = yield* Shared.optionalEither(flags.expires, Humantime.parse)
    const settings = yield* Shared.settingsOf(flags, true)
    const usecase = yield* Shared.usecaseOf(settings)
    if (settings.credentials._tag !== "SecretKey") {
      return yield* new CliError.CliError({
        exitCode: CliError.ExitCode.auth,
        detail: "minting a token needs a secret key",
        hint: "give --key-file and --key-id (or OBJECTSTORE_KEY_FILE and OBJECTSTORE_KEY_ID)"
      })
    }
    const auth = yield* Auth.makeSecretKey({
      kid: settings.credentials.kid,
      privateKey: settings.credentials.privateKey
    })
    const minted = yield* Tokens.mintWith(auth, {
      usecase,
      scope: ClientScope.fromEntries(settings.scope),
      permissions: flags.permissions.length === 0 ? undefined : flags.permissions,
      expiry
    })
    yield* flags.json
      ? Shared.printJson(stdio, {
        token: Redacted.value(minted),
        usecase,
        scope: ProtocolScope.render(settings.scope),
        permissions: flags.permissions.length === 0 ? undefined : flags.permissions,
        expiresIn: expiry === undefined ? undefined : Duration.toSeconds(expiry)
      })
      : stdio.out(`${Redacted.value(minted)}\n`)
  }))
