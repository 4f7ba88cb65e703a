// GRU and vanilla RNN cells, and learned initial states: the hand-written backward
// against tfjs autodiff and central finite differences of a plain float64 JavaScript
// implementation (gradient-checks.mjs); ops per time step; sampling's step path against
// the forward; checkpoints; data-parallel shards.
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { loadCheckpoint } from '../dist/checkpoint/checkpoint.js';
import { saveCheckpoint } from '../dist/checkpoint/save.js';
import { GradientPool } from '../dist/training/data-parallel.js';
import { computeGradients } from '../dist/training/gradients.js';
import { CharModel } from '../dist/model/model.js';
import { CELLS } from '../dist/cells/registry.js';
import { BatchStepper } from '../dist/sampling/sampler.js';
import { Vocabulary } from '../dist/data/vocab.js';
import { GATES, gradientCheckTests, smallModel, tfGradients } from './gradient-checks.mjs';
import { maxAbsDiff, trainingRecord, useBackend, workDir } from './helpers.mjs';

const tf = await useBackend('wasm');

gradientCheckTests({ withFused: true });

test('training steps leave no tensors behind (every cell, learned initial state)', () => {
  for (const [cell, learnedInit] of [
    ['lstm', false],
    ['gru', true],
    ['rnn', false],
  ]) {
    const model = smallModel(cell, learnedInit, 3);
    tfGradients(model, false, true); // warm-up allocations
    const before = tf.memory().numTensors;
    for (let k = 0; k < 3; k++) tfGradients(model, false, k % 2 === 0);
    assert.equal(tf.memory().numTensors, before, cell);
    model.dispose();
  }
});

// On tfjs-node-gpu every op is a separate kernel launch, so at small batch sizes the op
// count per time step, not FLOPs, sets the speed. These counts are the budget; a change
// that adds ops to the time loop should have to change them knowingly. The backward
// counts include one Identity kernel per tensor saved for it (LSTM 3, GRU 5), and for the
// LSTM the 10 ops a training forward spends precomputing what its 7-op backward step needs.
for (const [cell, fwd, bwd] of [
  ['lstm', 12, 20],
  ['gru', 11, 23],
  ['rnn', 3, 5],
]) {
  test(`ops per time step, ${cell}: ${fwd} forward, ${bwd} more for the hand-written backward`, async () => {
    const { forward, sequence } = CELLS[cell].reference;
    const [B, H] = [2, 3];
    const kernelsFor = async (steps, withBackward) => {
      const zIn = tf.randomNormal([steps * B, GATES[cell] * H]);
      const U = tf.randomNormal([H, GATES[cell] * H]);
      const initial = CELLS[cell].state.map((_, k) => (k === 0 ? tf.randomNormal([B, H]) : tf.zeros([B, H])));
      const { kernels } = await tf.profile(() => {
        if (withBackward) tf.grads((z, u) => tf.sum(sequence(z, u, initial).hs))([zIn, U]);
        else forward(zIn, U, initial);
      });
      tf.dispose([zIn, U, ...initial]);
      return kernels.length;
    };
    const perStep = async (withBackward) => ((await kernelsFor(6, withBackward)) - (await kernelsFor(2, withBackward))) / 4;
    const forward1 = await perStep(false);
    assert.equal(forward1, fwd);
    assert.equal((await perStep(true)) - forward1, bwd);
  });
}

test("sampling's step path gives the forward's logits, for every cell, from the (learned) start state", () => {
  const ids = [3, 1, 4, 1, 0, 2, 2, 4, 0, 3]; // two streams, time-major
  for (const cell of ['lstm', 'gru', 'rnn']) {
    for (const learnedInit of [false, true]) {
      const model = CharModel.create({ vocabSize: 5, hidden: 6, layers: 2, dropout: 0, cell, learnedInit }, 9);
      if (learnedInit) model.variables.slice(3 * 2 + 2).forEach((v, k) => v.assign(tf.randomUniform(v.shape, -1, 1, 'float32', k)));
      const expected = tf.tidy(() => {
        const { logits, final } = model.forward(tf.tensor1d(ids, 'int32'), model.initialState(2));
        tf.dispose(final.flat());
        return logits;
      });
      const stepper = new BatchStepper(model, 2);
      const before = tf.memory().numTensors;
      const stepped = [];
      for (let t = 0; t < ids.length / 2; t++) stepped.push(...stepper.step(Int32Array.from(ids.slice(2 * t, 2 * t + 2))));
      assert.equal(tf.memory().numTensors, before, `${cell}: a step leaves no tensors behind`);
      const diff = maxAbsDiff(stepped, expected.dataSync());
      assert.ok(diff < 1e-5, `${cell}${learnedInit ? ' learned init' : ''}: max |Δlogit| = ${diff}`);
      stepper.dispose();
      expected.dispose();
      model.dispose();
    }
  }
});

const recordOf = ({ cell, learnedInit, hidden, layers }) => trainingRecord({ cell, learnedInit, hidden, layers });

test('checkpoints record the cell and the learned initial state; one without a cell is an LSTM', async () => {
  const dir = workDir('cells');
  const vocab = new Vocabulary(['a', 'b', 'c', 'd', 'e']);
  const model = CharModel.create({ vocabSize: 5, hidden: 4, layers: 2, dropout: 0, cell: 'gru', learnedInit: true }, 2);
  saveCheckpoint(join(dir, 'gru'), model, vocab, recordOf(model.config));
  const loaded = loadCheckpoint(join(dir, 'gru'));
  assert.equal(loaded.meta.model.cell, 'gru');
  assert.equal(loaded.model.config.learnedInit, true);
  loaded.model.variables.forEach((v, k) => assert.deepEqual(v.dataSync(), model.variables[k].dataSync()));
  loaded.model.dispose();
  model.dispose();

  // A checkpoint written before --cell existed: no cell, no learnedInit in its metadata.
  const lstm = CharModel.create({ vocabSize: 5, hidden: 4, layers: 1, dropout: 0, cell: 'lstm', learnedInit: false }, 2);
  saveCheckpoint(join(dir, 'old'), lstm, vocab, recordOf(lstm.config));
  const file = join(dir, 'old', 'model.json');
  const json = JSON.parse(readFileSync(file, 'utf8'));
  json.charrnn.formatVersion = 1;
  delete json.charrnn.model.cell;
  delete json.charrnn.model.learnedInit;
  delete json.charrnn.training.config.cell;
  delete json.charrnn.training.config.learnedInit;
  writeFileSync(file, JSON.stringify(json));
  const old = loadCheckpoint(join(dir, 'old'));
  assert.equal(old.model.config.cell, 'lstm');
  assert.equal(old.model.config.learnedInit, false);
  old.model.dispose();
  lstm.dispose();
});

test("data-parallel shards (a worker thread) give the whole batch's gradients for a GRU starting from its learned state", async () => {
  const model = CharModel.create({ vocabSize: 11, hidden: 8, layers: 2, dropout: 0, cell: 'gru', learnedInit: true }, 5);
  model.variables.slice(3 * 2 + 2).forEach((v, k) => v.assign(tf.randomUniform(v.shape, -1, 1, 'float32', k)));
  const [T, B] = [5, 4];
  const inputs = Int32Array.from({ length: T * B }, (_, k) => (k * 7) % 11);
  const targets = Int32Array.from({ length: T * B }, (_, k) => (k * 3 + 1) % 11);
  const state = model.initialState(B);
  const whole = computeGradients(model, state, inputs, targets, 1);
  const pool = new GradientPool(model, 2, 'wasm');
  try {
    const sharded = await pool.source(state, { inputs, targets }, 1);
    whole.grads.forEach((g, k) => assert.ok(maxAbsDiff(sharded.grads[k].dataSync(), g.dataSync()) < 1e-6, `gradient ${k}`));
    const initialGrad = whole.grads.at(-1).dataSync();
    assert.ok(Math.hypot(...initialGrad) > 1e-4, 'the initial state gets a gradient');
    tf.dispose([...sharded.grads, ...sharded.final.flat()]);
  } finally {
    await pool.close();
  }
  tf.dispose([...whole.grads, ...whole.final.flat(), ...state.flat()]);
  model.dispose();
});

test("a cell's fused kernels, where it offers them for the backend, replace its reference ones; autodiff keeps the reference", () => {
  const lstm = CELLS.lstm;
  const ownFused = lstm.fused;
  const calls = [];
  lstm.fused = (backend) =>
    backend === tf.getBackend() ? { forward: (...args) => (calls.push(backend), lstm.reference.forward(...args)) } : undefined;
  const model = CharModel.create({ vocabSize: 5, hidden: 4, layers: 2, dropout: 0, cell: 'lstm', learnedInit: false }, 3);
  try {
    const run = (options) =>
      tf.tidy(() => tf.dispose(model.forward(tf.tensor1d([1, 2, 3, 4], 'int32'), model.initialState(2), options).final.flat()));
    run({});
    assert.deepEqual(calls, [tf.getBackend(), tf.getBackend()], 'one fused call per layer');
    run({ dropoutSeed: 1, autodiff: true });
    assert.equal(calls.length, 2, 'autodiff differentiates the reference');
  } finally {
    lstm.fused = ownFused;
    model.dispose();
  }
});
