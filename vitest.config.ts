import * as os from "node:os"
import { defineConfig } from "vitest/config"

// The projects are in vitest.workspace.ts. Vitest runs cores - 1 test files at once by default, which is one on a
// 2-core machine; the suite spends much of its time waiting on sockets and child processes, so two files at once
// take about 60% of the time there (92 s against 155 s in one measurement) and nothing depends on timing.
export default defineConfig({
  test: { maxWorkers: Math.max(2, os.availableParallelism() - 1), minWorkers: 1 }
})
