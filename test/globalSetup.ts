/**
 * Every test run gets its own temporary folder: `TMPDIR` points into it for the test workers and every child process
 * they start, so nothing a test creates lands in the machine's `/tmp`, and concurrent runs never see each other's
 * files. When the run ends the folder must be empty: every test removes what it creates (`test/support.ts`'s scoped
 * `tempDir`), also when it fails or times out. Anything left is listed, removed, and fails the run.
 */
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"

const VARIABLE = "OBJECTSTORE_TEST_RUN_DIR"

export default function setup() {
  // Each workspace project runs this setup; the first one creates the folder and the others share it.
  if (process.env[VARIABLE] !== undefined) return
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "objectstore-test-run-"))
  const previous = process.env.TMPDIR
  process.env[VARIABLE] = dir
  process.env.TMPDIR = dir
  return () => {
    delete process.env[VARIABLE]
    if (previous === undefined) delete process.env.TMPDIR
    else process.env.TMPDIR = previous
    // tsx keeps its compile cache in the temporary folder (the examples and the demo run through it).
    const left = fs.readdirSync(dir).filter((name) => !name.startsWith("tsx-"))
    fs.rmSync(dir, { recursive: true, force: true })
    if (left.length > 0) {
      throw new Error(
        `the tests left ${left.length} entries in their temporary folder (removed now): ${left.slice(0, 20).join(", ")}`
      )
    }
  }
}
