/**
 * The local server the cross-runtime checks (`test/runtimes`, `test/browser`) run against: loopback TCP, auth
 * enforced with an Ed25519 key made for the run, which the check signs or mints its tokens with.
 */
import * as Permission from "@objectstore/protocol/Permission"
import * as Server from "@objectstore/server/Server"
import * as crypto from "node:crypto"

export const make = (kid: string) => {
  const { privateKey, publicKey } = crypto.generateKeyPairSync("ed25519")
  return {
    privatePem: privateKey.export({ type: "pkcs8", format: "pem" }).toString(),
    layer: Server.layer({
      port: 0,
      host: "127.0.0.1",
      auth: {
        enforce: true,
        keys: {
          [kid]: {
            publicKeys: [publicKey.export({ type: "spki", format: "pem" }).toString()],
            maxPermissions: Permission.all
          }
        }
      }
    })
  }
}
