// What a budget (--max-steps, --max-time) plans: the learning rate's decay over its end,
// the spacing of validations (paced to what they cost under --max-time), exact resume
// under a budget, and the progress shown against the budget.
import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { test } from 'node:test';
import { loadCheckpoint } from '../dist/checkpoint/checkpoint.js';
import { TRAIN_DEFAULTS } from '../dist/training/config.js';
import { readCorpus } from '../dist/data/corpus.js';
import { CHECK_SHARE, checkInterval, checkPeriod } from '../dist/training/schedule.js';
import { decayFactor, learningRate, planTimeDecay, stepsBudgetDecay } from '../dist/training/learning-rate.js';
import { freshSettings } from '../dist/training/settings.js';
import { resume, train } from '../dist/training/trainer.js';
import { runCli, TINY_CORPUS, useBackend, TINY_MODEL, workDir } from './helpers.mjs';

const tf = await useBackend('wasm');
const WORK = workDir('schedule');
/** A fresh directory in WORK (removed with it when the tests end). */
const tmp = () => mkdtempSync(join(WORK, 'run-'));
const SMALL = { ...TRAIN_DEFAULTS, hidden: 16, layers: 2, seq: 16, batch: 8, dropout: 0.1, valFrac: 0.05 };

test('without a budget the rate is --lr times --lr-decay per completed epoch', () => {
  const config = { lr: 0.01, lrDecay: 0.5 };
  assert.equal(learningRate(config, 0, 10, null), 0.01);
  assert.equal(learningRate(config, 9, 10, null), 0.01);
  assert.equal(learningRate(config, 10, 10, null), 0.005);
  assert.equal(learningRate(config, 25, 10, null), 0.0025);
});

test('a steps budget holds the rate, then brings it down linearly to 0 over its last 30%', () => {
  const decay = stepsBudgetDecay(100);
  assert.deepEqual(decay, { start: 70, end: 100 });
  assert.equal(decayFactor(69, decay), 1);
  assert.equal(decayFactor(70, decay), 1);
  assert.equal(decayFactor(85, decay), 0.5);
  assert.equal(decayFactor(99, decay), 1 / 30);
  assert.equal(decayFactor(100, decay), 0);
  assert.equal(learningRate({ lr: 0.01, lrDecay: 0.5 }, 85, 50, decay), 0.01 * 0.5 * 0.5, 'the epochs still decay it too');
  assert.deepEqual(stepsBudgetDecay(1), { start: 0, end: 1 }, 'a one-step budget still has a window');
});

test('a time budget plans its decay once 30% of the time is left, from the speed so far', () => {
  assert.equal(planTimeDecay(690, 690, 69, 100), null, 'not yet');
  assert.deepEqual(planTimeDecay(700, 700, 70, 100), { start: 700, end: 1000 }, '10 steps a second for the last 30 s');
  assert.deepEqual(planTimeDecay(1200, 700, 70, 100), { start: 1200, end: 1500 }, 'a resumed run counts its own steps and seconds');
  assert.deepEqual(planTimeDecay(5, 5, 200, 100), { start: 5, end: 6 }, 'past the budget: one step');
});

test('validations are spaced to the budget unless --eval-every is given', () => {
  const none = { maxSteps: null, maxSeconds: null };
  assert.deepEqual(checkInterval(null, none, Infinity), { steps: 100 });
  assert.deepEqual(checkInterval(7, { maxSteps: 1000, maxSeconds: null }, 1000), { steps: 7 });
  assert.deepEqual(checkInterval(null, { maxSteps: 1000, maxSeconds: null }, 1000), { steps: 50 });
  assert.deepEqual(checkInterval(null, { maxSteps: 10, maxSeconds: null }, 10), { steps: 1 });
  assert.deepEqual(checkInterval(null, { maxSteps: null, maxSeconds: 300 }, Infinity), { budgetSeconds: 300 });
  assert.deepEqual(checkInterval(null, { maxSteps: 1000, maxSeconds: 300 }, 1000), { steps: 50 }, 'steps stay reproducible');
  assert.deepEqual(checkInterval(9, { maxSteps: null, maxSeconds: 300 }, Infinity), { steps: 9 });
});

test('under --max-time a check is followed by 19 times its cost, but by a twentieth to a quarter of the budget', () => {
  assert.equal(checkPeriod(60, 0.75), 15, 'a 0.75 s check in a minute: 5% of 15 s');
  assert.equal(checkPeriod(60, 0.5), 10);
  assert.equal(checkPeriod(300, 0.5), 15, 'cheap checks: every twentieth, as many as a budget ever gets');
  assert.equal(checkPeriod(60, 0), 3);
  assert.equal(checkPeriod(60, 10), 15, 'dear checks: still every quarter');
});

const tinyCorpus = readCorpus(TINY_CORPUS);

/**
 * Trains under a fake clock: each step takes `stepMs`, each validation `checkMs`. Returns
 * the result, the validations (step and clock seconds when each started) and the steps
 * at which latest/ was written.
 */
async function fakeClockRun(config, { stepMs, checkMs }) {
  let ms = 0;
  let step = 0;
  const validations = [];
  const saves = [];
  const result = await train({
    corpus: tinyCorpus,
    config: { ...SMALL, epochs: 100_000, ...config },
    outDir: join(tmp(), 'run'),
    backend: 'test',
    threads: 1,
    clock: () => ms,
    observer: {
      onStep: (p) => {
        step = p.step;
        ms += stepMs;
      },
      onValidation: (at) => {
        validations.push({ step: at, seconds: ms / 1000 });
        ms += checkMs;
      },
      onCheckpoint: (kind) => kind === 'latest' && saves.push(step),
    },
  });
  return { result, validations, saves };
}

/** Seconds between the starts of consecutive validations. */
const gaps = (validations) => validations.slice(1).map((v, k) => v.seconds - validations[k].seconds);

test('a 20 s budget whose checks cost 0.15 s checks every 3 s, one step late at most, and at the end', async () => {
  const { result, validations, saves } = await fakeClockRun({ maxSeconds: 20 }, { stepMs: 100, checkMs: 150 });
  assert.equal(result.stoppedBy, 'max-time');
  const last = validations.at(-1);
  assert.equal(last.step, result.steps, 'the final model is validated, so best/ can be it');
  assert.equal(validations[0].seconds, 1, 'the first after a twentieth of the budget');
  for (const gap of gaps(validations.slice(0, -1))) assert.ok(gap >= 3 && gap < 3.1 + 1e-9, `gap ${gap}`);
  // The run ends where the rate's decay, planned at 14 s from the speed so far, reaches 0.
  assert.ok(last.seconds > 19.5 && last.seconds <= 20.1, `ended at ${last.seconds} s`);
  assert.deepEqual(
    saves,
    validations.map((v) => v.step),
    'latest/ is written with every validation',
  );
  const checkSeconds = 0.15 * (validations.length - 1);
  assert.ok(checkSeconds <= CHECK_SHARE * last.seconds + 0.15, `${checkSeconds} s of ${last.seconds} s checking`);
});

test('checks that cost more than a twentieth of a quarter of the budget still come every quarter', async () => {
  const { validations } = await fakeClockRun({ maxSeconds: 20 }, { stepMs: 100, checkMs: 2000 });
  assert.deepEqual(
    validations.slice(0, -1).map((v) => v.seconds),
    [1, 6, 11, 16],
    'four within the budget',
  );
  // The final one where the rate's decay ends: planned at 14 s, it counted the checks' cost as part of the speed.
  assert.ok(validations.length === 5 && validations[4].seconds > 19 && validations[4].seconds <= 20, `${validations[4]?.seconds}`);
});

test('under --max-time, --eval-every and --save-every still count steps', async () => {
  const { result, validations, saves } = await fakeClockRun({ maxSeconds: 6, evalEvery: 7, saveEvery: 5 }, { stepMs: 100, checkMs: 1000 });
  const multiples = (n) => Array.from({ length: Math.floor((result.steps - 1) / n) }, (_, k) => (k + 1) * n);
  assert.deepEqual(
    validations.map((v) => v.step),
    [...multiples(7), result.steps],
  );
  assert.deepEqual(saves, [...multiples(5), result.steps]);
});

test('a real 2 s run leaves 19 times the cost of each check before the next, or a quarter of the budget', async () => {
  const budget = 2;
  const corpus = readCorpus(fileURLToPath(new URL('../corpora/default.txt', import.meta.url)));
  const now = () => performance.now() / 1000;
  const checks = [];
  let stepEnded = 0;
  const result = await train({
    corpus,
    config: { ...SMALL, epochs: 100_000, maxSeconds: budget },
    outDir: join(tmp(), 'real'),
    backend: 'test',
    threads: 1,
    observer: {
      onStep: () => (stepEnded = now()),
      onValidation: (step) => checks.push({ step, start: stepEnded }),
      onCheckpoint: (kind) => kind === 'latest' && (checks.at(-1).end = now()),
    },
  });
  assert.equal(checks.at(-1).step, result.steps);
  assert.ok(checks.length >= 2, 'one within the budget, one at its end');
  // The final check comes when the budget is spent, however soon after the one before.
  for (const [k, check] of checks.slice(0, -2).entries()) {
    const gap = checks[k + 1].start - check.start;
    const cost = check.end - check.start;
    const wanted = Math.min(budget / 4, Math.max(budget / 20, cost / CHECK_SHARE));
    assert.ok(gap >= wanted - 1e-3, `check ${k} took ${cost.toFixed(3)} s and the next came ${gap.toFixed(3)} s after it`);
  }
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
  assert.equal(wholeLrs[0], config.lr);
  assert.ok(wholeLrs[39] < config.lr / 10, `the last step's rate ${wholeLrs[39]} has come down`);
  const [a, b] = [whole.latestDir, resumed.latestDir].map((dir) => loadCheckpoint(dir));
  a.model.variables.forEach((v, k) => assert.deepEqual(b.model.variables[k].dataSync(), v.dataSync()));
  a.model.dispose();
  b.model.dispose();
  assert.equal(tf.memory().numTensors, 0);
});

test('a time budget plans its decay once, keeps it in the checkpoint, and a run stopped during it resumes exactly', async () => {
  // A clock that moves one second per step makes the time budget reproducible: 10 s is 10
  // steps, and the decay is planned at step 7, when 30% of the time is left, to end at step 10.
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
    const result = await (checkpoint ? resume({ ...options, checkpoint }) : train({ ...options, config, outDir }));
    return { result, lrs };
  };
  const whole = await run({ outDir: join(tmp(), 'whole') });
  assert.equal(whole.result.stoppedBy, 'max-time');
  assert.equal(whole.result.steps, 10);
  assert.deepEqual(
    whole.lrs.map((lr) => lr / config.lr),
    [1, 1, 1, 1, 1, 1, 1, 1, 2 / 3, 1 / 3],
  );
  const saved = loadCheckpoint(whole.result.latestDir);
  assert.deepEqual(saved.meta.resume.timeDecay, { start: 7, end: 10 });
  saved.model.dispose();

  const out = join(tmp(), 'split');
  const first = await run({ outDir: out, stopAt: 8 });
  assert.equal(first.result.stoppedBy, 'interrupted');
  // The resumed process's clock starts again at 0 with the whole 10 s: without the stored
  // plan it would hold the rate for 7 more steps.
  const resumed = await run({ checkpoint: loadCheckpoint(out, { resume: true }) });
  assert.equal(resumed.result.stoppedBy, 'max-time');
  assert.equal(resumed.result.steps, 10);
  assert.deepEqual([...first.lrs, ...resumed.lrs], whole.lrs);
  const [a, b] = [whole.result.latestDir, resumed.result.latestDir].map((dir) => loadCheckpoint(dir));
  a.model.variables.forEach((v, k) => assert.deepEqual(b.model.variables[k].dataSync(), v.dataSync()));
  a.model.dispose();
  b.model.dispose();

  // A decay that ran to its end belonged to that budget: resuming that run plans a new one.
  const again = await run({ checkpoint: loadCheckpoint(dirname(whole.result.latestDir), { resume: true }) });
  assert.equal(again.result.steps, 20);
  assert.deepEqual(
    again.lrs.map((lr) => lr / config.lr),
    [1, 1, 1, 1, 1, 1, 1, 1, 2 / 3, 1 / 3],
  );
  assert.equal(tf.memory().numTensors, 0);
});

test('a budget, not the default 20 epochs, ends a fresh run unless --epochs is given; a long one trains a wider model with dropout and β2 0.99', async () => {
  assert.equal(freshSettings({}).epochs, 20);
  assert.equal(freshSettings({ maxSeconds: 60 }).epochs, null);
  assert.equal(freshSettings({ maxSteps: 500 }).epochs, null);
  assert.equal(freshSettings({ maxSeconds: 60, epochs: 3 }).epochs, 3);
  // A long time budget trains a wider model, unless the width is given.
  assert.equal(freshSettings({ maxSeconds: 599 }).hidden, 128);
  assert.equal(freshSettings({ maxSeconds: 600 }).hidden, 256);
  assert.equal(freshSettings({ maxSeconds: 1200, hidden: 64 }).hidden, 64);
  assert.equal(freshSettings({ maxSteps: 100_000 }).hidden, 128);
  // ...and with dropout, unless it is given.
  assert.equal(freshSettings({ maxSeconds: 599 }).dropout, 0);
  assert.equal(freshSettings({ maxSeconds: 600 }).dropout, 0.1);
  assert.equal(freshSettings({ maxSeconds: 1200, dropout: 0 }).dropout, 0);
  // ...and Adam's β2 at 0.99, unless it is given.
  assert.equal(freshSettings({ maxSeconds: 599 }).beta2, 0.999);
  assert.equal(freshSettings({ maxSeconds: 600 }).beta2, 0.99);
  assert.equal(freshSettings({ maxSeconds: 1200, beta2: 0.95 }).beta2, 0.95);
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
