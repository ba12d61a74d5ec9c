/**
 * The headers of an insert (single put, batch insert, multipart initiation): the put options over the usecase's
 * defaults, validated through the protocol's `Metadata.toInsertHeaders`.
 *
 * @internal
 */
import * as Metadata from "@objectstore/protocol/Metadata"
import * as Either from "effect/Either"
import type * as ObjectModel from "../ObjectModel.js"
import { InvalidInputError } from "../ObjectstoreError.js"
import type * as Usecase from "../Usecase.js"

/**
 * The compression an insert uses: the option, else the usecase's default; anything else is invalid input.
 *
 * @internal
 */
export const compression = (
  usecase: Usecase.Usecase,
  options: ObjectModel.PutOptions | undefined
): Either.Either<Usecase.Compression, InvalidInputError> => {
  const chosen = options?.compression ?? usecase.compression
  return chosen === "zstd" || chosen === "none"
    ? Either.right(chosen)
    : Either.left(new InvalidInputError({ field: "compression", reason: `unknown compression ${String(chosen)}` }))
}

/**
 * The metadata headers of an insert. `payload` says what is sent: its content type (when the option was resolved,
 * e.g. guessed) and its compression.
 *
 * @internal
 */
export const headers = (
  usecase: Usecase.Usecase,
  options: ObjectModel.PutOptions | undefined,
  payload: { readonly contentType: string | undefined; readonly compression: Usecase.Compression }
): Either.Either<Record<string, string>, InvalidInputError> =>
  Either.mapLeft(
    Metadata.toInsertHeaders({
      contentType: payload.contentType,
      compression: payload.compression,
      expirationPolicy: options?.expirationPolicy ?? usecase.expirationPolicy,
      origin: options?.origin,
      filename: options?.filename,
      custom: options?.metadata
    }),
    ({ field, reason }) => new InvalidInputError({ field, reason })
  )
