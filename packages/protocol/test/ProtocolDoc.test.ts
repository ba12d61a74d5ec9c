/**
 * docs/PROTOCOL.md is the repository's own copy of the wire protocol. Code comments, tests and docs cite its sections
 * as §N or §N.M; every such citation must name a section that exists, so that anyone who clones the repository can
 * follow it.
 */
import { assert, describe, it } from "@effect/vitest"
import * as fs from "node:fs"
import * as path from "node:path"
import { fileURLToPath } from "node:url"

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../../..")
const protocol = fs.readFileSync(path.join(root, "docs/PROTOCOL.md"), "utf8")

/** Section numbers from the document's headings: `## 10. Batch …`, `### 10.5 Client …`, `## 21. Metrics`. */
const sections = new Set(
  [...protocol.matchAll(/^#{2,4} (\d+(?:\.\d+)*)\.?\s/gm)].map((match) => match[1])
)

const skip = new Set(["node_modules", "dist", ".git"])
const sources = (dir: string): Array<string> =>
  fs.readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    if (skip.has(entry.name) || entry.name.startsWith(".")) return []
    const full = path.join(dir, entry.name)
    if (entry.isDirectory()) return sources(full)
    return /\.(ts|md|mjs)$/.test(entry.name) ? [full] : []
  })

describe("docs/PROTOCOL.md", () => {
  it("has its numbered sections", () => {
    for (const section of ["1", "4.3", "10.5", "12.3", "13.5", "16.2", "21"]) {
      assert.isTrue(sections.has(section), section)
    }
  })

  it("every § citation in the repository names a section of docs/PROTOCOL.md", () => {
    const dangling: Array<string> = []
    let citations = 0
    for (const dir of ["packages", "examples", "bench", "docs", "README.md", "CHANGELOG.md", "BENCHMARKS.md"]) {
      const full = path.join(root, dir)
      if (!fs.existsSync(full)) continue
      const files = fs.statSync(full).isDirectory() ? sources(full) : [full]
      for (const file of files) {
        if (file.endsWith("PROTOCOL.md")) continue
        const text = fs.readFileSync(file, "utf8")
        for (const match of text.matchAll(/§ ?(\d+(?:\.\d+)*)/g)) {
          citations++
          // "§10.5's" or a sentence ending "§4.3." leave no trailing dot in the capture.
          if (!sections.has(match[1])) dangling.push(`${path.relative(root, file)}: §${match[1]}`)
        }
      }
    }
    assert.isAbove(citations, 100, "the scan found the repository's citations")
    assert.deepStrictEqual(dangling, [])
  })
})
