// docs/flags.md is written from the option tables; this fails when the checked-in file is stale.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import { flagsMarkdown } from '../dist/cli/flags-doc.js';
import { COMMANDS, PROGRAM } from '../dist/cli/commands.js';
import { buildProgram } from '../dist/cli/main.js';

const checkedIn = fs.readFileSync(new URL('../docs/flags.md', import.meta.url), 'utf8');

test('docs/flags.md is what the option tables generate (npm run docs:flags rewrites it)', () => {
  assert.equal(checkedIn, flagsMarkdown(), 'docs/flags.md is out of date: run npm run docs:flags');
});

test("docs/flags.md lists the program's own options, --color and --no-color", () => {
  const flags = Object.values(PROGRAM.options).flatMap((option) => [option.flag, ...(option.negation ? [option.negation.flag] : [])]);
  assert.deepEqual(flags, ['--color', '--no-color']);
  const section = checkedIn.slice(checkedIn.indexOf('\n## charrnn\n'), checkedIn.indexOf('\n## charrnn train\n'));
  for (const flag of flags) assert.ok(section.includes(`- \`${flag}\`: `), flag);
});

test('docs/flags.md lists every command and every flag', () => {
  for (const command of COMMANDS) {
    assert.match(checkedIn, new RegExp(`^## charrnn ${command.name}$`, 'm'));
    for (const option of Object.values(command.options))
      assert.ok(checkedIn.includes(`\`${option.short ? `${option.short}, ` : ''}${option.flag}`), `${command.name} ${option.flag}`);
  }
});

test("the README's `charrnn train --help` is what the program prints", async () => {
  let help = '';
  const program = buildProgram(undefined, { writeOut: (text) => (help += text), writeErr: () => {} });
  await assert.rejects(program.parseAsync(['node', 'charrnn', 'train', '--help']), { exitCode: 0 });
  const readme = fs.readFileSync(new URL('../README.md', import.meta.url), 'utf8');
  assert.ok(readme.includes(`$ npx charrnn train --help\n${help}\`\`\``), 'README.md: paste the new `charrnn train --help`');
});
