// The native backend's path without a native package: a fake tfjs-node-gpu (fake-native.mjs)
// that loads with or without a GPU. `auto` takes it only with a GPU; `--backend tensorflow`
// takes it either way; training on it never starts worker threads.
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { test } from 'node:test';
import { selectBackend } from '../dist/backend/select.js';
import { readCorpus } from '../dist/data/corpus.js';
import { CharModel } from '../dist/model/model.js';
import { TRAIN_DEFAULTS } from '../dist/training/config.js';
import { GradientPool } from '../dist/training/data-parallel.js';
import { train } from '../dist/training/trainer.js';
import { fakeNativeLoader } from './fake-native.mjs';
import { TINY_CORPUS, workDir } from './helpers.mjs';

const withGpu = { loadNative: fakeNativeLoader({ gpu: true }) };
const withoutGpu = { loadNative: fakeNativeLoader({ gpu: false }) };

test('auto takes tfjs-node-gpu when it finds a GPU', async () => {
  const backend = await selectBackend('auto', withGpu);
  assert.equal(backend.name, 'tensorflow');
  assert.equal(backend.description, 'tfjs-node-gpu on a CUDA GPU');
  assert.deepEqual(backend.fallbacks, []);
});

test("auto prefers WebAssembly when tfjs-node-gpu loads but finds no GPU, and says why and how to see TensorFlow's reason", async () => {
  const backend = await selectBackend('auto', withoutGpu);
  assert.equal(backend.name, 'wasm');
  assert.equal(backend.fallbacks.length, 1, backend.fallbacks.join('; '));
  const [why] = backend.fallbacks;
  assert.match(why, /^@tensorflow\/tfjs-node-gpu: loaded, but TensorFlow found no GPU/);
  assert.match(why, /TF_CPP_MIN_LOG_LEVEL=0/);
  assert.match(why, /--backend tensorflow forces it/);
});

test('--backend tensorflow still takes tfjs-node-gpu without a GPU, and says it runs on the CPU', async () => {
  const backend = await selectBackend('tensorflow', withoutGpu);
  assert.equal(backend.name, 'tensorflow');
  assert.match(backend.description, /^tfjs-node-gpu on the CPU: TensorFlow found no GPU \(TF_CPP_MIN_LOG_LEVEL=0/);
});

test('on the tensorflow backend training runs on one thread whatever --threads says, and says so; no worker is started', async () => {
  await selectBackend('tensorflow', withGpu);
  const corpus = readCorpus(TINY_CORPUS);
  const config = { ...TRAIN_DEFAULTS, hidden: 8, layers: 1, seq: 8, batch: 4, maxSteps: 2, evalEvery: 2, saveEvery: 2 };
  const plans = [];
  for (const threads of [2, undefined]) {
    const result = await train({
      corpus,
      config,
      outDir: join(workDir('native'), 'run'),
      backend: 'fake',
      threads,
      observer: { onStart: (plan) => plans.push(plan) },
    });
    assert.equal(result.steps, 2);
  }
  assert.equal(plans[0].threads, 1);
  assert.match(plans[0].threadsNote, /^--threads 2 ignored: native TensorFlow threads by itself/);
  assert.equal(plans[1].threads, 1);
  assert.equal(plans[1].threadsNote, null, 'no note when nobody asked for more');

  const model = CharModel.create({ vocabSize: 5, hidden: 4, layers: 1, dropout: 0, cell: 'lstm', learnedInit: false }, 1);
  assert.throws(() => new GradientPool(model, 2, 'tensorflow'), /no gradient workers on the tensorflow backend/);
  model.dispose();
});
