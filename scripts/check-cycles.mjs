// Finds import cycles among the modules of every package (packages/*/src), including cycles across packages, and
// fails on any cycle that the allowlist below does not cover. Run: npm run check:cycles
//
// Imports are read with the TypeScript compiler's parser (no type-check; about a second for all packages):
// `import … from`, `export … from`, `import x = require(…)`, `import(…)` and `import("…").T` type references.
// Relative specifiers resolve `.js` to the `.ts` source; `@objectstore/<pkg>[/<Module>]` resolves to
// `packages/<pkg>/src/{index,<Module>}.ts`, as tsconfig.json's `paths` do. Other packages are outside the graph.
//
// Type-only imports count (`import type`, `export type … from`, `import("…").T`). They are erased at run time, so
// they cannot cause an initialisation-order bug, but they still tie two modules into one unit: neither can be read,
// tested or moved without the other, and a type-only edge becomes a run-time one the first time a value is needed
// from the same module (`new Storage.StorageError` in the server was exactly that). Issue 18 asks to remove cycles
// that are type-only (client `Auth.ts` <-> `internal/jwt.ts`, where jwt.ts imports only types; `Session.ts` <->
// `Batch.ts`); a run-time-only check would not see them. Effect itself tolerates the pattern (a public module
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

/**
 * Known cycles, as the exact import edges that close them (`from -> to`, paths under `packages/`). An edge that
 * lies on a cycle (both ends in one strongly connected component) must be listed here, so any new import that closes
 * a cycle fails, even one among modules that are already in a listed cycle. Edges listed here that no longer lie on a
 * cycle are reported, so the list only shrinks.
 *
 * The client's cycles below are being removed by the client work of issue 18 (item 1): the lead removes these entries
 * when it lands. Add nothing here: break the cycle instead (models and errors in a leaf module, helpers in their own).
 */
const allowed = [
  {
    why: "client: Session.ts <-> Batch.ts <-> Multipart.ts <-> ObjectstoreClient.ts share option types, and " +
      "Session.layer builds the client; the internal modules that read Session's option types join the cycle " +
      "(many, upload and the session's operations split into modules by concern: the same cycle, more names)",
    edges: [
      "client/src/Batch.ts -> client/src/Session.ts",
      "client/src/Multipart.ts -> client/src/Resumable.ts",
      "client/src/Multipart.ts -> client/src/Session.ts",
      "client/src/ObjectstoreClient.ts -> client/src/Session.ts",
      "client/src/ObjectstoreClient.ts -> client/src/internal/session.ts",
      "client/src/Resumable.ts -> client/src/Multipart.ts",
      "client/src/Resumable.ts -> client/src/Session.ts",
      "client/src/Session.ts -> client/src/Batch.ts",
      "client/src/Session.ts -> client/src/Multipart.ts",
      "client/src/Session.ts -> client/src/ObjectstoreClient.ts",
      "client/src/Session.ts -> client/src/Resumable.ts",
      "client/src/internal/extendExpiry.ts -> client/src/Session.ts",
      "client/src/internal/insert.ts -> client/src/Session.ts",
      "client/src/internal/many.ts -> client/src/Batch.ts",
      "client/src/internal/many.ts -> client/src/internal/manyPlan.ts",
      "client/src/internal/many.ts -> client/src/internal/manyWire.ts",
      "client/src/internal/manyPlan.ts -> client/src/Batch.ts",
      "client/src/internal/manyPlan.ts -> client/src/Session.ts",
      "client/src/internal/manyPlan.ts -> client/src/internal/insert.ts",
      "client/src/internal/manyWire.ts -> client/src/Batch.ts",
      "client/src/internal/manyWire.ts -> client/src/Session.ts",
      "client/src/internal/manyWire.ts -> client/src/internal/manyPlan.ts",
      "client/src/internal/multipart.ts -> client/src/Multipart.ts",
      "client/src/internal/multipart.ts -> client/src/internal/insert.ts",
      "client/src/internal/multipart.ts -> client/src/internal/sizedBody.ts",
      "client/src/internal/multipartUpload.ts -> client/src/Multipart.ts",
      "client/src/internal/multipartUpload.ts -> client/src/Resumable.ts",
      "client/src/internal/multipartUpload.ts -> client/src/Session.ts",
      "client/src/internal/multipartUpload.ts -> client/src/internal/uploadParts.ts",
      "client/src/internal/multipartUpload.ts -> client/src/internal/uploadResumable.ts",
      "client/src/internal/multipartUpload.ts -> client/src/internal/uploadState.ts",
      "client/src/internal/resumable.ts -> client/src/Resumable.ts",
      "client/src/internal/resumable.ts -> client/src/internal/insert.ts",
      "client/src/internal/resumable.ts -> client/src/internal/sizedBody.ts",
      "client/src/internal/session.ts -> client/src/Session.ts",
      "client/src/internal/session.ts -> client/src/internal/extendExpiry.ts",
      "client/src/internal/session.ts -> client/src/internal/insert.ts",
      "client/src/internal/session.ts -> client/src/internal/many.ts",
      "client/src/internal/session.ts -> client/src/internal/multipart.ts",
      "client/src/internal/session.ts -> client/src/internal/multipartUpload.ts",
      "client/src/internal/session.ts -> client/src/internal/resumable.ts",
      "client/src/internal/session.ts -> client/src/internal/sessionEnv.ts",
      "client/src/internal/session.ts -> client/src/internal/sessionGet.ts",
      "client/src/internal/sessionEnv.ts -> client/src/Session.ts",
      "client/src/internal/sessionGet.ts -> client/src/Session.ts",
      "client/src/internal/sessionGet.ts -> client/src/internal/sessionEnv.ts",
      "client/src/internal/sizedBody.ts -> client/src/Multipart.ts",
      "client/src/internal/uploadParts.ts -> client/src/Multipart.ts",
      "client/src/internal/uploadParts.ts -> client/src/internal/uploadState.ts",
      "client/src/internal/uploadResumable.ts -> client/src/Multipart.ts",
      "client/src/internal/uploadResumable.ts -> client/src/Resumable.ts",
      "client/src/internal/uploadResumable.ts -> client/src/internal/uploadState.ts",
      "client/src/internal/uploadState.ts -> client/src/Multipart.ts",
      "client/src/internal/uploadState.ts -> client/src/Session.ts"
    ]
  },
  {
    why: "client: Auth.ts <-> internal/jwt.ts (the signer reads Auth's models and errors)",
    edges: ["client/src/Auth.ts -> client/src/internal/jwt.ts", "client/src/internal/jwt.ts -> client/src/Auth.ts"]
  }
]

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

const edgeName = (from, to) =>
  `${path.relative(packagesDir, from)} -> ${path.relative(packagesDir, to)}`
    .split(path.sep).join("/")
const allowance = new Map(allowed.flatMap((entry) => entry.edges.map((edge) => [edge, entry.why])))
const used = new Set()

const report = components.map((component) => {
  const members = new Set(component)
  const edges = component.flatMap((from) =>
    [...graph.get(from)].filter(([to]) => members.has(to)).map(([to, edge]) => {
      const name = edgeName(from, to)
      if (allowance.has(name)) used.add(name)
      return { from, to, runtime: edge.runtime, allowedBecause: allowance.get(name) }
    })
  )
  const newEdges = edges.filter((edge) => edge.allowedBecause === undefined)
  // A component that is all allowed or all new is shown by one cycle; otherwise each new edge with a cycle it closes.
  const shown = newEdges.length === 0 || newEdges.length === edges.length ? [edges[0]] : newEdges
  return {
    modules: component.map(rel),
    runtime: isRuntimeCycle(component),
    cycles: shown.map((edge) => describe(cycleThrough(edge.from, edge.to, members))),
    edges: edges.map((edge) => ({ ...edge, from: rel(edge.from), to: rel(edge.to) })),
    newEdges: newEdges.length
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

const stale = [...allowance.keys()].filter((edge) => !used.has(edge))
const failures = report.filter((cycle) => cycle.newEdges > 0)

if (args.has("--json")) {
  console.log(JSON.stringify({ modules: files.length, cycles: report, stale }, null, 2))
} else {
  for (const cycle of report) {
    const kind = cycle.runtime ? "run-time cycle" : "type-only cycle"
    const whys = [...new Set(cycle.edges.map((edge) => edge.allowedBecause).filter((why) => why !== undefined))]
    const status = cycle.newEdges > 0 ? `NEW (${cycle.newEdges} edge(s) not allowed)` : `allowed (${whys.join("; ")})`
    console.log(`${kind} among ${cycle.modules.length} modules, ${status}:`)
    for (const line of cycle.cycles) console.log(`  ${line}`)
    if (args.has("--verbose")) {
      console.log(`  modules: ${cycle.modules.join(", ")}`)
      for (const edge of cycle.edges) {
        console.log(`    ${edge.allowedBecause === undefined ? "new: " : ""}${edge.from} ${arrow(edge)} ${edge.to}`)
      }
    }
  }
  for (const edge of stale) console.log(`allowlist edge no longer on a cycle, remove it: ${edge}`)
  console.log(
    `${files.length} modules in ${packageNames.length} packages: ${report.length} cycle(s), ${failures.length} new`
  )
}
if (failures.length > 0) {
  console.error("new import cycles: move shared models and errors to a leaf module, helpers to their own module")
  process.exit(1)
}
