/**
 * `session.extendExpiry` (PROTOCOL §23): `PATCH` with an `extend_expiry` body.
 *
 * @since 0.1.0
 * @internal
 */
import * as HttpBody from "@effect/platform/HttpBody"
import * as ExtendExpiry from "@objectstore/protocol/ExtendExpiry"
import * as Path from "@objectstore/protocol/Path"
import type * as ProtocolScope from "@objectstore/protocol/Scope"
import * as Timestamp from "@objectstore/protocol/Timestamp"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import type * as ObjectModel from "../ObjectModel.js"
import { ExpiryRejectedError, NotFoundError } from "../ObjectstoreError.js"
import type { InvalidInputError } from "../ObjectstoreError.js"
import type * as Usecase from "../Usecase.js"
import * as Errors from "./errors.js"
import * as Http from "./http.js"
import * as Spans from "./spans.js"
import * as Validation from "./validation.js"

/** @internal */
export interface Deps {
  readonly context: Http.ClientContext
  readonly usecase: Usecase.Usecase
  readonly components: ProtocolScope.Components
  readonly scope: string
}

const invalid = (reason: string) => Validation.invalid("extendExpiry", reason)

/** Whole seconds, rounded up: an extension is never shorter than asked. */
const seconds = (input: Duration.DurationInput): Effect.Effect<number, InvalidInputError> =>
  Effect.suspend(() => {
    // Effect's durations clamp negative amounts to zero: refuse them before they become "0s"
    if ((typeof input === "number" && input < 0) || (typeof input === "string" && input.trim().startsWith("-"))) {
      return Effect.fail(invalid("the duration must not be negative"))
    }
    const duration = Duration.decodeUnknown(input)
    if (Option.isNone(duration) || !Duration.isFinite(duration.value)) {
      return Effect.fail(invalid("the duration must be a finite duration"))
    }
    const nanos = Duration.unsafeToNanos(duration.value)
    const whole = (nanos + 999_999_999n) / 1_000_000_000n
    return whole > BigInt(Number.MAX_SAFE_INTEGER)
      ? Effect.fail(invalid("the duration is too long"))
      : Effect.succeed(Number(whole))
  })

const toRequest = (request: ObjectModel.ExtendExpiry): Effect.Effect<ExtendExpiry.Request, InvalidInputError> =>
  Effect.suspend(() => {
    const value = request as Record<string, unknown>
    const given = ["at", "fromNow", "fromCreation"].filter((name) => value[name] !== undefined)
    if (given.length !== 1) return Effect.fail(invalid("give exactly one of at, fromNow and fromCreation"))
    if ("at" in request && request.at !== undefined) {
      const at = request.at
      if (at instanceof Date) {
        if (Number.isNaN(at.getTime())) return Effect.fail(invalid("at is an invalid Date"))
        const micros = Timestamp.fromDate(at)
        return Effect.succeed({ _tag: "At", at: micros, text: Timestamp.format(micros) })
      }
      const parsed = typeof at === "string" ? Timestamp.parse(at) : Option.none()
      return Option.match(parsed, {
        onNone: () => Effect.fail(invalid(`at must be a Date or an RFC 3339 timestamp, got ${JSON.stringify(at)}`)),
        onSome: (micros) => Effect.succeed({ _tag: "At", at: micros, text: at as string })
      })
    }
    if ("fromNow" in request && request.fromNow !== undefined) {
      return Effect.map(
        seconds(request.fromNow),
        (s): ExtendExpiry.Request => ({ _tag: "After", seconds: s, from: "now" })
      )
    }
    const fromCreation = (request as { readonly fromCreation: Duration.DurationInput }).fromCreation
    return Effect.map(
      seconds(fromCreation),
      (s): ExtendExpiry.Request => ({ _tag: "After", seconds: s, from: "creation" })
    )
  })

/**
 * `session.extendExpiry`.
 *
 * @internal
 */
export const make = (deps: Deps) => {
  const { components, context, scope, usecase } = deps
  return (key: string, request: ObjectModel.ExtendExpiry): Effect.Effect<void, ObjectModel.ExtendExpiryError> =>
    Spans.operation(
      "Session.extendExpiry",
      context,
      "extend_expiry",
      usecase.name,
      Effect.gen(function*() {
        yield* Spans.annotate({
          "objectstore.usecase": usecase.name,
          "objectstore.scope": scope,
          "objectstore.key": key
        })
        yield* Validation.key(key)
        const body = ExtendExpiry.encode(yield* toRequest(request))
        const path = Path.objectPath({
          basePath: context.basePath,
          resource: "objects",
          usecase: usecase.name,
          scope,
          key
        })
        yield* Http.executeAndRead(
          context,
          {
            operation: "extend_expiry",
            usecase: usecase.name,
            scope: components,
            method: "PATCH",
            path,
            replayable: true,
            // repeating it asks for the same deadline again (from now: a slightly later one, never a shorter)
            idempotent: true,
            body: Effect.succeed({ body: HttpBody.text(body, "application/json") })
          },
          (response): Effect.Effect<void, Http.AttemptError<NotFoundError | ExpiryRejectedError>> => {
            if (response.status === 204 || response.status === 200) return Http.drain(response)
            if (response.status === 404) {
              return Effect.zipRight(
                Http.drain(response),
                Effect.fail(Errors.failure(new NotFoundError({ usecase: usecase.name, scope, key })))
              )
            }
            if (response.status === 409 || response.status === 422) {
              return Effect.flatMap(Effect.orElseSucceed(response.text, () => ""), (text) =>
                Effect.fail(Errors.failure(
                  new ExpiryRejectedError({ key, status: response.status, ...Errors.serverDetail(text) })
                )))
            }
            return Http.failStatus(response)
          }
        )
      })
    )
}
