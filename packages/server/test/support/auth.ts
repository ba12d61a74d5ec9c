/**
 * A test signing key (kid `w`) for servers with auth enforced, and tokens for usecase `test`, scope `org=1`.
 */
import type * as ServerConfig from "@objectstore/server/Config"
import * as crypto from "node:crypto"

export const authKey = (() => {
  const { privateKey, publicKey } = crypto.generateKeyPairSync("ed25519")
  return { privateKey, publicPem: publicKey.export({ type: "spki", format: "pem" }).toString() }
})()

/** Auth enforced with the test key, allowed to read and write. */
export const enforced: ServerConfig.ServerConfig["auth"] = {
  enforce: true,
  keys: { w: { publicKeys: [authKey.publicPem], maxPermissions: ["object.read", "object.write"] } }
}

/** A token valid for ten minutes with `permissions`. */
export const signToken = (permissions: ReadonlyArray<string>): string => {
  const b64url = (value: unknown) => Buffer.from(JSON.stringify(value)).toString("base64url")
  const header = b64url({ alg: "EdDSA", kid: "w", typ: "JWT" })
  const payload = b64url({
    res: { "os:usecase": "test", org: "1" },
    permissions,
    exp: Math.floor(Date.now() / 1000) + 600
  })
  const signature = crypto.sign(null, Buffer.from(`${header}.${payload}`), authKey.privateKey).toString("base64url")
  return `${header}.${payload}.${signature}`
}
