// What a step costs where every op is a kernel launch issued from the host (tfjs-node-gpu):
// kernels launched, host-to-device uploads and device-to-host reads per training step and
// per sampled character, counted on the cpu backend and held to budgets. tf.profile counts
// the kernels tfjs dispatches (a cpu kernel that calls another directly counts once, as the
// one TensorFlow op it maps to would); reads are dataSync/data/arraySync/array calls, uploads
// are tensors made from JS values. A change that adds launches or reads to the loop should
// have to change these numbers knowingly. docs/native-fused-ops.md uses them.
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { test } from 'node:test';
import { readCorpus } from '../dist/data/corpus.js';
import { Vocabulary } from '../dist/data/vocab.js';
import { CharModel } from '../dist/model/model.js';
import { sampleStreams } from '../dist/sampling/sampler.js';
import { Adam } from '../dist/training/adam.js';
import { TRAIN_DEFAULTS } from '../dist/training/config.js';
import { train } from '../dist/training/trainer.js';
import { TINY_CORPUS, useBackend, workDir } from './helpers.mjs';

const tf = await useBackend('cpu');
const corpus = readCorpus(TINY_CORPUS);
const dir = workDir('cost');

/** Kernels per time step per layer of the LSTM's training forward and backward (cells.test.mjs: 12 + 20). */
const PER_TIME_STEP = 32;
/** Kernels per training step outside the time loop: the loss and clipping, plus, per layer, the input projection and Adam. */
const FIXED = { base: 100, perLayer: 70 };
const READS_PER_STEP = 2; // the loss, and the gradients' norm for clipping
const SAMPLE_KERNELS = { perLayer: 15, base: 5 };

let reads = 0;
let uploads = 0;
let depth = 0; // arraySync calls dataSync: count the outer call only
for (const name of ['dataSync', 'data', 'arraySync', 'array']) {
  const read = tf.Tensor.prototype[name];
  tf.Tensor.prototype[name] = function (...args) {
    if (depth++ === 0) reads++;
    try {
      return read.apply(this, args);
    } finally {
      depth--;
    }
  };
}
const engine = tf.engine();
const makeTensor = engine.makeTensor.bind(engine);
engine.makeTensor = (...args) => {
  uploads++;
  return makeTensor(...args);
};

async function count(fn) {
  reads = 0;
  uploads = 0;
  const { kernels } = await tf.profile(fn);
  return { kernels: kernels.length, reads, uploads };
}

/** Per-step costs of the real training loop: two runs that differ only in their number of steps. */
async function perTrainingStep(T, L) {
  const run = (steps) => {
    // --clip so small that clipping is on at every step; validation and checkpoints only at the end.
    const config = {
      ...TRAIN_DEFAULTS,
      hidden: 8,
      layers: L,
      seq: T,
      batch: 2,
      clip: 1e-3,
      valFrac: 0.01,
      maxSteps: steps,
      evalEvery: 1e9,
      saveEvery: 1e9,
    };
    return count(() => train({ corpus, config, outDir: join(dir, `T${T}L${L}-${steps}`), backend: 'cpu', threads: 1 }));
  };
  const [one, three] = [await run(1), await run(3)];
  return Object.fromEntries(Object.keys(one).map((k) => [k, (three[k] - one[k]) / 2]));
}

test(`a training step: ≤ ${PER_TIME_STEP}·T·L + ${FIXED.perLayer}·L + ${FIXED.base} kernels and ≤ ${READS_PER_STEP} host reads`, async (t) => {
  for (const L of [1, 2]) {
    const [short, long] = [await perTrainingStep(4, L), await perTrainingStep(8, L)];
    for (const [T, cost] of [
      [4, short],
      [8, long],
    ]) {
      t.diagnostic(`T=${T} L=${L}: ${cost.kernels} kernels, ${cost.reads} reads, ${cost.uploads} uploads per step`);
      assert.ok(cost.kernels <= PER_TIME_STEP * T * L + FIXED.perLayer * L + FIXED.base, `T=${T} L=${L}: ${cost.kernels} kernels`);
      assert.ok(cost.reads <= READS_PER_STEP, `T=${T} L=${L}: ${cost.reads} host reads`);
    }
    const perTimeStep = (long.kernels - short.kernels) / (4 * L);
    assert.ok(perTimeStep <= PER_TIME_STEP, `L=${L}: ${perTimeStep} kernels per time step per layer`);
  }
});

test('Adam: 12 kernels per parameter with or without clipping, and 3 scalars uploaded per step', async () => {
  const params = [tf.variable(tf.ones([3, 4])), tf.variable(tf.ones([4]))];
  const grads = params.map((p) => tf.fill(p.shape, 0.5));
  const adam = new Adam(params);
  for (const scale of [1, 0.25]) {
    const cost = await count(() => adam.apply(grads, 0.01, scale));
    assert.deepEqual(cost, { kernels: 12 * params.length, reads: 0, uploads: 3 }, `scale ${scale}`);
  }
  adam.dispose();
  tf.dispose([...params, ...grads]);
});

test(`sampling: ≤ ${SAMPLE_KERNELS.perLayer}·L + ${SAMPLE_KERNELS.base} kernels, 1 host read and 1 upload per character, for any number of streams`, async (t) => {
  const vocab = Vocabulary.fromText(corpus.text);
  for (const L of [1, 2, 3]) {
    const model = CharModel.create({ vocabSize: vocab.size, hidden: 8, layers: L, dropout: 0, cell: 'lstm', learnedInit: false }, 1);
    for (const B of [1, 4]) {
      const streams = Array.from({ length: B }, (_, b) => ({ temperature: 1, seed: b }));
      const run = (length) =>
        count(() => {
          for (const _ of sampleStreams(model, vocab, { length, prime: 'a', streams }));
        });
      const [short, long] = [await run(4), await run(14)];
      const per = Object.fromEntries(Object.keys(short).map((k) => [k, (long[k] - short[k]) / 10]));
      t.diagnostic(`L=${L} B=${B}: ${per.kernels} kernels, ${per.reads} reads, ${per.uploads} uploads per character`);
      assert.ok(per.kernels <= SAMPLE_KERNELS.perLayer * L + SAMPLE_KERNELS.base, `L=${L}: ${per.kernels} kernels`);
      assert.equal(per.reads, 1, `L=${L} B=${B}: host reads`);
      assert.equal(per.uploads, 1, `L=${L} B=${B}: uploads (the ids)`);
    }
    model.dispose();
  }
});
