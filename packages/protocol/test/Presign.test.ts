import { assert, describe, it } from "@effect/vitest"
import * as Base64Url from "@objectstore/protocol/Base64Url"
import * as Path from "@objectstore/protocol/Path"
import * as Presign from "@objectstore/protocol/Presign"
import * as Scope from "@objectstore/protocol/Scope"
import * as Either from "effect/Either"
import * as Option from "effect/Option"
import { createPublicKey, verify } from "node:crypto"

const publicKey = createPublicKey(
  "-----BEGIN PUBLIC KEY-----\nMCowBQYDK2VwAyEAIVL40Zt5HSRFMkLhXy6rbLfP+ntqXtMAl5YOBpiB2xI=\n-----END PUBLIC KEY-----\n"
)
const signature = "dq4AntczDf_2SBkT3GKrZaCb1tuLFJWpxevGC82yxberiTpAH_XVwkxxZtiTQrT1nQRyO2Ll6fOpJncCki_WAQ"
const signedAt = Date.UTC(2026, 3, 20, 13, 37, 0) / 1000

describe("Presign", () => {
  it("reproduces the §13.5 worked example byte for byte", () => {
    const path = Path.objectPath({
      basePath: "",
      resource: "objects",
      usecase: "attachments",
      scope: Scope.render([["org", "42"], ["project", "1337"]]),
      key: "reports/2024 Q1.pdf"
    })
    assert.strictEqual(path, "/v1/objects/attachments/org=42;project=1337/reports/2024%20Q1.pdf")
    const query = Presign.signedQuery({ kid: "my-service", epochSeconds: signedAt, durationSeconds: 3600 })
    assert.strictEqual(query, "os_kid=my-service&os_timestamp=2026-04-20T13:37:00Z&os_duration=3600")
    const canonical = Presign.canonicalForm("GET", path, query)
    assert.strictEqual(
      canonical,
      "GET\n/v1/objects/attachments/org=42;project=1337/reports/2024%20Q1.pdf\nos_duration=3600&os_kid=my-service&os_timestamp=2026-04-20T13:37:00Z"
    )
    const sig = Option.getOrThrow(Base64Url.decodeStrict(signature))
    assert.isTrue(verify(null, Buffer.from(canonical, "utf8"), publicKey, sig))
    // HEAD signs the same string; the os_sig parameter is not part of it
    assert.strictEqual(Presign.canonicalForm("HEAD", path, `${query}&os_sig=${signature}`), canonical)
    assert.isFalse(verify(null, Buffer.from(Presign.canonicalForm("DELETE", path, query), "utf8"), publicKey, sig))
  })

  it("canonicalForm matches the upstream unit-test vectors (§13.5)", () => {
    assert.strictEqual(
      Presign.canonicalForm(
        "GET",
        "/v1/objects/testing/org=17;project=42/foo/bar",
        "os_timestamp=1985-04-12T23:20:50.52Z&os_kid=relay&os_duration=3600&os_sig=x"
      ),
      "GET\n/v1/objects/testing/org=17;project=42/foo/bar\nos_duration=3600&os_kid=relay&os_timestamp=1985-04-12T23:20:50.52Z"
    )
    assert.strictEqual(
      Presign.canonicalForm("GET", "/v1/objects/testing/_/key", ""),
      "GET\n/v1/objects/testing/_/key\n"
    )
    assert.strictEqual(Presign.canonicalForm("GET", "/p", "dup=b&dup=a&x=1"), "GET\n/p\ndup=a&dup=b&x=1")
  })

  it("canonicalForm lowercases names, drops os_sig in any case and empty pieces, keeps values raw", () => {
    assert.strictEqual(
      Presign.canonicalForm("get", "/p", "B=X%20Y&&OS_SIG=1&os_sig&a&A=z+w"),
      "GET\n/p\na&a=z+w&b=X%20Y"
    )
  })

  it("isPresigned tests the raw names (§12.1)", () => {
    assert.isTrue(Presign.isPresigned("os_kid=a&os_sig=b"))
    assert.isTrue(Presign.isPresigned("os_sig"))
    assert.isTrue(Presign.isPresigned("os_sig="))
    assert.isFalse(Presign.isPresigned("OS_SIG=b"))
    assert.isFalse(Presign.isPresigned("os%5Fsig=b"))
    assert.isFalse(Presign.isPresigned("xos_sig=b&os_sigx=c"))
    assert.isFalse(Presign.isPresigned(""))
  })

  it("parseParams reads the four parameters", () => {
    const query = `${
      Presign.signedQuery({ kid: "my-service", epochSeconds: signedAt, durationSeconds: 3600 })
    }&os_sig=${signature}`
    const params = Either.getOrThrow(Presign.parseParams(query))
    assert.strictEqual(params.kid, "my-service")
    assert.strictEqual(params.timestamp.toISOString(), "2026-04-20T13:37:00.000Z")
    assert.strictEqual(params.timestampMillis, signedAt * 1000)
    assert.strictEqual(params.duration, 3600)
    assert.strictEqual(params.signature, signature)
    assert.isTrue(Presign.isWithinWindow(params, (signedAt - 60) * 1000))
    assert.isFalse(Presign.isWithinWindow(params, (signedAt - 61) * 1000))
    assert.isTrue(Presign.isWithinWindow(params, (signedAt + 3600) * 1000))
    assert.isFalse(Presign.isWithinWindow(params, (signedAt + 3601) * 1000))
  })

  it("parseParams accepts the lenient timestamp forms of §13.1", () => {
    const at = (timestamp: string) =>
      Presign.parseParams(`os_kid=k&os_duration=1&os_sig=s&os_timestamp=${timestamp}`).pipe(
        Either.map((p) => p.timestamp.toISOString())
      )
    assert.deepStrictEqual(at("2026-04-20T13:37:00Z"), Either.right("2026-04-20T13:37:00.000Z"))
    assert.deepStrictEqual(at("2026-04-20T13:37:00"), Either.right("2026-04-20T13:37:00.000Z"))
    assert.deepStrictEqual(at("2026-04-20+13:37:00.52Z"), Either.right("2026-04-20T13:37:00.520Z"))
    assert.deepStrictEqual(at("2026-04-20T13:37:00%2B00:00"), Either.right("2026-04-20T13:37:00.000Z"))
    assert.isTrue(Either.isLeft(at("2026-04-20T13:37:00+00:00"))) // '+' form-decodes to a space
    assert.isTrue(Either.isLeft(at("1969-12-31T23:59:59Z")))
    assert.isTrue(Either.isLeft(at("2026-02-30T00:00:00Z")))
    assert.isTrue(Either.isLeft(at("2026-04-20T13:37:00+01:00")))
    assert.isTrue(Either.isLeft(at("yesterday")))
  })

  it("parseParams rejects missing, repeated or unparsable parameters (§13.4 step 2)", () => {
    const good = "os_kid=k&os_timestamp=2026-04-20T13:37:00Z&os_duration=60&os_sig=s"
    assert.isTrue(Either.isRight(Presign.parseParams(good)))
    assert.isTrue(Either.isRight(Presign.parseParams(good + "&other=1")))
    const bad = [
      "os_timestamp=2026-04-20T13:37:00Z&os_duration=60&os_sig=s",
      "os_kid=k&os_duration=60&os_sig=s",
      "os_kid=k&os_timestamp=2026-04-20T13:37:00Z&os_sig=s",
      "os_kid=k&os_timestamp=2026-04-20T13:37:00Z&os_duration=60",
      good + "&os_kid=k",
      good + "&os_sig=t",
      good.replace("os_duration=60", "os_duration=-1"),
      good.replace("os_duration=60", "os_duration=1.5"),
      good.replace("os_duration=60", "os_duration=18446744073709551616")
    ]
    for (const query of bad) {
      assert.deepStrictEqual(
        Presign.parseParams(query),
        Either.left("presigned URL has missing or invalid parameters"),
        query
      )
    }
    // a duration over the maximum parses; the server rejects it with its own message
    const long = Either.getOrThrow(Presign.parseParams(good.replace("os_duration=60", "os_duration=691200")))
    assert.isTrue(long.duration > Presign.MAX_DURATION_SECONDS)
  })

  it("formatTimestamp drops fractions", () => {
    assert.strictEqual(Presign.formatTimestamp(signedAt), "2026-04-20T13:37:00Z")
    assert.strictEqual(Presign.formatTimestamp(signedAt + 0.9), "2026-04-20T13:37:00Z")
    assert.strictEqual(Presign.formatTimestamp(0), "1970-01-01T00:00:00Z")
  })
})
