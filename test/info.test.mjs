// `charrnn info <checkpoint>`: the text report and its --json form, and the sparkline.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { visibleChar } from '../dist/cli/info.js';
import { sparkline } from '../dist/render/sparkline.js';
import { runCli, TINY_CORPUS, workDir, TINY_MODEL } from './helpers.mjs';

const WORK = workDir('info');

const cli = (args) => runCli(args, { cwd: WORK });

const RUN = path.join(WORK, 'run');
const trained = await cli(['train', TINY_CORPUS, '-o', RUN, ...TINY_MODEL, '--max-steps', '20', '--eval-every', '5', '--backend', 'wasm']);
assert.equal(trained.code, 0, trained.stderr);
const meta = JSON.parse(fs.readFileSync(path.join(RUN, 'best', 'model.json'), 'utf8')).charrnn;

test('sparkline: one bar per value from ▁ (lowest) to █ (highest), bucketed when long', () => {
  assert.equal(sparkline([3, 2, 1, 0]), '█▆▃▁');
  assert.equal(sparkline([1, 1, 1]), '▄▄▄');
  assert.equal(sparkline([]), '');
  assert.equal(sparkline([2, NaN, 1]), '█▁');
  const long = sparkline(
    Array.from({ length: 500 }, (_, k) => -k),
    50,
  );
  assert.equal([...long].length, 50);
  assert.equal(long[0], '█');
  assert.equal(long.at(-1), '▁');
});

test('vocabulary characters are shown visibly', () => {
  assert.deepEqual(['\n', '\r', '\t', ' ', '\\', 'a', 'é', '\u00a0', '\u200b'].map(visibleChar), [
    '\\n',
    '\\r',
    '\\t',
    '␣',
    '\\\\',
    'a',
    'é',
    '\\u{A0}',
    '\\u{200B}',
  ]);
});

test('info: config, vocabulary, parameters, training, losses, corpus and a sparkline', async () => {
  const r = await cli(['info', RUN]);
  assert.equal(r.code, 0, r.stderr);
  assert.ok(!r.stdout.includes('\x1b['));
  const out = r.stdout;
  assert.match(out, /^checkpoint +.*run[/\\]best$/m);
  assert.match(out, /^model +1×8 LSTM, dropout 0, [\d,]+ parameters$/m);
  assert.match(out, new RegExp(`^vocabulary +${meta.vocab.length} characters .*with how often each occurs`, 'm'));
  assert.match(out, /^ +\\n \d+   ␣ \d+ /m, 'newline and space shown visibly, first in code point order, each with its count');
  assert.match(out, /^trained +20 steps, [\d.]+ epochs in \d+s on WebAssembly/m);
  assert.match(out, /^settings +seq 8, batch 4, /m);
  assert.match(out, /^val loss +best \d\.\d{4} nats\/char .*, last \d\.\d{4} nats\/char/m);
  assert.match(out, /^history +[▁▂▃▄▅▆▇█]{4} +[\d.]+ → [\d.]+ over steps 5–20 \(4 validations\)$/m);
  assert.match(out, new RegExp(`^corpus +.*tiny\\.txt \\(utf8, .*\\), sha256 ${meta.training.corpus.fingerprint.slice(0, 12)}$`, 'm'));
});

test('info --json: the same as one object', async () => {
  const r = await cli(['info', RUN, '--json']);
  assert.equal(r.code, 0, r.stderr);
  const lines = r.stdout.trim().split('\n');
  assert.equal(lines.length, 1);
  const info = JSON.parse(lines[0]);
  assert.deepEqual(Object.keys(info).sort(), [
    'checkpoint',
    'corpus',
    'counts',
    'formatVersion',
    'model',
    'parameters',
    'sparkline',
    'training',
    'valLossHistory',
    'vocab',
  ]);
  assert.deepEqual(info.model, { vocabSize: meta.vocab.length, hidden: 8, layers: 1, dropout: 0, cell: 'lstm', learnedInit: false });
  const V = meta.vocab.length;
  assert.equal(info.parameters, V * 32 + 8 * 32 + 32 + 8 * V + V);
  assert.deepEqual(info.vocab, meta.vocab);
  // How often each character occurs in the corpus, counted by code point.
  const text = fs.readFileSync(TINY_CORPUS, 'utf8');
  assert.deepEqual(
    info.counts,
    meta.vocab.map((ch) => [...text].filter((c) => c === ch).length),
  );
  assert.equal(
    info.counts.reduce((a, b) => a + b, 0),
    info.corpus.chars,
  );
  assert.equal(info.training.steps, 20);
  assert.equal(info.training.config.seq, 8);
  assert.match(info.training.backend, /WebAssembly/);
  for (const key of ['epochs', 'seconds', 'bestValLoss', 'lastValLoss']) assert.equal(typeof info.training[key], 'number', key);
  assert.ok(info.training.bestValLoss <= info.training.lastValLoss);
  assert.equal(info.corpus.fingerprint, meta.training.corpus.fingerprint);
  assert.deepEqual(
    info.valLossHistory.map((h) => h.step),
    [5, 10, 15, 20],
  );
  assert.equal(info.sparkline, sparkline(info.valLossHistory.map((h) => h.valLoss)));
});

test('info of a missing checkpoint: one line, exit 4', async () => {
  const r = await cli(['info', path.join(WORK, 'nothing-here')]);
  assert.equal(r.code, 4);
  assert.equal(r.stdout, '');
  assert.equal(r.stderr.trim().split('\n').length, 1, r.stderr);
});
