// Batching, training, checkpoints, sampling and scoring, through the library API.
import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { StreamBatcher } from '../dist/data/batches.js';
import { loadCheckpoint } from '../dist/checkpoint/checkpoint.js';
import { saveCheckpoint } from '../dist/checkpoint/save.js';
import { TRAIN_DEFAULTS } from '../dist/training/config.js';
import { readCorpus } from '../dist/data/corpus.js';
import { evaluate, scoreFromNats } from '../dist/scoring/evaluate.js';
import { CharModel } from '../dist/model/model.js';
import { generate, Sampler } from '../dist/sampling/sampler.js';
import { train } from '../dist/training/trainer.js';
import { Vocabulary } from '../dist/data/vocab.js';
import { TINY_CORPUS, tinyText, useBackend, workDir } from './helpers.mjs';

const tf = await useBackend('wasm');
const WORK = workDir('pipeline');
/** A fresh directory in WORK (removed with it when the tests end). */
const tmp = () => mkdtempSync(join(WORK, 'run-'));

test('batches: streams are contiguous, targets are inputs shifted by one', () => {
  const ids = Int32Array.from({ length: 103 }, (_, k) => k);
  const batcher = new StreamBatcher(ids, 4, 5); // streams of 25, 5 steps
  assert.equal(batcher.streamLength, 25);
  assert.equal(batcher.stepsPerEpoch, 5);
  const first = batcher.get(0);
  const second = batcher.get(1);
  assert.equal(first.inputs.length, 4 * 5);
  for (let t = 0; t < 5; t++) {
    for (let b = 0; b < 4; b++) {
      const k = t * 4 + b; // time-major
      assert.equal(first.inputs[k], b * 25 + t);
      assert.equal(first.targets[k], first.inputs[k] + 1);
      assert.equal(second.inputs[k], b * 25 + 5 + t, 'step 1 continues each stream where step 0 stopped');
    }
  }
  assert.throws(() => new StreamBatcher(ids, 50, 5), /cannot fill/);
});

test('eval: bits = nats / ln 2, perplexity = e^nats; an untrained uniform model scores ln V', async () => {
  const score = scoreFromNats(1.5, 10);
  assert.equal(score.bits, 1.5 / Math.LN2);
  assert.equal(score.perplexity, Math.exp(1.5));
  const model = CharModel.create({ vocabSize: 7, hidden: 8, layers: 2, dropout: 0, cell: 'lstm', learnedInit: false }, 1);
  model.variables.forEach((v) => v.assign(tf.zerosLike(v))); // all logits 0: uniform prediction
  const ids = Int32Array.from({ length: 200 }, (_, k) => k % 7);
  const result = await evaluate(model, ids, 4, 10);
  assert.ok(Math.abs(result.nats - Math.log(7)) < 1e-5, `nats ${result.nats}`);
  // 199 predictions: 4 streams of 49 (each with a tail of 9 after its 4 full windows of 10),
  // then the 3 after the last stream, from its state.
  assert.equal(result.chars, 199);
  assert.equal(
    (await evaluate(model, ids, 4, 10, undefined, { scoreTail: false })).chars,
    4 * 49,
    "training's validation leaves those 3 out",
  );
  const short = await evaluate(model, ids.subarray(0, 27), 50, 16);
  assert.equal(short.chars, 26, 'a text shorter than one window is scored whole');
  model.dispose();
});

// One short training run on the built-in tiny corpus, shared by the tests below.
const runDir = tmp();
const corpus = readCorpus(TINY_CORPUS);
const vocabSize = Vocabulary.fromText(corpus.text).size;
const losses = [];
const result = await train({
  corpus,
  config: {
    ...TRAIN_DEFAULTS,
    hidden: 64,
    layers: 2,
    seq: 16,
    batch: 16,
    lr: 1e-2,
    epochs: 1000,
    maxSteps: 300,
    evalEvery: 100,
    saveEvery: 100,
    valFrac: 0.1,
  },
  outDir: runDir,
  backend: 'wasm',
  observer: { onStep: (p) => losses.push(p.loss) },
});

test('training on the tiny corpus brings the loss well below ln(vocabulary)', () => {
  const uniform = Math.log(vocabSize);
  const last = losses.slice(-10).reduce((a, b) => a + b, 0) / 10;
  assert.ok(Math.abs(losses[0] - uniform) < 0.3, `first loss ${losses[0]} should be near ln V = ${uniform}`);
  assert.ok(last < 0.4 * uniform, `mean of the last 10 losses ${last} should be below 0.4 ln V = ${uniform}`);
  assert.ok(result.bestValLoss < 0.5 * uniform, `best validation loss ${result.bestValLoss} should be below 0.5 ln V`);
  assert.equal(result.steps, 300);
});

test('a checkpoint reloads to identical next-character probabilities', async () => {
  const first = loadCheckpoint(runDir); // the run's best
  const dir = join(tmp(), 'copy');
  saveCheckpoint(dir, first.model, first.vocab, first.meta.training);
  const second = loadCheckpoint(dir);
  assert.deepEqual(second.vocab.chars, first.vocab.chars);
  const probe = tinyText().slice(0, 40);
  const probs = [first, second].map(({ model, vocab }) => {
    const sampler = new Sampler(model, vocab);
    sampler.feed(probe);
    const p = sampler.probabilities(1);
    sampler.dispose();
    return p;
  });
  assert.deepEqual(probs[1], probs[0]);
  first.model.dispose();
  second.model.dispose();
});

test('sampling: the same seed gives the same text, drawn only from the vocabulary, with no tensor leak', () => {
  const { model, vocab } = loadCheckpoint(runDir);
  const prime = tinyText().slice(0, 4);
  const options = { length: 150, temperature: 0.8, prime, seed: 42 };
  const before = tf.memory().numTensors;
  const a = [...generate(model, vocab, options)].join('');
  assert.equal(tf.memory().numTensors, before, 'sampling must not leak tensors');
  const b = [...generate(model, vocab, options)].join('');
  const c = [...generate(model, vocab, { ...options, seed: 43 })].join('');
  assert.equal(a, b);
  assert.notEqual(a, c);
  assert.ok(a.startsWith(prime));
  assert.equal([...a].length, 4 + 150);
  for (const ch of a) assert.ok(tinyText().includes(ch), `${JSON.stringify(ch)} is not in the corpus`);
  const greedy = [...generate(model, vocab, { ...options, temperature: 0 })].join('');
  assert.equal(greedy, [...generate(model, vocab, { ...options, temperature: 0, seed: 1 })].join(''), 'greedy ignores the seed');
  model.dispose();
});

test('a checkpoint opens with tf.loadLayersModel and predicts the same probabilities', async () => {
  const { model, vocab, dir } = loadCheckpoint(runDir);
  const { readFileSync } = await import('node:fs');
  const json = JSON.parse(readFileSync(join(dir, 'model.json'), 'utf8'));
  const weightData = new Uint8Array(readFileSync(join(dir, json.weightsManifest[0].paths[0]))).buffer;
  const layers = await tf.loadLayersModel(
    tf.io.fromMemory({ modelTopology: json.modelTopology, weightSpecs: json.weightsManifest[0].weights, weightData }),
  );
  const text = tinyText().slice(100, 140);
  const ids = vocab.encode(text);
  const ours = tf.tidy(() => {
    const { logits, final } = model.forward(tf.tensor1d(ids, 'int32'), model.initialState(1));
    tf.dispose(final.flat());
    return tf.softmax(logits);
  });
  const theirs = tf.tidy(() =>
    layers.predict(tf.oneHot(tf.tensor2d([Array.from(ids)], undefined, 'int32'), vocab.size).toFloat()).reshape([ids.length, vocab.size]),
  );
  const diff = tf.tidy(() => tf.max(tf.abs(tf.sub(ours, theirs))).dataSync()[0]);
  assert.ok(diff < 1e-5, `max |Δp| = ${diff}`);
  tf.dispose([ours, theirs]);
  layers.dispose();
  model.dispose();
});
