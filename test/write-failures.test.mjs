// Writes that fail: a full disk, a failing rename or fsync, a file in the way, a closed or
// full stdout. Each is one line naming the path and the cause, exit 6 (a closed stdout:
// exit 0, quietly), the last good checkpoints intact and no leftover files.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import { syncBuiltinESMExports } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadCheckpoint } from '../dist/checkpoint/checkpoint.js';
import { removeLeftovers, saveCheckpoint } from '../dist/checkpoint/save.js';
import { claimRunDirectory } from '../dist/checkpoint/run-directory.js';
import { Vocabulary } from '../dist/data/vocab.js';
import { CharModel } from '../dist/model/model.js';
import { BIN, errorLines, runCli, trainingRecord, useBackend, workDir, TINY_CORPUS as TINY } from './helpers.mjs';

const tf = await useBackend('cpu');
const WORK = workDir('writes');
const FULL_DISK = fileURLToPath(new URL('./fixtures/full-disk.mjs', import.meta.url));
const ONE_STEP = ['--hidden', '8', '--layers', '1', '--seq', '4', '--batch', '2', '--max-steps', '1', '--backend', 'wasm'];
let count = 0;
const fresh = (name) => path.join(WORK, `${name}-${count++}`);
const show = (r) => `exit ${r.code}\n--- stderr\n${r.stderr}`;

// ---------------------------------------------------------------- saving, at every point a write can fail

const vocab = new Vocabulary(['a', 'b', 'c']);
const record = trainingRecord({ hidden: 4, layers: 1 }, 1);
const resumeState = (model) => ({
  adamStep: 1,
  rngState: 1,
  lossSinceEval: { sum: 0, count: 0 },
  minLoss: 1,
  lrScale: 1,
  rollbacks: 0,
  staleValidations: 0,
  // Adam's two moments of every weight, then the LSTM's h and c (batch, hidden): what loading checks against the model.
  tensors: [...model.weights, ...model.weights]
    .map((w) => tf.zerosLike(w.tensor))
    .concat([tf.zeros([record.config.batch, 4]), tf.zeros([record.config.batch, 4])]),
});
function save(dir, seed) {
  const model = CharModel.create({ vocabSize: 3, hidden: 4, layers: 1, dropout: 0, cell: 'lstm', learnedInit: false }, seed);
  const state = resumeState(model);
  try {
    saveCheckpoint(dir, model, vocab, record, state);
  } finally {
    model.dispose();
    tf.dispose(state.tensors);
  }
}

const ERRORS = { ENOSPC: 'no space left on device', EIO: 'i/o error', EROFS: 'read-only file system' };
/** Runs `body` with fs[name] failing with `code` on its `at`-th call (0-based); returns how often fs[name] was called. */
function withFailure(name, at, code, body) {
  const original = fs[name];
  let calls = 0;
  fs[name] = function (...args) {
    if (calls++ === at) throw Object.assign(new Error(`${code}: ${ERRORS[code]}, ${name}`), { code, syscall: name });
    return original.apply(this, args);
  };
  syncBuiltinESMExports();
  try {
    body();
  } finally {
    fs[name] = original;
    syncBuiltinESMExports();
  }
  return calls;
}

const listing = (dir) =>
  Object.fromEntries(
    fs
      .readdirSync(dir)
      .sort()
      .map((n) => [n, fs.readFileSync(path.join(dir, n), 'base64')]),
  );

describe('a save that fails keeps the checkpoint there and leaves nothing behind', () => {
  const failures = [
    ['writeSync', 'ENOSPC'],
    ['fsyncSync', 'EIO'],
    ['closeSync', 'EIO'],
    ['renameSync', 'EIO'],
    ['openSync', 'EROFS'],
  ];
  for (const [name, code] of failures) {
    test(`${name} failing with ${code}, at each of its calls`, () => {
      const calls = withFailure(name, -1, code, () => save(fresh('count'), 1)); // how many calls one save makes
      assert.ok(calls >= 1, `${name} is used by a save`);
      for (let at = 0; at < calls; at++) {
        const dir = fresh('save');
        save(dir, 1);
        const before = listing(dir);
        let failed = false;
        try {
          withFailure(name, at, code, () => save(dir, 2));
        } catch (err) {
          failed = true;
          assert.equal(err.exitCode, 6, `${name} call ${at}: ${err.stack}`);
          assert.ok(err.message.includes(dir) && err.message.includes(`${ERRORS[code]} (${code})`), err.message);
          assert.deepEqual(listing(dir), before, `${name} call ${at}: the directory is as it was`);
        }
        // Only the directory's fsync may fail unnoticed (not every platform can fsync a directory): then the save is complete.
        if (!failed) assert.notDeepEqual(listing(dir), before, `${name} call ${at} neither failed nor saved`);
        loadCheckpoint(dir, { resume: true }).model.dispose();
        save(dir, 3); // and the next save works, leaving one checkpoint's files
        assert.equal(fs.readdirSync(dir).length, 3, fs.readdirSync(dir).join(' '));
      }
    });
  }

  test('cleaning removes only files that the model.json on disk now does not name', () => {
    const dir = fresh('others');
    save(dir, 1);
    const mine = fs.readdirSync(dir).filter((n) => n.startsWith('weights-'));
    // Another writer replaces the checkpoint with its own files.
    const other = fresh('other');
    save(other, 2);
    for (const n of fs.readdirSync(other)) fs.copyFileSync(path.join(other, n), path.join(dir, n));
    removeLeftovers(dir);
    assert.deepEqual(fs.readdirSync(dir).sort(), fs.readdirSync(other).sort());
    assert.ok(mine.every((n) => !fs.existsSync(path.join(dir, n))));
  });
});

describe('leftovers of failed saves are cleared when a run claims its directory', () => {
  const cases = [
    { name: 'an unnamed weights file', files: ['weights-00000000deadbeef.bin'], removed: true },
    { name: 'an unnamed state file', files: ['state-00000000deadbeef.bin'], removed: true },
    { name: 'temporary files of any process', files: ['weights.bin.tmp-1', 'model.json.tmp-424242', 'state.bin.tmp-7'], removed: true },
    { name: 'files of the user', files: ['notes.txt', 'weights.bin'], removed: false },
  ];
  for (const c of cases) {
    test(`${c.name}: ${c.removed ? 'removed' : 'kept'}`, () => {
      const run = fresh('run');
      for (const kind of ['latest', 'best']) {
        save(path.join(run, kind), 1);
        for (const f of c.files) fs.writeFileSync(path.join(run, kind, f), 'x');
      }
      claimRunDirectory(run, 'test').release();
      for (const kind of ['latest', 'best']) {
        for (const f of c.files) assert.equal(fs.existsSync(path.join(run, kind, f)), !c.removed, `${kind}/${f}`);
        loadCheckpoint(path.join(run, kind), { resume: true }).model.dispose();
      }
    });
  }

  test('without a readable model.json nothing counts as unnamed', () => {
    const dir = fresh('corrupt');
    save(dir, 1);
    fs.writeFileSync(path.join(dir, 'model.json'), '{ torn');
    const before = fs.readdirSync(dir).sort();
    removeLeftovers(dir);
    assert.deepEqual(fs.readdirSync(dir).sort(), before);
  });
});

// ---------------------------------------------------------------- training on a disk that fills up

/** Runs the CLI with the disk "full" after `writesLeft` file writes (fixtures/full-disk.mjs). */
function runOnFullDisk(args, writesLeft) {
  return runCli(args, { cwd: WORK, env: { CHARRNN_TEST_WRITES_LEFT: String(writesLeft) }, flags: ['--import', FULL_DISK] });
}

describe('training when the disk fills up', { concurrency: 2 }, () => {
  // A save of this model makes 18 writes (5 weights, 12 state tensors, model.json); a step saves latest and best.
  for (const writesLeft of [0, 1, 30, 75, 120]) {
    test(`full after ${writesLeft} writes: exit 6, one line, the last good checkpoints kept`, async () => {
      const run = fresh('full');
      const r = await runOnFullDisk(
        ['train', TINY, '-o', run, ...ONE_STEP, '--max-steps', '6', '--save-every', '1', '--eval-every', '1'],
        writesLeft,
      );
      assert.equal(r.code, 6, show(r));
      const lines = errorLines(r);
      assert.equal(lines.length, 1, show(r));
      assert.match(lines[0], new RegExp(`^charrnn: cannot write .*${path.basename(run)}.*: no space left on device \\(ENOSPC\\)$`));
      assert.ok(!fs.existsSync(path.join(run, 'run.lock')), 'the lock is released');
      for (const kind of ['latest', 'best']) {
        const dir = path.join(run, kind);
        if (!fs.existsSync(dir)) continue;
        const names = fs.readdirSync(dir);
        assert.ok(!names.some((n) => n.includes('.tmp-')), `${kind}: ${names}`);
        if (names.length === 0) continue;
        assert.equal(names.length, 3, `${kind} holds exactly one checkpoint: ${names}`);
        loadCheckpoint(dir, { resume: true }).model.dispose();
      }
    });
  }
});

// ---------------------------------------------------------------- stdout: a reader that leaves, a full device

const RUN = fresh('sampled');
const trained = await runCli(['train', TINY, '-o', RUN, ...ONE_STEP], { cwd: WORK });
assert.equal(trained.code, 0, trained.stderr);

const OUTPUT_COMMANDS = [
  { args: ['sample', RUN, '-n', '100000000'] }, // would run for hours if it did not stop
  { args: ['sample', RUN, '--json', '--num-samples', '2', '-n', '500'] },
  { args: ['sample', RUN, '--interactive', '-n', '100000000'], stdin: 'the\nthe\n' },
  { args: ['eval', RUN, TINY, '--heatmap'] },
  { args: ['eval', RUN, TINY, '--json'] },
  { args: ['plot', RUN] },
  { args: ['info', RUN, '--json'] },
  { args: ['completion', 'bash'] },
  { args: ['help'] },
  { args: ['train', '--help'] },
];

/** Runs the CLI with stdout `closed` (its reader gone before the first write) or on /dev/full. */
function runWithStdout(args, stdout, stdin = '') {
  return new Promise((resolve, reject) => {
    const out = stdout === 'full' ? fs.openSync('/dev/full', 'w') : 'pipe';
    const child = spawn(process.execPath, [BIN, ...args], {
      cwd: WORK,
      env: { ...process.env, NO_COLOR: '1' },
      stdio: ['pipe', out, 'pipe'],
    });
    if (stdout === 'closed') child.stdout.destroy();
    else fs.closeSync(out);
    child.stdin.on('error', () => {}).end(stdin);
    let stderr = '';
    child.stderr.setEncoding('utf8').on('data', (d) => (stderr += d));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stderr }));
  });
}

describe('stdout whose reader has gone (| head): stop at once, exit 0, quietly', { concurrency: 2 }, () => {
  for (const { args, stdin } of OUTPUT_COMMANDS) {
    test(`charrnn ${args.join(' ').replace(RUN, 'run')}`, async () => {
      const r = await runWithStdout(args, 'closed', stdin);
      assert.equal(r.code, 0, show(r));
      assert.deepEqual(errorLines(r), [], show(r));
      assert.ok(!r.stderr.includes('EPIPE'), show(r));
    });
  }
});

describe(
  'stdout on a full device (> /dev/full): one line, exit 6',
  { concurrency: 2, skip: !fs.existsSync('/dev/full') && 'no /dev/full' },
  () => {
    for (const { args, stdin } of OUTPUT_COMMANDS) {
      test(`charrnn ${args.join(' ').replace(RUN, 'run')}`, async () => {
        const r = await runWithStdout(args, 'full', stdin);
        assert.equal(r.code, 6, show(r));
        assert.deepEqual(errorLines(r), ['charrnn: cannot write stdout: no space left on device (ENOSPC)'], show(r));
      });
    }
  },
);

test('a closed stderr (2>&1 | head -1) does not stop a training run', async () => {
  const run = fresh('quiet');
  const child = spawn(process.execPath, [BIN, 'train', TINY, '-o', run, ...ONE_STEP, '--max-steps', '3'], {
    cwd: WORK,
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  child.stderr.destroy();
  const code = await new Promise((resolve) => child.on('close', resolve));
  assert.equal(code, 0);
  assert.equal(JSON.parse(fs.readFileSync(path.join(run, 'latest', 'model.json'), 'utf8')).charrnn.training.step, 3);
});
