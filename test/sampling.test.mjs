// Sampling: the distribution maths (top-k, top-p), the batched step path against the
// model's own forward, determinism, leaks, and the `sample` command's new options.
import assert from 'node:assert/strict';
import path from 'node:path';
import { describe, test } from 'node:test';
import { loadCheckpoint } from '../dist/checkpoint/checkpoint.js';
import { CharModel } from '../dist/model/model.js';
import { BatchStepper, generate, Sampler, sampleStreams, startingContext } from '../dist/sampling/sampler.js';
import { Vocabulary } from '../dist/data/vocab.js';
import { drawIndex, keepTopK, keepTopP, logProbability, nextCharDistribution, softmax } from '../dist/sampling/distribution.js';
import { Rng } from '../dist/rng.js';
import { spawn } from 'node:child_process';
import { BIN, runCli, TINY_CORPUS, tinyText, useBackend, workDir } from './helpers.mjs';

const tf = await useBackend('wasm');

const TINY_CHARS = new Set(tinyText());
const WORK = workDir('sampling');

const cli = (args) => runCli(args, { cwd: WORK });
const show = (r) => `charrnn ${r.args.join(' ')}\nexit ${r.code}\n--- stderr\n${r.stderr}--- stdout\n${r.stdout.slice(0, 500)}`;
function assertSucceeded(r) {
  assert.equal(r.code, 0, show(r));
  assert.ok(!r.stdout.includes('\x1b[') && !r.stderr.includes('\x1b['), `ANSI escape codes with NO_COLOR:\n${show(r)}`);
}

// A small two-layer model (so both the gather and the [x, h]·[W; U] layers run), trained once.
const RUN = path.join(WORK, 'run');
const trained = await cli([
  'train',
  TINY_CORPUS,
  '-o',
  RUN,
  '--hidden',
  '24',
  '--layers',
  '2',
  '--seq',
  '16',
  '--batch',
  '8',
  '--max-steps',
  '40',
  '--eval-every',
  '20',
  '--backend',
  'wasm',
]);
assertSucceeded(trained);
const { model, vocab } = loadCheckpoint(RUN);
const SAMPLE = ['sample', RUN, '--backend', 'wasm'];

// ---------------------------------------------------------------- the distribution

/** A distribution over 12 symbols with distinct probabilities, in shuffled order. */
const PROBS = softmax(Float64Array.from([0.3, 2.1, -1, 1.4, 0.9, -0.2, 3.0, 0.1, 1.8, -2.5, 0.6, 2.6]));
const byProb = [...PROBS.keys()].sort((a, b) => PROBS[b] - PROBS[a]);
const kept = (probs) => [...probs.keys()].filter((k) => probs[k] > 0);
const sum = (xs) => xs.reduce((a, b) => a + b, 0);

test('top-k keeps exactly the k likeliest, renormalised in proportion', () => {
  for (let k = 1; k <= PROBS.length; k++) {
    const p = keepTopK(PROBS, k);
    assert.deepEqual(new Set(kept(p)), new Set(byProb.slice(0, k)), `k = ${k}`);
    assert.ok(Math.abs(sum(p) - 1) < 1e-12);
    const scale = 1 / sum(byProb.slice(0, k).map((i) => PROBS[i]));
    for (const i of kept(p)) assert.ok(Math.abs(p[i] - PROBS[i] * scale) < 1e-12);
  }
  assert.equal(kept(keepTopK(PROBS, 100)).length, PROBS.length, 'k ≥ V keeps all');
});

test('top-p keeps the smallest set of likeliest symbols whose mass is ≥ p', () => {
  for (const p of [1e-9, 0.05, 0.3, 0.5, 0.77, 0.9, 0.99, 1]) {
    const q = keepTopP(PROBS, p);
    const set = kept(q);
    const n = set.length;
    assert.deepEqual(new Set(set), new Set(byProb.slice(0, n)), `p = ${p}: the likeliest ones`);
    const mass = sum(byProb.slice(0, n).map((i) => PROBS[i]));
    assert.ok(mass >= p - 1e-12 || n === PROBS.length, `p = ${p}: mass ${mass} ≥ p`);
    if (n > 1) assert.ok(mass - PROBS[byProb[n - 1]] < p, `p = ${p}: one fewer would not reach p`);
    assert.ok(Math.abs(sum(q) - 1) < 1e-12);
  }
  assert.equal(kept(keepTopP(PROBS, 1e-9)).length, 1, 'a tiny p keeps only the likeliest');
});

test('temperature, top-k and top-p combine; draws never pick a removed symbol', () => {
  const logits = Float32Array.from(PROBS, (p) => Math.log(p));
  const q = nextCharDistribution(logits, { temperature: 0.7, topK: 5, topP: 0.6 });
  assert.ok(kept(q).length <= 5);
  assert.ok(kept(q).every((i) => byProb.slice(0, 5).includes(i)));
  const rng = new Rng(9);
  for (let n = 0; n < 2000; n++) assert.ok(q[drawIndex(q, rng.next())] > 0);
  assert.ok(Math.abs(logProbability(logits, 6) - Math.log(PROBS[6])) < 1e-6);
});

// ---------------------------------------------------------------- the step path

test('the batched step path gives the same logits as the model forward, stream by stream', () => {
  const B = 3;
  const T = 25;
  const ids = Int32Array.from({ length: T * B }, (_, k) => (k * 7 + Math.floor(k / 3)) % vocab.size); // time-major
  const stepper = new BatchStepper(model, B);
  const stepped = [];
  for (let t = 0; t < T; t++) stepped.push(...stepper.step(ids.subarray(t * B, (t + 1) * B)));
  stepper.dispose();
  const reference = tf.tidy(() => {
    const { logits, final } = model.forward(tf.tensor1d(ids, 'int32'), model.initialState(B));
    tf.dispose(final.flat());
    return logits.dataSync();
  });
  let max = 0;
  for (let k = 0; k < reference.length; k++) max = Math.max(max, Math.abs(reference[k] - stepped[k]));
  assert.ok(max < 1e-4, `max |Δlogit| = ${max}`);
});

test('stepping does not leak: tf.memory().numTensors stays flat over a long sample', () => {
  const before = tf.memory().numTensors;
  const counts = [];
  let n = 0;
  for (const event of sampleStreams(model, vocab, {
    length: 1500,
    prime: 'the ',
    topK: 10,
    topP: 0.95,
    streams: [
      { temperature: 1, seed: 1 },
      { temperature: 0.5, seed: 2 },
    ],
  })) {
    if (event.type === 'char' && event.stream === 0 && n++ % 100 === 0) counts.push(tf.memory().numTensors);
  }
  assert.equal(counts.length, 15);
  assert.ok(
    counts.every((c) => c === counts[0]),
    `numTensors while sampling: ${counts}`,
  );
  assert.equal(tf.memory().numTensors, before, 'everything is released at the end');
});

test('at temperature 0 each stream of a batch with the same prime equals the batch-1 greedy text', () => {
  const options = { length: 200, prime: 'the ', temperature: 0, seed: 1 };
  const single = [...generate(model, vocab, options)].join('');
  const streams = Array.from({ length: 5 }, (_, k) => ({ temperature: 0, seed: k }));
  const texts = [...sampleStreams(model, vocab, { ...options, streams })]
    .filter((e) => e.type === 'done')
    .map((e) => e.sample.prime + e.sample.text);
  assert.equal(texts.length, 5);
  for (const text of texts) assert.equal(text, single);
});

test('same seed, checkpoint and options give the same text; a stream does not depend on its batch', () => {
  const options = { length: 300, prime: 'and ', temperature: 0.9, topK: 8, seed: 11 };
  const a = [...generate(model, vocab, options)].join('');
  assert.equal([...generate(model, vocab, options)].join(''), a);
  assert.notEqual([...generate(model, vocab, { ...options, seed: 12 })].join(''), a);
  const streams = [
    { temperature: 0.9, seed: 10 },
    { temperature: 0.9, seed: 11 },
    { temperature: 1.3, seed: 11 },
  ];
  const batch = [...sampleStreams(model, vocab, { ...options, streams })].filter((e) => e.type === 'done');
  assert.equal(batch[1].sample.prime + batch[1].sample.text, a, 'seed 11 in a batch of 3 = seed 11 alone');
  for (const ch of a) assert.ok(vocab.has(ch));
});

test('the sampler refuses settings the flags refuse, naming the flag, and fills the rest from the same defaults', () => {
  assert.throws(() => [...generate(model, vocab, { seed: 1, topK: 0 })], {
    name: 'UserError',
    message: '--top-k must be an integer ≥ 1 (got 0)',
  });
  assert.throws(() => [...generate(model, vocab, { seed: 1, temperature: -1 })], { message: '--temperature must be ≥ 0 (got -1)' });
  const streams = [
    { temperature: 1, seed: 1 },
    { temperature: 1, seed: 2.5 },
  ];
  assert.throws(() => [...sampleStreams(model, vocab, { length: 5, streams })], { message: /^--seed must be an integer/ });
  const [sample] = [...sampleStreams(model, vocab, { streams: [{ temperature: 1, seed: 3 }] })].filter((e) => e.type === 'done');
  assert.equal([...sample.sample.text].length, 500, "the default length is --length's");
});

test('without a prime the model reads a newline first, which is not part of the sample', () => {
  const options = { length: 120, temperature: 0.8, seed: 21 };
  assert.ok(vocab.has('\n'), 'the tiny corpus has lines');
  const unprimed = [...generate(model, vocab, { ...options, prime: '' })].join('');
  const afterNewline = [...generate(model, vocab, { ...options, prime: '\n' })].join('');
  assert.equal(afterNewline, `\n${unprimed}`);
  assert.equal([...unprimed].length, 120);
  const [done] = [...sampleStreams(model, vocab, { length: 10, prime: '', streams: [{ temperature: 1, seed: 1 }] })].filter(
    (e) => e.type === 'done',
  );
  assert.equal(done.sample.prime, '');
});

test('startingContext: a newline; without one the most frequent character, else a space, else the first', () => {
  assert.equal(startingContext(new Vocabulary(['\n', ' ', 'a'])), '\n');
  assert.equal(startingContext(new Vocabulary([' ', 'a', 'b']), [5, 9, 1]), 'a');
  assert.equal(startingContext(new Vocabulary([' ', 'a', 'b'])), ' ', 'no counts (an older checkpoint)');
  assert.equal(startingContext(new Vocabulary(['a', 'b'])), 'a');
});

test('a stop string ends a stream at its first occurrence; the others go on', () => {
  const streams = Array.from({ length: 4 }, (_, k) => ({ temperature: 1, seed: 100 + k }));
  const done = [...sampleStreams(model, vocab, { length: 400, prime: 'a', stop: ['e '], streams })]
    .filter((e) => e.type === 'done')
    .map((e) => e.sample);
  assert.equal(done.length, 4);
  for (const s of done) {
    if (s.stop === null) assert.equal([...s.text].length, 400);
    else {
      assert.equal(s.stop, 'e ');
      assert.ok(s.text.endsWith('e ') && s.text.indexOf('e ') === s.text.length - 2, JSON.stringify(s.text));
    }
    assert.equal(s.logprobs.length, [...s.text].length);
  }
  assert.ok(
    done.some((s) => s.stop !== null),
    'a common pair of characters ends at least one stream',
  );
});

test('keep: false yields the same characters and stops, keeps no text, and is not refused a billion characters', () => {
  const streams = Array.from({ length: 3 }, (_, k) => ({ temperature: 1, seed: 200 + k }));
  const request = { length: 300, prime: 'a', stop: ['e '], streams };
  const chars = (events) => events.filter((e) => e.type === 'char').map((e) => `${e.stream}${e.char}`);
  const kept = [...sampleStreams(model, vocab, request)];
  const streamed = [...sampleStreams(model, vocab, { ...request, keep: false })];
  assert.deepEqual(chars(streamed), chars(kept));
  const done = (events) => events.filter((e) => e.type === 'done').map((e) => e.sample);
  assert.deepEqual(
    done(streamed).map((s) => s.stop),
    done(kept).map((s) => s.stop),
  );
  assert.ok(done(kept).some((s) => s.stop !== null));
  for (const s of done(streamed)) assert.deepEqual([s.text, s.logprobs], ['', []]);
  const long = { length: 1e9, streams: [{ temperature: 1, seed: 1 }] };
  assert.throws(() => sampleStreams(model, vocab, long).next(), { name: 'UserError', message: /needs about/ });
  let count = 0;
  for (const event of sampleStreams(model, vocab, { ...long, keep: false })) if (event.type === 'char' && ++count === 1000) break;
  assert.equal(count, 1000);
});

test('charrnn sample streams a billion characters to a pipe until its reader goes', async () => {
  const child = spawn(process.execPath, [BIN, ...SAMPLE, '-n', '1000000000', '--seed', '3'], { stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stderr.setEncoding('utf8').on('data', (d) => (stderr += d));
  child.stdout.setEncoding('utf8').on('data', (d) => {
    stdout += d;
    if (stdout.length >= 5000) child.stdout.destroy(); // as `| head` does
  });
  const code = await new Promise((resolve) => child.on('close', resolve));
  assert.equal(code, 0, stderr);
  assert.ok(stdout.length >= 5000);
  assert.ok(!stderr.includes('needs about'), stderr);
});

test('Sampler.feed/probabilities agree with the logprobs reported while sampling', () => {
  const [done] = [...sampleStreams(model, vocab, { length: 30, prime: 'the ', streams: [{ temperature: 1, seed: 5 }] })].filter(
    (e) => e.type === 'done',
  );
  const chars = [...done.sample.text];
  const sampler = new Sampler(model, vocab);
  sampler.feed(done.sample.prime);
  chars.forEach((ch, k) => {
    const p = sampler.probabilities(1)[vocab.idOf(ch)];
    assert.ok(Math.abs(Math.log(p) - done.sample.logprobs[k]) < 1e-6, `char ${k}`);
    sampler.feed(ch);
  });
  sampler.dispose();
});

// ---------------------------------------------------------------- the command line

describe('charrnn sample: new options', { concurrency: 2, timeout: 120_000 }, () => {
  test('a temperature list × --num-samples gives one sample per stream, each from the vocabulary', async () => {
    const r = await cli([...SAMPLE, '-t', '0.5,1,1.5', '--num-samples', '2', '-n', '40', '--prime', 'the ', '--seed', '7']);
    assertSucceeded(r);
    const headers = r.stderr.split('\n').filter((l) => l.startsWith('--- sample '));
    assert.deepEqual(
      headers.map((h) => /^--- sample (\d) of 6 \(temperature ([\d.]+), seed (\d+)\) ---$/.exec(h).slice(1).join(' ')),
      ['1 0.5 7', '2 0.5 8', '3 1 7', '4 1 8', '5 1.5 7', '6 1.5 8'],
    );
    const samples = r.stdout.split('\n\n');
    assert.equal(samples.length, 6, r.stdout);
    for (const s of samples) {
      const text = s.replace(/\n$/, '');
      assert.ok(text.startsWith('the '));
      assert.equal([...text].length, 4 + 40, JSON.stringify(text));
      for (const ch of text) assert.ok(TINY_CHARS.has(ch), `${JSON.stringify(ch)} is not in the training text`);
    }
    // Sample 3 (temperature 1, seed 7) is what a single run with that seed prints.
    const alone = await cli([...SAMPLE, '-n', '40', '--prime', 'the ', '--seed', '7']);
    assertSucceeded(alone);
    assert.equal(`${samples[2]}`.replace(/\n$/, ''), alone.stdout.replace(/\n$/, ''));
  });

  test('--json: one object per sample; logprobs ≤ 0 and match the model; --stop, --top-k, --top-p', async () => {
    const r = await cli([
      ...SAMPLE,
      '--json',
      '--num-samples',
      '3',
      '-n',
      '60',
      '--prime',
      'the ',
      '--seed',
      '3',
      '--top-k',
      '6',
      '--top-p',
      '0.9',
      '--stop',
      'e\\n',
      '--stop',
      's ',
    ]);
    assertSucceeded(r);
    const lines = r.stdout.trim().split('\n');
    assert.equal(lines.length, 3, r.stdout);
    for (const [k, line] of lines.entries()) {
      const s = JSON.parse(line);
      assert.equal(s.sample, k + 1);
      assert.equal(s.prime, 'the ');
      assert.deepEqual(s.settings, { temperature: 1, topK: 6, topP: 0.9, seed: 3 + k, length: 60, stop: ['e\n', 's '] });
      assert.equal(s.checkpoint, path.join(RUN, 'best'));
      const chars = [...s.text];
      assert.equal(s.logprobs.length, chars.length);
      if (s.stop === null) assert.equal(chars.length, 60);
      else assert.ok(['e\n', 's '].includes(s.stop) && s.text.endsWith(s.stop), JSON.stringify(s));
      // The model's probability of each chosen character, fed the same text.
      const probe = new Sampler(model, vocab);
      probe.feed(s.prime);
      chars.forEach((ch, i) => {
        assert.ok(s.logprobs[i] <= 0);
        const p = probe.probabilities(1)[vocab.idOf(ch)];
        assert.ok(Math.abs(Math.log(p) - s.logprobs[i]) < 1e-4, `sample ${k + 1} char ${i}: ${Math.log(p)} vs ${s.logprobs[i]}`);
        probe.feed(ch);
      });
      probe.dispose();
    }
  });

  test('--stop ends one streamed sample at the string', async () => {
    const r = await cli([...SAMPLE, '-n', '300', '--prime', 'the ', '--seed', '2', '--stop', ' ']);
    assertSucceeded(r);
    const generated = r.stdout.slice('the '.length, -1);
    assert.ok(generated.endsWith(' ') && !generated.slice(0, -1).includes(' '), JSON.stringify(r.stdout));
  });

  for (const [flag, value] of [
    ['--top-p', '0'],
    ['--top-p', '1.5'],
    ['--top-k', '0'],
    ['--num-samples', '0'],
    ['--temperature', '0.5,x'],
  ]) {
    test(`sample ${flag} ${value}: one line, exit 2`, async () => {
      const r = await cli([...SAMPLE, flag, value]);
      assert.equal(r.code, 2, show(r));
      assert.equal(r.stdout, '');
      const lines = r.stderr
        .trim()
        .split('\n')
        .filter((l) => !/^(backend:|  skipped )/.test(l));
      assert.equal(lines.length, 1, show(r));
      assert.match(lines[0], /^(charrnn|error):/);
      assert.ok(lines[0].includes(flag) && lines[0].includes(value), show(r));
    });
  }
});
