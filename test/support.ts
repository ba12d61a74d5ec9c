/**
 * Helpers shared by the tests of every package: temporary folders that are always removed, and waiting for a
 * condition instead of sleeping for a guessed time.
 *
 * The test run's `TMPDIR` is a folder of its own (`test/globalSetup.ts`), which must be empty when the run ends.
 */
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import type * as Scope from "effect/Scope"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { afterAll, onTestFinished } from "vitest"

const make = (prefix: string) => fs.mkdtempSync(path.join(os.tmpdir(), `objectstore-${prefix}-`))
const remove = (dir: string) => fs.promises.rm(dir, { recursive: true, force: true, maxRetries: 5 })

/** A fresh temporary folder that lives as long as the current Scope, and is removed however the scope closes. */
export const tempDir = (prefix: string): Effect.Effect<string, never, Scope.Scope> =>
  Effect.acquireRelease(Effect.sync(() => make(prefix)), (dir) => Effect.promise(() => remove(dir)))

/** A temporary folder for a layer's lifetime (a server's storage, say): removed when the layer is released. */
export const tempDirLayer = <A, E, R>(
  prefix: string,
  use: (dir: string) => Layer.Layer<A, E, R>
): Layer.Layer<A, E, R> => Layer.unwrapScoped(Effect.map(tempDir(prefix), use))

/**
 * A fresh temporary folder for code that is not scoped. Called while a test runs, it is removed when that test
 * finishes, however it finishes (vitest's `onTestFinished`); called while the file is collected (module level, a
 * `describe` body), it is removed after the file's last test.
 */
export const tempDirSync = (prefix: string): string => {
  const dir = make(prefix)
  try {
    onTestFinished(() => remove(dir))
  } catch {
    afterAll(() => remove(dir))
  }
  return dir
}

/** A pause in real time, which a `TestClock` does not hold back. */
export const realSleep = (duration: Duration.DurationInput): Effect.Effect<void> =>
  Effect.promise(() => new Promise<void>((resolve) => setTimeout(resolve, Duration.toMillis(duration))))

/**
 * Runs `effect` until `done` holds for its value and returns that value: for work that finishes in the background
 * (a reaper, a socket closing, a child process writing). Polls in real time, so it works under a `TestClock`; the
 * deadline is generous because a loaded machine is slow, and only a condition that never holds waits it out, in
 * which case the test fails with the last value seen.
 */
export const eventually = <A, E, R>(
  effect: Effect.Effect<A, E, R>,
  done: (value: A) => boolean,
  options: { readonly within?: Duration.DurationInput; readonly every?: Duration.DurationInput } = {}
): Effect.Effect<A, E, R> =>
  Effect.gen(function*() {
    const deadline = performance.now() + Duration.toMillis(options.within ?? "20 seconds")
    const every = options.every ?? "10 millis"
    while (true) {
      const value = yield* effect
      if (done(value)) return value
      if (performance.now() > deadline) {
        return yield* Effect.dieMessage(`condition not reached in time; last value: ${JSON.stringify(value)}`)
      }
      yield* realSleep(every)
    }
  })
