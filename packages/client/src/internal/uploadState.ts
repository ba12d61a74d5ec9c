/**
 * The state file of `session.upload` (read to resume, rewritten after each part, removed at the end) and the put
 * options an upload passes on.
 *
 * @since 0.1.0
 * @internal
 */
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Option from "effect/Option"
import * as Multipart from "../Multipart.js"
import type { FileError, InvalidInputError } from "../ObjectstoreError.js"
import type * as Session from "../SessionModel.js"
import * as Files from "./files.js"
import * as Validation from "./validation.js"

/**
 * The put options of an upload (for its single put, its multipart initiation or its resumable session).
 *
 * @internal
 */
export const putOptionsOf = (options: Multipart.UploadOptions | undefined): Session.PutOptions => ({
  key: options?.key,
  compression: options?.compression,
  contentType: options?.contentType,
  metadata: options?.metadata,
  expirationPolicy: options?.expirationPolicy,
  origin: options?.origin,
  filename: options?.filename
})

/**
 * The state in `file`, `None` if there is no such file. A file that cannot be read fails with `FileError`; one
 * that is not a valid state with `InvalidInputError` on `stateFile`.
 *
 * @internal
 */
export const read = (
  files: Files.FileContext,
  file: string
): Effect.Effect<Option.Option<Multipart.State>, FileError | InvalidInputError> =>
  Effect.gen(function*() {
    const text = yield* Files.readTextIfExists(files, file)
    if (Option.isNone(text)) return Option.none()
    const json = yield* Effect.try({
      try: () => JSON.parse(text.value) as unknown,
      catch: () => Validation.invalid("stateFile", `${file} is not JSON`)
    })
    return yield* Either.match(Multipart.decodeState(json), {
      onLeft: (reason) => Effect.fail(Validation.invalid("stateFile", `${file}: ${reason}`)),
      onRight: (state) => Effect.succeed(Option.some(state))
    })
  })

/**
 * Replaces the state in `file` (written next to it and renamed over it).
 *
 * @internal
 */
export const write = (files: Files.FileContext, file: string, state: Multipart.State): Effect.Effect<void, FileError> =>
  Files.replaceText(files, file, JSON.stringify(state))
