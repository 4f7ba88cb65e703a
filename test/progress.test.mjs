// The training progress line: fitted to the terminal's width, by field priority, and as
// a real 80-column terminal (tmux) shows it.
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { test } from 'node:test';
import { fitLine } from '../dist/cli/progress.js';
import { BIN, TINY_CORPUS, workDir } from './helpers.mjs';

const FIELDS = [
  { text: '[########################]', drop: 6 },
  { text: 'step 120/1480', drop: 0 },
  { text: 'epoch 1.62', drop: 5 },
  { text: 'loss 2.815', drop: 1 },
  { text: 'val 2.790*', drop: 4 },
  { text: '20,353 chars/s', drop: 2 },
  { text: 'ETA 1m07s', drop: 3 },
];

test('fitLine keeps every field when they fit, in their order', () => {
  const line = fitLine(FIELDS, 200);
  assert.equal(line, FIELDS.map((f) => f.text).join(' | '));
});

test('fitLine drops the least wanted fields first until the line fits', () => {
  for (const [columns, expected] of [
    [100, ['step 120/1480', 'epoch 1.62', 'loss 2.815', 'val 2.790*', '20,353 chars/s', 'ETA 1m07s']],
    [79, ['step 120/1480', 'loss 2.815', 'val 2.790*', '20,353 chars/s', 'ETA 1m07s']],
    [60, ['step 120/1480', 'loss 2.815', '20,353 chars/s', 'ETA 1m07s']],
    [45, ['step 120/1480', 'loss 2.815', '20,353 chars/s']],
    [40, ['step 120/1480', 'loss 2.815']],
    [5, ['step 120/1480']],
  ]) {
    const line = fitLine(FIELDS, columns);
    assert.equal(line, expected.join(' | '), `${columns} columns`);
    if (expected.length > 1) assert.ok(line.length <= columns, `${line.length} > ${columns}`);
  }
});

test('fitLine does not count colour codes as columns', () => {
  const coloured = [
    { text: '\x1b[36m' + 'x'.repeat(10) + '\x1b[39m', drop: 1 },
    { text: 'step 1', drop: 0 },
  ];
  assert.equal(fitLine(coloured, 19), coloured.map((f) => f.text).join(' | '));
});

const tmux = spawnSync('tmux', ['-V']).status === 0 ? false : 'tmux is not installed (apt-get install -y tmux)';

/**
 * Runs `charrnn train <args>` in an 80×30 tmux terminal and passes every screen it shows
 * (captured every 250 ms) to `onScreen`; returns the last one, after the command exited.
 */
async function inTerminal(args, onScreen = () => {}) {
  const session = `charrnn-progress-${process.pid}-${Math.random().toString(36).slice(2)}`;
  const command = [process.execPath, BIN, 'train', ...args];
  execFileSync('tmux', [
    'new-session',
    '-d',
    '-s',
    session,
    '-x',
    '80',
    '-y',
    '30',
    '-e',
    'NO_COLOR=1',
    `${command.map((a) => `'${a}'`).join(' ')}; echo EXITED; sleep 30`,
  ]);
  try {
    let screen = '';
    for (let waited = 0; waited < 50_000 && !screen.includes('EXITED'); waited += 250) {
      await new Promise((resolve) => setTimeout(resolve, 250));
      screen = execFileSync('tmux', ['capture-pane', '-p', '-J', '-t', session], { encoding: 'utf8' }); // -J: wrapped lines joined
      onScreen(screen);
    }
    assert.match(screen, /EXITED/, screen);
    return screen;
  } finally {
    spawnSync('tmux', ['kill-session', '-t', session]);
  }
}

const SMALL_MODEL = ['--hidden', '16', '--layers', '1', '--batch', '8', '--seq', '20', '--threads', '1'];

test('in an 80-column terminal the progress bar fits and keeps chars/s and the ETA', { skip: tmux, timeout: 60_000 }, async () => {
  const dir = workDir('progress');
  const screen = await inTerminal([TINY_CORPUS, '-o', join(dir, 'run'), ...SMALL_MODEL, '--max-steps', '40', '--eval-every', '20']);
  const bar = screen.split('\n').find((l) => l.startsWith('step 40/40'));
  assert.ok(bar, `no final progress line in:\n${screen}`);
  assert.ok(bar.trimEnd().length < 80, `wider than the terminal: ${bar}`);
  assert.match(bar.trimEnd(), /loss \d\.\d{3} \|.* chars\/s \| ETA \d+s$/);
});

test('under --max-time the bar counts seconds of the budget and its ETA is the time left', { skip: tmux, timeout: 60_000 }, async () => {
  const dir = workDir('progress-timed');
  // Epochs that would take hours: an ETA from them, or from steps, could not add up to 8 s.
  const bars = [];
  await inTerminal([TINY_CORPUS, '-o', join(dir, 'run'), ...SMALL_MODEL, '--epochs', '100000', '--max-time', '8s'], (screen) => {
    const bar = screen.split('\n').find((l) => l.startsWith('step ') && l.includes(' | ETA '));
    if (bar) bars.push(bar.trimEnd());
  });
  assert.ok(bars.length >= 3, `too few progress bars seen: ${bars.join('\n')}`);
  for (const bar of bars) {
    const [, elapsed, total, eta] = bar.match(/^step \d+ \| (\d+)s of (\d+)s \|.* \| ETA (\d+)s$/) ?? [];
    assert.equal(total, '8', bar);
    assert.equal(Number(elapsed) + Number(eta), 8, bar);
  }
  assert.ok(
    bars.some((bar) => /ETA [2-7]s$/.test(bar)),
    `no bar halfway through the budget: ${bars.join('\n')}`,
  );
});
