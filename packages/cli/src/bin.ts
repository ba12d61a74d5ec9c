/**
 * The `objectstore` executable: the command with the production layers (Node's file system, the process's
 * standard streams and signals, configuration from the environment), and the process's exit code set from what
 * `Cli.main` returns (see `CliError`).
 *
 * `Cli.main` handles Ctrl-C itself (through `Stdio.layerNode`): the command is interrupted, which aborts in-flight
 * multipart uploads and removes partial files, and the exit code is 130 (`serve` stops with 0); a second Ctrl-C
 * kills the process at once. A closed standard output (`objectstore … | head`) stops the command the same way,
 * quietly, with exit code 141.
 *
 * @since 0.1.0
 */
import * as NodeContext from "@effect/platform-node/NodeContext"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Layer from "effect/Layer"
import * as Cli from "./Cli.js"
import * as CliError from "./CliError.js"
import * as Stdio from "./Stdio.js"

// keeps Node running while the command waits on nothing but effects
const keepAlive = setInterval(() => {}, 2 ** 31 - 1)

Effect.runFork(
  Cli.main(process.argv.slice(2)).pipe(Effect.provide(Layer.mergeAll(NodeContext.layer, Stdio.layerNode)))
).addObserver((exit) => {
  clearInterval(keepAlive)
  const code = Exit.isSuccess(exit) ? exit.value : CliError.ExitCode.failure
  // success ends when the event loop is empty, as usual; anything else ends now
  if (code === 0) process.exitCode = 0
  else process.exit(code)
})
