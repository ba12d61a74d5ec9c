import { assert, describe, it } from "@effect/vitest"
import * as Identifiers from "@objectstore/protocol/Identifiers"
import * as Path from "@objectstore/protocol/Path"
import * as Scope from "@objectstore/protocol/Scope"
import * as Either from "effect/Either"
import * as fc from "fast-check"

describe("Path", () => {
  it("encodePath matches the §4.4 table", () => {
    const table: ReadonlyArray<readonly [string, string]> = [
      ["plain-key", "plain-key"],
      ["with space", "with%20space"],
      ["café-unicode", "caf%C3%A9-unicode"],
      ["emoji-😀", "emoji-%F0%9F%98%80"],
      ["100%literal-percent", "100%25literal-percent"],
      ["looks%20encoded", "looks%2520encoded"],
      ["a[b]^c|d", "a%5Bb%5D%5Ec%7Cd"],
      ["q?x#y", "q%3Fx%23y"],
      ["back\\slash", "back%5Cslash"],
      ["tilde~dot.key", "tilde~dot.key"],
      ["sub!$'()*+,=delims", "sub!$'()*+,=delims"],
      ["semi;colon", "semi;colon"],
      ["at@sign:colon", "at@sign:colon"],
      ["nested/path/segments", "nested/path/segments"],
      ["plus+sign", "plus+sign"],
      ["ampersand&inside", "ampersand&inside"],
      ["tab\there", "tab%09here"],
      ["quote\"d", "quote%22d"]
    ]
    for (const [key, encoded] of table) assert.strictEqual(Path.encodePath(key), encoded, key)
  })

  it("encodePath differs from encodeURIComponent where §4.4 says so", () => {
    assert.strictEqual(Path.encodePath("/:@$&+,;="), "/:@$&+,;=")
    assert.notStrictEqual(encodeURIComponent("/:@$&+,;="), "/:@$&+,;=")
  })

  it("encodePath round-trips through percent-decoding (property)", () => {
    fc.assert(
      fc.property(fc.string({ unit: "binary" }), (text) => {
        const encoded = Path.encodePath(text)
        assert.match(encoded, /^[A-Za-z0-9\-._~/:@!$&'()*+,;=%]*$/)
        assert.strictEqual(decodeURIComponent(encoded), text)
      }),
      { numRuns: 300 }
    )
  })

  it("encodeKey: the request target of every awkward key, next to what the Python client 0.2.0 sends (§4.4)", () => {
    // [key, our target, Python 0.2.0's target (encodePath over the raw key, `/` always a separator)]
    const vectors: ReadonlyArray<readonly [string, string, string]> = [
      ["plain-key", "/v1/objects/u/_/plain-key", "/v1/objects/u/_/plain-key"],
      ["nested/path/segments", "/v1/objects/u/_/nested/path/segments", "/v1/objects/u/_/nested/path/segments"],
      [".hidden/a..b/c.", "/v1/objects/u/_/.hidden/a..b/c.", "/v1/objects/u/_/.hidden/a..b/c."],
      ["/leading", "/v1/objects/u/_/%2Fleading", "/v1/objects/u/_//leading"],
      ["trailing/", "/v1/objects/u/_/trailing%2F", "/v1/objects/u/_/trailing/"],
      ["/both/", "/v1/objects/u/_/%2Fboth%2F", "/v1/objects/u/_//both/"],
      ["a//b", "/v1/objects/u/_/a%2F%2Fb", "/v1/objects/u/_/a//b"],
      ["./dot", "/v1/objects/u/_/.%2Fdot", "/v1/objects/u/_/./dot"],
      ["a/../b", "/v1/objects/u/_/a%2F..%2Fb", "/v1/objects/u/_/a/../b"],
      ["a/b/./c d", "/v1/objects/u/_/a/b%2F.%2Fc%20d", "/v1/objects/u/_/a/b/./c%20d"],
      ["a/.", "/v1/objects/u/_/a%2F.", "/v1/objects/u/_/a/."],
      ["../..", "/v1/objects/u/_/..%2F..", "/v1/objects/u/_/../.."],
      ["/", "/v1/objects/u/_/%2F", "/v1/objects/u/_//"],
      ["tab\there", "/v1/objects/u/_/tab%09here", "/v1/objects/u/_/tab%09here"],
      ["x".repeat(600), `/v1/objects/u/_/${"x".repeat(600)}`, `/v1/objects/u/_/${"x".repeat(600)}`]
    ]
    for (const [key, ours, python] of vectors) {
      assert.strictEqual(Path.objectPath({ basePath: "", resource: "objects", usecase: "u", scope: "_", key }), ours)
      assert.strictEqual(Path.encodePath(`/v1/objects/u/_/${key}`), python)
      // WHATWG URL (fetch, undici, browsers) leaves our target alone; it rewrites Python's for dot segments.
      assert.strictEqual(new URL(`http://127.0.0.1${ours}`).pathname, ours, key)
      // The server percent-decodes the capture after `{scopes}/`: both reach it as the same key.
      assert.strictEqual(decodeURIComponent(ours.slice("/v1/objects/u/_/".length)), key)
      assert.strictEqual(decodeURIComponent(python.slice("/v1/objects/u/_/".length)), key)
    }
    assert.strictEqual(new URL("http://127.0.0.1/v1/objects/u/_/a/../b").pathname, "/v1/objects/u/_/b")
  })

  it("usecases are encoded as the Python client encodes them (§4.1, §4.4)", () => {
    const vectors: ReadonlyArray<readonly [string, string]> = [
      ["my.usecase", "/v1/objects/my.usecase/_/k"],
      ["with space", "/v1/objects/with%20space/_/k"],
      ["ü", "/v1/objects/%C3%BC/_/k"],
      ["50%", "/v1/objects/50%25/_/k"]
    ]
    for (const [usecase, target] of vectors) {
      assert.strictEqual(Path.objectPath({ basePath: "", resource: "objects", usecase, scope: "_", key: "k" }), target)
      assert.strictEqual(Path.encodePath(`/v1/objects/${usecase}/_/k`), target)
      assert.strictEqual(new URL(`http://127.0.0.1${target}`).pathname, target)
    }
  })

  it("encodeKey: every addressable key survives URL parsing and decodes back to itself (property)", () => {
    const segment = fc.oneof(
      fc.constantFrom("", ".", "..", "a", "%2E", "%2F", "é"),
      fc.string({ unit: "binary", maxLength: 6 })
    )
    fc.assert(
      fc.property(fc.array(segment, { minLength: 1, maxLength: 6 }), (segments) => {
        const key = segments.join("/")
        fc.pre(Either.isRight(Identifiers.validateKey(key)))
        const target = Path.objectPath({ basePath: "/p", resource: "objects", usecase: "u", scope: "_", key })
        assert.strictEqual(new URL(`http://127.0.0.1${target}`).pathname, target)
        assert.strictEqual(decodeURIComponent(target.slice("/p/v1/objects/u/_/".length)), key)
        if (Identifiers.isPortableKey(key)) assert.strictEqual(target, Path.encodePath(`/p/v1/objects/u/_/${key}`))
      }),
      { numRuns: 500 }
    )
  })

  it("encodeQuery also leaves '?' raw", () => {
    assert.strictEqual(Path.encodeQuery("a?b c#d"), "a?b%20c%23d")
    assert.strictEqual(Path.encodePath("a?b"), "a%3Fb")
    assert.strictEqual(
      Path.encodeQuery("os_kid=my-service&os_timestamp=2026-04-20T13:37:00Z&os_duration=3600"),
      "os_kid=my-service&os_timestamp=2026-04-20T13:37:00Z&os_duration=3600"
    )
  })

  it("objectPath builds and encodes the whole path", () => {
    const scope = Scope.render([["org", "12345"], ["project", "1337"], ["app_slug", "email_app"]])
    const base = { resource: "objects", usecase: "testing", scope } as const
    assert.strictEqual(
      Path.objectPath({ ...base, basePath: "", key: "foo/bar" }),
      "/v1/objects/testing/org=12345;project=1337;app_slug=email_app/foo/bar"
    )
    assert.strictEqual(
      Path.objectPath({ ...base, basePath: "/api/prefix/", key: "foo/bar" }),
      "/api/prefix/v1/objects/testing/org=12345;project=1337;app_slug=email_app/foo/bar"
    )
    assert.strictEqual(
      Path.objectPath({ ...base, basePath: "/" }),
      "/v1/objects/testing/org=12345;project=1337;app_slug=email_app/"
    )
    assert.strictEqual(
      Path.objectPath({ basePath: "", resource: "objects:batch", usecase: "u", scope: "_" }),
      "/v1/objects:batch/u/_/"
    )
    assert.strictEqual(
      Path.objectPath({
        basePath: "",
        resource: "objects",
        usecase: "attachments",
        scope: "org=42;project=1337",
        key: "reports/2024 Q1.pdf"
      }),
      "/v1/objects/attachments/org=42;project=1337/reports/2024%20Q1.pdf"
    )
  })

  it("objectUrl renders client URLs (§18 item 35)", () => {
    const scope = Scope.render([["org", "12345"], ["project", "1337"], ["app_slug", "email_app"]])
    const options = { resource: "objects", usecase: "testing", scope, key: "foo/bar" } as const
    const expectedPath = "/v1/objects/testing/org=12345;project=1337;app_slug=email_app/foo/bar"
    assert.deepStrictEqual(
      Path.objectUrl({ ...options, baseUrl: "http://127.0.0.1:8888/" }),
      Either.right(`http://127.0.0.1:8888${expectedPath}`)
    )
    assert.deepStrictEqual(
      Path.objectUrl({ ...options, baseUrl: "http://127.0.0.1:8888/api/prefix" }),
      Either.right(`http://127.0.0.1:8888/api/prefix${expectedPath}`)
    )
    assert.deepStrictEqual(
      Path.objectUrl({ ...options, baseUrl: "https://objectstore.test" }),
      Either.right(`https://objectstore.test${expectedPath}`)
    )
    assert.deepStrictEqual(
      Path.objectUrl({ ...options, baseUrl: "http://[::1]:8888/" }),
      Either.right(`http://[::1]:8888${expectedPath}`)
    )
    assert.deepStrictEqual(
      Path.objectUrl({ ...options, scope: Scope.render([]), baseUrl: "http://127.0.0.1:8888" }),
      Either.right("http://127.0.0.1:8888/v1/objects/testing/_/foo/bar")
    )
    assert.isTrue(Either.isLeft(Path.objectUrl({ ...options, baseUrl: "not a url" })))
    assert.isTrue(Either.isLeft(Path.objectUrl({ ...options, baseUrl: "ftp://host/" })))
  })

  it("encodeBatchKey encodes everything but ASCII alphanumerics (A.5)", () => {
    assert.strictEqual(Path.encodeBatchKey("key-1"), "key%2D1")
    assert.strictEqual(Path.encodeBatchKey("test/0"), "test%2F0")
    assert.strictEqual(Path.encodeBatchKey("café"), "caf%C3%A9")
    assert.strictEqual(Path.encodeBatchKey("a.b_c"), "a%2Eb%5Fc")
    assert.strictEqual(Path.encodeBatchKey("a/b.txt"), "a%2Fb%2Etxt")
  })

  it("decodeBatchKey decodes like the server", () => {
    assert.deepStrictEqual(Path.decodeBatchKey("key%2D1"), Either.right("key-1"))
    assert.deepStrictEqual(Path.decodeBatchKey("caf%C3%A9"), Either.right("café"))
    assert.deepStrictEqual(Path.decodeBatchKey("key-1"), Either.right("key-1"))
    assert.deepStrictEqual(Path.decodeBatchKey("caf%c3%a9"), Either.right("café"))
    assert.deepStrictEqual(Path.decodeBatchKey("100%"), Either.right("100%"))
    assert.deepStrictEqual(Path.decodeBatchKey("a%zzb%4"), Either.right("a%zzb%4"))
    assert.deepStrictEqual(Path.decodeBatchKey("a%zz%2Db%2"), Either.right("a%zz-b%2"))
    assert.deepStrictEqual(Path.decodeBatchKey("k%2D%C3%A9%2D1"), Either.right("k-é-1"))
    assert.isTrue(Either.isLeft(Path.decodeBatchKey("%FF")))
    assert.isTrue(Either.isLeft(Path.decodeBatchKey("%C3")))
    assert.isTrue(Either.isLeft(Path.decodeBatchKey("café")))
  })

  it("decodeBatchKey inverts encodeBatchKey (property)", () => {
    fc.assert(
      fc.property(fc.string({ unit: "binary" }), (key) => {
        const encoded = Path.encodeBatchKey(key)
        assert.match(encoded, /^[A-Za-z0-9%]*$/)
        assert.deepStrictEqual(Path.decodeBatchKey(encoded), Either.right(key))
      }),
      { numRuns: 300 }
    )
  })
})
