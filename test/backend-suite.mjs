// The backend-independent tests, for running on a backend other than wasm (which the rest
// of the suite uses): gradient checks, exact resume, export parity and a falling loss.
// Tiny shapes: a few seconds per backend.
import * as tf from '../dist/tf.js';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { loadCheckpoint } from '../dist/checkpoint/checkpoint.js';
import { readCorpus } from '../dist/data/corpus.js';
import { writeLayersModel } from '../dist/export/layers-model.js';
import { TRAIN_DEFAULTS } from '../dist/training/config.js';
import { resume, train } from '../dist/training/trainer.js';
import { gradientCheckTests } from './gradient-checks.mjs';
import { exportGap, tinyText, useBackend, workDir } from './helpers.mjs';

/** Registers the tests on `backend` ('cpu' or 'fake-tensorflow', as useBackend takes it). */
export async function backendSuite(backend) {
  await useBackend(backend);
  const dir = workDir(backend);
  // The cpu backend spends ~0.2 ms per kernel: a short text, short steps.
  const text = join(dir, 'short.txt');
  writeFileSync(text, tinyText().slice(0, 200));
  const corpus = readCorpus(text);
  // 4 streams of 4 characters: 11 steps per epoch.
  const config = { ...TRAIN_DEFAULTS, hidden: 16, layers: 2, seq: 4, batch: 4, lr: 2e-2, dropout: 0.1, evalEvery: 10, saveEvery: 10 };
  const run = (name, overrides, more = {}) =>
    train({ corpus, config: { ...config, ...overrides }, outDir: join(dir, name), backend, threads: 1, ...more });

  test(`${backend}: the backend in use is ${backend === 'fake-tensorflow' ? 'tensorflow' : backend}`, () => {
    assert.equal(tf.getBackend(), backend === 'fake-tensorflow' ? 'tensorflow' : backend);
  });

  gradientCheckTests();

  test(`${backend}: 20 steps in one go equal 9 + 11 stopped and resumed, bit for bit, across an epoch boundary, with dropout`, async () => {
    await run('whole', { maxSteps: 20 });
    // Stopped as Ctrl-C stops it (a budget of 9 would end its own rate at 0).
    const stop = new AbortController();
    await run('split', { maxSteps: 20 }, { signal: stop.signal, observer: { onStep: (p) => p.step === 9 && stop.abort() } });
    const checkpoint = loadCheckpoint(join(dir, 'split', 'latest'), { resume: true });
    assert.equal(checkpoint.meta.training.step, 9);
    await resume({ checkpoint, corpus, backend, threads: 1 });
    const [whole, split] = ['whole', 'split'].map((name) => loadCheckpoint(join(dir, name, 'latest')));
    whole.model.variables.forEach((v, k) => assert.deepEqual(split.model.variables[k].dataSync(), v.dataSync(), v.name));
    const losses = (c) => c.meta.training.history.map((h) => [h.step, h.trainLoss, h.valLoss]);
    assert.deepEqual(losses(split), losses(whole));
    whole.model.dispose();
    split.model.dispose();
  });

  test(`${backend}: the loss falls over 50 steps, and an exported layers model predicts the same probabilities (< 1e-5)`, async () => {
    const losses = [];
    await run(
      'fifty',
      { maxSteps: 50, dropout: 0, lr: 5e-2, evalEvery: 50, saveEvery: 50 },
      { observer: { onStep: (p) => losses.push(p.loss) } },
    );
    const mean = (xs) => xs.reduce((a, b) => a + b, 0) / xs.length;
    const [first, last] = [mean(losses.slice(0, 5)), mean(losses.slice(-5))];
    assert.ok(last < 0.75 * first, `mean loss of the last 5 steps ${last} vs the first 5 ${first}`);

    const checkpoint = loadCheckpoint(join(dir, 'fifty', 'latest'));
    const exportDir = join(dir, 'fifty-export');
    await writeLayersModel(checkpoint, exportDir);
    const { diff, peak } = await exportGap(exportDir, tinyText().slice(100, 160));
    assert.ok(diff < 1e-5, `max |Δp| = ${diff}`);
    assert.ok(peak > 5 / checkpoint.vocab.size, `max p ${peak}: predictions far from uniform somewhere`);
    checkpoint.model.dispose();
  });
}
