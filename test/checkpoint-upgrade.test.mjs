// Checkpoints written by older formats load, upgraded once at load (checkpoint/upgrade.ts):
// the format-1 fixtures in test/fixtures/ (see its README) sample and resume exactly as
// the charrnn that wrote them did.
import assert from 'node:assert/strict';
import { cpSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { test } from 'node:test';
import { FORMAT_VERSION, loadCheckpoint, readCheckpointMeta } from '../dist/checkpoint/checkpoint.js';
import { readCorpus } from '../dist/data/corpus.js';
import { generate } from '../dist/sampling/sampler.js';
import { resume } from '../dist/training/trainer.js';
import { useBackend, workDir } from './helpers.mjs';

await useBackend('wasm');

const FIXTURES = fileURLToPath(new URL('./fixtures/', import.meta.url));
const expected = JSON.parse(readFileSync(join(FIXTURES, 'v1-expected.json'), 'utf8'));

for (const cell of ['lstm', 'gru']) {
  const fixture = join(FIXTURES, `v1-${cell}`);

  test(`a format-1 ${cell} checkpoint loads upgraded and samples as format-1 charrnn did`, () => {
    assert.equal(JSON.parse(readFileSync(join(fixture, 'model.json'), 'utf8')).charrnn.formatVersion, 1);
    const { model, vocab, meta } = loadCheckpoint(fixture);
    assert.ok(FORMAT_VERSION > 1);
    assert.equal(meta.formatVersion, FORMAT_VERSION);
    assert.equal(meta.model.cell, cell);
    assert.equal(meta.training.config.cell, cell);
    assert.equal(meta.training.config.beta2, 0.999, 'Adam’s β2 before --beta2');
    assert.equal(meta.training.corpus.encoding, 'utf8');
    const { path, bytes, fingerprint } = meta.training.corpus;
    assert.deepEqual(meta.training.corpus.files, [{ path, bytes, fingerprint }], 'a format-1 or -2 corpus is the one file it names');
    const text = [...generate(model, vocab, { length: 40, temperature: 1, prime: 'The ', seed: 7 })].join('');
    model.dispose();
    assert.equal(text, expected[cell].sample);
  });

  test(`a format-1 ${cell} checkpoint resumes to the loss format-1 charrnn reached`, async () => {
    const run = workDir(`v1-${cell}`);
    cpSync(fixture, join(run, 'latest'), { recursive: true });
    const checkpoint = loadCheckpoint(run, { resume: true });
    // The carried state is the cell's own: h and c for an LSTM, h alone for a GRU.
    const carried = checkpoint.resume.tensors.length - 2 * checkpoint.model.variables.length;
    assert.equal(carried, checkpoint.model.cell.state.length);
    const corpus = readCorpus(join(FIXTURES, 'v1-corpus.txt'));
    // Format-1 charrnn reached its loss with --max-steps 9 at a constant rate; a steps budget
    // now brings the rate down over its end, so this resume sets none and stops itself after
    // the validation at that step (the checkpoint validates every 3).
    let firstStep = null;
    const validations = new Map();
    const stop = new AbortController();
    const observer = {
      onStart: (plan) => (firstStep = plan.firstStep),
      onValidation: (step, valLoss) => {
        validations.set(step, valLoss);
        if (step >= expected[cell].resumed.steps) stop.abort();
      },
    };
    await resume({ checkpoint, corpus, changes: { maxSteps: null }, signal: stop.signal, backend: 'test', threads: 1, observer });
    assert.equal(firstStep, 6);
    const valLoss = validations.get(expected[cell].resumed.steps);
    assert.ok(Math.abs(valLoss - expected[cell].resumed.valLoss) < 1e-6, `val loss ${valLoss} vs ${expected[cell].resumed.valLoss}`);
    assert.equal(readCheckpointMeta(join(run, 'latest')).formatVersion, FORMAT_VERSION);
  });
}
