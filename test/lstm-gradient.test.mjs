// The hand-written LSTM backward against tfjs autodiff and against central finite
// differences of a plain float64 JavaScript implementation of the same model.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { CharModel } from '../dist/model.js';
import { useBackend } from './helpers.mjs';

const config = { vocabSize: 5, hidden: 3, layers: 2, dropout: 0 };
const T = 4;
const B = 2;
const inputs = [0, 1, 2, 3, 4, 0, 1, 2]; // time-major: t*B + b
const targets = [1, 2, 3, 4, 0, 1, 2, 3];

function tfGradients(tf, model, autodiff) {
  const variables = model.variables;
  const { value, grads } = tf.variableGrads(() => {
    // A non-zero carried state, so gradients through h0/c0 paths are exercised too.
    const state = model.zeroState(B).map(({ h, c }) => ({ h: tf.fill(h.shape, 0.3), c: tf.fill(c.shape, -0.2) }));
    const { loss, final } = model.loss(tf.tensor1d(inputs, 'int32'), tf.tensor1d(targets, 'int32'), state, { dropoutSeed: 1, autodiff });
    tf.dispose(final.flatMap((s) => [s.h, s.c]));
    return loss;
  }, variables);
  const out = variables.map((v) => Array.from(grads[v.name].dataSync()));
  tf.dispose([value, ...Object.values(grads)]);
  return out;
}

// --- plain-number reference: same maths, float64, no tfjs ---
const sigmoid = (x) => 1 / (1 + Math.exp(-x));

function referenceLoss(w) {
  const { vocabSize: V, hidden: H, layers: L } = config;
  let xs = inputs.map((id) => Array.from({ length: V }, (_, k) => (k === id ? 1 : 0))); // one-hot rows
  for (let l = 0; l < L; l++) {
    const [W, U, bias] = [w[3 * l], w[3 * l + 1], w[3 * l + 2]];
    const D = l === 0 ? V : H;
    const h = Array.from({ length: B }, () => new Array(H).fill(0.3));
    const c = Array.from({ length: B }, () => new Array(H).fill(-0.2));
    const out = [];
    for (let t = 0; t < T; t++) {
      for (let b = 0; b < B; b++) {
        const x = xs[t * B + b];
        const z = new Array(4 * H).fill(0).map((_, j) => {
          let s = bias[j];
          for (let d = 0; d < D; d++) s += x[d] * W[d * 4 * H + j];
          for (let k = 0; k < H; k++) s += h[b][k] * U[k * 4 * H + j];
          return s;
        });
        const hNew = new Array(H);
        for (let k = 0; k < H; k++) {
          const i = sigmoid(z[k]), f = sigmoid(z[H + k]), g = Math.tanh(z[2 * H + k]), o = sigmoid(z[3 * H + k]);
          c[b][k] = f * c[b][k] + i * g;
          hNew[k] = o * Math.tanh(c[b][k]);
        }
        h[b] = hNew;
        out[t * B + b] = hNew;
      }
    }
    xs = out;
  }
  const [Wy, by] = [w[3 * L], w[3 * L + 1]];
  let total = 0;
  xs.forEach((hRow, n) => {
    const logits = by.map((bv, v) => bv + hRow.reduce((s, hk, k) => s + hk * Wy[k * V + v], 0));
    const max = Math.max(...logits);
    const logSum = max + Math.log(logits.reduce((s, x) => s + Math.exp(x - max), 0));
    total += logSum - logits[targets[n]];
  });
  return total / xs.length;
}

function finiteDifferences(weights) {
  const eps = 1e-6;
  return weights.map((w, p) =>
    w.map((_, k) => {
      const plus = weights.map((x) => x.slice());
      const minus = weights.map((x) => x.slice());
      plus[p][k] += eps;
      minus[p][k] -= eps;
      return (referenceLoss(plus) - referenceLoss(minus)) / (2 * eps);
    }),
  );
}

for (const backend of ['wasm', 'cpu']) {
  test(`hand-written LSTM backward matches autodiff and finite differences (${backend})`, async () => {
    const tf = await useBackend(backend);
    const model = CharModel.create(config, 7);
    const weights = model.variables.map((v) => Array.from(v.dataSync()));
    const hand = tfGradients(tf, model, false);
    const auto = tfGradients(tf, model, true);
    const numeric = finiteDifferences(weights);
    model.variables.forEach((v, p) => {
      for (let k = 0; k < v.size; k++) {
        assert.ok(Math.abs(hand[p][k] - auto[p][k]) < 1e-5, `param ${p}[${k}]: hand ${hand[p][k]} vs autodiff ${auto[p][k]}`);
        const tolerance = 1e-4 + 1e-3 * Math.abs(numeric[p][k]);
        assert.ok(Math.abs(hand[p][k] - numeric[p][k]) < tolerance, `param ${p}[${k}]: hand ${hand[p][k]} vs numeric ${numeric[p][k]}`);
      }
    });
    // The reference loss is the model's loss: same maths.
    model.dispose();
  });
}

test('training step leaves no tensors behind', async () => {
  const tf = await useBackend('wasm');
  const model = CharModel.create(config, 3);
  tfGradients(tf, model, false); // warm-up allocations
  const before = tf.memory().numTensors;
  for (let k = 0; k < 3; k++) tfGradients(tf, model, false);
  assert.equal(tf.memory().numTensors, before);
  model.dispose();
});

// On tfjs-node-gpu every op is a separate kernel launch, so at small batch sizes the op
// count per time step, not FLOPs, sets the speed. These counts are the budget; a change
// that adds ops to the time loop should have to change them knowingly.
test('ops per time step: 12 forward, 31 more for the hand-written backward', async () => {
  const tf = await useBackend('wasm');
  const { lstmForward, lstmSequence } = await import('../dist/lstm.js');
  const [B, H] = [2, 3];
  const kernelsFor = async (steps, withBackward) => {
    const zIn = tf.randomNormal([steps * B, 4 * H]);
    const U = tf.randomNormal([H, 4 * H]);
    const initial = { h: tf.zeros([B, H]), c: tf.zeros([B, H]) };
    const { kernels } = await tf.profile(() => {
      if (withBackward) tf.grads((z, u) => tf.sum(lstmSequence(z, u, initial).hs))([zIn, U]);
      else lstmForward(zIn, U, initial);
    });
    tf.dispose([zIn, U, initial.h, initial.c]);
    return kernels.length;
  };
  const perStep = async (withBackward) => ((await kernelsFor(6, withBackward)) - (await kernelsFor(2, withBackward))) / 4;
  const forward = await perStep(false);
  assert.equal(forward, 12);
  assert.equal((await perStep(true)) - forward, 31);
});
