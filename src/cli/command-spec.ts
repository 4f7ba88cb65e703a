/**
 * What a command declaration is: its positional arguments, options, examples and notes,
 * and the typed function that runs it. commands.ts declares the program's commands in
 * this shape; main.ts, completion.ts and flags-doc.ts read them.
 */
import type { OptionTable, OptionValues } from '../options/option.js';

/** A positional argument; `required` ones are written <name>, the others [name]; a `variadic` one takes all that remain. */
export interface ArgumentSpec {
  name: string;
  help: string;
  required: boolean;
  variadic?: true;
  completes?: 'files' | 'dirs';
  choices?: readonly string[];
}

/** The program itself: its name, what it does, and the options every command takes. */
export interface ProgramSpec<Table extends OptionTable = OptionTable> {
  name: string;
  description: string;
  options: Table;
}

export interface CommandSpec<
  Args extends readonly ArgumentSpec[] = readonly ArgumentSpec[],
  Table extends OptionTable = OptionTable,
> extends ProgramSpec<Table> {
  arguments: Args;
  /** Example command lines with what they do, for --help and docs/flags.md. */
  examples: string;
  /** More for --help, after the examples. */
  notes?: string;
}

/**
 * The positional values a command function receives: one of its choices or a string, undefined when optional and not
 * given; a variadic argument's are a list, empty when none are given.
 */
export type ArgumentValues<Args extends readonly ArgumentSpec[]> = {
  [I in keyof Args]: Args[I] extends { variadic: true }
    ? string[]
    : ArgumentValue<Args[I]> | (Args[I] extends { required: true } ? never : undefined);
};

/** As usage shows it: <name>, [name], [name...]. */
export function argumentUsage(spec: ArgumentSpec): string {
  const name = `${spec.name}${spec.variadic ? '...' : ''}`;
  return spec.required ? `<${name}>` : `[${name}]`;
}
type ArgumentValue<A> = A extends { choices: readonly (infer C)[] } ? C : string;

/** The function that runs a command: its positional arguments, then its typed options. */
export type CommandFunction<C> =
  C extends CommandSpec<infer Args, infer Table> ? (...args: [...ArgumentValues<Args>, OptionValues<Table>]) => Promise<void> : never;
