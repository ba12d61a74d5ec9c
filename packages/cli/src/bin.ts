/**
 * The `objectstore` executable: the command with the production layers (Node's file system, the process's
 * standard streams, configuration from the environment), run by `NodeRuntime.runMain` with Effect's own failure
 * printing disabled. The exit code is the command's (see `CliError`); Ctrl-C interrupts the command, which aborts
 * in-flight multipart uploads and removes partial files, and exits with 130.
 *
 * @since 0.1.0
 */
import * as NodeContext from "@effect/platform-node/NodeContext"
import * as NodeRuntime from "@effect/platform-node/NodeRuntime"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Layer from "effect/Layer"
import * as Cli from "./Cli.js"
import * as CliError from "./CliError.js"
import * as Stdio from "./Stdio.js"

let code: number = CliError.ExitCode.failure

Cli.main(process.argv.slice(2)).pipe(
  Effect.tap((exitCode) =>
    Effect.sync(() => {
      code = exitCode
    })
  ),
  Effect.provide(Layer.mergeAll(NodeContext.layer, Stdio.layerNode)),
  NodeRuntime.runMain({
    disableErrorReporting: true,
    disablePrettyLogger: true,
    teardown: (exit, onExit) => {
      if (Cli.isInterrupted(exit)) {
        process.stderr.write("\nobjectstore: interrupted\n")
        onExit(CliError.ExitCode.interrupted)
      } else onExit(Exit.isSuccess(exit) ? code : CliError.ExitCode.failure)
    }
  })
)
