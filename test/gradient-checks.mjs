// The hand-written backward of every cell (and the learned initial states) against tfjs
// autodiff and central finite differences of a plain float64 JavaScript implementation.
// Shared by cells.test.mjs (wasm) and backend-suite.mjs (the other backends).
import * as tf from '../dist/tf.js';
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { useFusedLayers } from '../dist/cells/fused.js';
import { CELL_TYPES } from '../dist/cells/registry.js';
import { CharModel } from '../dist/model/model.js';

const T = 4;
const B = 2;
const inputs = [0, 1, 2, 3, 4, 0, 1, 2]; // time-major: t*B + b
const targets = [1, 2, 3, 4, 0, 1, 2, 3];
const CARRIED = { h: 0.3, c: -0.2 }; // a non-zero carried state, so paths through h0 (and c0) are exercised
export const GATES = { lstm: 4, gru: 3, rnn: 1 };

/** Gradients of the loss for every variable, from the state `fromStart` ? model.initialState : CARRIED (h, then c). */
export function tfGradients(model, autodiff, fromStart) {
  const variables = model.variables;
  const { value, grads } = tf.variableGrads(() => {
    const state = fromStart
      ? model.initialState(B)
      : model.initialState(B).map((layer) => layer.map((t, k) => tf.fill(t.shape, [CARRIED.h, CARRIED.c][k])));
    const { loss, final } = model.loss(tf.tensor1d(inputs, 'int32'), tf.tensor1d(targets, 'int32'), state, { dropoutSeed: 1, autodiff });
    tf.dispose(final.flat());
    return loss;
  }, variables);
  const out = variables.map((v) => Array.from(grads[v.name].dataSync()));
  tf.dispose([value, ...Object.values(grads)]);
  return out;
}

// --- plain-number reference: same maths, float64, no tfjs ---
const sigmoid = (x) => 1 / (1 + Math.exp(-x));

/** One step of `cell` for one stream: z (G·H pre-activations of the input part, bias included), h, c, U. */
function referenceStep(cell, H, xPart, h, c, U) {
  const G = GATES[cell] * H;
  const rec = (vec, col) => vec.reduce((s, hk, k) => s + hk * U[k * G + col], 0);
  if (cell === 'rnn') return { h: xPart.map((x, j) => Math.tanh(x + rec(h, j))), c };
  if (cell === 'lstm') {
    const z = xPart.map((x, j) => x + rec(h, j));
    const hNew = new Array(H);
    const cNew = new Array(H);
    for (let k = 0; k < H; k++) {
      const i = sigmoid(z[k]),
        f = sigmoid(z[H + k]),
        g = Math.tanh(z[2 * H + k]),
        o = sigmoid(z[3 * H + k]);
      cNew[k] = f * c[k] + i * g;
      hNew[k] = o * Math.tanh(cNew[k]);
    }
    return { h: hNew, c: cNew };
  }
  if (cell !== 'gru') throw new Error(`no float64 reference for the ${cell} cell: add its step here`);
  // GRU, reset gate before the recurrent matMul (Keras reset_after=False)
  const zGate = Array.from({ length: H }, (_, k) => sigmoid(xPart[k] + rec(h, k)));
  const rGate = Array.from({ length: H }, (_, k) => sigmoid(xPart[H + k] + rec(h, H + k)));
  const rh = h.map((hk, k) => rGate[k] * hk);
  const hh = Array.from({ length: H }, (_, k) => Math.tanh(xPart[2 * H + k] + rec(rh, 2 * H + k)));
  return { h: h.map((hk, k) => zGate[k] * hk + (1 - zGate[k]) * hh[k]), c };
}

function referenceLoss(config, w, fromStart) {
  const { vocabSize: V, hidden: H, layers: L, cell } = config;
  const G = GATES[cell] * H;
  let xs = inputs.map((id) => Array.from({ length: V }, (_, k) => (k === id ? 1 : 0))); // one-hot rows
  const initial = w.slice(3 * L + 2); // learned initial states: h (and c) per layer
  const perLayer = initial.length / L;
  for (let l = 0; l < L; l++) {
    const [W, U, bias] = [w[3 * l], w[3 * l + 1], w[3 * l + 2]];
    const D = l === 0 ? V : H;
    const start = (which) => {
      if (!fromStart) return new Array(H).fill(CARRIED[which]);
      if (which === 'h' && perLayer > 0) return initial[perLayer * l].slice();
      if (which === 'c' && perLayer === 2) return initial[perLayer * l + 1].slice();
      return new Array(H).fill(0);
    };
    const h = Array.from({ length: B }, () => start('h'));
    const c = Array.from({ length: B }, () => start('c'));
    const out = [];
    for (let t = 0; t < T; t++) {
      for (let b = 0; b < B; b++) {
        const x = xs[t * B + b];
        const xPart = Array.from({ length: G }, (_, j) => {
          let s = bias[j];
          for (let d = 0; d < D; d++) s += x[d] * W[d * G + j];
          return s;
        });
        ({ h: h[b], c: c[b] } = referenceStep(cell, H, xPart, h[b], c[b], U));
        out[t * B + b] = h[b];
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

function finiteDifferences(config, weights, fromStart) {
  const eps = 1e-6;
  return weights.map((w, p) =>
    w.map((_, k) => {
      const plus = weights.map((x) => x.slice());
      const minus = weights.map((x) => x.slice());
      plus[p][k] += eps;
      minus[p][k] -= eps;
      return (referenceLoss(config, plus, fromStart) - referenceLoss(config, minus, fromStart)) / (2 * eps);
    }),
  );
}

/** A small model whose learned initial states (if any) are not zero, so the test can tell them apart. */
export function smallModel(cell, learnedInit, seed = 7) {
  const model = CharModel.create({ vocabSize: 5, hidden: 3, layers: 2, dropout: 0, cell, learnedInit }, seed);
  const weights = model.variables.length;
  model.variables
    .slice(weights - (learnedInit ? (cell === 'lstm' ? 4 : 2) : 0))
    .forEach((v, k) => v.assign(tf.randomUniform(v.shape, -0.5, 0.5, 'float32', 11 + k)));
  return model;
}

const cases = [
  { cell: 'lstm', learnedInit: false, fromStart: false },
  { cell: 'gru', learnedInit: false, fromStart: false },
  { cell: 'rnn', learnedInit: false, fromStart: false },
  { cell: 'lstm', learnedInit: true, fromStart: true },
  { cell: 'gru', learnedInit: true, fromStart: true },
  { cell: 'rnn', learnedInit: true, fromStart: true },
  { cell: 'gru', learnedInit: true, fromStart: false }, // a carried state: no gradient reaches the initial state
];
/**
 * The hand-written backward of every cell against autodiff and finite differences, on the
 * current backend. `withFused`: every cell's backward is checked twice, op by op
 * (lstm.ts, gru.ts, rnn.ts) and fused (fused.ts, on wasm).
 */
export function gradientCheckTests({ withFused = false } = {}) {
  test('every registered cell has its gradient checks', () => {
    assert.deepEqual(
      [...new Set(cases.map((c) => c.cell))].sort(),
      [...CELL_TYPES].sort(),
      'add the new cell to `cases` and `referenceStep`',
    );
  });
  for (const { cell, learnedInit, fromStart, fused } of cases.flatMap((c) =>
    withFused
      ? [
          { ...c, fused: true },
          { ...c, fused: false },
        ]
      : [c],
  )) {
    const what = `${cell}${fused ? ' (fused)' : ''}${learnedInit ? ' with learned initial state' : ''}, ${fromStart ? 'streams starting' : 'carried state'}`;
    test(`hand-written backward matches autodiff and finite differences: ${what}`, () => {
      useFusedLayers(fused === true);
      const model = smallModel(cell, learnedInit);
      const weights = model.variables.map((v) => Array.from(v.dataSync()));
      const hand = tfGradients(model, false, fromStart);
      const auto = tfGradients(model, true, fromStart);
      const numeric = finiteDifferences(model.config, weights, fromStart);
      model.variables.forEach((v, p) => {
        for (let k = 0; k < v.size; k++) {
          assert.ok(Math.abs(hand[p][k] - auto[p][k]) < 1e-5, `param ${p}[${k}]: hand ${hand[p][k]} vs autodiff ${auto[p][k]}`);
          const tolerance = 1e-4 + 1e-3 * Math.abs(numeric[p][k]);
          assert.ok(Math.abs(hand[p][k] - numeric[p][k]) < tolerance, `param ${p}[${k}]: hand ${hand[p][k]} vs numeric ${numeric[p][k]}`);
        }
      });
      if (learnedInit) {
        const initialGrads = hand.slice(3 * model.config.layers + 2).flat();
        const norm = Math.hypot(...initialGrads);
        if (fromStart) assert.ok(norm > 1e-4, `the initial state gets a gradient (|g| = ${norm})`);
        else assert.equal(norm, 0, 'a carried state passes no gradient to the initial state');
      }
      model.dispose();
      useFusedLayers(true);
    });
  }
}
