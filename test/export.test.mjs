// Every cell trains, scores and exports: `charrnn export` writes a tfjs layers model that
// plain tf.loadLayersModel opens and that predicts what our engine predicts.
import assert from 'node:assert/strict';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { loadCheckpoint } from '../dist/checkpoint/checkpoint.js';
import { TRAIN_DEFAULTS } from '../dist/training/config.js';
import { readCorpus } from '../dist/data/corpus.js';
import { evaluate } from '../dist/scoring/evaluate.js';
import { writeLayersModel } from '../dist/export/layers-model.js';
import { writeWebPage } from '../dist/export/web-page.js';
import { train } from '../dist/training/trainer.js';
import { exportGap, runCli, TINY_CORPUS, tinyText, useBackend, workDir } from './helpers.mjs';

const tf = await useBackend('wasm');
const dir = workDir('export');
const corpus = readCorpus(TINY_CORPUS);

/** A short run: enough steps for peaked, non-trivial predictions. */
async function trainTiny(name, overrides, threads = 1) {
  const outDir = join(dir, name);
  const config = {
    ...TRAIN_DEFAULTS,
    hidden: 24,
    layers: 2,
    seq: 16,
    batch: 8,
    lr: 2e-2,
    maxSteps: 40,
    evalEvery: 20,
    saveEvery: 20,
    valFrac: 0.1,
    ...overrides,
  };
  const result = await train({ corpus, config, outDir, backend: 'wasm', threads });
  return { outDir, result };
}

for (const [cell, threads] of [
  ['lstm', 1],
  ['gru', 2],
  ['rnn', 1],
]) {
  test(`${cell}: trains, scores, and exports a layers model that predicts the same probabilities (< 1e-5)`, async () => {
    const { outDir, result } = await trainTiny(cell, { cell }, threads);
    assert.ok(result.bestValLoss < Math.log(corpus.text.length), 'a finite validation loss');
    const checkpoint = loadCheckpoint(outDir);
    assert.equal(checkpoint.meta.model.cell, cell);
    assert.equal(checkpoint.meta.training.config.cell, cell);
    const ids = checkpoint.vocab.encode(tinyText().slice(200, 260));
    const score = await evaluate(checkpoint.model, ids, 4, 10);
    assert.ok(Number.isFinite(score.nats) && score.nats < Math.log(checkpoint.vocab.size), `eval ${score.nats} nats`);

    const exportDir = join(dir, `${cell}-export`);
    assert.deepEqual(await writeLayersModel(checkpoint, exportDir), ['model.json', 'weights.bin', 'vocab.json']);
    assert.deepEqual(JSON.parse(readFileSync(join(exportDir, 'vocab.json'), 'utf8')), checkpoint.vocab.chars);
    const { diff, peak } = await exportGap(exportDir, tinyText().slice(200, 260));
    assert.ok(diff < 1e-5, `max |Δp| = ${diff}`);
    const uniform = 1 / checkpoint.vocab.size;
    assert.ok(
      peak > 5 * uniform,
      `predictions are far from uniform somewhere (max p ${peak}, uniform ${uniform}), so the comparison means something`,
    );
    checkpoint.model.dispose();
  });
}

test('--learned-init: the initial states train, and export refuses the model in one line', async () => {
  const { outDir } = await trainTiny('learned', { cell: 'lstm', learnedInit: true, maxSteps: 20 });
  const checkpoint = loadCheckpoint(outDir);
  const initial = checkpoint.model.weights.filter((w) => /initial_[hc]$/.test(w.name));
  assert.equal(initial.length, 4, 'h and c for each of 2 layers');
  assert.ok(
    initial.every((w) => tf.tidy(() => tf.max(tf.abs(w.tensor)).dataSync()[0]) > 0),
    'every initial state moved from zero: its gradient reached it',
  );
  await assert.rejects(writeLayersModel(checkpoint, join(dir, 'learned-export')), /--learned-init/);
  checkpoint.model.dispose();

  const refused = await runCli(['export', outDir, join(dir, 'learned-cli')], { cwd: dir });
  assert.equal(refused.code, 2);
  assert.equal(refused.stderr.trim().split('\n').length, 1, refused.stderr);
  assert.match(refused.stderr, /^charrnn: .*--learned-init/);
});

test('charrnn export writes the model, vocabulary, web page and a local tf.min.js; refuses to overwrite without --force', async () => {
  const out = join(dir, 'cli-export');
  const run = await runCli(['export', join(dir, 'rnn'), out], { cwd: dir });
  assert.equal(run.code, 0, run.stderr);
  for (const file of ['model.json', 'weights.bin', 'vocab.json', 'index.html', 'tf.min.js', 'model.js'])
    assert.ok(existsSync(join(out, file)), file);
  assert.match(readFileSync(join(out, 'index.html'), 'utf8'), /tf\.loadLayersModel\(tf\.io\.fromMemory/);
  const json = JSON.parse(readFileSync(join(out, 'model.json'), 'utf8'));
  assert.deepEqual(
    json.modelTopology.config.layers.map((l) => l.class_name),
    ['SimpleRNN', 'SimpleRNN', 'Dense'],
  );
  assert.equal(json.charrnn.resume, undefined, 'no training state in an export');
  const again = await runCli(['export', join(dir, 'rnn'), out], { cwd: dir });
  assert.equal(again.code, 2);
  assert.match(again.stderr, /--force/);
});

test('the web page starts an unprimed sample where charrnn sample does: after a newline, else the most frequent character', async () => {
  /** What model.js tells the page to read before an unprimed sample. */
  const startOf = async (run, site) => {
    const checkpoint = loadCheckpoint(run);
    await writeLayersModel(checkpoint, site);
    checkpoint.model.dispose();
    writeWebPage(site, 'test');
    const window = {};
    new Function('window', readFileSync(join(site, 'model.js'), 'utf8'))(window);
    return window.charrnnExport.start;
  };
  assert.equal(await startOf(join(dir, 'rnn'), join(dir, 'rnn-page')), '\n');

  const text = tinyText().replace(/\s/g, ''); // no newline, and no space to fall back on
  const file = join(dir, 'no-whitespace.txt');
  writeFileSync(file, text);
  const counts = new Map();
  for (const ch of text) counts.set(ch, (counts.get(ch) ?? 0) + 1);
  const [[commonest]] = [...counts].sort((a, b) => b[1] - a[1]);
  const config = { ...TRAIN_DEFAULTS, hidden: 8, layers: 1, seq: 8, batch: 4, maxSteps: 1, evalEvery: 1, saveEvery: 1 };
  const run = join(dir, 'no-whitespace');
  await train({ corpus: readCorpus(file), config, outDir: run, backend: 'wasm', threads: 1 });
  assert.equal(await startOf(run, join(dir, 'no-whitespace-page')), commonest);
});
