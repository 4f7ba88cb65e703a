// Colour on stdout and stderr: --color/--no-color, FORCE_COLOR, NO_COLOR, TERM=dumb, a terminal or not (src/cli/output.ts).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { colourLevel } from '../dist/cli/output.js';
import { BIN, runProcess } from './helpers.mjs';

const FIXTURE = fileURLToPath(new URL('./fixtures/v1-lstm', import.meta.url));
const CORPUS = fileURLToPath(new URL('./fixtures/v1-corpus.txt', import.meta.url));
const ESC = '\x1b[';

test('colourLevel: the flag, then FORCE_COLOR, then NO_COLOR, then TERM=dumb and the terminal', () => {
  const term = { TERM: 'xterm' };
  // Each stream is decided alone: a terminal on one, a pipe on the other.
  assert.equal(colourLevel(true, undefined, term), 1);
  assert.equal(colourLevel(false, undefined, term), 0);
  assert.equal(colourLevel(true, undefined, { TERM: 'xterm-256color' }), 2);
  assert.equal(colourLevel(true, undefined, { TERM: 'xterm', COLORTERM: 'truecolor' }), 3);
  assert.equal(colourLevel(true, undefined, { TERM: 'dumb' }), 0);
  assert.equal(colourLevel(true, undefined, { ...term, NO_COLOR: '1' }), 0);
  assert.equal(colourLevel(true, undefined, { ...term, NO_COLOR: '' }), 1, 'an empty NO_COLOR is not set (no-color.org)');
  // FORCE_COLOR: on at its level even in a pipe, off at 0; it beats NO_COLOR and TERM=dumb, as in chalk.
  for (const [value, level] of [
    ['1', 1],
    ['2', 2],
    ['3', 3],
    ['7', 3],
    ['', 1],
    ['true', 1],
    ['0', 0],
    ['false', 0],
  ]) {
    assert.equal(colourLevel(false, undefined, { FORCE_COLOR: value }), level, `FORCE_COLOR=${value} in a pipe`);
    assert.equal(colourLevel(true, undefined, { ...term, FORCE_COLOR: value, NO_COLOR: '1' }), level, `FORCE_COLOR=${value} with NO_COLOR`);
  }
  assert.equal(colourLevel(false, undefined, { FORCE_COLOR: '1', TERM: 'dumb' }), 1);
  assert.equal(colourLevel(true, undefined, { ...term, FORCE_COLOR: 'yes please' }), 1, 'a FORCE_COLOR that is no level is ignored');
  // The flag beats the environment, both ways.
  assert.equal(colourLevel(false, true, { NO_COLOR: '1', FORCE_COLOR: '0', TERM: 'dumb' }), 1);
  assert.equal(colourLevel(false, true, { TERM: 'xterm-256color' }), 2);
  assert.equal(colourLevel(true, false, { ...term, FORCE_COLOR: '3' }), 0);
});

/** `charrnn eval --heatmap` into a pipe, and a commander error, with this environment and flags. */
async function run(env, flags = []) {
  const clean = { ...process.env, NO_COLOR: undefined, FORCE_COLOR: undefined, ...env };
  const heatmap = await runProcess(
    process.execPath,
    [BIN, ...flags, 'eval', FIXTURE, CORPUS, '--heatmap', '--limit', '40', '--backend', 'cpu'],
    { env: clean },
  );
  assert.equal(heatmap.code, 0, heatmap.stderr);
  return { stdout: heatmap.stdout.includes(ESC), stderr: heatmap.stderr.includes(ESC) };
}

test('eval --heatmap | cat: coloured with FORCE_COLOR or --color, plain with NO_COLOR, FORCE_COLOR=0 or --no-color', async () => {
  assert.deepEqual(await run({}), { stdout: false, stderr: false }, 'a pipe: no colour');
  assert.deepEqual(await run({ FORCE_COLOR: '1' }), { stdout: true, stderr: true });
  assert.deepEqual(await run({ FORCE_COLOR: '1', NO_COLOR: '1' }), { stdout: true, stderr: true }, 'FORCE_COLOR beats NO_COLOR');
  assert.deepEqual(await run({ FORCE_COLOR: '0' }), { stdout: false, stderr: false });
  assert.deepEqual(await run({ NO_COLOR: '1' }, ['--color']), { stdout: true, stderr: true }, '--color beats NO_COLOR');
  assert.deepEqual(await run({ FORCE_COLOR: '3' }, ['--no-color']), { stdout: false, stderr: false }, '--no-color beats FORCE_COLOR');
});
