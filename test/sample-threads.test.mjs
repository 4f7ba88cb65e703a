// Sampling's step shared out between threads (src/backend/wasm-kernels/column-step.ts: each
// layer's units and the output's columns): the same logits bit for bit and the same seeded
// text as on one thread, at odd shapes too, the threaded path taken when asked (and by the
// rule only where it pays), no leaks, a worker's failure one error, workers that never keep a
// process alive and end with their stepper.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { availableParallelism, cpus } from 'node:os';
import { ColumnSplitModelStep, columnStepsMade } from '../dist/backend/wasm-kernels/column-step.js';
import { CharModel } from '../dist/model/model.js';
import { modelStepper, sampleStreams } from '../dist/sampling/sampler.js';
import { idleCores, PARALLEL_MIN_SHARE, PARALLEL_MIN_WORK, samplingThreads, stepMultiplyAdds } from '../dist/sampling/threads.js';
import { Vocabulary } from '../dist/data/vocab.js';
import { UserError } from '../dist/errors.js';
import { runCli, useBackend } from './helpers.mjs';

const tf = await useBackend('wasm');
const vocab = new Vocabulary([...'abcdefghij \n']);

function randomModel(cell, seed, { vocabSize = vocab.size, hidden = 20, layers = 2 } = {}) {
  const model = CharModel.create({ vocabSize, hidden, layers, dropout: 0, learnedInit: false, cell }, seed);
  const scale = 1.5 / Math.sqrt(hidden); // beyond the gates' linear range, as in whole-step.test.mjs
  model.variables.forEach((v, k) => v.assign(tf.randomUniform(v.shape, -scale, scale, 'float32', seed * 100 + k)));
  return model;
}

function texts(model, B, threads) {
  const streams = Array.from({ length: B }, (_, k) => ({ temperature: [0.7, 1, 1.4][k % 3], seed: 7 + k }));
  const made = columnStepsMade();
  const out = [];
  for (const event of sampleStreams(model, vocab, { streams, length: 120, prime: 'ab', threads }))
    if (event.type === 'done') out[event.sample.stream] = event.sample.text;
  return { texts: out, threaded: columnStepsMade() - made };
}

for (const cell of ['lstm', 'gru', 'rnn']) {
  test(`${cell}: seeded samples are the same text on 1 and 2 threads (16 and 5 streams), logits bit for bit`, () => {
    const model = randomModel(cell, 3);
    for (const B of [16, 5]) {
      const one = texts(model, B, 1);
      const two = texts(model, B, 2);
      assert.equal(one.threaded, 0, 'one thread: no workers');
      assert.equal(two.threaded, 1, 'two threads asked for: the threaded step ran');
      assert.deepEqual(two.texts, one.texts);
      assert.ok(new Set(one.texts).size > 1, 'streams differ');
    }
    const [single, threaded] = [1, 2].map((threads) => modelStepper(model, 5, threads));
    assert.ok(threaded instanceof ColumnSplitModelStep);
    for (let k = 0; k < 40; k++) {
      const ids = Int32Array.from({ length: 5 }, (_, b) => (k * 7 + b * 3) % vocab.size);
      assert.deepEqual(threaded.step(ids), single.step(ids), `step ${k}`);
    }
    [single, threaded, model].forEach((x) => x.dispose());
  });

  test(`${cell}: logits bit for bit on 1, 2 and 3 threads at odd shapes (H 13, 3 layers; 1 and 6 streams)`, () => {
    // Split at multiples of 8, H 13 is units 8 | 5 and 8 | 0 | 5, the 12 characters' columns 8 | 4 and 8 | 0 | 4: shares
    // that are not whole panels, and empty ones. Batch 1 takes the 32-column panels, 6 the 8-column ones.
    const model = randomModel(cell, 5, { hidden: 13, layers: 3 });
    for (const B of [1, 6]) {
      const initial = model.initialState(B);
      const weights = model.weights.map((named) => named.tensor);
      const steppers = [modelStepper(model, B, 1), ...[2, 3].map((threads) => new ColumnSplitModelStep(cell, weights, initial, threads))];
      tf.dispose(initial.flat());
      for (let k = 0; k < 30; k++) {
        const ids = Int32Array.from({ length: B }, (_, b) => (k * 5 + b * 3) % vocab.size);
        const [one, ...more] = steppers.map((s) => s.step(ids).slice());
        more.forEach((logits, t) => assert.deepEqual(logits, one, `${t + 2} threads, batch ${B}, step ${k}`));
      }
      steppers.forEach((s) => s.dispose());
    }
    model.dispose();
  });
}

test('by default, more threads only where the sample and each thread’s share of a step pay, on cores other processes leave idle', () => {
  const idle = () => 2;
  const cores = Math.min(2, availableParallelism());
  const small = randomModel('lstm', 1);
  const unprobed = () => assert.fail('the idle cores are probed only where the work pays');
  assert.equal(samplingThreads(small, 16, 500, undefined, unprobed), 1, 'a tiny model: one thread');
  assert.equal(samplingThreads(small, 16, 500, 2), 2, 'asked for: two');
  assert.equal(samplingThreads(small, 1, 500, 3), 3, 'asked for: three, even for one stream (they share its units)');
  const big = CharModel.create({ vocabSize: 82, hidden: 256, layers: 2, dropout: 0, learnedInit: false, cell: 'lstm' }, 1);
  const perStream = stepMultiplyAdds(big);
  assert.equal(perStream, 256 * 1024 + 2 * 256 * 1024 + 256 * 82);
  const enough = Math.ceil(PARALLEL_MIN_WORK / (16 * perStream));
  assert.equal(samplingThreads(big, 16, enough, undefined, idle), cores, '2×256, 16 streams, long enough, cores idle: one per core');
  assert.equal(
    samplingThreads(big, 16, enough, undefined, () => 1.6),
    cores,
    'cores nearly idle',
  );
  assert.equal(
    samplingThreads(big, 16, enough, undefined, () => 0.4),
    1,
    'other processes keep the cores busy: one',
  );
  assert.equal(samplingThreads(big, 16, enough - 1, undefined, unprobed), 1, 'too short to pay for the start');
  const mid = CharModel.create({ vocabSize: 82, hidden: 128, layers: 2, dropout: 0, learnedInit: false, cell: 'lstm' }, 1);
  const fewest = Math.ceil((2 * PARALLEL_MIN_SHARE) / stepMultiplyAdds(mid)); // streams for two threads' shares
  assert.ok(fewest > 1);
  assert.equal(samplingThreads(mid, fewest - 1, 1e6, undefined, unprobed), 1, '2×128, too few streams: too little work a step');
  assert.equal(samplingThreads(mid, fewest, 1e6, undefined, idle), cores, '2×128, enough streams');
  assert.equal(samplingThreads(big, 1, 1e6, undefined, idle), cores, '2×256, one stream: enough');
  const huge = CharModel.create({ vocabSize: 82, hidden: 512, layers: 3, dropout: 0, learnedInit: false, cell: 'lstm' }, 1);
  assert.equal(samplingThreads(huge, 1, 1e4, undefined, idle), cores, '3×512, one stream: each thread a share of every layer');
  const probed = idleCores();
  assert.ok(probed >= 0 && probed <= cpus().length + 0.5, `idle cores ${probed}`);
  [small, mid, big, huge].forEach((m) => m.dispose());
});

test('column-split steppers leak no tensors, and their workers end when they are disposed', { timeout: 30_000 }, async () => {
  const model = randomModel('gru', 6);
  const before = tf.memory().numTensors;
  const exits = [];
  for (let k = 0; k < 4; k++) {
    const stepper = modelStepper(model, 3, 3);
    assert.ok(stepper instanceof ColumnSplitModelStep);
    stepper.step(Int32Array.of(1, 2, 3));
    // The stepper's private workers: each must exit.
    exits.push(...stepper.workers.map(({ worker }) => new Promise((resolve) => worker.once('exit', resolve))));
    stepper.dispose();
  }
  assert.equal(tf.memory().numTensors, before);
  await Promise.all(exits);
  assert.equal(exits.length, 8);
  model.dispose();
});

const FIXTURE = fileURLToPath(new URL('./fixtures/v1-lstm', import.meta.url));

test('charrnn sample --threads 2 prints the same seeded text as --threads 1, and exits', async () => {
  const args = ['sample', FIXTURE, '--num-samples', '16', '--seed', '7', '-n', '150', '--backend', 'wasm'];
  const [one, two] = await Promise.all(['1', '2'].map((threads) => runCli([...args, '--threads', threads], { cwd: process.cwd() })));
  assert.equal(one.code, 0, one.stderr);
  assert.equal(two.code, 0, two.stderr);
  assert.equal(two.stdout, one.stdout);
  assert.ok(one.stdout.length > 16 * 150);
  assert.ok(!two.stderr.includes('--threads'), `no note on wasm:\n${two.stderr}`);
});

test('on the cpu backend, which samples on one thread, --threads 2 says so in one line; the text is the same', async () => {
  const args = ['sample', FIXTURE, '--num-samples', '4', '--seed', '7', '-n', '40', '--backend', 'cpu'];
  const [one, two] = await Promise.all(['1', '2'].map((threads) => runCli([...args, '--threads', threads], { cwd: process.cwd() })));
  assert.equal(two.code, 0, two.stderr);
  assert.equal(two.stdout, one.stdout);
  const notes = (r) => r.stderr.split('\n').filter((line) => line.includes('--threads'));
  assert.deepEqual(notes(one), []);
  assert.deepEqual(notes(two), [
    '--threads 2 ignored: only the wasm backend shares sampling between threads, so sampling runs on one thread on cpu',
  ]);
});

test('a worker that fails is one error on the main thread (one line from the CLI, exit 7), not a hang', () => {
  const model = randomModel('lstm', 4);
  const stepper = modelStepper(model, 5, 2);
  stepper.step(Int32Array.of(1, 2, 3, 4, 5));
  // The worker's plan only (the stepper's private parts): its layer 0's packed U 3.75 GB in, far beyond the heap.
  const words = new Int32Array(stepper.logits.buffer);
  const layer0 = (stepper.plans[1] >> 2) + 17; // wasm/sample.ts HEADER_WORDS
  words[layer0 + 3] = -(1 << 28); // PACKED_U
  const started = Date.now();
  assert.throws(
    () => stepper.step(Int32Array.of(1, 2, 3, 4, 5)),
    (err) =>
      err instanceof UserError &&
      err.exitCode === 7 && // the CLI prints it as one line
      /^sampling worker failed: .*out of bounds.* \(--threads 1 samples without worker threads\)$/.test(err.message),
  );
  assert.ok(Date.now() - started < 5000);
  [stepper, model].forEach((x) => x.dispose());
});

test('a threaded stepper never disposed does not keep the process alive', () => {
  const script = `
    import { selectBackend } from './dist/backend/select.js';
    import { CharModel } from './dist/model/model.js';
    import { modelStepper } from './dist/sampling/sampler.js';
    await selectBackend('wasm');
    const model = CharModel.create({ vocabSize: 9, hidden: 8, layers: 1, dropout: 0, learnedInit: false, cell: 'lstm' }, 1);
    const stepper = modelStepper(model, 4, 2);
    stepper.step(new Int32Array(4));
    console.log(stepper.constructor.name);`;
  const cwd = fileURLToPath(new URL('..', import.meta.url));
  const r = spawnSync(process.execPath, ['--input-type=module', '-e', script], { cwd, encoding: 'utf8', timeout: 15_000 });
  assert.equal(r.signal, null, 'killed after 15 s: a worker kept it alive');
  assert.equal(r.status, 0, r.stderr);
  assert.equal(r.stdout.trim(), 'ColumnSplitModelStep');
});
