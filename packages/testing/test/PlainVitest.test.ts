/**
 * The Promise API for plain vitest: describe/it with async functions, no @effect/vitest.
 */
import * as Expiration from "@objectstore/client/Expiration"
import * as Scope from "@objectstore/client/Scope"
import * as Usecase from "@objectstore/client/Usecase"
import * as Faults from "@objectstore/testing/Faults"
import * as ObjectstoreTest from "@objectstore/testing/ObjectstoreTest"
import * as Effect from "effect/Effect"
import * as TestClock from "effect/TestClock"
import { afterAll, beforeAll, describe, expect, it } from "vitest"

const files = Usecase.make("files")
const scope = Scope.make({ org: 1 })

describe("ObjectstoreTest.start (plain vitest)", () => {
  let kit: ObjectstoreTest.Running
  beforeAll(async () => {
    kit = await ObjectstoreTest.start({ auth: true, client: { retry: false } })
  })
  afterAll(() => kit.dispose())

  it("round-trips through the in-process server and shows the stored object and the requests", async () => {
    const session = await kit.session(files, scope)
    const key = await kit.run(session.put("hello from vitest", { key: "greeting" }))
    expect(key).toBe("greeting")
    expect(await kit.run(session.getText(key))).toBe("hello from vitest")
    const objects = await kit.objects()
    expect(objects.map((object) => [object.usecase, object.scope, object.key])).toEqual([[
      "files",
      "org=1",
      "greeting"
    ]])
    const requests = await kit.requests()
    expect(requests.map((entry) => [entry.method, entry.status, entry.hasToken])).toEqual([
      ["PUT", 200, true],
      ["GET", 200, true]
    ])
  })

  it("faults can be set and healed between awaits", async () => {
    const session = await kit.session(files, scope)
    await kit.setFaults([{ operation: "get", fault: Faults.status(503) }])
    await expect(kit.run(session.getText("greeting"))).rejects.toMatchObject({
      _tag: "ResponseError",
      reason: "Overloaded",
      status: 503
    })
    await kit.setFaults([])
    expect(await kit.run(session.getText("greeting"))).toBe("hello from vitest")
  })

  it("typed errors reach the promise as the error object", async () => {
    const session = await kit.session(files, scope)
    const error = await kit.run(Effect.flip(session.head("missing")))
    expect(error._tag).toBe("NotFoundError")
  })
})

describe("ObjectstoreTest.start with testClock", () => {
  it("expires objects when the test clock moves", async () => {
    const kit = await ObjectstoreTest.start({ testClock: true })
    try {
      const session = await kit.session(
        Usecase.make("files", { expirationPolicy: Expiration.timeToLive("1 hour") }),
        scope
      )
      const key = await kit.run(session.put("soon gone"))
      expect(await kit.run(session.getText(key))).toBe("soon gone")
      await kit.run(TestClock.adjust("2 hours"))
      await expect(kit.run(session.getText(key))).rejects.toMatchObject({ _tag: "NotFoundError" })
      const [object] = await kit.objects()
      expect(object?.expired).toBe(true)
    } finally {
      await kit.dispose()
    }
  })
})
