/**
 * Flags and arguments that carry their own help, and the help text rendered from them.
 *
 * Each constructor here builds the `@effect/cli` option or argument (which parses) and records a one-line
 * description of it (which the help shows): the placeholder, the default, whether it repeats. {@link define}
 * makes a command from such a record, so a command's options and its help are the same definition.
 *
 * The help is rendered here rather than by `@effect/cli`, whose generic text ("A user-defined piece of text.",
 * "This setting is optional.") made `put --help` 218 lines long: two columns, wrapped to the terminal (at most 100
 * columns), one screen per command.
 *
 * @internal
 */
import * as Args from "@effect/cli/Args"
import * as Command from "@effect/cli/Command"
import * as HelpDoc from "@effect/cli/HelpDoc"
import * as Options from "@effect/cli/Options"
import * as ValidationError from "@effect/cli/ValidationError"
import * as Effect from "effect/Effect"
import type * as Option from "effect/Option"
import type * as Types from "effect/Types"

/** Where an option is listed in a command's help. @internal */
export type Group = "options" | "connection"

/** One line of help: `-k, --key KEY` and what it does. @internal */
export interface Entry {
  readonly label: string
  readonly text: string
  readonly group: Group
}

const entries = new WeakMap<object, Entry>()

/** What the help says about a flag. @internal */
export interface FlagDoc {
  /** One-letter alias (`k` for `-k`). */
  readonly alias?: string | undefined
  /** The placeholder of the value (`KEY`); flags without a value have none. */
  readonly value?: string | undefined
  /** What it does, lowercase, without a final period. */
  readonly help: string
  /** The default, as the user would write it. */
  readonly default?: string | undefined
  readonly group?: Group | undefined
}

const describe = <O extends object>(options: O, name: string, doc: FlagDoc, repeatable = false): O => {
  const label = `${doc.alias === undefined ? "    " : `-${doc.alias}, `}--${name}${
    doc.value === undefined ? "" : ` ${doc.value}`
  }`
  const text = doc.help +
    (doc.default === undefined ? "" : ` (default: ${doc.default})`) +
    (repeatable ? " (repeatable)" : "")
  entries.set(options, { label, text, group: doc.group ?? "options" })
  return options
}

const base = <A>(options: Options.Options<A>, doc: FlagDoc): Options.Options<A> => {
  const described = Options.withDescription(options, doc.help)
  return doc.alias === undefined ? described : Options.withAlias(described, doc.alias)
}

/** A text flag that may be absent. @internal */
export const optional = (name: string, doc: FlagDoc): Options.Options<Option.Option<string>> =>
  describe(Options.optional(base(Options.text(name), doc)), name, doc)

/** A text flag with a default (shown in the help unless it is empty). @internal */
export const withDefault = (name: string, fallback: string, doc: FlagDoc): Options.Options<string> =>
  describe(
    Options.withDefault(base(Options.text(name), doc), fallback),
    name,
    fallback === "" ? doc : { ...doc, default: doc.default ?? fallback }
  )

/** A text flag that must be given. @internal */
export const required = (name: string, doc: FlagDoc): Options.Options<string> =>
  describe(base(Options.text(name), doc), name, doc)

/** A text flag given any number of times. @internal */
export const repeated = (name: string, doc: FlagDoc): Options.Options<ReadonlyArray<string>> =>
  describe(Options.repeated(base(Options.text(name), doc)), name, doc, true)

/** A flag without a value. @internal */
export const boolean = (name: string, doc: FlagDoc): Options.Options<boolean> =>
  describe(base(Options.boolean(name), doc), name, doc)

/** One of `choices`, or absent (the help should name them). @internal */
export const choice = <const C extends string>(
  name: string,
  choices: ReadonlyArray<C>,
  doc: FlagDoc
): Options.Options<Option.Option<C>> => describe(Options.optional(base(Options.choice(name, choices), doc)), name, doc)

/** One of `choices`, with a default. @internal */
export const choiceWithDefault = <const C extends string>(
  name: string,
  choices: ReadonlyArray<C>,
  fallback: C,
  doc: Omit<FlagDoc, "value" | "default">
): Options.Options<C> =>
  describe(
    Options.withDefault(base(Options.choice(name, choices), doc), fallback),
    name,
    { ...doc, value: choices.join("|"), default: fallback }
  )

/** One of `choices`, given any number of times. @internal */
export const repeatedChoice = <const C extends string>(
  name: string,
  choices: ReadonlyArray<C>,
  doc: FlagDoc
): Options.Options<ReadonlyArray<C>> =>
  describe(Options.repeated(base(Options.choice(name, choices), doc)), name, doc, true)

/**
 * A whole number in `[min, max]` with a default; a bad value is a usage error naming the flag (`bad --concurrency
 * "x": expected a whole number from 1`).
 *
 * @internal
 */
export const integer = (
  name: string,
  fallback: number,
  bounds: { readonly min: number; readonly max?: number },
  doc: Omit<FlagDoc, "default">
): Options.Options<number> =>
  describe(
    Options.withDefault(
      Options.mapEffect(base(Options.text(name), doc), (text) => {
        const value = /^\s*\d+\s*$/.test(text) ? Number(text) : Number.NaN
        const max = bounds.max ?? Number.MAX_SAFE_INTEGER
        return Number.isSafeInteger(value) && value >= bounds.min && value <= max
          ? Effect.succeed(value)
          : Effect.fail(ValidationError.invalidValue(HelpDoc.p(
            `bad --${name} ${JSON.stringify(text)}: expected a whole number from ${bounds.min}${
              bounds.max === undefined ? "" : ` to ${bounds.max}`
            }`
          )))
      }),
      fallback
    ),
    name,
    { ...doc, default: String(fallback) }
  )

/** A positional argument and its help (`label` is how the usage line names it, e.g. `FILE|-`). @internal */
export const arg = <A>(args: Args.Args<A>, label: string, help: string): Args.Args<A> => {
  entries.set(args, { label, text: help, group: "options" })
  return args
}

// ---------------------------------------------------------------------------------------------------------------
// commands

/** What a command's help says besides its options. @internal */
export interface CommandDoc {
  /** One line for the command list, lowercase, without a final period. */
  readonly summary: string
  /** The usage line after `objectstore NAME` (e.g. `[OPTIONS] FILE|-`). */
  readonly usage: string
  /** What the command list shows after the name (default: the usage without `[OPTIONS]`). */
  readonly synopsis?: string | undefined
  /** A paragraph (or several, separated by blank lines). */
  readonly description: string
  /** Example command lines, each optionally followed by `  # comment`. */
  readonly examples?: ReadonlyArray<string> | undefined
}

/** A command's help. @internal */
export interface CommandHelp extends CommandDoc {
  readonly name: string
  readonly args: ReadonlyArray<Entry>
  readonly options: ReadonlyArray<Entry>
}

/** A command: what `@effect/cli` runs, and its help. @internal */
export interface Definition<Name extends string, R, E> {
  readonly name: Name
  readonly command: Command.Command<Name, R, E, any>
  readonly help: CommandHelp
  /** The command stops by itself on Ctrl-C (`serve`): it is not interrupted, and ending then is a success. */
  readonly ownsSignals: boolean
}

/**
 * A command from a record of flags and arguments made with this module's constructors, and its help from the
 * same record (in its order; connection flags in their own group).
 *
 * @internal
 */
export const define = <Name extends string, const Config extends Command.Command.Config, R, E>(
  name: Name,
  doc: CommandDoc & { readonly ownsSignals?: boolean },
  config: Config,
  handler: (_: Types.Simplify<Command.Command.ParseConfig<Config>>) => Effect.Effect<void, E, R>
): Definition<Name, R, E> => {
  const all = Object.values(config).flatMap((value) => {
    const entry = typeof value === "object" && value !== null ? entries.get(value) : undefined
    return entry === undefined ? [] : [{ value, entry }]
  })
  return {
    name,
    command: Command.make(name, config, handler).pipe(Command.withDescription(doc.summary)),
    help: {
      name,
      summary: doc.summary,
      usage: doc.usage,
      synopsis: doc.synopsis,
      description: doc.description,
      examples: doc.examples,
      args: all.filter(({ value }) => Args.isArgs(value)).map(({ entry }) => entry),
      options: all.filter(({ value }) => Options.isOptions(value)).map(({ entry }) => entry)
    },
    ownsSignals: doc.ownsSignals === true
  }
}

// ---------------------------------------------------------------------------------------------------------------
// rendering

/** How help is drawn: the width to wrap to, and whether headings may be bold. @internal */
export interface Style {
  readonly width: number
  readonly bold: boolean
}

/** The width help wraps to: the terminal's, at most 100 columns (easier to read), at least 40. @internal */
export const widthFor = (columns: number): number => Math.max(40, Math.min(100, columns))

/** Words of `text` filled into lines of at most `width` characters (a longer word gets a line of its own). @internal */
export const wrap = (text: string, width: number): ReadonlyArray<string> => {
  const lines: Array<string> = []
  for (const paragraph of text.split("\n")) {
    let line = ""
    for (const word of paragraph.split(/ +/).filter((w) => w !== "")) {
      if (line === "") line = word
      else if (line.length + 1 + word.length <= width) line += ` ${word}`
      else {
        lines.push(line)
        line = word
      }
    }
    lines.push(line)
  }
  return lines
}

const heading = (text: string, style: Style) => (style.bold ? `\x1b[1m${text}\x1b[0m` : text)

interface Row {
  readonly label: string
  readonly text: string
}

/** The width of the label column for these rows: the longest label, at most 26 characters. */
const columnFor = (rows: ReadonlyArray<Row>, style: Style) =>
  Math.min(Math.max(0, ...rows.map((r) => r.label.length)) + 2, 26, Math.floor(style.width * 0.4))

/** Two columns: the labels, then their text wrapped beside them (or below a label too long for the column). */
const table = (rows: ReadonlyArray<Row>, style: Style, column = columnFor(rows, style)) => {
  const indent = 2
  const textWidth = style.width - indent - column
  const lines: Array<string> = []
  for (const { label, text } of rows) {
    const wrapped = wrap(text, textWidth)
    if (label.length + 2 > column) {
      lines.push(" ".repeat(indent) + label)
      for (const line of wrapped) lines.push(" ".repeat(indent + column) + line)
    } else {
      wrapped.forEach((line, i) =>
        lines.push(" ".repeat(indent) + (i === 0 ? label.padEnd(column) : " ".repeat(column)) + line)
      )
    }
  }
  return lines
}

const section = (title: string, body: ReadonlyArray<string>, style: Style) =>
  body.length === 0 ? [] : ["", ...wrap(title, style.width).map((line) => heading(line, style)), ...body]

const paragraphs = (text: string, style: Style) =>
  text.split("\n\n").flatMap((p, i) => [...(i === 0 ? [] : [""]), ...wrap(p.replace(/\n/g, " "), style.width)])

const examples = (lines: ReadonlyArray<string> | undefined, style: Style) =>
  (lines ?? []).flatMap((line) => wrap(line, style.width - 4).map((part, i) => `${i === 0 ? "  " : "    "}${part}`))

/** A command's help. @internal */
export const renderCommand = (help: CommandHelp, style: Style): string => {
  const options = help.options.filter((e) => e.group === "options")
  const connection = help.options.filter((e) => e.group === "connection")
  const column = columnFor([...help.args, ...help.options], style)
  return [
    ...wrap(`Usage: objectstore ${help.name} ${help.usage}`, style.width),
    "",
    ...paragraphs(help.description, style),
    ...section("Arguments:", table(help.args, style, column), style),
    ...section("Options:", table(options, style, column), style),
    ...section(
      "Connection (or OBJECTSTORE_<NAME>, e.g. OBJECTSTORE_KEY_FILE):",
      table(connection, style, column),
      style
    ),
    ...section("Examples:", examples(help.examples, style), style),
    "",
    ...wrap("Exit codes, the environment and the other commands: objectstore --help", style.width)
  ].join("\n") + "\n"
}

/** What `objectstore --help` shows besides the commands. @internal */
export interface RootDoc {
  readonly title: string
  readonly options: ReadonlyArray<{ readonly label: string; readonly text: string }>
  readonly environment: ReadonlyArray<{ readonly label: string; readonly text: string }>
  readonly environmentNote: string
  readonly exitCodes: ReadonlyArray<{ readonly label: string; readonly text: string }>
}

/** The help of `objectstore` itself: the commands, the global options, the environment and the exit codes. @internal */
export const renderRoot = (doc: RootDoc, commands: ReadonlyArray<CommandHelp>, style: Style): string => {
  const commandRows = [
    ...commands.map((c) => ({
      label: `${c.name} ${c.synopsis ?? c.usage.replace(/\[OPTIONS\] ?/, "")}`.trim(),
      text: c.summary
    })),
    { label: "help [COMMAND]", text: "this help, or a command's (as COMMAND --help)" }
  ]
  return [
    ...wrap(doc.title, style.width),
    "",
    ...wrap("Usage: objectstore COMMAND [OPTIONS] [ARGUMENTS]", style.width),
    ...section("Commands:", table(commandRows, style), style),
    ...section("Options:", table(doc.options, style), style),
    ...section("Environment:", [
      ...table(doc.environment, style),
      ...wrap(doc.environmentNote, style.width - 2).map((l) => `  ${l}`)
    ], style),
    ...section("Exit codes:", table(doc.exitCodes, style, 5), style)
  ].join("\n") + "\n"
}
