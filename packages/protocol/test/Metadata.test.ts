import { assert, describe, it } from "@effect/vitest"
import * as ExpirationPolicy from "@objectstore/protocol/ExpirationPolicy"
import * as Metadata from "@objectstore/protocol/Metadata"
import * as Duration from "effect/Duration"
import * as Either from "effect/Either"
import * as fc from "fast-check"
import { Buffer } from "node:buffer"

const full: Metadata.Metadata = {
  contentType: "text/html",
  compression: "zstd",
  expirationPolicy: ExpirationPolicy.timeToLive("1 minute"),
  timeCreated: 1_700_000_000_000_000n,
  timeExpires: 1_700_000_060_000_000n,
  origin: "10.0.0.1",
  filename: "report.pdf",
  custom: { foo: "bar" }
}

describe("Metadata", () => {
  it("isVisibleAscii and isToken", () => {
    assert.isTrue(Metadata.isVisibleAscii("a b\t~"))
    assert.isTrue(Metadata.isVisibleAscii(""))
    assert.isFalse(Metadata.isVisibleAscii("café"))
    assert.isFalse(Metadata.isVisibleAscii("a\nb"))
    assert.isFalse(Metadata.isVisibleAscii("\u007f"))
    assert.isTrue(Metadata.isToken("BuildId"))
    assert.isTrue(Metadata.isToken("a!#$%&'*+-.^_`|~9"))
    assert.isFalse(Metadata.isToken(""))
    assert.isFalse(Metadata.isToken("a b"))
    assert.isFalse(Metadata.isToken("a:b"))
  })

  it("contentDisposition follows the §6.5 table", () => {
    assert.strictEqual(Metadata.contentDisposition("report.pdf"), "attachment; filename=\"report.pdf\"")
    assert.strictEqual(Metadata.contentDisposition("has\"quote.txt"), "attachment; filename=\"has\\\"quote.txt\"")
    assert.strictEqual(Metadata.contentDisposition("path/to/file.txt"), "attachment; filename=\"path-to-file.txt\"")
    assert.strictEqual(Metadata.contentDisposition("back\\slash"), "attachment; filename=\"back-slash\"")
    assert.strictEqual(Metadata.contentDisposition("."), "attachment; filename=\"-\"")
    assert.strictEqual(Metadata.contentDisposition(".."), "attachment; filename=\"--\"")
    assert.strictEqual(Metadata.contentDisposition("..a"), "attachment; filename=\"..a\"")
    assert.strictEqual(Metadata.contentDisposition(""), "attachment; filename=\"\"")
    assert.strictEqual(Metadata.contentDisposition("a\tb"), "attachment; filename=\"a\tb\"")
    assert.strictEqual(Metadata.contentDisposition("a\nb"), undefined)
    assert.strictEqual(Metadata.contentDisposition("a\u007fb"), undefined)
  })

  it("toResponseHeaders serialises a fully populated object exactly (§18 item 21)", () => {
    const headers = Metadata.toResponseHeaders(full, { contentDisposition: false })
    const sorted = [...headers].map(([name, value]) => `${name}: ${value}`).sort()
    assert.deepStrictEqual(sorted, [
      "content-encoding: zstd",
      "content-type: text/html",
      "x-sn-expiration: ttl:1m",
      "x-sn-filename: report.pdf",
      "x-sn-origin: 10.0.0.1",
      "x-sn-time-created: 2023-11-14T22:13:20.000000Z",
      "x-sn-time-expires: 2023-11-14T22:14:20.000000Z",
      "x-snme-foo: bar"
    ])
    const withDisposition = Metadata.toResponseHeaders(full)
    assert.deepStrictEqual(withDisposition.at(-1), ["content-disposition", "attachment; filename=\"report.pdf\""])
  })

  it("toResponseHeaders omits unset fields and orders custom names", () => {
    const headers = Metadata.toResponseHeaders({
      contentType: "application/octet-stream",
      compression: undefined,
      expirationPolicy: ExpirationPolicy.manual,
      timeCreated: 0n,
      timeExpires: undefined,
      origin: undefined,
      filename: undefined,
      custom: { zeta: "1", alpha: "2", Beta: "3" }
    })
    assert.deepStrictEqual(headers, [
      ["content-type", "application/octet-stream"],
      ["x-sn-time-created", "1970-01-01T00:00:00.000000Z"],
      ["x-snme-Beta", "3"],
      ["x-snme-alpha", "2"],
      ["x-snme-zeta", "1"]
    ])
  })

  it("toInsertHeaders renders the client's headers", () => {
    assert.deepStrictEqual(Metadata.toInsertHeaders({}), Either.right({ "content-type": "application/octet-stream" }))
    assert.deepStrictEqual(
      Metadata.toInsertHeaders({
        contentType: "text/plain; charset=utf-8",
        compression: "zstd",
        expirationPolicy: ExpirationPolicy.timeToIdle("2 days"),
        origin: "203.0.113.42",
        filename: "report.pdf",
        custom: { BuildId: "42", empty: "" }
      }),
      Either.right({
        "content-type": "text/plain; charset=utf-8",
        "content-encoding": "zstd",
        "x-sn-expiration": "tti:2days",
        "x-sn-origin": "203.0.113.42",
        "x-sn-filename": "report.pdf",
        "x-snme-buildid": "42",
        "x-snme-empty": ""
      })
    )
    assert.deepStrictEqual(
      Metadata.toInsertHeaders({ compression: "none", expirationPolicy: ExpirationPolicy.manual }),
      Either.right({ "content-type": "application/octet-stream" })
    )
    // As the Python client: an empty origin is not sent (§6.4), an empty filename is (§6.5).
    assert.deepStrictEqual(
      Metadata.toInsertHeaders({ origin: "", filename: "" }),
      Either.right({ "content-type": "application/octet-stream", "x-sn-filename": "" })
    )
  })

  it("toInsertHeaders rejects what the server would refuse", () => {
    const field = (input: Metadata.InsertInput) =>
      Either.match(Metadata.toInsertHeaders(input), { onLeft: (e) => e.field, onRight: () => "ok" })
    assert.strictEqual(field({ contentType: "not a valid media type!" }), "contentType")
    assert.strictEqual(field({ contentType: "" }), "contentType")
    assert.strictEqual(field({ filename: "\ud800.pdf" }), "filename")
    assert.strictEqual(field({ origin: "a\udc00b" }), "origin")
    assert.strictEqual(field({ custom: { "bad name": "x" } }), "custom.bad name")
    assert.strictEqual(field({ custom: { ok: "\ud83d" } }), "custom.ok")
    assert.strictEqual(field({ custom: { Foo: "1", foo: "2" } }), "custom.foo")
    assert.strictEqual(field({ expirationPolicy: ExpirationPolicy.timeToLive(Duration.infinity) }), "expirationPolicy")
  })

  it("parseInsertHeaders applies the §6.1 server rules", () => {
    const parsed = Metadata.parseInsertHeaders({
      "content-type": "text/plain",
      "content-encoding": "zstd",
      "x-sn-expiration": "ttl:1 days",
      "x-sn-origin": "10.0.0.1",
      "x-sn-filename": "has\"quote.txt",
      "x-snme-buildid": "7",
      "x-snme-empty": "",
      "x-sn-time-created": "forged",
      "x-sn-other": "ignored",
      "accept": "*/*"
    })
    assert.isTrue(Either.isRight(parsed))
    const value = Either.getOrThrow(parsed)
    assert.strictEqual(value.contentType, "text/plain")
    assert.strictEqual(value.compression, "zstd")
    assert.strictEqual(ExpirationPolicy.format(value.expirationPolicy), "ttl:1day")
    assert.strictEqual(value.origin, "10.0.0.1")
    assert.strictEqual(value.filename, "has\"quote.txt")
    assert.deepStrictEqual(value.custom, { buildid: "7", empty: "" })

    const defaults = Either.getOrThrow(Metadata.parseInsertHeaders({}))
    assert.deepStrictEqual(defaults, {
      contentType: "application/octet-stream",
      compression: undefined,
      expirationPolicy: ExpirationPolicy.manual,
      origin: undefined,
      filename: undefined,
      custom: {}
    })
  })

  it("parseInsertHeaders rejects invalid values (§18 item 24)", () => {
    const reason = (headers: Record<string, string>) =>
      Either.match(Metadata.parseInsertHeaders(headers), { onLeft: (r) => r, onRight: () => "ok" })
    assert.strictEqual(reason({ "content-type": "not a valid media type!" }), "invalid content type")
    assert.strictEqual(reason({ "content-type": "" }), "invalid content type")
    for (const encoding of ["brotli", "gzip", "identity", "ZSTD", ""]) {
      assert.strictEqual(reason({ "content-encoding": encoding }), "invalid compression", encoding)
    }
    for (const expiration of ["garbage", "ttl:", ""]) {
      assert.strictEqual(reason({ "x-sn-expiration": expiration }), "invalid expiration policy value", expiration)
    }
    assert.strictEqual(reason({ "x-sn-filename": "caf\u00c3\u00a9" }), "non-ASCII header value")
    assert.strictEqual(reason({ "x-sn-origin": "\u00ff" }), "non-ASCII header value")
    assert.strictEqual(reason({ "x-snme-foo": "b\u00e4r" }), "non-ASCII header value")
  })

  it("fromResponseHeaders reads what toResponseHeaders wrote", () => {
    const record = Object.fromEntries(Metadata.toResponseHeaders(full))
    const fromRecord = Metadata.fromResponseHeaders(record)
    assert.deepStrictEqual({ ...fromRecord, expirationPolicy: undefined }, { ...full, expirationPolicy: undefined })
    assert.isTrue(ExpirationPolicy.equals(fromRecord.expirationPolicy, full.expirationPolicy))

    const fromGet = Metadata.fromResponseHeaders((name) => record[name], Object.keys(record))
    assert.deepStrictEqual(fromGet.custom, { foo: "bar" })
    assert.strictEqual(fromGet.timeExpires, 1_700_000_060_000_000n)
  })

  it("fromResponseHeaders is lenient", () => {
    const metadata = Metadata.fromResponseHeaders({
      "Content-Encoding": "gzip",
      "x-sn-expiration": "nonsense",
      "x-sn-time-created": "yesterday",
      "X-SNME-Mixed": "v"
    })
    assert.deepStrictEqual(metadata, {
      contentType: "application/octet-stream",
      compression: undefined,
      expirationPolicy: ExpirationPolicy.manual,
      timeCreated: undefined,
      timeExpires: undefined,
      origin: undefined,
      filename: undefined,
      custom: { mixed: "v" }
    })
  })

  it("insert headers survive the server and come back unchanged", () => {
    const input: Metadata.InsertInput = {
      contentType: "text/csv",
      compression: "zstd",
      expirationPolicy: ExpirationPolicy.timeToLive("90 days"),
      filename: "data.csv",
      custom: { Team: "storage" }
    }
    const sent = Either.getOrThrow(Metadata.toInsertHeaders(input))
    const stored = Either.getOrThrow(Metadata.parseInsertHeaders(sent))
    const response = Metadata.toResponseHeaders({ ...stored, timeCreated: 5n, timeExpires: undefined })
    assert.deepStrictEqual(Object.fromEntries(response), {
      "content-type": "text/csv",
      "content-encoding": "zstd",
      "x-sn-expiration": "ttl:2months 29days 2h 52m 48s",
      "x-sn-time-created": "1970-01-01T00:00:00.000005Z",
      "x-sn-filename": "data.csv",
      "x-snme-team": "storage",
      "content-disposition": "attachment; filename=\"data.csv\""
    })
  })

  it("toInsertHeaders percent-encodes values as the newer Python client (§6.8)", () => {
    const headers = Either.getOrThrow(Metadata.toInsertHeaders({
      origin: "a\nb",
      filename: "résumé 100%.pdf",
      custom: { note: "ünicode ✓", plain: "a b~!" }
    }))
    assert.strictEqual(headers["x-sn-origin"], "a%0Ab")
    assert.strictEqual(headers["x-sn-filename"], "r%C3%A9sum%C3%A9 100%25.pdf")
    assert.strictEqual(headers["x-snme-note"], "%C3%BCnicode %E2%9C%93")
    assert.strictEqual(headers["x-snme-plain"], "a b~!")
    // what the server stores and echoes comes back decoded
    const stored = Either.getOrThrow(Metadata.parseInsertHeaders(headers))
    const read = Metadata.fromResponseHeaders(Object.fromEntries(Metadata.toResponseHeaders({
      ...stored,
      timeCreated: 1n,
      timeExpires: undefined
    })))
    assert.strictEqual(read.origin, "a\nb")
    assert.strictEqual(read.filename, "résumé 100%.pdf")
    assert.deepStrictEqual(read.custom, { note: "ünicode ✓", plain: "a b~!" })
  })

  it("encodeValue: visible ASCII but % as is, everything else as uppercase UTF-8 %XX (property)", () => {
    fc.assert(
      fc.property(fc.string({ unit: "grapheme", maxLength: 40 }), (value) => {
        const encoded = Either.getOrThrow(Metadata.encodeValue(value))
        // the server accepts it, and it decodes back exactly
        assert.isTrue(Metadata.isVisibleAscii(encoded) && !encoded.includes("\t"))
        assert.strictEqual(Metadata.decodeValue(encoded), value)
        // every % starts an uppercase escape, and the escapes are the UTF-8 bytes of the characters replaced
        assert.match(encoded, /^(?:[\x20-\x24\x26-\x7e]|%[0-9A-F]{2})*$/)
        const expected = Array.from(value, (c) =>
          /^[\x20-\x24\x26-\x7e]$/.test(c)
            ? c
            : Array.from(Buffer.from(c, "utf8"), (b) => `%${b.toString(16).toUpperCase().padStart(2, "0")}`).join(""))
          .join("")
        assert.strictEqual(encoded, expected)
      }),
      { numRuns: 500 }
    )
  })

  it("decodeValue is lenient: stray %, lowercase hex, escapes that are not UTF-8", () => {
    assert.strictEqual(Metadata.decodeValue("100%"), "100%")
    assert.strictEqual(Metadata.decodeValue("a%zzb%4"), "a%zzb%4")
    assert.strictEqual(Metadata.decodeValue("caf%c3%a9"), "café")
    assert.strictEqual(Metadata.decodeValue("bad%FF%FE"), "bad%FF%FE")
    assert.strictEqual(Metadata.decodeValue("plain"), "plain")
  })
})
