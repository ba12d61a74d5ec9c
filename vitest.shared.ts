import * as path from "node:path"
import { fileURLToPath } from "node:url"
import type { ViteUserConfig } from "vitest/config"

const root = path.dirname(fileURLToPath(import.meta.url))
// npm workspaces link packages by name to their `dist` exports; tests run against `src`.
const config: ViteUserConfig = {
  resolve: {
    alias: [
      { find: /^@objectstore\/(protocol|client|server|testing|cli)$/, replacement: path.join(root, "packages/$1/src/index.ts") },
      { find: /^@objectstore\/(protocol|client|server|testing|cli)\/(.*)$/, replacement: path.join(root, "packages/$1/src/$2.ts") }
    ]
  },
  test: {
    include: ["test/**/*.test.ts"],
    globalSetup: [path.join(root, "test/globalSetup.ts")],
    testTimeout: 60_000,
    hookTimeout: 60_000,
    sequence: { concurrent: false }
  }
}
export default config
