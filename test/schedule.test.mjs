// What a budget (--max-steps, --max-time) plans: the spacing of validations, exact resume
// under a budget, and the progress shown against the budget. The learning rate is the
// same with or without one (plot.test.mjs checks it stays constant under --max-steps).
import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { loadCheckpoint } from '../dist/checkpoint/checkpoint.js';
import { TRAIN_DEFAULTS } from '../dist/training/config.js';
import { readCorpus } from '../dist/data/corpus.js';
import { checkInterval } from '../dist/training/schedule.js';
import { freshSettings } from '../dist/training/settings.js';
import { resume, train } from '../dist/training/trainer.js';
import { runCli, TINY_CORPUS, useBackend, TINY_MODEL } from './helpers.mjs';

const tf = await useBackend('wasm');
const tmp = () => mkdtempSync(join(tmpdir(), 'charrnn-schedule-'));
const SMALL = { ...TRAIN_DEFAULTS, hidden: 16, layers: 2, seq: 16, batch: 8, dropout: 0.1, valFrac: 0.05 };

test('validations are spaced to the budget unless --eval-every is given', () => {
  const none = { maxSteps: null, maxSeconds: null };
  assert.deepEqual(checkInterval(null, none, Infinity), { steps: 100 });
  assert.deepEqual(checkInterval(7, { maxSteps: 1000, maxSeconds: null }, 1000), { steps: 7 });
  assert.deepEqual(checkInterval(null, { maxSteps: 1000, maxSeconds: null }, 1000), { steps: 50 });
  assert.deepEqual(checkInterval(null, { maxSteps: 10, maxSeconds: null }, 10), { steps: 1 });
  assert.deepEqual(checkInterval(null, { maxSteps: null, maxSeconds: 300 }, Infinity), { seconds: 15 });
});

test('a steps budget resumes exactly: stopped at step 20 and resumed, it ends where an uninterrupted run does', async () => {
  const corpus = readCorpus(TINY_CORPUS);
  const config = { ...SMALL, maxSteps: 40 };
  const lrs = (into) => ({ onStep: (p) => into.push(p.lr) });
  const wholeLrs = [];
  const whole = await train({ corpus, config, outDir: join(tmp(), 'whole'), backend: 'test', threads: 1, observer: lrs(wholeLrs) });
  const stop = new AbortController();
  const splitLrs = [];
  const out = join(tmp(), 'split');
  const first = await train({
    corpus,
    config,
    outDir: out,
    backend: 'test',
    threads: 1,
    signal: stop.signal,
    observer: {
      onStep: (p) => {
        splitLrs.push(p.lr);
        if (p.step === 20) stop.abort();
      },
    },
  });
  assert.equal(first.stoppedBy, 'interrupted');
  assert.equal(first.steps, 20);
  const resumed = await resume({
    checkpoint: loadCheckpoint(out, { resume: true }),
    corpus,
    backend: 'test',
    threads: 1,
    observer: lrs(splitLrs),
  });
  assert.equal(resumed.steps, 40);
  assert.deepEqual(splitLrs, wholeLrs);
  const [a, b] = [whole.latestDir, resumed.latestDir].map((dir) => loadCheckpoint(dir));
  a.model.variables.forEach((v, k) => assert.deepEqual(b.model.variables[k].dataSync(), v.dataSync()));
  a.model.dispose();
  b.model.dispose();
  assert.equal(tf.memory().numTensors, 0);
});

test('a time budget resumes exactly: stopped at step 4 and resumed with the 6 s left, it ends where an uninterrupted run does', async () => {
  // A clock that moves one second per step makes the time budget reproducible: 10 s is 10
  // steps, validations and saves fall every half second (a twentieth), i.e. after every step.
  const corpus = readCorpus(TINY_CORPUS);
  const config = { ...SMALL, epochs: 100_000, maxSeconds: 10 };
  const run = async ({ outDir, stopAt = Infinity, checkpoint }) => {
    let seconds = 0;
    const stop = new AbortController();
    const lrs = [];
    const options = {
      corpus,
      backend: 'test',
      threads: 1,
      signal: stop.signal,
      clock: () => seconds * 1000,
      observer: {
        onStep: (p) => {
          lrs.push(p.lr);
          seconds++;
          if (p.step === stopAt) stop.abort();
        },
      },
    };
    // --max-time counts this process only, so the resumed run is given the time that was left.
    const result = await (checkpoint
      ? resume({ ...options, checkpoint, changes: { maxSeconds: 6 } })
      : train({ ...options, config, outDir }));
    return { result, lrs };
  };
  const whole = await run({ outDir: join(tmp(), 'whole') });
  assert.equal(whole.result.stoppedBy, 'max-time');
  assert.equal(whole.result.steps, 10);

  const out = join(tmp(), 'split');
  const first = await run({ outDir: out, stopAt: 4 });
  assert.equal(first.result.stoppedBy, 'interrupted');
  assert.equal(first.result.steps, 4);
  const resumed = await run({ checkpoint: loadCheckpoint(out, { resume: true }) });
  assert.equal(resumed.result.stoppedBy, 'max-time');
  assert.equal(resumed.result.steps, 10);
  assert.deepEqual([...first.lrs, ...resumed.lrs], whole.lrs);
  assert.ok(
    whole.lrs.every((lr) => lr === config.lr),
    'the budget leaves the learning rate alone',
  );
  const [a, b] = [whole.result.latestDir, resumed.result.latestDir].map((dir) => loadCheckpoint(dir));
  a.model.variables.forEach((v, k) => assert.deepEqual(b.model.variables[k].dataSync(), v.dataSync()));
  a.model.dispose();
  b.model.dispose();
  assert.equal(tf.memory().numTensors, 0);
});

test('a budget, not the default 20 epochs, ends a fresh run unless --epochs is given', async () => {
  assert.equal(freshSettings({}).epochs, 20);
  assert.equal(freshSettings({ maxSeconds: 60 }).epochs, null);
  assert.equal(freshSettings({ maxSteps: 500 }).epochs, null);
  assert.equal(freshSettings({ maxSeconds: 60, epochs: 3 }).epochs, 3);
  // Long streams make an epoch a few steps, so 21 epochs are quick.
  const corpus = readCorpus(TINY_CORPUS);
  const shape = { hidden: 8, layers: 1, seq: 64, batch: 16, valFrac: 0.05 };
  const options = (outDir, config, observer = {}) => ({
    corpus,
    config,
    outDir: join(tmp(), outDir),
    backend: 'test',
    threads: 1,
    observer,
  });
  let stepsPerEpoch = 0;
  await train(options('probe', { ...shape, maxSteps: 1 }, { onStart: (plan) => (stepsPerEpoch = plan.stepsPerEpoch) }));
  const maxSteps = 21 * stepsPerEpoch;
  const budgeted = await train(options('budgeted', { ...shape, maxSteps }));
  assert.equal(budgeted.stoppedBy, 'max-steps');
  assert.equal(budgeted.steps, maxSteps);
  const saved = loadCheckpoint(budgeted.latestDir);
  assert.equal(saved.meta.training.config.epochs, null, 'a checkpoint keeps "no limit" for its resume');
  saved.model.dispose();
  const capped = await train(options('capped', { ...shape, maxSteps, epochs: 20 }));
  assert.equal(capped.stoppedBy, 'epochs');
  assert.equal(capped.steps, 20 * stepsPerEpoch);
  assert.equal(tf.memory().numTensors, 0);
});

test("under --max-time the progress lines count the budget's time, not steps out of the epochs", async () => {
  const out = join(tmp(), 'cli');
  // Epochs enough that only the time budget can end it, however fast the machine.
  const r = await runCli(
    ['train', TINY_CORPUS, '-o', out, ...TINY_MODEL, '--epochs', '100000', '--max-time', '2s', '--threads', '1', '--backend', 'wasm'],
    {
      cwd: tmp(),
    },
  );
  assert.equal(r.code, 0, r.stderr);
  const lines = r.stderr.split('\n').filter((l) => l.startsWith('step '));
  assert.ok(lines.length >= 1, r.stderr);
  for (const line of lines) assert.match(line, /^step \d+ \|.* \d+s of 2s( \| val \d)?/, line);
  assert.match(r.stderr, /done \(max-time\)/);
});
