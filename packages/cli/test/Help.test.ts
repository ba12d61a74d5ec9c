/**
 * The help a person reads: one screen per command, wrapped to the terminal, every option with its own words and
 * default; the root help with the commands, exit codes and environment; parse errors as one line with a hint.
 */
import { assert, describe, it } from "@effect/vitest"
import * as Stdio from "@objectstore/cli/Stdio"
import * as Effect from "effect/Effect"
import { cli } from "./helpers.js"

const lines = (text: string) => text.replace(/\n$/, "").split("\n")
const widest = (text: string) => Math.max(...lines(text).map((line) => line.length))

const putFlags = [
  "--key KEY",
  "--filename NAME",
  "--compression ALGO",
  "--ttl DURATION",
  "--tti DURATION",
  "--meta NAME=VALUE",
  "--origin TEXT",
  "--content-type TYPE",
  "--part-size SIZE",
  "--concurrency N",
  "--json",
  "--url URL",
  "--token-file FILE",
  "--key-file PEM",
  "--key-id KID",
  "--usecase NAME",
  "--scope SCOPE",
  "--config FILE"
]

describe("objectstore help", () => {
  it.effect("put --help fits one screen, 80 columns off a terminal, and describes every flag in its own words", () =>
    Effect.gen(function*() {
      const help = yield* cli(["put", "--help"])
      assert.strictEqual(help.code, 0, help.stderr)
      assert.strictEqual(help.stderr, "")
      assert.isAtMost(lines(help.stdout).length, 50)
      assert.isAtMost(widest(help.stdout), 80)
      assert.isTrue(help.stdout.startsWith("Usage: objectstore put [OPTIONS] FILE|-\n"))
      for (const flag of putFlags) assert.include(help.stdout, flag)
      assert.notInclude(help.stdout, "A user-defined piece of text")
      assert.notInclude(help.stdout, "This setting is optional")
      // the defaults are shown
      assert.match(help.stdout, /--url URL +server URL.*\n.*\(default: http:\/\/127\.0\.0\.1:8888\)/)
      assert.match(help.stdout, /--concurrency N +parts uploaded at once \(default: 4\)/)
      assert.notInclude(help.stdout, "\x1b[", "no escape codes off a terminal")
      // the same text, however it is asked for
      assert.strictEqual((yield* cli(["put", "-h"])).stdout, help.stdout)
      assert.strictEqual((yield* cli(["help", "put"])).stdout, help.stdout)
      assert.strictEqual((yield* cli(["put", "x", "--ttl", "1d", "--help"])).stdout, help.stdout)
    }))

  it.effect("serve --help: --auth-key is optional and repeatable, --host and --port say what they are", () =>
    Effect.gen(function*() {
      const help = yield* cli(["serve", "--help"])
      assert.strictEqual(help.code, 0)
      assert.match(help.stdout, /Usage: objectstore serve \[OPTIONS\]\n/)
      assert.match(help.stdout, /--auth-key KID=PEM +enforce auth: .*\(repeatable\)/s)
      assert.match(help.stdout, /--host ADDRESS +the address to listen on.*\(default: 127\.0\.0\.1\)/s)
      assert.match(help.stdout, /--port PORT +the port; 0 picks a free one \(default: 8888\)/)
      assert.notInclude(help.stdout, "--url", "serve has no connection flags")
    }))

  it.effect("wrapped to the terminal's width; a terminal that reports 0 columns gets 80", () =>
    Effect.gen(function*() {
      for (const columns of [60, 100, 200]) {
        const capture = Stdio.makeCapture({ tty: true, color: true, columns })
        const help = yield* cli(["put-dir", "--help"], { capture })
        assert.strictEqual(help.code, 0)
        // bold headings on a terminal
        assert.include(help.stdout, "\x1b[1mOptions:\x1b[0m")
        const plain = help.stdout.replace(/\x1b\[[0-9;]*m/g, "")
        assert.isAtMost(widest(plain), Math.min(columns, 100), `at ${columns} columns`)
        assert.isAbove(widest(plain), Math.min(columns, 100) - 15, `uses the width at ${columns} columns`)
      }
      const zero = yield* cli(["put-dir", "--help"], { capture: Stdio.makeCapture({ tty: true, columns: 0 }) })
      const plain = zero.stdout.replace(/\x1b\[[0-9;]*m/g, "")
      assert.isAtMost(widest(plain), 80)
      assert.isAbove(widest(plain), 65)
    }))

  it.effect("objectstore --help lists the commands, the global options, the environment and every exit code", () =>
    Effect.gen(function*() {
      const help = yield* cli(["--help"])
      assert.strictEqual(help.code, 0)
      assert.strictEqual((yield* cli([])).stdout, help.stdout, "no arguments: the help")
      assert.strictEqual((yield* cli(["help"])).stdout, help.stdout)
      for (const command of ["put", "get", "head", "rm", "put-dir", "get-many", "presign", "url", "token", "serve"]) {
        assert.match(help.stdout, new RegExp(`\\n  ${command} .*\\S`), command)
      }
      for (const name of ["OBJECTSTORE_URL", "OBJECTSTORE_TOKEN", "OBJECTSTORE_KEY_FILE", "OBJECTSTORE_SCOPE"]) {
        assert.include(help.stdout, name)
      }
      assert.include(help.stdout, "--completions SHELL")
      for (const code of [0, 1, 2, 3, 4, 5, 130, 141]) assert.match(help.stdout, new RegExp(`\\n  ${code} +\\S`))
      assert.isAtMost(widest(help.stdout), 80)
    }))

  it.effect("parse errors are one line and a hint naming the command's help; unknown commands are named", () =>
    Effect.gen(function*() {
      const missing = yield* cli(["put"])
      assert.strictEqual(missing.code, 2)
      assert.strictEqual(missing.stdout, "")
      assert.strictEqual(missing.stderr, "objectstore: missing argument <file>\nhint: see objectstore put --help\n")
      const notNumber = yield* cli(["put", "f", "--concurrency", "x"])
      assert.strictEqual(notNumber.code, 2)
      assert.strictEqual(
        notNumber.stderr,
        "objectstore: bad --concurrency \"x\": expected a whole number from 1\nhint: see objectstore put --help\n"
      )
      const zero = yield* cli(["get-many", "-d", "out", "--concurrency", "0"])
      assert.strictEqual(zero.code, 2)
      const unknown = yield* cli(["frobnicate", "x"])
      assert.strictEqual(unknown.code, 2)
      assert.match(unknown.stderr, /^objectstore: unknown command "frobnicate"\nhint: the commands are put, get, /)
      const unknownHelp = yield* cli(["help", "frobnicate"])
      assert.strictEqual(unknownHelp.code, 2)
      const version = yield* cli(["--version"])
      assert.strictEqual(version.stdout, "0.1.0\n")
    }))
})
