// Data-parallel gradients: shards on worker threads must give the gradients of the
// whole batch (without dropout the maths is the same, only summed in another order).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { GradientPool, shardRanges, shardStreams } from '../dist/training/data-parallel.js';
import { computeGradients } from '../dist/training/gradients.js';
import { useFusedLayers } from '../dist/cells/fused.js';
import { CharModel } from '../dist/model/model.js';
import { maxAbsDiff, useBackend } from './helpers.mjs';

const tf = await useBackend('wasm');

test('shards: near-equal stream ranges; time-major rows of the chosen streams', () => {
  assert.deepEqual(shardRanges(5, 2), [
    [0, 2],
    [2, 5],
  ]);
  assert.deepEqual(shardRanges(4, 4), [
    [0, 1],
    [1, 2],
    [2, 3],
    [3, 4],
  ]);
  const ids = Int32Array.from({ length: 3 * 4 }, (_, k) => k); // T=3, B=4: row t is [4t, 4t+1, 4t+2, 4t+3]
  assert.deepEqual([...shardStreams(ids, 4, 1, 3)], [1, 2, 5, 6, 9, 10]);
});

test("three shards (two worker threads) give the whole batch's loss, gradients and state", async () => {
  const config = { vocabSize: 11, hidden: 16, layers: 2, dropout: 0, cell: 'lstm', learnedInit: false };
  const model = CharModel.create(config, 5);
  const [T, B] = [6, 7];
  const inputs = Int32Array.from({ length: T * B }, (_, k) => (k * 7) % 11);
  const targets = Int32Array.from({ length: T * B }, (_, k) => (k * 3 + 1) % 11);
  const state = model.initialState(B).map((layer) => layer.map((t, k) => tf.randomNormal(t.shape, 0, 0.5, 'float32', 1 + k)));
  const whole = computeGradients(model, state, inputs, targets, 1);

  const pool = new GradientPool(model, 3, 'wasm');
  try {
    const sharded = await pool.source(state, { inputs, targets }, 1);
    assert.ok(Math.abs(sharded.loss - whole.loss) < 1e-6, `loss ${sharded.loss} vs ${whole.loss}`);
    whole.grads.forEach((g, k) => assert.ok(maxAbsDiff(sharded.grads[k].dataSync(), g.dataSync()) < 1e-6, `gradient ${k}`));
    whole.final.forEach(([h, c], l) => {
      assert.ok(maxAbsDiff(sharded.final[l][0].dataSync(), h.dataSync()) < 1e-6, `h of layer ${l}`);
      assert.ok(maxAbsDiff(sharded.final[l][1].dataSync(), c.dataSync()) < 1e-6, `c of layer ${l}`);
    });
    tf.dispose([...sharded.grads, ...sharded.final.flat()]);
  } finally {
    await pool.close();
  }
  tf.dispose([...whole.grads, ...whole.final.flat(), ...state.flat()]);
  model.dispose();
});

test("worker threads run the fused layers too: a worker's final state is the fused one, bit for bit", async () => {
  const model = CharModel.create({ vocabSize: 11, hidden: 16, layers: 2, dropout: 0, cell: 'lstm', learnedInit: false }, 6);
  const [T, B] = [6, 7];
  const inputs = Int32Array.from({ length: T * B }, (_, k) => (k * 5) % 11);
  const targets = Int32Array.from({ length: T * B }, (_, k) => (k * 2 + 3) % 11);
  const state = model.initialState(B).map((layer) => layer.map((t, k) => tf.randomNormal(t.shape, 0, 0.5, 'float32', 3 + k)));
  const [from, to] = shardRanges(B, 2)[1]; // the worker's shard
  const ownState = state.map((layer) => layer.map((t) => tf.slice(t, [from, 0], [to - from, -1])));
  const finalH = (fused) => {
    useFusedLayers(fused);
    const { grads, final } = computeGradients(model, ownState, shardStreams(inputs, B, from, to), shardStreams(targets, B, from, to), 1);
    const h = final.map(([hFinal]) => Array.from(hFinal.dataSync()));
    tf.dispose([...grads, ...final.flat()]);
    useFusedLayers(true);
    return h;
  };
  const [fused, opByOp] = [finalH(true), finalH(false)];
  assert.notDeepEqual(fused, opByOp, 'the two paths round differently, so the test can tell them apart');
  const pool = new GradientPool(model, 2, 'wasm');
  try {
    const sharded = await pool.source(state, { inputs, targets }, 1);
    const fromWorker = sharded.final.map(([h]) => Array.from(h.dataSync()).slice(from * 16, to * 16));
    assert.deepEqual(fromWorker, fused);
    tf.dispose([...sharded.grads, ...sharded.final.flat()]);
  } finally {
    await pool.close();
  }
  tf.dispose([...state, ...ownState].flat());
  model.dispose();
});
