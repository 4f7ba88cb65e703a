// PyTorch weights both ways without Python: `charrnn export --format safetensors` then
// `charrnn import` gives back a model that predicts the same, and import refuses every
// malformed file in one line with exit 4.
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { loadCheckpoint } from '../dist/checkpoint/checkpoint.js';
import { TRAIN_DEFAULTS } from '../dist/training/config.js';
import { readCorpus } from '../dist/data/corpus.js';
import { CheckpointError } from '../dist/errors.js';
import { readSafetensors, writeSafetensors } from '../dist/export/safetensors.js';
import { fromTorchStateDict } from '../dist/export/torch-state-dict.js';
import { train } from '../dist/training/trainer.js';
import { logProbabilities, maxAbsDiff2d, runCli, TINY_CORPUS, tinyText, useBackend, workDir, errorLine } from './helpers.mjs';

await useBackend('wasm');
const dir = workDir('safetensors');
const corpus = readCorpus(TINY_CORPUS);
const cli = (args) => runCli(args, { cwd: dir });

async function trainTiny(name, overrides) {
  const outDir = join(dir, name);
  const config = {
    ...TRAIN_DEFAULTS,
    hidden: 16,
    layers: 2,
    seq: 16,
    batch: 8,
    lr: 2e-2,
    maxSteps: 20,
    evalEvery: 20,
    saveEvery: 20,
    valFrac: 0.1,
    ...overrides,
  };
  await train({ corpus, config, outDir, backend: 'wasm', threads: 1 });
  return outDir;
}

const runs = {};
for (const cell of ['lstm', 'rnn']) {
  test(`${cell}: export --format safetensors, then import, predicts the same log-probabilities (< 1e-6) and keeps the record`, async () => {
    runs[cell] = await trainTiny(cell, { cell, dropout: 0.1 });
    const file = join(dir, `${cell}.safetensors`);
    const exported = await cli(['export', runs[cell], file, '--format', 'safetensors']);
    assert.equal(exported.code, 0, exported.stderr);

    const { tensors, metadata } = readSafetensors(file);
    const V = loadCheckpoint(runs[cell]).meta.vocab.length;
    const G = cell === 'lstm' ? 4 * 16 : 16;
    assert.deepEqual(
      tensors.map((t) => [t.name, t.shape]),
      [
        ['rnn.weight_ih_l0', [G, V]],
        ['rnn.weight_hh_l0', [G, 16]],
        ['rnn.bias_ih_l0', [G]],
        ['rnn.bias_hh_l0', [G]],
        ['rnn.weight_ih_l1', [G, 16]],
        ['rnn.weight_hh_l1', [G, 16]],
        ['rnn.bias_ih_l1', [G]],
        ['rnn.bias_hh_l1', [G]],
        ['decoder.weight', [V, 16]],
        ['decoder.bias', [V]],
      ],
    );
    assert.equal(JSON.parse(metadata.vocabulary).length, V);
    assert.equal(metadata.corpus_fingerprint, corpus.fingerprint);

    const imported = join(dir, `${cell}-imported`);
    const r = await cli(['import', file, '-o', imported]);
    assert.equal(r.code, 0, r.stderr);
    const text = tinyText().slice(100, 300);
    const diff = maxAbsDiff2d(logProbabilities(runs[cell], text), logProbabilities(imported, text));
    assert.ok(diff < 1e-6, `max |Δ log p| = ${diff}`);
    const [before, after] = [runs[cell], imported].map((d) => loadCheckpoint(d));
    assert.deepEqual(after.meta.model, before.meta.model);
    assert.deepEqual(after.meta.training.config, before.meta.training.config);
    assert.equal(after.meta.training.corpus.fingerprint, corpus.fingerprint);
    assert.equal(after.meta.resume, undefined, 'no optimiser state');
    [before, after].forEach((c) => c.model.dispose());

    // What an imported checkpoint is for: eval of its corpus split, and fine-tuning.
    const evaluated = await cli(['eval', imported, '--json', '--backend', 'wasm']);
    assert.equal(evaluated.code, 0, evaluated.stderr);
    assert.ok(JSON.parse(evaluated.stdout).nats < Math.log(V));
    const tuned = await cli([
      'train',
      TINY_CORPUS,
      '--init-from',
      imported,
      '-o',
      join(dir, `${cell}-tuned`),
      '--seq',
      '16',
      '--batch',
      '8',
      '--max-steps',
      '2',
      '--backend',
      'wasm',
    ]);
    assert.equal(tuned.code, 0, tuned.stderr);
  });
}

test('export refuses GRU and --learned-init models as safetensors, in one line (exit 2)', async () => {
  for (const [name, overrides, why] of [
    ['gru', { cell: 'gru', maxSteps: 2 }, /reset_after=False/],
    ['learned', { learnedInit: true, maxSteps: 2 }, /--learned-init/],
  ]) {
    const run = await trainTiny(name, overrides);
    const r = await cli(['export', run, join(dir, `${name}.safetensors`), '--format', 'safetensors']);
    assert.equal(r.code, 2, r.stderr);
    assert.match(errorLine(r), why);
  }
});

test('import refuses malformed files in one line with exit 4, and never allocates from an untrusted length', async (t) => {
  const good = join(dir, 'lstm.safetensors');
  const bytes = readFileSync(good);
  const contents = readSafetensors(good);
  const headerLength = Number(bytes.readBigUInt64LE(0));
  const withTensors = (edit) => ({ ...contents, tensors: edit(contents.tensors.map((x) => ({ ...x }))) });
  const withMetadata = (edit) => ({ ...contents, metadata: { ...contents.metadata, ...edit } });
  const withHeader = (edit) => {
    const header = JSON.parse(bytes.subarray(8, 8 + headerLength).toString('utf8'));
    edit(header);
    const json = Buffer.from(JSON.stringify(header).padEnd(headerLength, ' '));
    assert.equal(json.length, headerLength);
    return Buffer.concat([bytes.subarray(0, 8), json, bytes.subarray(8 + headerLength)]);
  };
  const hugeLength = Buffer.from(bytes);
  hugeLength.writeBigUInt64LE(2n ** 62n, 0);
  const cases = [
    ['an empty file', Buffer.alloc(0), /too short/],
    ['a header length past the end of the file', hugeLength, /header length 4611686018427387904 does not fit in the file/],
    ['a truncated file', bytes.subarray(0, bytes.length - 10), /truncated/],
    [
      'a header that is not JSON',
      Buffer.concat([bytes.subarray(0, 8), Buffer.alloc(headerLength, 0x7b), bytes.subarray(8 + headerLength)]),
      /not valid JSON/,
    ],
    ['an F16 tensor', withHeader((h) => (h['decoder.bias'].dtype = 'F16')), /decoder\.bias has dtype "F16"; charrnn reads only F32/],
    [
      'offsets that disagree with the shape',
      withHeader((h) => (h['decoder.bias'].shape = [3])),
      /decoder\.bias: data_offsets .* shape \[3\] needs 12/,
    ],
    ['a missing tensor', withTensors((ts) => ts.filter((x) => x.name !== 'decoder.bias')), /tensor decoder\.bias is missing/],
    [
      'an extra tensor',
      withTensors((ts) => [...ts, { name: 'rnn.weight_ih_l2', shape: [1], data: new Float32Array(1) }]),
      /unexpected tensor rnn\.weight_ih_l2/,
    ],
    [
      'a wrong shape',
      withTensors((ts) => ts.map((x) => (x.name === 'rnn.weight_hh_l1' ? { ...x, shape: [16, 64], data: x.data } : x))),
      /rnn\.weight_hh_l1 has shape \[16,64\], the model metadata needs \[64,16\]/,
    ],
    ['no charrnn metadata', { ...contents, metadata: {} }, /no charrnn metadata/],
    ['a newer format', withMetadata({ format_version: '2' }), /format_version 2 is newer/],
    ['a vocabulary that is not JSON', withMetadata({ vocabulary: '[a' }), /"vocabulary" is not valid JSON/],
    [
      'a vocabulary of strings longer than a character',
      withMetadata({ vocabulary: JSON.stringify(['ab', ...JSON.parse(contents.metadata.vocabulary).slice(1)]) }),
      /list of single characters/,
    ],
    [
      'a vocabulary with a repeated character',
      withMetadata({
        vocabulary: JSON.stringify(JSON.parse(contents.metadata.vocabulary).map((c, k) => (k === 1 ? 'a' : k === 2 ? 'a' : c))),
      }),
      /twice/,
    ],
    [
      'a vocabulary of the wrong size',
      withMetadata({ vocabulary: JSON.stringify(JSON.parse(contents.metadata.vocabulary).slice(1)) }),
      /has \d+ characters, the model \d+/,
    ],
    [
      'a GRU',
      withMetadata({ model: JSON.stringify({ ...JSON.parse(contents.metadata.model), cell: 'gru' }) }),
      /GRU model cannot come from PyTorch: .*reset_after=False/,
    ],
    [
      'training metadata without the corpus',
      withMetadata({ training: JSON.stringify({ config: { batch: 8, seq: 16, valFrac: 0.1 } }) }),
      /"training" needs/,
    ],
  ];
  for (const [name, file, expected] of cases) {
    await t.test(name, () => {
      const path = join(dir, 'bad.safetensors');
      if (Buffer.isBuffer(file)) writeFileSync(path, file);
      else writeSafetensors(path, file);
      assert.throws(
        () => fromTorchStateDict(readSafetensors(path), path),
        (err) => err instanceof CheckpointError && err.exitCode === 4 && expected.test(err.message) && !err.message.includes('\n'),
      );
    });
  }
  // And through the command line: one line, exit 4, nothing written.
  writeFileSync(join(dir, 'bad.safetensors'), hugeLength);
  const r = await cli(['import', 'bad.safetensors', '-o', 'never']);
  assert.equal(r.code, 4);
  assert.match(errorLine(r), /^charrnn: bad\.safetensors: header length .* does not fit/);
  assert.equal((await cli(['import', 'missing.safetensors', '-o', 'never'])).code, 4);
});
