// Finds import cycles among the modules of every package (packages/*/src), including cycles across packages, and
// fails on any. Run: npm run check:cycles
//
// Imports are read with the TypeScript compiler's parser (no type-check; about a second for all packages):
// `import … from`, `export … from`, `import x = require(…)`, `import(…)` and `import("…").T` type references.
// Relative specifiers resolve `.js` to the `.ts` source; `@objectstore/<pkg>[/<Module>]` resolves to
// `packages/<pkg>/src/{index,<Module>}.ts`, as tsconfig.json's `paths` do. Other packages are outside the graph.
//
// Type-only imports count (`import type`, `export type … from`, `import("…").T`). They are erased at run time, so
// they cannot cause an initialisation-order bug, but they still tie two modules into one unit: neither can be read,
// tested or moved without the other, and a type-only edge becomes a run-time one the first time a value is needed
// from the same module (`new Storage.StorageError` in the server was exactly that). Issue 18 removed cycles that
// were type-only (client `Auth.ts` <-> `internal/jwt.ts`, where jwt.ts imported only types; `Session.ts` <->
// `Batch.ts`); a run-time-only check would not have seen them. Effect itself tolerates the pattern (a public module
// declares interfaces, its internal module imports them as types); the remedy here is the same for both kinds:
// models and errors in a leaf module. Every edge printed says whether it exists at run time (`->`) or only for types
// (`-(type)->`), and each cycle whether it survives with run-time edges alone.
//
// Options: --json prints the cycles as JSON; --verbose also lists the modules and every edge of each cycle.
import * as fs from "node:fs"
import * as path from "node:path"
import { fileURLToPath } from "node:url"
import ts from "typescript"

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..")

// There is no allowlist: every cycle fails, type-only ones included. Break it instead: models and errors in a leaf
// module (`StorageModel`, `ObjectModel`, `SessionModel`, `AuthModel`), helpers in their own module.

const args = new Set(process.argv.slice(2))

const walk = (dir) =>
  fs.readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const full = path.join(dir, entry.name)
    return entry.isDirectory() ? walk(full) : entry.name.endsWith(".ts") && !entry.name.endsWith(".d.ts") ? [full] : []
  })

const packagesDir = path.join(root, "packages")
const packageNames = fs.readdirSync(packagesDir).filter((name) => fs.existsSync(path.join(packagesDir, name, "src")))
const files = packageNames.flatMap((name) => walk(path.join(packagesDir, name, "src"))).sort()
const known = new Set(files)
const rel = (file) => path.relative(root, file).split(path.sep).join("/")

/** The source file a specifier names, or undefined when it is outside the graph. */
const resolve = (from, specifier) => {
  let target
  if (specifier.startsWith(".")) {
    const base = path.resolve(path.dirname(from), specifier)
    target = [base.replace(/\.(m?)js$/, ".$1ts"), base, `${base}.ts`, path.join(base, "index.ts")].find((f) =>
      known.has(f)
    )
    if (target === undefined) throw new Error(`${rel(from)}: cannot resolve ${specifier}`)
    return target
  }
  const match = /^@objectstore\/([^/]+)(?:\/(.+))?$/.exec(specifier)
  if (match === null) return undefined
  target = path.join(packagesDir, match[1], "src", match[2] === undefined ? "index.ts" : `${match[2]}.ts`)
  if (!known.has(target)) throw new Error(`${rel(from)}: cannot resolve ${specifier}`)
  return target
}

// Under `verbatimModuleSyntax` (tsconfig.base.json) only `import type …` and `export type … from` are erased:
// `import { type A } from "x"` is emitted as `import {} from "x"`, which still loads x, so it is a run-time edge.
const isTypeOnlyImport = (node) => node.importClause?.isTypeOnly === true

const isTypeOnlyExport = (node) => node.isTypeOnly

/** file → Map(target → { runtime: boolean }) */
const graph = new Map()
for (const file of files) {
  const source = ts.createSourceFile(file, fs.readFileSync(file, "utf8"), ts.ScriptTarget.Latest, true)
  const edges = new Map()
  const add = (specifier, runtime) => {
    const target = resolve(file, specifier)
    if (target === undefined) return
    const edge = edges.get(target) ?? { runtime: false }
    edge.runtime ||= runtime
    edges.set(target, edge)
  }
  const visit = (node) => {
    if (ts.isImportDeclaration(node) && ts.isStringLiteral(node.moduleSpecifier)) {
      add(node.moduleSpecifier.text, !isTypeOnlyImport(node))
    } else if (
      ts.isExportDeclaration(node) && node.moduleSpecifier !== undefined && ts.isStringLiteral(node.moduleSpecifier)
    ) {
      add(node.moduleSpecifier.text, !isTypeOnlyExport(node))
    } else if (
      ts.isImportEqualsDeclaration(node) && ts.isExternalModuleReference(node.moduleReference) &&
      ts.isStringLiteral(node.moduleReference.expression)
    ) {
      add(node.moduleReference.expression.text, !node.isTypeOnly)
    } else if (
      ts.isCallExpression(node) && node.expression.kind === ts.SyntaxKind.ImportKeyword &&
      node.arguments.length > 0 && ts.isStringLiteralLike(node.arguments[0])
    ) {
      add(node.arguments[0].text, true)
    } else if (
      ts.isImportTypeNode(node) && ts.isLiteralTypeNode(node.argument) && ts.isStringLiteral(node.argument.literal)
    ) {
      add(node.argument.literal.text, false)
    }
    ts.forEachChild(node, visit)
  }
  visit(source)
  graph.set(file, edges)
}

// Tarjan's strongly connected components (iterative, so deep graphs cannot overflow the stack).
const components = []
{
  let counter = 0
  const index = new Map()
  const low = new Map()
  const stack = []
  const onStack = new Set()
  for (const start of files) {
    if (index.has(start)) continue
    const work = [{ node: start, targets: [...graph.get(start).keys()], next: 0 }]
    index.set(start, counter)
    low.set(start, counter++)
    stack.push(start)
    onStack.add(start)
    while (work.length > 0) {
      const frame = work[work.length - 1]
      if (frame.next < frame.targets.length) {
        const target = frame.targets[frame.next++]
        if (!index.has(target)) {
          index.set(target, counter)
          low.set(target, counter++)
          stack.push(target)
          onStack.add(target)
          work.push({ node: target, targets: [...graph.get(target).keys()], next: 0 })
        } else if (onStack.has(target)) {
          low.set(frame.node, Math.min(low.get(frame.node), index.get(target)))
        }
        continue
      }
      work.pop()
      if (work.length > 0) {
        const parent = work[work.length - 1].node
        low.set(parent, Math.min(low.get(parent), low.get(frame.node)))
      }
      if (low.get(frame.node) === index.get(frame.node)) {
        const component = []
        let member
        do {
          member = stack.pop()
          onStack.delete(member)
          component.push(member)
        } while (member !== frame.node)
        const selfLoop = graph.get(frame.node).has(frame.node)
        if (component.length > 1 || selfLoop) components.push(component.sort())
      }
    }
  }
}

/** The shortest path from `start` to `goal` inside `members` (breadth-first), as a list of modules. */
const shortestPath = (start, goal, members) => {
  const previous = new Map([[start, undefined]])
  const queue = [start]
  while (queue.length > 0) {
    const node = queue.shift()
    if (node === goal) {
      const path = []
      for (let at = goal; at !== undefined; at = previous.get(at)) path.unshift(at)
      return path
    }
    for (const target of graph.get(node).keys()) {
      if (members.has(target) && !previous.has(target)) {
        previous.set(target, node)
        queue.push(target)
      }
    }
  }
  return [start]
}

/** The shortest cycle through the edge `from -> to`, as a list of modules starting at `from`. */
const cycleThrough = (from, to, members) =>
  from === to ? [from] : [from, ...shortestPath(to, from, members).slice(0, -1)]

const arrow = (edge) => edge.runtime ? "->" : "-(type)->"

const describe = (cycle) =>
  [...cycle, cycle[0]].map((file, i, all) =>
    i === 0 ? rel(file) : `${arrow(graph.get(all[i - 1]).get(file))} ${rel(file)}`
  ).join(" ")

const report = components.map((component) => {
  const members = new Set(component)
  const edges = component.flatMap((from) =>
    [...graph.get(from)].filter(([to]) => members.has(to)).map(([to, edge]) => ({ from, to, runtime: edge.runtime }))
  )
  return {
    modules: component.map(rel),
    runtime: isRuntimeCycle(component),
    // Each edge of a component lies on a cycle; the one through its first edge shows what it is.
    cycles: [describe(cycleThrough(edges[0].from, edges[0].to, members))],
    edges: edges.map((edge) => ({ ...edge, from: rel(edge.from), to: rel(edge.to) }))
  }
})

/** Whether the component still has a cycle when only run-time edges are kept. */
function isRuntimeCycle(component) {
  const members = new Set(component)
  const runtimeTargets = (node) =>
    [...graph.get(node)].filter(([to, edge]) => edge.runtime && members.has(to)).map(([to]) => to)
  const state = new Map() // 1 visiting, 2 done
  const visit = (node) => {
    state.set(node, 1)
    for (const target of runtimeTargets(node)) {
      if (state.get(target) === 1) return true
      if (state.get(target) === undefined && visit(target)) return true
    }
    state.set(node, 2)
    return false
  }
  return component.some((node) => state.get(node) === undefined && visit(node))
}

if (args.has("--json")) {
  console.log(JSON.stringify({ modules: files.length, cycles: report }, null, 2))
} else {
  for (const cycle of report) {
    console.log(`${cycle.runtime ? "run-time" : "type-only"} cycle among ${cycle.modules.length} modules:`)
    for (const line of cycle.cycles) console.log(`  ${line}`)
    if (args.has("--verbose")) {
      console.log(`  modules: ${cycle.modules.join(", ")}`)
      for (const edge of cycle.edges) console.log(`    ${edge.from} ${arrow(edge)} ${edge.to}`)
    }
  }
  console.log(`${files.length} modules in ${packageNames.length} packages: ${report.length} cycle(s)`)
}
if (report.length > 0) {
  console.error("import cycles: move shared models and errors to a leaf module, helpers to their own module")
  process.exit(1)
}
