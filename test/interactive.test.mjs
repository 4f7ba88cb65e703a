// The CLI as a shell companion: `charrnn sample --interactive` driven through stdin, and
// `charrnn completion bash|zsh|fish` generated from the program definition.
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { buildProgram } from '../dist/cli/main.js';
import { BIN, runCli, TINY_CORPUS, workDir, TINY_MODEL } from './helpers.mjs';

const WORK = workDir('interactive');
const cli = (args) => runCli(args, { cwd: WORK });
const RUN = path.join(WORK, 'run');
const trained = await cli(['train', TINY_CORPUS, '-o', RUN, ...TINY_MODEL, '--max-steps', '10', '--eval-every', '10', '--backend', 'wasm']);
assert.equal(trained.code, 0, trained.stderr);

/** Runs the CLI with `lines` written to its stdin, which then ends (Ctrl-D). */
function withStdin(args, lines) {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [BIN, ...args], {
      cwd: WORK,
      env: { ...process.env, NO_COLOR: '1' },
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (d) => (stdout += d));
    child.stderr.setEncoding('utf8').on('data', (d) => (stderr += d));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
    for (const line of lines) child.stdin.write(`${line}\n`);
    child.stdin.end();
  });
}

test('sample --interactive: primes from stdin, continuations on stdout, :t and :n change the settings', async () => {
  const r = await withStdin(
    ['sample', RUN, '--interactive', '--backend', 'wasm'],
    [':t 0', ':n 20', 'The ', ':n 5', 'the sea', ':help', ':t hot', ':nonsense', 'The 日'],
  );
  assert.equal(r.code, 0, r.stderr);
  const argmax = await cli(['sample', RUN, '--argmax', '-n', '20', '--prime', 'The ', '--backend', 'wasm']);
  const short = await cli(['sample', RUN, '--argmax', '-n', '5', '--prime', 'the sea', '--backend', 'wasm']);
  assert.equal(r.stdout, argmax.stdout + short.stdout, 'the same text as sample --argmax, one line per prime');
  assert.match(r.stderr, /:help for commands, Ctrl-D to leave/);
  assert.match(r.stderr, /temperature 0, length 20/);
  assert.match(r.stderr, /:t <temperature> +e\.g\. :t 0\.7/, ':help lists the commands');
  assert.match(r.stderr, /:t must be ≥ 0, e\.g\. :t 0\.7 \(got 'hot'\)/);
  assert.match(r.stderr, /unknown command ':nonsense'/);
  assert.match(r.stderr, /the model never saw "日"/);
  assert.doesNotMatch(r.stderr, /prime> /, 'no prompt when stdin is not a terminal');
});

test('sample --interactive: an empty line starts from the unprinted starting context; :q leaves before stdin ends', async () => {
  const r = await withStdin(['sample', RUN, '-i', '-n', '7', '--seed', '3', '--backend', 'wasm'], ['', ':q', 'never read']);
  assert.equal(r.code, 0, r.stderr);
  const lines = r.stdout.split('\n');
  assert.deepEqual(
    lines.map((l) => [...l].length),
    [7, 0],
    'the 7 generated characters, and nothing after :q',
  );
  const alone = await cli(['sample', RUN, '-n', '7', '--seed', '3', '--backend', 'wasm']);
  assert.equal(r.stdout, alone.stdout, 'the same as a plain sample with that seed');
});

test('sample --interactive refuses --json and several samples', async () => {
  const r = await withStdin(['sample', RUN, '--interactive', '--json', '--backend', 'wasm'], []);
  assert.equal(r.code, 2);
  assert.match(r.stderr, /--interactive takes one temperature/);
});

const program = buildProgram();
const commands = program.commands.map((c) => c.name());
// The program's own options (--color, --no-color, --version), which commander takes before or after the command.
const programOptions = program.options.map((o) => o.long);

test('completion bash: every command and every option, valid bash', async () => {
  assert.ok(commands.includes('plot') && commands.includes('completion'));
  const r = await cli(['completion', 'bash']);
  assert.equal(r.code, 0, r.stderr);
  const script = r.stdout;
  assert.match(script, new RegExp(`compgen -W '${[...commands, 'help'].join(' ')}'`));
  for (const cmd of program.commands) {
    assert.match(script, new RegExp(`^    ${cmd.name()}\\)$`, 'm'), cmd.name());
    for (const option of cmd.options) assert.match(script, new RegExp(`[ '|]${option.long}[ ')]`), `${cmd.name()} ${option.long}`);
  }
  assert.match(script, /--backend\) COMPREPLY=\(\$\(compgen -W 'auto tensorflow wasm cpu'/);
  assert.match(script, /complete -o filenames -F _charrnn charrnn/);
  const bash = spawnSync('bash', ['-n'], { input: script });
  if (!bash.error) assert.equal(bash.status, 0, String(bash.stderr));
  // Completing `charrnn pl<TAB>` and `charrnn sample x --back<TAB>` in bash itself.
  const complete = (words) =>
    spawnSync(
      'bash',
      [
        '-c',
        `${script}\nCOMP_WORDS=(${words.map((w) => `'${w}'`).join(' ')}); COMP_CWORD=${words.length - 1}; _charrnn; echo "\${COMPREPLY[*]}"`,
      ],
      { encoding: 'utf8' },
    );
  if (!bash.error) {
    assert.equal(complete(['charrnn', 'pl']).stdout.trim(), 'plot');
    assert.equal(complete(['charrnn', 'sample', 'x', '--back']).stdout.trim(), '--backend');
    assert.equal(complete(['charrnn', 'eval', 'x', '--backend', 'w']).stdout.trim(), 'wasm');
    const beforeCommand = complete(['charrnn', '--']).stdout.trim().split(' ');
    for (const long of programOptions) assert.ok(beforeCommand.includes(long), `charrnn ${long} before a command`);
    assert.equal(complete(['charrnn', '--no-color', 'pl']).stdout.trim(), 'plot', 'the command after a program option');
    assert.equal(complete(['charrnn', 'sample', 'x', '--no-c']).stdout.trim(), '--no-color', 'a program option after the command');
  }
});

test('completion zsh: a #compdef script with every command and its options', async () => {
  const r = await cli(['completion', 'zsh']);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /^#compdef charrnn\n/);
  for (const cmd of program.commands) {
    assert.match(r.stdout, new RegExp(`^    '${cmd.name()}:`, 'm'), `${cmd.name()} in the command list`);
    assert.match(r.stdout, new RegExp(`^        \\(${cmd.name()}\\)$`, 'm'), `${cmd.name()} case`);
    for (const option of cmd.options) assert.ok(r.stdout.includes(option.long), `${cmd.name()} ${option.long}`);
  }
  const global = r.stdout.slice(r.stdout.indexOf('_arguments -C'), r.stdout.indexOf("'1: :->command'"));
  for (const long of programOptions) assert.ok(global.includes(long), `charrnn ${long} before a command`);
  assert.match(r.stdout, /\(sample\)\n {10}_arguments -s \\\n(.+\\\n)*.*'--no-color\[no colour/, 'a program option after the command');
  assert.match(r.stdout, /--backend\[[^\]]*\]:backend:\(auto tensorflow wasm cpu\)/);
  const zsh = spawnSync('zsh', ['-n'], { input: r.stdout });
  if (!zsh.error) assert.equal(zsh.status, 0, String(zsh.stderr));
});

test('completion fish: every command and option, the values of --cell and --backend, files only where a file is asked for', async () => {
  const r = await cli(['completion', 'fish']);
  assert.equal(r.code, 0, r.stderr);
  const lines = r.stdout.split('\n');
  assert.ok(lines.includes('complete -c charrnn -f'), 'no file names unless an argument asks for them');
  for (const cmd of program.commands) {
    assert.ok(
      lines.some((l) => l.startsWith(`complete -c charrnn -n __fish_use_subcommand -a ${cmd.name()} -d `)),
      cmd.name(),
    );
    for (const option of cmd.options) {
      assert.ok(
        lines.some(
          (l) =>
            l.startsWith(`complete -c charrnn -n '__fish_seen_subcommand_from ${cmd.name()}' `) &&
            l.includes(` -l ${option.long.slice(2)}`),
        ),
        `${cmd.name()} ${option.long}`,
      );
    }
  }
  assert.ok(
    lines.some((l) => /__fish_seen_subcommand_from train' -l cell -r -f -a 'lstm gru rnn' -d /.test(l)),
    'train --cell values',
  );
  assert.ok(
    lines.some((l) => /__fish_seen_subcommand_from eval' -l backend -r -f -a 'auto tensorflow wasm cpu' -d /.test(l)),
    'eval --backend values',
  );
  assert.ok(lines.includes("complete -c charrnn -n '__fish_seen_subcommand_from train' -F"), 'train completes corpus files');
  for (const long of programOptions) {
    const flag = ` -l ${long.slice(2)} `;
    assert.ok(
      lines.some((l) => l.startsWith('complete -c charrnn -n __fish_use_subcommand ') && l.includes(flag)),
      `charrnn ${long}`,
    );
  }
  for (const long of ['--color', '--no-color']) {
    const flag = ` -l ${long.slice(2)} `;
    assert.ok(
      lines.some((l) => l.startsWith("complete -c charrnn -n '__fish_seen_subcommand_from eval' ") && l.includes(flag)),
      `eval ${long}`,
    );
  }
  // From a file: fish cannot read a script from the socket node gives a child as stdin.
  const script = path.join(WORK, 'charrnn.fish');
  writeFileSync(script, r.stdout);
  const fish = spawnSync('fish', ['--no-execute', script]);
  if (!fish.error) assert.equal(fish.status, 0, String(fish.stderr));
});

test('completion of an unknown shell: a usage error', async () => {
  const r = await cli(['completion', 'powershell']);
  assert.equal(r.code, 2);
  assert.match(r.stderr, /bash, zsh, fish/);
});
