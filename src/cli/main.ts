/**
 * The command line: parses arguments, runs one command, and turns a UserError into
 * one line on stderr and an exit code. Anything else is a bug and keeps its stack.
 */
import { Argument, Command, CommanderError, Option } from 'commander';
import { readFileSync } from 'node:fs';
import { UserError, writeFailure } from '../errors.js';
import { shownDefault, type OptionTable, type OptionValues } from '../options/option.js';
import {
  COMMANDS,
  COMPLETION_COMMAND,
  EVAL_COMMAND,
  EXPORT_COMMAND,
  IMPORT_COMMAND,
  INFO_COMMAND,
  PLOT_COMMAND,
  PROGRAM,
  SAMPLE_COMMAND,
  TRAIN_COMMAND,
  type Shell,
} from './commands.js';
import { argumentUsage, type ArgumentSpec, type ArgumentValues, type CommandFunction, type CommandSpec } from './command-spec.js';
import { completionScript } from './completion.js';
import { evalCommand } from './eval.js';
import { exportCommand } from './export.js';
import { importCommand } from './import.js';
import { infoCommand } from './info.js';
import { out, paint, setColour, StdoutClosed } from './output.js';
import { plotCommand } from './plot.js';
import { sampleCommand } from './sample.js';
import { trainCommand } from './train.js';

const { version } = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string };

/** What each command runs; tests pass their own to see what a command line parses to. */
export interface CommandFunctions {
  train: CommandFunction<typeof TRAIN_COMMAND>;
  sample: CommandFunction<typeof SAMPLE_COMMAND>;
  eval: CommandFunction<typeof EVAL_COMMAND>;
  info: CommandFunction<typeof INFO_COMMAND>;
  plot: CommandFunction<typeof PLOT_COMMAND>;
  export: CommandFunction<typeof EXPORT_COMMAND>;
  import: CommandFunction<typeof IMPORT_COMMAND>;
}

const COMMAND_FUNCTIONS: CommandFunctions = {
  train: trainCommand,
  sample: sampleCommand,
  eval: evalCommand,
  info: infoCommand,
  plot: plotCommand,
  export: exportCommand,
  import: importCommand,
};

/** Where the program writes --help, --version and commander's own errors. */
export interface ProgramOutput {
  writeOut(text: string): void;
  writeErr(text: string): void;
}

const STANDARD_OUTPUT: ProgramOutput = { writeOut: out, writeErr: (text) => process.stderr.write(text) };

export function buildProgram(run: CommandFunctions = COMMAND_FUNCTIONS, output: ProgramOutput = STANDARD_OUTPUT): Command {
  const program = new Command(PROGRAM.name).description(PROGRAM.description).version(version);
  const programValues = addOptions(program, PROGRAM.options);
  program
    .hook('preAction', () => setColour(programValues().color))
    .exitOverride()
    // Commander's own errors ("error: unknown option '--foo'") in the style of ours.
    .configureOutput({ ...output, outputError: (text, write) => write(text.replace(/^error: /, `${paint.red('charrnn:')} `)) });
  addCommand(program, TRAIN_COMMAND, run.train);
  addCommand(program, SAMPLE_COMMAND, run.sample);
  addCommand(program, EVAL_COMMAND, run.eval);
  addCommand(program, INFO_COMMAND, run.info);
  addCommand(program, PLOT_COMMAND, run.plot);
  addCommand(program, COMPLETION_COMMAND, async (shell: Shell) => output.writeOut(completionScript(PROGRAM, COMMANDS, shell)));
  addCommand(program, EXPORT_COMMAND, run.export);
  addCommand(program, IMPORT_COMMAND, run.import);
  return program;
}

function addCommand<Args extends readonly ArgumentSpec[], Table extends OptionTable>(
  program: Command,
  spec: CommandSpec<Args, Table>,
  run: (...args: [...ArgumentValues<Args>, OptionValues<Table>]) => Promise<void>,
): void {
  const command = program.command(spec.name).description(spec.description);
  for (const argument of spec.arguments) command.addArgument(commanderArgument(argument));
  const values = addOptions(command, spec.options);
  command.addHelpText('after', `\nExamples:${spec.examples}${spec.notes ? `\n${spec.notes}` : ''}`);
  command.action(async (...received: unknown[]) => {
    // Commander passes the positional values, then its own options object: ours come from the table.
    await run(...(received.slice(0, spec.arguments.length) as ArgumentValues<Args>), values());
  });
}

/**
 * Adds a table's options to `command` (under their groups' headings when there are
 * several); returns what reads their values once parsed: given, else the table's default.
 */
function addOptions<Table extends OptionTable>(command: Command, table: Table): () => OptionValues<Table> {
  const grouped = new Set(Object.values(table).map((option) => option.group)).size > 1;
  const attributes = Object.entries(table).map(([key, spec]) => {
    const options = commanderOptions(spec);
    for (const option of options) {
      if (grouped) option.helpGroup(`${capitalised(spec.group)}:`);
      command.addOption(option);
    }
    return [key, options[0].attributeName()] as const;
  });
  return () => {
    const given: Record<string, unknown> = command.opts();
    return Object.fromEntries(attributes.map(([key, attribute]) => [key, given[attribute] ?? table[key].default])) as OptionValues<Table>;
  };
}

function commanderArgument(spec: ArgumentSpec): Argument {
  const argument = new Argument(argumentUsage(spec), spec.help);
  return spec.choices ? argument.choices(spec.choices) : argument;
}

/** The option (and its negation) as commander parses it; defaults are left to the table, so a value commander holds was given. */
function commanderOptions(spec: OptionTable[string]): Option[] {
  const flags = `${spec.short ? `${spec.short}, ` : ''}${spec.flag}${spec.parse ? ` <${spec.placeholder}>` : ''}`;
  const shown = shownDefault(spec);
  const notes = [spec.choices && `choices: ${spec.choices.join(', ')}`, shown !== undefined && `default: ${shown}`].filter(Boolean);
  const option = new Option(flags, `${spec.help}${notes.length ? ` (${notes.join('; ')})` : ''}`);
  if (spec.mandatory) option.makeOptionMandatory();
  const { parse, negation } = spec;
  if (parse) option.argParser((text: string, previous: unknown) => parse(text, previous ?? spec.default));
  return negation ? [option, new Option(negation.flag, negation.help)] : [option];
}

function capitalised(text: string): string {
  return text.charAt(0).toUpperCase() + text.slice(1);
}

/** Errors only a write can cause: wherever one comes from, it is one line and exit 6, not a stack trace. */
const WRITE_ONLY_FAILURES = ['ENOSPC', 'EDQUOT', 'EROFS', 'EFBIG'];

export async function main(argv: string[]): Promise<void> {
  process.stderr.on('error', () => {}); // progress and messages are a courtesy: a closed stderr (2>&1 | head) must not end a run
  try {
    await buildProgram().parseAsync(argv);
  } catch (thrown) {
    process.exitCode = reportError(thrown, (text) => process.stderr.write(text));
  }
}

/** Writes what went wrong and returns the exit code. */
export function reportError(thrown: unknown, writeErr: (text: string) => void): number {
  const { code, path } = thrown as NodeJS.ErrnoException;
  const err = WRITE_ONLY_FAILURES.includes(code ?? '') ? writeFailure(path ?? 'output', thrown) : thrown;
  // The reader has what it wanted (| head): stop quietly, as other Unix tools do.
  if (err instanceof StdoutClosed) return 0;
  // Commander has printed its message (or the help); a usage error exits 2 like ours.
  if (err instanceof CommanderError) return err.exitCode === 0 ? 0 : 2;
  if (err instanceof UserError) {
    writeErr(`${paint.red('charrnn:')} ${err.message}\n`);
    return err.exitCode;
  }
  // A bug: keep the stack for the report.
  writeErr(`${err instanceof Error ? err.stack : String(err)}\n`);
  return 1;
}
