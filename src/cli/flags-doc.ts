/**
 * docs/flags.md, written from the command table (commands.ts): every command, its
 * arguments, and every flag with its default and valid values, under the headings
 * --help uses. `npm run docs:flags` writes it; a test fails when the file differs.
 */
import { shownDefault, type OptionSpec } from '../options/option.js';
import { argumentUsage, type CommandSpec, type ProgramSpec } from './command-spec.js';
import { COMMANDS, PROGRAM } from './commands.js';

export function flagsMarkdown(program: ProgramSpec = PROGRAM, commands: readonly CommandSpec[] = COMMANDS): string {
  const sections = [programSection(program), ...commands.map(commandSection)];
  return `# Flags

Every command and flag of \`charrnn\`, with its default and the values it accepts. This
file is generated from the option tables (\`src/training/config.ts\`, \`src/sampling/options.ts\`,
\`src/cli/commands.ts\`) by \`npm run docs:flags\`, and a test fails when it is out of date:
edit the tables, not this file. \`charrnn <command> --help\` shows the same.

- [\`${program.name}\`](#${program.name}): the options every command takes
${commands.map((c) => `- [\`charrnn ${c.name}\`](#charrnn-${c.name}): ${c.description}`).join('\n')}

${sections.join('\n\n')}
`;
}

function programSection(program: ProgramSpec): string {
  const lines = Object.values(program.options).flatMap(optionLines);
  const usage = `\`${program.name} [options] <command>\`: ${escaped(program.description)}`;
  return [`## ${program.name}`, usage, `These options go before the command or after it.`, lines.join('\n')].join('\n\n');
}

function commandSection(command: CommandSpec): string {
  const usage = [command.name, ...command.arguments.map(argumentUsage)].join(' ');
  const args = command.arguments.map((a) => `- \`${argumentUsage(a)}\`: ${escaped(a.help)}.`);
  const groups = new Map<string, string[]>();
  for (const option of Object.values(command.options)) {
    groups.set(option.group, [...(groups.get(option.group) ?? []), ...optionLines(option)]);
  }
  const optionSections = [...groups].map(([group, lines]) => `### ${command.name}: ${group}\n\n${lines.join('\n')}`);
  const examples = `Examples:\n\n\`\`\`${command.examples}\n\`\`\``;
  const heading = [`## charrnn ${command.name}`, `\`charrnn ${usage}\`: ${escaped(command.description)}.`];
  return [...heading, args.join('\n'), ...optionSections, examples, command.notes?.trim()].filter(Boolean).join('\n\n');
}

/** The option's line, and its negation's (--no-color) if it has one. */
function optionLines(option: OptionSpec<unknown>): string[] {
  const { negation } = option;
  return [optionLine(option), ...(negation ? [`- \`${negation.flag}\`: ${escaped(negation.help)}.`] : [])];
}

function optionLine(option: OptionSpec<unknown>): string {
  const name = `${option.short ? `${option.short}, ` : ''}${option.flag}${option.parse ? ` <${option.placeholder}>` : ''}`;
  const facts = [
    option.mandatory && 'Required.',
    option.range && `Must be ${option.range}.`,
    defaultSentence(option),
    option.example && `Example: \`${option.example}\`.`,
  ].filter(Boolean);
  return `- \`${name}\`: ${escaped(option.help)}.${facts.length ? ` ${facts.join(' ')}` : ''}`;
}

/** A value in code font; a phrase ('one per core') as prose. */
function defaultSentence(option: OptionSpec<unknown>): string | undefined {
  if (option.defaultText !== undefined) return `Default: ${escaped(option.defaultText)}.`;
  const shown = shownDefault(option);
  return shown === undefined ? undefined : `Default: \`${shown}\`.`;
}

/** Prose with <dir> and the like kept as text rather than read as HTML tags. */
function escaped(text: string): string {
  return text.replace(/[<>]/g, (ch) => `\\${ch}`);
}
