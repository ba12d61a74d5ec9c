/**
 * A fresh Ed25519 key pair as PEM text: the private key for `Auth.layerSecretKey`, the public key for the server's
 * key directory.
 */
import * as crypto from "node:crypto"

export const pemKeyPair = (): { readonly privatePem: string; readonly publicPem: string } => {
  const { privateKey, publicKey } = crypto.generateKeyPairSync("ed25519")
  return {
    privatePem: privateKey.export({ format: "pem", type: "pkcs8" }).toString(),
    publicPem: publicKey.export({ format: "pem", type: "spki" }).toString()
  }
}
