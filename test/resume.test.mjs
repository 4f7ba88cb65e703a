// Never losing work: exact resume, fine-tuning, early stopping, the divergence guard,
// and checkpoints that survive a SIGKILL at any moment. The CLI runs as a child process.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { describe, test } from 'node:test';
import { loadCheckpoint } from '../dist/checkpoint/checkpoint.js';
import { BIN, runCli, useBackend, workDir, TINY_CORPUS as TINY, errorLine } from './helpers.mjs';

const WORK = workDir('resume');
const tf = await useBackend('wasm');

const SMALL = [
  '--hidden',
  '32',
  '--layers',
  '2',
  '--seq',
  '16',
  '--batch',
  '8',
  '--dropout',
  '0.1',
  '--eval-every',
  '10',
  '--save-every',
  '10',
  '--backend',
  'wasm',
];

const cli = (args) => runCli(args, { cwd: WORK });

const weightsOf = (dir) => {
  const name = fs.readdirSync(dir).find((f) => /^weights-.*\.bin$/.test(f));
  return fs.readFileSync(path.join(dir, name));
};

describe('resume', { concurrency: 1 }, () => {
  // A --max-steps 20 run would bring its rate down to 0 by step 20 (a budget's end), so the
  // first part ends after an epoch instead; schedule.test.mjs resumes a budget mid-epoch.
  test('2 epochs in one go equal 1 + 1 with a resume between, with dropout and --beta2', async () => {
    const whole = path.join(WORK, 'whole');
    const split = path.join(WORK, 'split');
    // Validating every 8 steps, the split's end at step 24 (an epoch) is one of the whole run's validations.
    // A resume that took Adam's default β2 instead of the run's would end elsewhere.
    const args = [...SMALL, '--eval-every', '8', '--beta2', '0.9'];
    assert.equal((await cli(['train', TINY, '-o', whole, ...args, '--epochs', '2'])).code, 0);
    assert.equal((await cli(['train', TINY, '-o', split, ...args, '--epochs', '1'])).code, 0);
    const resumed = await cli(['train', '--resume', split, '--epochs', '2']);
    assert.equal(resumed.code, 0, resumed.stderr);
    assert.match(resumed.stderr, /resuming .* at step 24/);
    assert.deepEqual(weightsOf(path.join(split, 'latest')), weightsOf(path.join(whole, 'latest')));
    const defaultBeta2 = path.join(WORK, 'default-beta2');
    assert.equal((await cli(['train', TINY, '-o', defaultBeta2, ...SMALL, '--eval-every', '8', '--epochs', '2'])).code, 0);
    assert.notDeepEqual(weightsOf(path.join(defaultBeta2, 'latest')), weightsOf(path.join(whole, 'latest')), '--beta2 reaches Adam');
    const [a, b] = [whole, split].map(
      (dir) => JSON.parse(fs.readFileSync(path.join(dir, 'latest', 'model.json'), 'utf8')).charrnn.training,
    );
    assert.deepEqual(
      b.history.map((h) => [h.step, h.trainLoss, h.valLoss]),
      a.history.map((h) => [h.step, h.trainLoss, h.valLoss]),
    );
  });

  test('a resumed run keeps its settings: changing the model shape is refused', async () => {
    const r = await cli(['train', '--resume', path.join(WORK, 'split'), '--hidden', '64']);
    assert.equal(r.code, 2);
    assert.match(errorLine(r), /--hidden cannot change when resuming/);
  });

  test('resuming on a different text is refused', async () => {
    const other = path.join(WORK, 'other.txt');
    fs.writeFileSync(other, fs.readFileSync(TINY, 'utf8').toUpperCase());
    const r = await cli(['train', other, '--resume', path.join(WORK, 'split'), '--max-steps', '60']);
    assert.equal(r.code, 3);
    assert.match(errorLine(r), /not the text .* was trained on/);
  });
});

describe('fine-tuning with --init-from', { concurrency: 1 }, () => {
  const base = path.join(WORK, 'base');
  const newText = path.join(WORK, 'new.txt');

  test('characters the checkpoint never saw stop the run, naming them', async () => {
    assert.equal((await cli(['train', TINY, '-o', base, ...SMALL, '--max-steps', '10'])).code, 0);
    fs.writeFileSync(newText, `${fs.readFileSync(TINY, 'utf8')}\nZebra €5 Zoë\n`);
    const r = await cli(['train', newText, '--init-from', base, '-o', path.join(WORK, 'tuned'), ...SMALL, '--max-steps', '5']);
    assert.equal(r.code, 2, r.stderr);
    const line = errorLine(r);
    for (const ch of ['"Z"', '"€"', '"5"', '"ë"']) assert.ok(line.includes(ch), `${ch} in ${line}`);
    assert.match(line, /--extend-vocab/);
  });

  test('--extend-vocab appends them, keeps the old vocabulary in place, and trains', async () => {
    const tuned = path.join(WORK, 'tuned');
    const r = await cli(['train', newText, '--init-from', base, '--extend-vocab', '-o', tuned, ...SMALL, '--max-steps', '5']);
    assert.equal(r.code, 0, r.stderr);
    const before = loadCheckpoint(base);
    const after = loadCheckpoint(tuned);
    assert.deepEqual(after.vocab.chars.slice(0, before.vocab.size), before.vocab.chars);
    assert.deepEqual(after.vocab.chars.slice(before.vocab.size).sort(), ['5', 'Z', 'ë', '€'].sort());
    assert.equal(after.meta.training.step, 5, 'a fresh history');
    before.model.dispose();
    after.model.dispose();
  });
});

test('--patience stops after that many validations without a new best', async () => {
  // A learning rate too small to move float32 weights: validation never improves.
  const r = await cli([
    'train',
    TINY,
    '-o',
    path.join(WORK, 'patient'),
    ...SMALL,
    '--lr',
    '1e-12',
    '--eval-every',
    '2',
    '--patience',
    '2',
    '--max-steps',
    '100',
  ]);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stderr, /done \(patience\): 6 steps/);
});

test('a diverging run rolls back, halves the learning rate, and stops after 3 rollbacks without a NaN checkpoint', async () => {
  const out = path.join(WORK, 'diverge');
  const r = await cli(['train', TINY, '-o', out, ...SMALL, '--lr', '1000', '--save-every', '1', '--max-steps', '50']);
  assert.equal(r.code, 5, r.stderr);
  assert.equal(r.stderr.match(/diverged: back to step \d+ with learning rate/g)?.length, 3, r.stderr);
  assert.match(r.stderr, /charrnn: training diverged .* 4 times/);
  for (const kind of ['latest', 'best']) {
    const dir = path.join(out, kind);
    if (!fs.existsSync(dir)) continue;
    const { model } = loadCheckpoint(dir);
    for (const v of model.variables) assert.ok(v.dataSync().every(Number.isFinite), `${kind} holds non-finite weights`);
    model.dispose();
  }
});

test('weights a blow-up left are never saved or gone back to: at --save-every 1 the run returns to ones the guard passed, and recovers', async () => {
  const out = path.join(WORK, 'recover');
  const shape = ['--hidden', '32', '--layers', '2', '--seq', '16', '--batch', '4', '--backend', 'wasm', '--threads', '1'];
  const r = await cli(['train', TINY, '-o', out, ...shape, '--lr', '3', '--save-every', '1', '--max-steps', '30']);
  // Step 1's update wrecks the weights and step 2's loss shows it. Saved and kept to go back
  // to, they made every retry diverge at step 2 until the run gave up.
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stderr, /diverged: back to step 0 with learning rate 1\.50/);
  assert.match(r.stderr, /done \(max-steps\): 30 steps/);
});

test('weights that blow up in the last step are neither validated nor saved as best/ or latest/', async () => {
  const out = path.join(WORK, 'last-step');
  const r = await cli(['train', TINY, '-o', out, ...SMALL, '--lr', '1000', '--max-steps', '1']);
  // The one step's update wrecks the weights; its loss, scored before the update, cannot
  // show it. They were validated, and saved as best/ (4,118 nats/char), and the run said done.
  assert.equal(r.code, 5, r.stderr);
  assert.match(r.stderr, /diverged: back to step 0 with learning rate 500\b/);
  assert.match(r.stderr, /charrnn: training diverged .*no checkpoint was written/);
  assert.doesNotMatch(r.stderr, /val \d/);
  for (const kind of ['latest', 'best']) assert.ok(!fs.existsSync(path.join(out, kind)), `${kind}/ was written`);
});

test('an output directory that cannot be written is refused before training', async () => {
  const file = path.join(WORK, 'a-file');
  fs.writeFileSync(file, '');
  const r = await cli(['train', TINY, '-o', path.join(file, 'run'), ...SMALL]);
  assert.equal(r.code, 6, r.stderr);
  assert.match(errorLine(r), /cannot create .*a-file\/run: part of its path is a file/);
});

test('SIGKILL at random moments leaves loadable checkpoints', async () => {
  const out = path.join(WORK, 'killed');
  let seed = 7;
  const nextDelay = () => (seed = (seed * 16807) % 2147483647) % 700; // 0–0.7 s, reproducible
  for (let round = 0; round < 4; round++) {
    fs.rmSync(out, { recursive: true, force: true });
    const args = ['train', TINY, '-o', out, ...SMALL, '--save-every', '1', '--eval-every', '1', '--epochs', '1000'];
    const child = spawn(process.execPath, [BIN, ...args], { cwd: WORK, stdio: 'ignore' });
    // Once checkpoints are being written (every step), kill at a random moment among the writes.
    while (!fs.existsSync(path.join(out, 'latest', 'model.json'))) await new Promise((resolve) => setTimeout(resolve, 20));
    await new Promise((resolve) => setTimeout(resolve, nextDelay()));
    child.kill('SIGKILL');
    await new Promise((resolve) => child.on('close', resolve));
    for (const kind of ['latest', 'best']) {
      const dir = path.join(out, kind);
      if (!fs.existsSync(path.join(dir, 'model.json'))) continue;
      const { model } = loadCheckpoint(dir); // throws on a half-written checkpoint
      model.dispose();
    }
  }
  assert.ok(fs.existsSync(path.join(out, 'latest', 'model.json')), 'at least one checkpoint was written');
  assert.equal(tf.memory().numTensors, 0);
});
