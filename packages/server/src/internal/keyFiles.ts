/**
 * Loading the key directory of `OS__AUTH__KEYS` (PROTOCOL §12.6): every key file is read now, relative to the
 * working directory, and must be an Ed25519 public key in PEM form, so a bad file stops the server at start rather
 * than failing every request later.
 *
 * @since 0.1.0
 * @internal
 */
import type * as Permission from "@objectstore/protocol/Permission"
import * as Effect from "effect/Effect"
import * as crypto from "node:crypto"
import * as fs from "node:fs/promises"
import * as path from "node:path"
import type * as Auth from "../Auth.js"
import type * as Environment from "./environment.js"

/**
 * One key id as configured: its key files (one per key version) and the permissions it may grant.
 *
 * @since 0.1.0
 * @internal
 */
export interface KeySource {
  readonly kid: string
  readonly files: ReadonlyArray<string>
  readonly maxPermissions: ReadonlyArray<Permission.Permission>
}

const isEd25519PublicKey = (pem: string): boolean => {
  try {
    return crypto.createPublicKey(pem).asymmetricKeyType === "ed25519"
  } catch {
    return false
  }
}

const readKeyFile = (variable: string, kid: string, file: string): Effect.Effect<string, Environment.Failure> =>
  Effect.tryPromise({
    try: () => fs.readFile(path.resolve(file), "utf8"),
    catch: (error) => ({
      variable,
      reason: `key ${JSON.stringify(kid)}: cannot read key file ${JSON.stringify(file)} (${
        (error as NodeJS.ErrnoException).code ?? String(error)
      })`
    })
  }).pipe(
    Effect.filterOrFail(isEd25519PublicKey, () => ({
      variable,
      reason: `key ${JSON.stringify(kid)}: key file ${JSON.stringify(file)} is not an Ed25519 public key in PEM form`
    }))
  )

/**
 * Reads and checks the key files of every key id, in order, failing on the first file that cannot be read or is
 * not an Ed25519 public key; `variable` is the variable the errors name.
 *
 * @since 0.1.0
 * @internal
 */
export const load = (
  variable: string,
  sources: ReadonlyArray<KeySource>
): Effect.Effect<Record<string, Auth.KeyEntry>, Environment.Failure> =>
  Effect.gen(function*() {
    const keys: Record<string, Auth.KeyEntry> = {}
    for (const source of sources) {
      const publicKeys = yield* Effect.forEach(source.files, (file) => readKeyFile(variable, source.kid, file))
      // defineProperty: a key id such as `__proto__` stays plain data
      Object.defineProperty(keys, source.kid, {
        value: { publicKeys, maxPermissions: source.maxPermissions } satisfies Auth.KeyEntry,
        enumerable: true,
        writable: true,
        configurable: true
      })
    }
    return keys
  })
