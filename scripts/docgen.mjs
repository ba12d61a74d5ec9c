// Generates the API docs of the published packages with @effect/docgen, which also type-checks and runs every
// @example, and checks that every export's @category is one of the project's categories. Run: npm run docgen
import { execFileSync } from "node:child_process"
import * as fs from "node:fs"
import * as path from "node:path"
import { fileURLToPath } from "node:url"

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..")
const packages = ["protocol", "client", "server", "testing"]

/** The one list of @category names (STYLE §11, extended by what the protocol package needs). */
const categories = new Set([
  "constructors",
  "layers",
  "services",
  "models",
  "errors",
  "constants",
  "combinators",
  "conversions",
  "guards",
  "equivalence",
  "validation",
  "parsing",
  "formatting",
  "encoding",
  "decoding",
  "metrics",
  "commands"
])

const walk = (dir) =>
  fs.readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const full = path.join(dir, entry.name)
    return entry.isDirectory() ? walk(full) : entry.name.endsWith(".ts") ? [full] : []
  })

const unknown = []
for (const name of [...packages, "cli"]) {
  for (const file of walk(path.join(root, "packages", name, "src"))) {
    const text = fs.readFileSync(file, "utf8")
    for (const match of text.matchAll(/@category (.+)/g)) {
      if (!categories.has(match[1].trim())) unknown.push(`${path.relative(root, file)}: @category ${match[1].trim()}`)
    }
  }
}
if (unknown.length > 0) {
  console.error(`unknown @category names (use one of: ${[...categories].join(", ")}):\n${unknown.join("\n")}`)
  process.exit(1)
}

for (const name of packages) {
  console.error(`docgen: @objectstore/${name}`)
  try {
    execFileSync(process.execPath, [path.join(root, "node_modules/@effect/docgen/bin.cjs")], {
      cwd: path.join(root, "packages", name),
      stdio: ["ignore", "ignore", "inherit"]
    })
  } catch {
    console.error(`docgen failed for @objectstore/${name}`)
    process.exit(1)
  }
}
