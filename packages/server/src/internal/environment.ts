/**
 * The `OS__*` environment as a tree of `__`-separated names (PROTOCOL §16): `OS__AUTH__KEYS__MYKID__KEY_FILES`
 * is the node `auth` → `keys` → `mykid` → `key_files`. Names are matched case-insensitively after the prefix and
 * lowercased, as upstream does. A node keeps the name of the variable it stands for, so errors can name it.
 *
 * Structured values (§16.2) are read from a node with `structured`: the node's own literal, with the nested
 * variables below it merged over it.
 *
 * @since 0.1.0
 * @internal
 */
import * as Either from "effect/Either"
import * as Literal from "./literal.js"

/**
 * One name of the tree: its variable (`OS__AUTH__KEYS`), its value if that variable is set, and the names below it.
 *
 * @since 0.1.0
 * @internal
 */
export interface Node {
  readonly variable: string
  readonly value: string | undefined
  readonly children: ReadonlyMap<string, Node>
}

/**
 * A variable whose value cannot be read, and why.
 *
 * @since 0.1.0
 * @internal
 */
export interface Failure {
  readonly variable: string
  readonly reason: string
}

const PREFIX = "OS__"

interface MutableNode {
  readonly variable: string
  value: string | undefined
  readonly children: Map<string, MutableNode>
}

/**
 * Builds the tree of the `OS__*` variables of `env`. Other variables, unset ones and names with an empty segment
 * (`OS__A____B`) are left out.
 *
 * @since 0.1.0
 * @internal
 */
export const tree = (env: Readonly<Record<string, string | undefined>>): Node => {
  const root: MutableNode = { variable: "OS", value: undefined, children: new Map() }
  for (const [name, value] of Object.entries(env)) {
    if (value === undefined || name.length <= PREFIX.length || name.slice(0, PREFIX.length).toUpperCase() !== PREFIX) {
      continue
    }
    const segments = name.slice(PREFIX.length).toLowerCase().split("__")
    if (segments.some((segment) => segment === "")) continue
    let node = root
    for (const segment of segments) {
      let child = node.children.get(segment)
      if (child === undefined) {
        child = { variable: `${node.variable}__${segment.toUpperCase()}`, value: undefined, children: new Map() }
        node.children.set(segment, child)
      }
      node = child
    }
    node.value = value
  }
  return root
}

/**
 * The node of a variable (`OS__DEV__REAP_INTERVAL`), if it or a variable below it is set.
 *
 * @since 0.1.0
 * @internal
 */
export const lookup = (root: Node, variable: string): Node | undefined => {
  let node: Node | undefined = root
  for (const key of variable.slice(PREFIX.length).toLowerCase().split("__")) node = node?.children.get(key)
  return node
}

const merge = (base: Literal.LiteralValue | undefined, over: Literal.LiteralValue): Literal.LiteralValue => {
  if (!Literal.isDict(base) || !Literal.isDict(over)) return over
  const entries = new Map(Object.entries(base))
  for (const [key, value] of Object.entries(over)) entries.set(key, merge(entries.get(key), value))
  return Object.fromEntries(entries)
}

/**
 * A structured value: the node's own literal (an empty dictionary when only nested variables are set), with the
 * nested variables merged over it. Fails naming the variable whose literal does not parse, or the node's variable
 * when its literal is not a dictionary yet nested variables extend it.
 *
 * @since 0.1.0
 * @internal
 */
export const structured = (node: Node): Either.Either<Literal.LiteralValue, Failure> => {
  let value: Literal.LiteralValue | undefined
  if (node.value !== undefined) {
    const parsed = Literal.parse(node.value)
    if (Either.isLeft(parsed)) {
      return Either.left({ variable: node.variable, reason: `invalid value: ${Literal.formatError(parsed.left)}` })
    }
    value = parsed.right
  }
  if (node.children.size === 0) return Either.right(value ?? {})
  if (value !== undefined && !Literal.isDict(value)) {
    return Either.left({
      variable: node.variable,
      reason: "expected a dictionary `{…}`, since nested variables extend it"
    })
  }
  const entries = new Map<string, Literal.LiteralValue>()
  for (const [key, child] of node.children) {
    const childValue = structured(child)
    if (Either.isLeft(childValue)) return childValue
    entries.set(key, childValue.right)
  }
  return Either.right(merge(value, Object.fromEntries(entries)))
}
