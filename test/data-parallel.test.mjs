// Data-parallel gradients: shards on worker threads must give the gradients of the
// whole batch (without dropout the maths is the same, only summed in another order).
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import { availableParallelism } from 'node:os';
import path from 'node:path';
import { describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { GradientPool, shardRanges, shardStreams } from '../dist/training/data-parallel.js';
import { computeGradients } from '../dist/training/gradients.js';
import { useFusedLayers } from '../dist/cells/fused.js';
import { LSTM_BACKWARD } from '../dist/backend/wasm-kernels/lstm.js';
import { loadCheckpoint } from '../dist/checkpoint/checkpoint.js';
import { LOCK_FILE } from '../dist/checkpoint/run-directory.js';
import { readCorpus } from '../dist/data/corpus.js';
import { CharModel } from '../dist/model/model.js';
import { train } from '../dist/index.js';
import { errorLines, maxAbsDiff, runCli, useBackend, workDir, TINY_CORPUS, TINY_MODEL } from './helpers.mjs';

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

// ---------------------------------------------------------------- failures: every path ends

const WORK = workDir('workers');
const ONE_CORE = availableParallelism() < 2 && 'one core: training starts no worker threads';
/** A run (saving every step) that a failure stopped during step 3: its lock gone, latest/ whole at step 2. */
function assertStoppedAfterStep2(run) {
  assert.ok(!fs.existsSync(path.join(run, LOCK_FILE)), 'the lock is released');
  const latest = loadCheckpoint(path.join(run, 'latest'), { resume: true });
  assert.equal(latest.meta.training.step, 2);
  latest.model.dispose();
}

describe('a gradient worker that fails stops training with one line (exit 7)', { concurrency: 2, skip: ONE_CORE }, () => {
  const FAILING_WORKERS = fileURLToPath(new URL('./fixtures/failing-workers.mjs', import.meta.url));
  const EVERY_STEP = ['--max-steps', '6', '--save-every', '1', '--eval-every', '1'];
  const cases = [
    [
      'exit@3',
      'stops during step 3, saying nothing',
      /^charrnn: gradient worker 1 stopped \(exit code 1\); the checkpoints saved so far are kept/,
    ],
    ['error@3', 'throws during step 3', /^charrnn: gradient worker 1 failed: injected failure \(error\); /],
    ['idle@2', 'throws after step 2, while idle', /^charrnn: gradient worker 1 failed: injected failure \(idle\); /],
  ];
  for (const [how, what, message] of cases) {
    test(`a worker that ${what}: no hang, the lock released, latest/ at step 2`, async () => {
      const run = path.join(WORK, how.replace('@', '-'));
      const env = { CHARRNN_TEST_WORKER_FAILS: how };
      const args = ['train', TINY_CORPUS, '-o', run, ...TINY_MODEL, ...EVERY_STEP, '--threads', '2', '--backend', 'wasm'];
      const r = await runCli(args, { cwd: WORK, env, flags: ['--import', FAILING_WORKERS], timeout: 120_000 });
      assert.equal(r.signal, null, `killed after 2 minutes: it hung\n${r.stderr}`);
      assert.equal(r.code, 7, r.stderr);
      const lines = errorLines(r);
      assert.equal(lines.length, 1, r.stderr);
      assert.match(lines[0], message);
      assertStoppedAfterStep2(run);
    });
  }
});

test(
  'a kernel that fails on this thread while the worker computes its shard: the error, the lock released, latest/ at step 2',
  { skip: ONE_CORE },
  async () => {
    const original = tf.getKernel(LSTM_BACKWARD, 'wasm');
    let failing = false;
    const failure = new Error('injected kernel failure');
    tf.unregisterKernel(LSTM_BACKWARD, 'wasm');
    tf.registerKernel({
      ...original,
      kernelFunc: (args) => {
        if (failing) throw failure;
        return original.kernelFunc(args);
      },
    });
    const run = path.join(WORK, 'main-thread');
    const config = { hidden: 8, layers: 1, seq: 8, batch: 4, maxSteps: 6, saveEvery: 1, evalEvery: 1 };
    let step = 0;
    const observer = { onStep: (p) => (step = p.step), onCheckpoint: (kind) => (failing = kind === 'latest' && step === 2) };
    try {
      await assert.rejects(train({ corpus: readCorpus(TINY_CORPUS), config, outDir: run, threads: 2, observer }), (err) => err === failure);
    } finally {
      tf.unregisterKernel(LSTM_BACKWARD, 'wasm');
      tf.registerKernel(original);
    }
    assertStoppedAfterStep2(run);
  },
);

test('on the cpu backend too, --threads 2 trains on two threads', { skip: ONE_CORE }, async () => {
  const run = path.join(WORK, 'cpu');
  const r = await runCli(['train', TINY_CORPUS, '-o', run, ...TINY_MODEL, '--threads', '2', '--max-steps', '2', '--backend', 'cpu'], {
    cwd: WORK,
  });
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stderr, /; 2 threads\n/);
  assert.ok(!r.stderr.includes('ignored'), r.stderr);
});

test('a library script run with node -e trains on two threads (Node flags are not passed to workers); a pool never closed does not keep it alive', () => {
  const script = `
    import { selectBackend } from './dist/backend/select.js';
    import { GradientPool } from './dist/training/data-parallel.js';
    import { CharModel } from './dist/model/model.js';
    await selectBackend('wasm');
    const model = CharModel.create({ vocabSize: 9, hidden: 8, layers: 1, dropout: 0, learnedInit: false, cell: 'lstm' }, 1);
    const pool = new GradientPool(model, 2, 'wasm');
    const ids = new Int32Array(8 * 4).fill(1);
    const { loss } = await pool.source(model.initialState(4), { inputs: ids, targets: ids }, 1);
    console.log(Number.isFinite(loss));`;
  const cwd = fileURLToPath(new URL('..', import.meta.url));
  const r = spawnSync(process.execPath, ['--input-type=module', '-e', script], { cwd, encoding: 'utf8', timeout: 60_000 });
  assert.equal(r.signal, null, 'killed after 60 s: a worker kept it alive');
  assert.equal(r.status, 0, r.stderr);
  assert.equal(r.stdout.trim(), 'true');
});
