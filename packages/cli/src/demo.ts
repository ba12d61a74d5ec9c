/**
 * The README's main job (`npm run demo`): a realistic nightly batch job through the `objectstore` command.
 *
 * 1. starts the local server on a loopback port (memory storage, auth enforced with a freshly generated Ed25519
 *    key, which the job signs its tokens with);
 * 2. generates a folder of files of mixed sizes: small JSON documents (KiB), compressible logs (MiB) and one
 *    binary above the multipart threshold;
 * 3. uploads the tree with `objectstore put-dir` (small files batched through `many`, the large one as a multipart
 *    upload), writing a manifest, and runs it again to show that unchanged files are skipped;
 * 4. lists what was uploaded from the manifest, downloads it all with `objectstore get-many` into another folder
 *    and verifies every file's SHA-256 against the original;
 * 5. fetches one object through a pre-signed URL (`objectstore presign`) with plain HTTP (`node:http`, as `curl` sees
 *    it: the stored zstd bytes, decoded here);
 * 6. deletes everything with `objectstore rm --from manifest` and checks that the server is empty;
 *
 * then prints a summary and stops the server. Exits non-zero if any step does not behave as expected.
 *
 * @since 0.1.0
 */
import * as NodeContext from "@effect/platform-node/NodeContext"
import * as NodeRuntime from "@effect/platform-node/NodeRuntime"
import * as HttpServer from "@effect/platform/HttpServer"
import * as Compression from "@objectstore/client/Compression"
import * as Permission from "@objectstore/protocol/Permission"
import * as Server from "@objectstore/server/Server"
import * as Random from "@objectstore/testing/Random"
import * as Chunk from "effect/Chunk"
import * as Clock from "effect/Clock"
import * as ConfigProvider from "effect/ConfigProvider"
import * as Console from "effect/Console"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Stream from "effect/Stream"
import * as crypto from "node:crypto"
import * as fs from "node:fs"
import * as Http from "node:http"
import * as os from "node:os"
import * as path from "node:path"
import * as Cli from "./Cli.js"
import * as Format from "./internal/format.js"
import * as Stdio from "./Stdio.js"

const KID = "nightly-job"
const { privateKey, publicKey } = crypto.generateKeyPairSync("ed25519")

const ServerLive = Server.layer({
  host: "127.0.0.1",
  port: 0,
  storage: { type: "memory" },
  auth: {
    enforce: true,
    keys: {
      [KID]: {
        publicKeys: [publicKey.export({ type: "spki", format: "pem" }).toString()],
        maxPermissions: Permission.all
      }
    }
  }
})

const sha256 = (bytes: Uint8Array) => crypto.createHash("sha256").update(bytes).digest("hex")

const check = (condition: boolean, what: string) =>
  condition ? Console.log(`  ok: ${what}`) : Effect.dieMessage(`demo failed: ${what}`)

/** Writes the job's input: 24 JSON documents (1–48 KiB), 4 logs (1–3 MiB), one 12 MiB binary. */
const generateFiles = (root: string): Map<string, string> => {
  const random = Random.seeded(42) // the same files on every run
  const files = new Map<string, string>()
  const write = (rel: string, bytes: Uint8Array) => {
    fs.mkdirSync(path.dirname(path.join(root, rel)), { recursive: true })
    fs.writeFileSync(path.join(root, rel), bytes)
    files.set(rel, sha256(bytes))
  }
  for (let i = 0; i < 24; i++) {
    const events = Array.from({ length: Math.ceil(random() * 300) + 10 }, (_, n) => ({
      id: `${i}-${n}`,
      level: random() < 0.1 ? "error" : "info",
      message: `request ${n} served in ${Math.round(random() * 500)} ms`
    }))
    write(
      `events/2026-11-28/batch-${String(i).padStart(2, "0")}.json`,
      new TextEncoder().encode(JSON.stringify(events))
    )
  }
  for (let i = 0; i < 4; i++) {
    const lines: Array<string> = []
    const size = (1 + i * 0.7) * 1024 * 1024
    let length = 0
    for (let n = 0; length < size; n++) {
      const line = `2026-11-28T02:${String(n % 60).padStart(2, "0")}:00Z worker-${i} job ${n} took ${
        Math.round(random() * 1000)
      }ms\n`
      lines.push(line)
      length += line.length
    }
    write(`logs/worker-${i}.log`, new TextEncoder().encode(lines.join("")))
  }
  write("artifacts/build.tar", new Uint8Array(crypto.randomBytes(12 * 1024 * 1024)))
  return files
}

const program = Effect.gen(function*() {
  const started = yield* Clock.currentTimeMillis
  const url = yield* HttpServer.addressFormattedWith(Effect.succeed)
  const control = yield* Server.ServerControl
  yield* Console.log(`local server listening on ${url} (memory storage, auth enforced)\n`)

  const work = fs.mkdtempSync(path.join(os.tmpdir(), "objectstore-demo-"))
  yield* Effect.addFinalizer(() => Effect.sync(() => fs.rmSync(work, { recursive: true, force: true })))
  const keyFile = path.join(work, "job-key.pem")
  fs.writeFileSync(keyFile, privateKey.export({ type: "pkcs8", format: "pem" }).toString(), { mode: 0o600 })
  const data = path.join(work, "data")
  const restored = path.join(work, "restored")
  const manifest = path.join(work, "manifest.tsv")

  // the settings a cron job would keep in its environment
  const env = new Map([
    ["OBJECTSTORE_URL", url],
    ["OBJECTSTORE_KEY_FILE", keyFile],
    ["OBJECTSTORE_KEY_ID", KID],
    ["OBJECTSTORE_USECASE", "nightly"],
    ["OBJECTSTORE_SCOPE", "org=42 project=1337"]
  ])
  const objectstore = (...args: ReadonlyArray<string>) =>
    Console.log(`$ objectstore ${args.map((a) => a.replace(work, "$WORK")).join(" ")}`).pipe(
      Effect.zipRight(Cli.main(args)),
      Effect.withConfigProvider(ConfigProvider.fromMap(env))
    )
  const capture = (...args: ReadonlyArray<string>) =>
    Effect.gen(function*() {
      const captured = Stdio.makeCapture()
      const code = yield* Cli.main(args).pipe(
        Effect.provide(captured.layer),
        Effect.withConfigProvider(ConfigProvider.fromMap(env))
      )
      return { code, stdout: captured.stdout(), stderr: captured.stderr() }
    })

  yield* Console.log("1. generate the night's files")
  const files = generateFiles(data)
  const totalBytes = [...files.keys()].reduce((n, rel) => n + fs.statSync(path.join(data, rel)).size, 0)
  yield* Console.log(`  ${files.size} files, ${Format.bytes(totalBytes)} in $WORK/data\n`)

  yield* Console.log("2. upload the tree (small files batched, the large one multipart), writing a manifest")
  const upload = yield* objectstore(
    "put-dir",
    data,
    "--prefix",
    "2026-11-28/",
    "--ttl",
    "7d",
    "--write-manifest",
    manifest
  )
  yield* check(upload === 0, "put-dir exited 0")
  const uploads = yield* control.storage.listUploads
  yield* check(uploads.length === 0, "no multipart upload left open")
  const rerun = yield* objectstore("put-dir", data, "--prefix", "2026-11-28/", "--ttl", "7d")
  yield* check(rerun === 0, "a re-run skips every unchanged file")

  yield* Console.log("\n3. list by manifest")
  const lines = fs.readFileSync(manifest, "utf8").trim().split("\n")
  for (const line of lines.slice(0, 3)) yield* Console.log(`  ${line.replace("\t", "  ->  ")}`)
  yield* Console.log(`  … ${lines.length} objects`)
  yield* check(lines.length === files.size, `the manifest lists all ${files.size} objects`)
  const head = yield* capture("head", "2026-11-28/artifacts/build.tar", "--json")
  const info = JSON.parse(head.stdout) as { custom: Record<string, string>; expirationPolicy: string }
  yield* check(
    info.custom.sha256 === files.get("artifacts/build.tar") && info.expirationPolicy === "ttl:7days",
    "the multipart object carries its sha256 and a 7-day time-to-live"
  )

  yield* Console.log("\n4. download everything by manifest and verify")
  const download = yield* objectstore("get-many", manifest, "--dir", restored)
  yield* check(download === 0, "get-many exited 0 (checksums verified while writing)")
  let verified = 0
  for (const [rel, digest] of files) {
    if (sha256(fs.readFileSync(path.join(restored, rel))) === digest) verified++
  }
  yield* check(verified === files.size, `all ${files.size} files read back identical (sha256)`)

  yield* Console.log("\n5. hand one object out through a pre-signed URL, fetched with plain HTTP")
  const presigned = yield* capture("presign", "2026-11-28/logs/worker-3.log", "--expires", "10m")
  yield* check(presigned.code === 0, "presign exited 0")
  const link = presigned.stdout.trim()
  yield* Console.log(`  ${link.replace(/os_sig=[^&]+/, "os_sig=…")}`)
  // node:http, not fetch: Node 24's fetch would undo the zstd itself, and this shows what any HTTP client receives.
  const response = yield* plainGet(link)
  const raw = response.body
  const compression = yield* Compression.Compression
  const body = response.encoding === "zstd"
    ? yield* Stream.runCollect(compression.decompress(Stream.make(raw))).pipe(
      Effect.map((chunks) => Buffer.concat(Chunk.toReadonlyArray(chunks)))
    )
    : raw
  yield* check(
    response.status === 200 && sha256(body) === files.get("logs/worker-3.log"),
    `HTTP ${response.status}, ${Format.bytes(raw.length)} on the wire (${response.encoding ?? "identity"}), ${
      Format.bytes(body.length)
    } decoded, sha256 matches`
  )

  yield* Console.log("\n6. delete everything")
  const removed = yield* objectstore("rm", "--from", manifest)
  yield* check(removed === 0, "rm exited 0")
  const left = yield* control.storage.list
  yield* check(left.length === 0, "the server holds no objects")

  const elapsed = (yield* Clock.currentTimeMillis) - started
  yield* Console.log(
    `\ndemo finished in ${Format.duration(elapsed)}: ${files.size} objects (${Format.bytes(totalBytes)}) ` +
      "uploaded, listed, downloaded and verified, one shared by pre-signed URL, all deleted; the server stops now"
  )
})

/** A GET with Node's bare HTTP client: status, content-encoding and the bytes as sent. */
function plainGet(url: string) {
  return Effect.async<{ status: number; encoding: string | undefined; body: Uint8Array }>((resume) => {
    Http.get(url, (response) => {
      const chunks: Array<Buffer> = []
      response.on("data", (chunk: Buffer) => chunks.push(chunk))
      response.on("end", () =>
        resume(Effect.succeed({
          status: response.statusCode ?? 0,
          encoding: response.headers["content-encoding"],
          body: Buffer.concat(chunks)
        })))
    }).on("error", (error) => resume(Effect.die(error)))
  })
}

program.pipe(
  Effect.scoped,
  Effect.provide(Layer.mergeAll(ServerLive, NodeContext.layer, Stdio.layerNode, Compression.layer)),
  NodeRuntime.runMain
)
