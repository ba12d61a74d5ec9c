/**
 * Expiration deadlines (PROTOCOL §6.3, §8): `x-sn-time-expires` is an RFC 3339 timestamp, whose years have four
 * digits, so no deadline may fall after 9999-12-31T23:59:59.999999Z. An insert whose policy would expire later is
 * rejected with 400 (as an invalid metadata value); a TTI bump that would pass it stops there.
 *
 * @internal
 */
import type * as ExpirationPolicy from "@objectstore/protocol/ExpirationPolicy"
import * as Duration from "effect/Duration"
import * as Either from "effect/Either"

/** 9999-12-31T23:59:59.999999Z in epoch microseconds: the last instant RFC 3339 can write. @internal */
export const MAX_TIME_MICROS = 253_402_300_799_999_999n

/** @internal */
export const micros = (duration: Duration.Duration): bigint => Duration.unsafeToNanos(duration) / 1000n

/**
 * The deadline of an object written at `now` (epoch micros) under `policy`: `undefined` for manual expiration; a
 * left with the reason when it would fall after {@link MAX_TIME_MICROS}.
 *
 * @internal
 */
export const deadline = (
  policy: ExpirationPolicy.ExpirationPolicy,
  now: bigint
): Either.Either<bigint | undefined, string> => {
  if (policy._tag === "Manual") return Either.right(undefined)
  const at = now + micros(policy.duration)
  return at > MAX_TIME_MICROS
    ? Either.left("expiration out of range: the object would expire after 9999-12-31T23:59:59.999999Z")
    : Either.right(at)
}
