import { assert, describe, it } from "@effect/vitest"
import * as ExpirationPolicy from "@objectstore/protocol/ExpirationPolicy"
import type * as Metadata from "@objectstore/protocol/Metadata"
import * as Storage from "@objectstore/server/Storage"
import * as Chunk from "effect/Chunk"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Fiber from "effect/Fiber"
import * as Option from "effect/Option"
import * as Stream from "effect/Stream"
import { tempDir as makeTempDir } from "../../../test/support.js"

const tempDir = makeTempDir("storage")

const encoder = new TextEncoder()
const decoder = new TextDecoder()

const metadata = (overrides: Partial<Metadata.Metadata> = {}): Metadata.Metadata => ({
  contentType: "text/plain",
  compression: undefined,
  expirationPolicy: ExpirationPolicy.manual,
  timeCreated: 1_000_000n,
  timeExpires: undefined,
  origin: undefined,
  filename: undefined,
  custom: {},
  ...overrides
})

const id = (key: string, scopes: ReadonlyArray<readonly [string, string]> = [["org", "1"]]): Storage.ObjectId => ({
  usecase: "test",
  scopes,
  key
})

const body = (...parts: Array<string>) => Stream.fromIterable(parts.map((part) => encoder.encode(part)))

const readText = (storage: Storage.Service, objectId: Storage.ObjectId, range?: { start: number; end: number }) =>
  Effect.scoped(
    Effect.flatMap(storage.open(objectId), (opened) =>
      Option.isNone(opened)
        ? Effect.sync(() => undefined)
        : Effect.map(
          Stream.runCollect(opened.value.read(range)),
          (chunks) => decoder.decode(Buffer.concat(Chunk.toReadonlyArray(chunks))).toString()
        ))
  )

const backends: ReadonlyArray<readonly [string, Effect.Effect<Storage.Service, Storage.StorageError, any>]> = [
  ["memory", Storage.makeMemory],
  ["filesystem", Effect.flatMap(tempDir, (path) => Storage.makeFilesystem({ path }))]
]

for (const [name, makeStorage] of backends) {
  describe(`Storage (${name})`, () => {
    it.scoped("put then open returns the same bytes, metadata and size", () =>
      Effect.gen(function*() {
        const storage = yield* makeStorage
        const info = yield* storage.put(
          id("a/b"),
          metadata({ filename: "f.txt", custom: { x: "1" } }),
          body("he", "llo")
        )
        assert.strictEqual(info.size, 5)
        assert.strictEqual(yield* readText(storage, id("a/b")), "hello")
        const head = yield* storage.head(id("a/b"))
        assert.isTrue(Option.isSome(head))
        if (Option.isSome(head)) {
          assert.strictEqual(head.value.size, 5)
          assert.strictEqual(head.value.metadata.filename, "f.txt")
          assert.deepStrictEqual(head.value.metadata.custom, { x: "1" })
          assert.strictEqual(head.value.metadata.timeCreated, 1_000_000n)
        }
      }))

    it.scoped("ranges read the selected bytes", () =>
      Effect.gen(function*() {
        const storage = yield* makeStorage
        yield* storage.put(id("r"), metadata(), body("Hello, Range Requests!"))
        assert.strictEqual(yield* readText(storage, id("r"), { start: 0, end: 4 }), "Hello")
        assert.strictEqual(yield* readText(storage, id("r"), { start: 13, end: 21 }), "Requests!")
      }))

    it.scoped("large payloads stream in several chunks and come back intact", () =>
      Effect.gen(function*() {
        const storage = yield* makeStorage
        const big = new Uint8Array(300_000).map((_, i) => i % 251)
        yield* storage.put(
          id("big"),
          metadata(),
          Stream.fromIterable([big.subarray(0, 100_000), big.subarray(100_000)])
        )
        const all = yield* Storage.readAll(storage, id("big"))
        assert.isDefined(all)
        assert.deepStrictEqual(all!.bytes, big)
        const part = yield* Effect.scoped(
          Effect.flatMap(
            storage.open(id("big")),
            (opened) => Stream.runCollect(Option.getOrThrow(opened).read({ start: 65_000, end: 200_000 }))
          )
        )
        assert.isAbove(Chunk.size(part), 1)
        assert.deepStrictEqual(
          new Uint8Array(Buffer.concat(Chunk.toReadonlyArray(part))),
          big.subarray(65_000, 200_001)
        )
      }))

    it.scoped("identity is (usecase, ordered scopes, key)", () =>
      Effect.gen(function*() {
        const storage = yield* makeStorage
        yield* storage.put(id("k", [["org", "1"], ["project", "2"]]), metadata(), body("one"))
        assert.isUndefined(yield* readText(storage, id("k", [["project", "2"], ["org", "1"]])))
        assert.isUndefined(yield* readText(storage, id("k", [["org", "1"]])))
        assert.isUndefined(yield* readText(storage, { ...id("k", [["org", "1"], ["project", "2"]]), usecase: "other" }))
        assert.strictEqual(yield* readText(storage, id("k", [["org", "1"], ["project", "2"]])), "one")
      }))

    it.scoped("overwrite replaces payload and metadata; delete removes", () =>
      Effect.gen(function*() {
        const storage = yield* makeStorage
        yield* storage.put(id("o"), metadata({ origin: "a" }), body("first"))
        yield* storage.put(id("o"), metadata({ contentType: "text/html" }), body("second!"))
        assert.strictEqual(yield* readText(storage, id("o")), "second!")
        const head = Option.getOrThrow(yield* storage.head(id("o")))
        assert.strictEqual(head.metadata.origin, undefined)
        assert.strictEqual(head.metadata.contentType, "text/html")
        assert.lengthOf(yield* storage.list, 1)
        assert.isTrue(yield* storage.delete(id("o")))
        assert.isFalse(yield* storage.delete(id("o")))
        assert.isTrue(Option.isNone(yield* storage.head(id("o"))))
        assert.lengthOf(yield* storage.list, 0)
      }))

    it.scoped("a failing body stores nothing and keeps the previous object", () =>
      Effect.gen(function*() {
        const storage = yield* makeStorage
        yield* storage.put(id("f"), metadata(), body("kept"))
        const failing = Stream.concat(body("partial"), Stream.fail("boom" as const))
        const error = yield* Effect.flip(storage.put(id("f"), metadata(), failing))
        assert.strictEqual(error, "boom")
        yield* Effect.flip(storage.put(id("g"), metadata(), failing))
        assert.strictEqual(yield* readText(storage, id("f")), "kept")
        assert.deepStrictEqual((yield* storage.list).map((entry) => entry.id.key), ["f"])
      }))

    it.scoped("setExpiry is conditional on the generation; reap deletes only expired ttl/tti objects", () =>
      Effect.gen(function*() {
        const storage = yield* makeStorage
        const ttl = { _tag: "TimeToLive", duration: Duration.seconds(30) } as const
        const tti = { _tag: "TimeToIdle", duration: Duration.hours(2) } as const
        const first = yield* storage.put(id("t"), metadata({ expirationPolicy: tti, timeExpires: 100n }), body("x"))
        assert.isTrue(yield* storage.setExpiry(id("t"), first.generation, 500n))
        const bumped = Option.getOrThrow(yield* storage.head(id("t")))
        assert.strictEqual(bumped.metadata.timeExpires, 500n)
        assert.strictEqual(bumped.generation, first.generation)
        const policy = bumped.metadata.expirationPolicy
        assert.isTrue(policy._tag === "TimeToIdle" && Duration.equals(policy.duration, tti.duration))
        yield* storage.put(id("t"), metadata({ expirationPolicy: tti, timeExpires: 200n }), body("y"))
        assert.isFalse(yield* storage.setExpiry(id("t"), first.generation, 900n))
        assert.strictEqual(Option.getOrThrow(yield* storage.head(id("t"))).metadata.timeExpires, 200n)
        assert.isFalse(yield* storage.setExpiry(id("missing"), first.generation, 900n))

        yield* storage.put(id("ttl"), metadata({ expirationPolicy: ttl, timeExpires: 300n }), body("z"))
        yield* storage.put(id("manual"), metadata({ timeExpires: 1n }), body("m"))
        assert.strictEqual(yield* storage.reap(250n), 1) // "t" (200 < 250)
        assert.strictEqual(yield* storage.reap(300n), 0) // 300 is not before 300
        assert.strictEqual(yield* storage.reap(301n), 1)
        assert.deepStrictEqual((yield* storage.list).map((entry) => entry.id.key), ["manual"])
      }))

    it.scopedLive("an interrupted put stores nothing", () =>
      Effect.gen(function*() {
        const storage = yield* makeStorage
        const never = Stream.concat(body("partial"), Stream.never)
        const fiber = yield* Effect.fork(storage.put(id("i"), metadata(), never))
        yield* Effect.sleep(Duration.millis(20))
        yield* Fiber.interrupt(fiber)
        assert.lengthOf(yield* storage.list, 0)
      }), { timeout: 10_000 })
  })
}
