// Sampling's whole step on wasm (wasm/sample.ts through src/backend/wasm-kernels/model-step.ts)
// against the op-by-op step (BatchStepper with the fused layers off): the same next-character
// probabilities at several shapes and every cell, the path taken where it should be, and no
// tensors or heap left behind.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { useFusedLayers } from '../dist/cells/fused.js';
import { WasmModelStep, wholeStepCalls } from '../dist/backend/wasm-kernels/model-step.js';
import { CharModel } from '../dist/model/model.js';
import { BatchStepper, modelStepper, sampleStreams } from '../dist/sampling/sampler.js';
import { softmax } from '../dist/sampling/distribution.js';
import { Vocabulary } from '../dist/data/vocab.js';
import { useBackend } from './helpers.mjs';

const tf = await useBackend('wasm');

function randomModel(config, seed) {
  const model = CharModel.create({ dropout: 0, learnedInit: false, ...config }, seed);
  // Weights of ±1.5/√H, larger than the initialisation's (the gates leave their linear range), small enough that the
  // vanilla RNN's dynamics do not amplify rounding differences from step to step (at ±0.5 they reach 1e-2 in 60 steps).
  const scale = 1.5 / Math.sqrt(config.hidden);
  model.variables.forEach((v, k) => v.assign(tf.randomUniform(v.shape, -scale, scale, 'float32', seed * 100 + k)));
  return model;
}

/** Largest difference of the probabilities (softmax at temperature 1) of two logits rows (B·V). */
function probabilityDiff(a, b, V) {
  let max = 0;
  for (let row = 0; row < a.length / V; row++) {
    const [p, q] = [a, b].map((x) => softmax(x.subarray(row * V, (row + 1) * V)));
    for (let k = 0; k < V; k++) max = Math.max(max, Math.abs(p[k] - q[k]));
  }
  return max;
}

// H not a multiple of 4 or 8, V not a multiple of 8, 1 to 3 layers, B 1 (matrix-vector), 3 (row by row), 16 (4-row tiles) and 18 (both).
const SHAPES = [
  { vocabSize: 13, hidden: 7, layers: 1, batch: 1 },
  { vocabSize: 11, hidden: 37, layers: 2, batch: 1 },
  { vocabSize: 29, hidden: 40, layers: 3, batch: 3 },
  { vocabSize: 82, hidden: 64, layers: 2, batch: 16 },
  { vocabSize: 9, hidden: 21, layers: 2, batch: 18 },
];
const TOLERANCE = 1e-6; // float32 sums in another order, activations by another approximation, over 60 carried steps (measured: ≤ 1e-7)

for (const cell of ['lstm', 'gru', 'rnn']) {
  test(`${cell}: the whole step's probabilities within ${TOLERANCE} of the op-by-op step's over 60 steps, at odd shapes`, () => {
    SHAPES.forEach(({ batch, ...config }, s) => {
      const model = randomModel({ ...config, cell }, 5 + s);
      useFusedLayers(false);
      const reference = new BatchStepper(model, batch);
      useFusedLayers(true);
      const whole = modelStepper(model, batch);
      assert.ok(whole instanceof WasmModelStep, 'the whole step on wasm');
      for (let k = 0; k < 60; k++) {
        const ids = Int32Array.from({ length: batch }, (_, b) => (k * 7 + b * 3) % config.vocabSize);
        const diff = probabilityDiff(reference.step(ids), whole.step(ids), config.vocabSize);
        assert.ok(diff < TOLERANCE, `${JSON.stringify(config)} B ${batch} step ${k}: ${diff}`);
      }
      [reference, whole, model].forEach((x) => x.dispose());
    });
  });
}

test('the whole step starts from a learned initial state', () => {
  const model = randomModel({ vocabSize: 10, hidden: 9, layers: 2, cell: 'lstm', learnedInit: true }, 2);
  useFusedLayers(false);
  const reference = new BatchStepper(model, 2);
  useFusedLayers(true);
  const whole = modelStepper(model, 2);
  assert.ok(probabilityDiff(reference.step(Int32Array.of(1, 4)), whole.step(Int32Array.of(1, 4)), 10) < TOLERANCE);
  [reference, whole, model].forEach((x) => x.dispose());
});

test('seeded samples are the same text through the whole step as op by op', () => {
  const vocab = new Vocabulary([...'abcdefghij \n']);
  const model = randomModel({ vocabSize: vocab.size, hidden: 30, layers: 2, cell: 'lstm' }, 6);
  const streams = [0.5, 1, 1.5].map((temperature, k) => ({ temperature, seed: 40 + k }));
  const texts = [false, true].map((fused) => {
    useFusedLayers(fused);
    const events = [...sampleStreams(model, vocab, { length: 400, prime: 'ab', streams })];
    return events.filter((e) => e.type === 'done').map((e) => e.sample.text);
  });
  useFusedLayers(true);
  assert.deepEqual(texts[1], texts[0]);
  model.dispose();
});

test('sampling on wasm takes the whole step, one call per character, and leaves no tensors or heap behind', () => {
  const vocab = new Vocabulary([...'abcdefg\n']);
  const model = randomModel({ vocabSize: vocab.size, hidden: 12, layers: 2, cell: 'gru' }, 3);
  const tensors = tf.memory().numTensors;
  const heap = tf.backend().wasm.HEAPU8.length;
  const before = wholeStepCalls();
  let chars = 0;
  for (const event of sampleStreams(model, vocab, { length: 500, prime: 'ab', streams: [{ temperature: 1, seed: 4 }] }))
    if (event.type === 'char') chars++;
  assert.equal(chars, 500);
  assert.equal(wholeStepCalls() - before, 2 + 499, 'the prime, then every character but the last');
  assert.equal(tf.memory().numTensors, tensors);
  assert.equal(tf.backend().wasm.HEAPU8.length, heap);
  model.dispose();
});

test('with the fused layers off, sampling steps op by op', () => {
  const model = randomModel({ vocabSize: 6, hidden: 5, layers: 1, cell: 'lstm' }, 1);
  useFusedLayers(false);
  const stepper = modelStepper(model, 1);
  useFusedLayers(true);
  assert.ok(stepper instanceof BatchStepper);
  [stepper, model].forEach((x) => x.dispose());
});
