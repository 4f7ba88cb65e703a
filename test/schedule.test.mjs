// The learning-rate schedule over a budget (--max-steps, --max-time): its shape as a pure
// function, the spacing of validations, exact resume under a budget, and the progress
// shown against the budget.
import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { loadCheckpoint } from '../dist/checkpoint/checkpoint.js';
import { TRAIN_DEFAULTS } from '../dist/training/config.js';
import { readCorpus } from '../dist/data/corpus.js';
import { checkInterval, decayFactor, learningRate, planTimeDecay, stepsBudgetDecay } from '../dist/training/schedule.js';
import { resume, train } from '../dist/training/trainer.js';
import { runCli, TINY_CORPUS, useBackend } from './helpers.mjs';

const tf = await useBackend('wasm');
const tmp = () => mkdtempSync(join(tmpdir(), 'charrnn-schedule-'));
const SMALL = { ...TRAIN_DEFAULTS, hidden: 16, layers: 2, seq: 16, batch: 8, dropout: 0.1, valFrac: 0.05 };

test('without a budget the rate is --lr times --lr-decay per completed epoch', () => {
  const config = { lr: 0.01, lrDecay: 0.5 };
  assert.equal(learningRate(config, 0, 10, null), 0.01);
  assert.equal(learningRate(config, 9, 10, null), 0.01);
  assert.equal(learningRate(config, 10, 10, null), 0.005);
  assert.equal(learningRate(config, 25, 10, null), 0.0025);
});

test('a steps budget holds the rate, then decays it linearly to 0 over its last 30%', () => {
  const decay = stepsBudgetDecay(100);
  assert.deepEqual(decay, { start: 70, end: 100 });
  assert.equal(decayFactor(0, decay), 1);
  assert.equal(decayFactor(69, decay), 1);
  assert.equal(decayFactor(70, decay), 1);
  assert.ok(Math.abs(decayFactor(85, decay) - 0.5) < 1e-12);
  assert.ok(Math.abs(decayFactor(99, decay) - 1 / 30) < 1e-12);
  assert.equal(decayFactor(100, decay), 0);
  assert.ok(Math.abs(learningRate({ lr: 0.01, lrDecay: 0.5 }, 85, 50, decay) - 0.01 * 0.5 * 0.5) < 1e-15, 'the epoch decay still applies');
  assert.deepEqual(stepsBudgetDecay(1), { start: 0, end: 1 }, 'a one-step budget still has a decay window');
});

test('a time budget plans its decay once 30% of the time is left, from the speed so far', () => {
  assert.equal(planTimeDecay(690, 690, 69, 100), null, 'not yet');
  assert.deepEqual(planTimeDecay(700, 700, 70, 100), { start: 700, end: 1000 }, '10 steps/s for the last 30 s');
  assert.deepEqual(planTimeDecay(1200, 700, 70, 100), { start: 1200, end: 1500 }, 'a resumed run counts its own steps and seconds');
  assert.deepEqual(planTimeDecay(5, 5, 200, 100), { start: 5, end: 6 }, 'past the budget: at least one step');
});

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
    corpus, config, outDir: out, backend: 'test', threads: 1, signal: stop.signal,
    observer: { onStep: (p) => { splitLrs.push(p.lr); if (p.step === 20) stop.abort(); } },
  });
  assert.equal(first.stoppedBy, 'interrupted');
  assert.equal(first.steps, 20);
  const resumed = await resume({ checkpoint: loadCheckpoint(out, { resume: true }), corpus, backend: 'test', threads: 1, observer: lrs(splitLrs) });
  assert.equal(resumed.steps, 40);
  assert.deepEqual(splitLrs, wholeLrs);
  assert.equal(wholeLrs[0], config.lr);
  assert.ok(wholeLrs[39] < config.lr / 10, `the last step's rate ${wholeLrs[39]} has decayed`);
  const [a, b] = [whole.latestDir, resumed.latestDir].map((dir) => loadCheckpoint(dir));
  a.model.variables.forEach((v, k) => assert.deepEqual(b.model.variables[k].dataSync(), v.dataSync()));
  a.model.dispose();
  b.model.dispose();
  assert.equal(tf.memory().numTensors, 0);
});

test('a time budget plans its decay once, stores it, and resumes exactly', async () => {
  // A clock that moves one second per step makes the time budget reproducible: 10 s is 10 steps,
  // and the decay is planned at step 7, when 30% of the time is left, to end at step 10.
  const corpus = readCorpus(TINY_CORPUS);
  const config = { ...SMALL, epochs: 100_000, maxSeconds: 10 };
  const run = async (outDir, { stopAt = Infinity, checkpoint } = {}) => {
    let seconds = 0;
    const stop = new AbortController();
    const lrs = [];
    const options = {
      corpus, backend: 'test', threads: 1, signal: stop.signal, clock: () => seconds * 1000,
      observer: { onStep: (p) => { lrs.push(p.lr); seconds++; if (p.step === stopAt) stop.abort(); } },
    };
    const result = await (checkpoint ? resume({ ...options, checkpoint }) : train({ ...options, config, outDir }));
    return { result, lrs };
  };
  const whole = await run(join(tmp(), 'whole'));
  assert.equal(whole.result.stoppedBy, 'max-time');
  assert.equal(whole.result.steps, 10);
  const saved = loadCheckpoint(whole.result.latestDir);
  assert.deepEqual(saved.meta.resume.timeDecay, { start: 7, end: 10 });
  saved.model.dispose();
  assert.deepEqual(whole.lrs.map((lr) => lr / config.lr), [1, 1, 1, 1, 1, 1, 1, 1, 2 / 3, 1 / 3]);

  const out = join(tmp(), 'split');
  const first = await run(out, { stopAt: 8 });
  assert.equal(first.result.steps, 8);
  // The resumed process's clock starts again at 0: without the stored plan it would plan anew.
  const resumed = await run(out, { checkpoint: loadCheckpoint(out, { resume: true }) });
  assert.equal(resumed.result.stoppedBy, 'max-time', 'stopped by the stored decay\'s end');
  assert.equal(resumed.result.steps, 10);
  assert.deepEqual([...first.lrs, ...resumed.lrs], whole.lrs);
  const [a, b] = [whole.result.latestDir, resumed.result.latestDir].map((dir) => loadCheckpoint(dir));
  a.model.variables.forEach((v, k) => assert.deepEqual(b.model.variables[k].dataSync(), v.dataSync()));
  a.model.dispose();
  b.model.dispose();
  assert.equal(tf.memory().numTensors, 0);
});

test('under --max-time the progress lines count the budget\'s time, not steps out of the epochs', async () => {
  const out = join(tmp(), 'cli');
  const r = await runCli(['train', TINY_CORPUS, '-o', out, '--hidden', '8', '--layers', '1', '--seq', '8', '--batch', '4', '--max-time', '2s', '--threads', '1', '--backend', 'wasm'], { cwd: tmp() });
  assert.equal(r.code, 0, r.stderr);
  const lines = r.stderr.split('\n').filter((l) => l.startsWith('step '));
  assert.ok(lines.length >= 1, r.stderr);
  for (const line of lines) assert.match(line, /^step \d+ \|.* \d+s of 2s( \| val \d)?/, line);
  assert.match(r.stderr, /done \(max-time\)/);
});
