// The fused layers (wasm/lstm.ts, wasm/gru.ts, wasm/rnn.ts through src/cells/fused.ts) against
// the op-by-op references (src/cells/lstm.ts, gru.ts, rnn.ts) on the wasm backend: activations, outputs
// and gradients at odd shapes, models actually using them, and no leaks of tensors or heap.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { lstmForward, lstmSequence } from '../dist/cells/lstm.js';
import { gruForward, gruSequence } from '../dist/cells/gru.js';
import { rnnForward, rnnSequence } from '../dist/cells/rnn.js';
import {
  fusedGruForward,
  fusedGruSequence,
  fusedLstmCell,
  fusedLstmForward,
  fusedLstmSequence,
  fusedRnnForward,
  fusedRnnSequence,
} from '../dist/cells/fused.js';
import { stepProjection } from '../dist/cells/cell.js';
import { stepProjectorFactory, useFusedLayers } from '../dist/cells/fused.js';
import { CharModel } from '../dist/model/model.js';
import { BatchStepper } from '../dist/sampling/sampler.js';
import { maxAbsDiff, useBackend } from './helpers.mjs';

const tf = await useBackend('wasm');

test('activations: sigmoid and tanh within 4e-7 of float64, over [-20, 20]', () => {
  const xs = Array.from({ length: 40001 }, (_, k) => -20 + k * 1e-3);
  const B = xs.length;
  const H = 1;
  const big = 30; // sigmoid(30) and tanh(30) are 1 in float32
  // With c_{t-1} = 0, c = i·g: i = σ(x) with g = 1, then g = tanh(x) with i = 1.
  const cellOf = (zi, zg) => {
    const z = tf.tensor2d(
      xs.flatMap((x) => [zi(x), 0, zg(x), big]),
      [B, 4 * H],
    );
    const c0 = tf.zeros([B, H]);
    const [h, c] = fusedLstmCell(z, c0);
    const values = c.dataSync();
    tf.dispose([z, c0, h, c]);
    return values;
  };
  const sig = cellOf(
    (x) => x,
    () => big,
  );
  const tanh = cellOf(
    () => big,
    (x) => x,
  );
  const worst = (values, f) => Math.max(...xs.map((x, k) => Math.abs(values[k] - f(x))));
  assert.ok(worst(sig, (x) => 1 / (1 + Math.exp(-x))) < 4e-7);
  assert.ok(worst(tanh, Math.tanh) < 4e-7);
});

/** Random inputs for a layer of G gates, T steps, B streams, H units, and a gradient for its output. */
function layerInputs(G, T, B, H, seed) {
  return {
    zIn: tf.randomNormal([T * B, G * H], 0, 1, 'float32', seed),
    U: tf.randomNormal([H, G * H], 0, 1 / Math.sqrt(H), 'float32', seed + 1),
    h0: tf.randomNormal([B, H], 0, 0.5, 'float32', seed + 2),
    c0: tf.randomNormal([B, H], 0, 0.5, 'float32', seed + 3),
    dHs: tf.randomNormal([T * B, H], 0, 1, 'float32', seed + 4),
  };
}

/** Outputs (hs, then the final state), and gradients with respect to zIn, U and the initial state. */
function runLayer(forward, sequence, usesC, { zIn, U, h0, c0, dHs }) {
  const initial = usesC ? [h0, c0] : [h0];
  const plain = forward(zIn, U, initial);
  const out = [plain.hs, ...plain.final].map((t) => t.dataSync());
  tf.dispose([plain.hs, ...plain.final]);
  const grads = tf.grads((z, u, ...state) => {
    const { hs, final } = sequence(z, u, state);
    tf.dispose(final);
    return tf.sum(tf.mul(hs, dHs));
  })([zIn, U, ...initial]);
  const values = grads.map((g) => g.dataSync());
  tf.dispose(grads);
  return { out, grads: values };
}

const LAYERS = {
  lstm: { G: 4, reference: [lstmForward, lstmSequence], fused: [fusedLstmForward, fusedLstmSequence] },
  gru: { G: 3, reference: [gruForward, gruSequence], fused: [fusedGruForward, fusedGruSequence] },
  rnn: { G: 1, reference: [rnnForward, rnnSequence], fused: [fusedRnnForward, fusedRnnSequence] },
};
// Odd shapes: H not a multiple of 4 or 8, B = 1 and B not a multiple of 4, T = 1.
const SHAPES = [
  [1, 1, 1],
  [1, 3, 5],
  [3, 1, 13],
  [5, 2, 8],
  [6, 5, 37],
  [4, 7, 64],
  [20, 9, 128],
];
for (const [cell, { G, reference, fused }] of Object.entries(LAYERS)) {
  for (const [T, B, H] of SHAPES) {
    test(`fused and op-by-op ${cell} agree at T ${T}, B ${B}, H ${H}: outputs within 2e-6, gradients within 2e-6 of their largest`, () => {
      const inputs = layerInputs(G, T, B, H, T * 100 + B * 10 + H);
      const expected = runLayer(...reference, G === 4, inputs);
      const actual = runLayer(...fused, G === 4, inputs);
      assert.equal(actual.out.length, expected.out.length);
      ['hs', 'final h', 'final c']
        .slice(0, expected.out.length)
        .forEach((name, k) => assert.ok(maxAbsDiff(expected.out[k], actual.out[k]) < 2e-6, name));
      ['zIn', 'U', 'h0', 'c0'].slice(0, expected.grads.length).forEach((name, k) => {
        const scale = Math.max(...expected.grads[k].map(Math.abs));
        assert.ok(maxAbsDiff(expected.grads[k], actual.grads[k]) <= 2e-6 * scale, `d${name}`);
      });
      tf.dispose(Object.values(inputs));
    });
  }
}

for (const [cell, prefix] of [
  ['lstm', 'CharrnnLstm'],
  ['gru', 'CharrnnGru'],
]) {
  test(`a ${cell} model on wasm trains, evaluates and samples through the fused kernels`, async () => {
    const model = CharModel.create({ vocabSize: 7, hidden: 12, layers: 2, dropout: 0, cell, learnedInit: false }, 1);
    const ids = tf.tensor1d([1, 2, 3, 4, 5, 6], 'int32');
    const kernelNames = async (f) => new Set((await tf.profile(f)).kernels.map((k) => k.name));
    const trained = await kernelNames(() => {
      const { grads, value } = tf.variableGrads(() => {
        const { loss, final } = model.loss(ids, ids, model.initialState(2), { dropoutSeed: 1 });
        tf.dispose(final.flat());
        return loss;
      });
      tf.dispose([value, ...Object.values(grads)]);
    });
    assert.ok(trained.has(`${prefix}Forward`) && trained.has(`${prefix}Backward`), [...trained].join(' '));
    assert.ok(trained.has('CharrnnCrossEntropy') && trained.has('CharrnnCrossEntropyBackward'), [...trained].join(' '));
    const evaluated = await kernelNames(() => {
      const { logits, final } = model.forward(ids, model.initialState(2));
      tf.dispose([logits, ...final.flat()]);
    });
    assert.ok(evaluated.has(`${prefix}Forward`));
    const stepper = new BatchStepper(model, 1);
    const sampled = await kernelNames(() => stepper.step(Int32Array.of(3)));
    assert.ok(sampled.has(`${prefix}Cell`) && sampled.has('CharrnnStepProjection'), [...sampled].join(' '));
    assert.ok(!sampled.has('BatchMatMul'), 'no matMul outside the step projections');
    stepper.dispose();
    model.dispose();
    ids.dispose();
  });
}

test('an RNN model on wasm trains and evaluates through the fused kernels', async () => {
  const model = CharModel.create({ vocabSize: 7, hidden: 12, layers: 2, dropout: 0, cell: 'rnn', learnedInit: false }, 1);
  const ids = tf.tensor1d([1, 2, 3, 4, 5, 6], 'int32');
  const { kernels } = await tf.profile(() => {
    const { grads, value } = tf.variableGrads(() => {
      const { loss, final } = model.loss(ids, ids, model.initialState(2), { dropoutSeed: 1 });
      tf.dispose(final.flat());
      return loss;
    });
    tf.dispose([value, ...Object.values(grads)]);
  });
  const names = new Set(kernels.map((k) => k.name));
  assert.ok(names.has('CharrnnRnnForward') && names.has('CharrnnRnnBackward'), [...names].join(' '));
  model.dispose();
  ids.dispose();
});

for (const cell of ['lstm', 'gru']) {
  test(`fused ${cell} training steps leave no tensors and no heap behind`, () => {
    const model = CharModel.create({ vocabSize: 20, hidden: 96, layers: 2, dropout: 0, cell, learnedInit: true }, 2);
    const ids = tf.tensor1d(
      Array.from({ length: 16 * 10 }, (_, k) => (k * 7) % 20),
      'int32',
    );
    const step = () => {
      const { grads, value } = tf.variableGrads(() => {
        const { loss, final } = model.loss(ids, ids, model.initialState(10), { dropoutSeed: 1 });
        tf.dispose(final.flat());
        return loss;
      });
      tf.dispose([value, ...Object.values(grads)]);
    };
    step();
    const heap = tf.backend().wasm.HEAPU8.length;
    const tensors = tf.memory().numTensors;
    for (let k = 0; k < 40; k++) step(); // a leaked scratch buffer (≥ 150 kB a layer a step) would grow the heap
    assert.equal(tf.memory().numTensors, tensors);
    assert.equal(tf.backend().wasm.HEAPU8.length, heap);
    model.dispose();
    ids.dispose();
  });
}

// Layer 0 (a row lookup) and above (x·W + b), with and without h·U; N not a multiple of 8, B = 1.
for (const [layer, withU, B, D, N] of [
  [0, true, 1, 7, 13],
  [0, false, 3, 5, 8],
  [1, true, 1, 9, 36],
  [1, false, 5, 11, 21],
  [2, true, 4, 64, 256],
]) {
  test(`sampling's step projection in one kernel agrees with the op-by-op one: layer ${layer}${withU ? ' with h·U' : ''}, B ${B}, N ${N}`, () => {
    const H = 9;
    const W = tf.randomNormal([D, N], 0, 1, 'float32', N);
    const U = withU ? tf.randomNormal([H, N], 0, 1, 'float32', N + 1) : null;
    const b = tf.randomNormal([N], 0, 1, 'float32', N + 2);
    const input =
      layer === 0
        ? tf.tensor1d(
            Array.from({ length: B }, (_, k) => (k * 3 + 1) % D),
            'int32',
          )
        : tf.randomNormal([B, D], 0, 1, 'float32', N + 3);
    const h = tf.randomNormal([B, H], 0, 1, 'float32', N + 4);
    const [reference, fused] = [stepProjection, stepProjectorFactory()].map((make) => make(layer, W, U, b));
    const [expected, actual] = [reference, fused].map((p) => p.apply(input, h));
    assert.deepEqual(actual.shape, expected.shape);
    assert.ok(maxAbsDiff(expected.dataSync(), actual.dataSync()) < 1e-5);
    tf.dispose([W, U, b, input, h, expected, actual].filter((t) => t !== null));
    reference.dispose();
    fused.dispose();
  });
}

for (const cell of ['lstm', 'gru', 'rnn']) {
  test(`${cell} sampling on wasm: a step's logits within 1e-5 of the op-by-op step's, and no tensors or heap left behind`, () => {
    const model = CharModel.create({ vocabSize: 11, hidden: 20, layers: 2, dropout: 0, cell, learnedInit: false }, 3);
    model.variables.forEach((v, k) => v.assign(tf.randomUniform(v.shape, -0.5, 0.5, 'float32', 40 + k)));
    useFusedLayers(false);
    const reference = new BatchStepper(model, 2);
    useFusedLayers(true);
    const fused = new BatchStepper(model, 2);
    const heap = tf.backend().wasm.HEAPU8.length;
    const tensors = tf.memory().numTensors;
    for (let k = 0; k < 30; k++) {
      const ids = Int32Array.of(k % 11, (k * 5) % 11);
      assert.ok(maxAbsDiff(reference.step(ids), fused.step(ids)) < 1e-5, `step ${k}`);
    }
    assert.equal(tf.memory().numTensors, tensors);
    assert.equal(tf.backend().wasm.HEAPU8.length, heap);
    [reference, fused, model].forEach((x) => x.dispose());
  });
}
