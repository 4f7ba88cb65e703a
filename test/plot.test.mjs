// Training metrics (metrics.jsonl, src/checkpoint/metrics.ts) and `charrnn plot` in the terminal, as SVG and as PNG.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { MetricsLog, readMetrics } from '../dist/checkpoint/metrics.js';
import { TRAIN_DEFAULTS } from '../dist/training/config.js';
import { runCli, TINY_CORPUS, workDir } from './helpers.mjs';

const WORK = workDir('plot');
const cli = (args, env = {}) => {
  const saved = { ...process.env };
  Object.assign(process.env, env);
  try {
    return runCli(args, { cwd: WORK });
  } finally {
    process.env = saved;
  }
};
const RUN = path.join(WORK, 'run');
const TINY_MODEL = ['--hidden', '8', '--layers', '1', '--seq', '8', '--batch', '4', '--eval-every', '5', '--backend', 'wasm'];
const trained = await cli(['train', TINY_CORPUS, '-o', RUN, ...TINY_MODEL, '--max-steps', '12']);
assert.equal(trained.code, 0, trained.stderr);
const lines = () =>
  fs
    .readFileSync(path.join(RUN, 'metrics.jsonl'), 'utf8')
    .trimEnd()
    .split('\n')
    .map((l) => JSON.parse(l));
const firstRun = lines();

test('metrics.jsonl: one line per step, with loss, learning rate, speed and time; val loss where measured', () => {
  assert.deepEqual(
    firstRun.map((m) => m.step),
    [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12],
  );
  for (const m of firstRun) {
    for (const key of ['epoch', 'trainLoss', 'lr', 'charsPerSecond', 'seconds']) assert.equal(typeof m[key], 'number', key);
    assert.ok(m.trainLoss > 0 && m.charsPerSecond >= 0);
    // The rate each step ran at: --max-steps 12 holds it for 8 steps, then brings it down over the last 4.
    assert.equal(m.lr, TRAIN_DEFAULTS.lr * Math.min(1, (12 - (m.step - 1)) / 4), `step ${m.step}`);
    assert.ok(!Number.isNaN(Date.parse(m.time)), 'an ISO time');
  }
  assert.deepEqual(
    firstRun.filter((m) => 'valLoss' in m).map((m) => m.step),
    [5, 10, 12],
  );
  const history = JSON.parse(fs.readFileSync(path.join(RUN, 'latest', 'model.json'), 'utf8')).charrnn.training.history;
  assert.deepEqual(
    firstRun.filter((m) => 'valLoss' in m).map((m) => m.valLoss),
    history.map((h) => h.valLoss),
    'the same validations as the checkpoint',
  );
  for (let k = 1; k < firstRun.length; k++) assert.ok(firstRun[k].seconds >= firstRun[k - 1].seconds);
});

test('a resumed run appends to the same metrics.jsonl', async () => {
  const r = await cli(['train', '--resume', RUN, '--max-steps', '15', '--eval-every', '5', '--backend', 'wasm']);
  assert.equal(r.code, 0, r.stderr);
  const all = lines();
  assert.deepEqual(all.slice(0, 12), firstRun, 'the first run is kept as it was');
  assert.deepEqual(
    all.map((m) => m.step),
    Array.from({ length: 15 }, (_, k) => k + 1),
  );
  assert.equal(all[14].valLoss === undefined, false);
});

test('readMetrics: a repeated step starts a new timeline; a torn last line is ignored', () => {
  const file = path.join(WORK, 'timeline.jsonl');
  const log = new MetricsLog(file, { append: false });
  const step = (s, loss) => log.step({ step: s, epoch: s / 10, loss, lr: 0.1, charsPerSecond: 1, seconds: s });
  for (let s = 1; s <= 5; s++) step(s, 10 + s);
  log.validation(5, 9);
  for (let s = 3; s <= 4; s++) step(s, 20 + s); // resumed from step 2
  log.close();
  fs.appendFileSync(file, '{"step":5,"trainL');
  const records = readMetrics(file);
  assert.deepEqual(
    records.map((r) => [r.step, r.trainLoss, r.valLoss]),
    [
      [1, 11, undefined],
      [2, 12, undefined],
      [3, 23, undefined],
      [4, 24, undefined],
    ],
  );
  assert.deepEqual(readMetrics(path.join(WORK, 'none.jsonl')), []);
});

test('plot in the terminal fits the width: COLUMNS=60', async () => {
  const r = await cli(['plot', RUN], { COLUMNS: '60' });
  assert.equal(r.code, 0, r.stderr);
  const rows = r.stdout.trimEnd().split('\n');
  for (const row of rows) assert.ok([...row].length <= 60, `${[...row].length}: ${row}`);
  assert.ok(
    rows.some((row) => [...row].length >= 50),
    'and uses it',
  );
  assert.match(r.stdout, /^loss by step, from .*metrics\.js/m);
  assert.match(r.stdout, /── train loss +┄┄ validation loss/);
  assert.match(r.stdout, /┤/, 'a y axis with labels');
  assert.match(r.stdout, /^ +1 +\d+ +15$/m, 'steps under the x axis');
  const narrow = await cli(['plot', RUN], { COLUMNS: '40' });
  assert.match(narrow.stdout.split('\n')[0], /^loss by step, from ….{5,}metrics\.jsonl$/, 'a long path loses its start, not the file name');
  const wide = await cli(['plot', RUN], { COLUMNS: '120' });
  assert.ok(wide.stdout.split('\n').some((row) => [...row].length > 100));
});

test('plot --svg: axes, tick labels, axis titles, a legend, and one polyline per series with a point per record', async () => {
  const out = path.join(WORK, 'loss.svg');
  const r = await cli(['plot', RUN, '--svg', out]);
  assert.equal(r.code, 0, r.stderr);
  assert.equal(r.stdout, '');
  const svg = fs.readFileSync(out, 'utf8');
  assert.match(svg, /^<svg xmlns="http:\/\/www\.w3\.org\/2000\/svg" width="\d+" height="\d+"/);
  assert.ok(svg.trimEnd().endsWith('</svg>'));
  assert.match(svg, /<g class="x-axis"[^>]*>\n<line /);
  assert.match(svg, /<g class="y-axis"[^>]*>\n<line /);
  assert.ok(svg.match(/class="tick-label"/g).length >= 6, 'tick labels');
  assert.match(svg, /<text class="axis-title"[^>]*>step<\/text>/);
  assert.match(svg, /<text class="axis-title"[^>]*>loss \(nats\/char\)<\/text>/);
  const legend = svg.split('<g class="legend"')[1].split('</g>')[0];
  assert.match(legend, /train loss/);
  assert.match(legend, /validation loss/);
  const series = [...svg.matchAll(/<polyline class="series" data-name="([^"]+)"[^>]* points="([^"]+)"/g)];
  assert.equal(series.length, 2);
  const all = lines();
  const points = (name) =>
    series
      .find((s) => s[1].startsWith(name))[2]
      .trim()
      .split(' ');
  assert.equal(points('train').length, all.length);
  assert.equal(points('validation').length, all.filter((m) => 'valLoss' in m).length);
  for (const p of points('train')) assert.match(p, /^[\d.]+,[\d.]+$/);
});

test('plot --png: an image, rendered without native code', async (t) => {
  const out = path.join(WORK, 'loss.png');
  const r = await cli(['plot', RUN, '--png', out]);
  if (r.code !== 0 && /needs a TrueType font/.test(r.stderr)) {
    t.skip('no TrueType font on this machine (apt-get install fonts-dejavu-core)'); // it said so in one line
    return;
  }
  assert.equal(r.code, 0, r.stderr);
  const png = fs.readFileSync(out);
  assert.deepEqual([...png.subarray(0, 8)], [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
  assert.deepEqual([png.readUInt32BE(16), png.readUInt32BE(20)], [1600, 960], 'the 800×480 chart at twice the size');
});

test('plot without metrics.jsonl reads the checkpoint history; a checkpoint directory means its run', async () => {
  const old = path.join(WORK, 'old-run');
  fs.cpSync(RUN, old, { recursive: true });
  fs.rmSync(path.join(old, 'metrics.jsonl'));
  const out = path.join(WORK, 'old.svg');
  const r = await cli(['plot', path.join(old, 'best'), '--svg', out]);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stderr, /history in .*old-run[/\\]latest/);
  const svg = fs.readFileSync(out, 'utf8');
  const series = [...svg.matchAll(/<polyline class="series" data-name="([^"]+)"[^>]* points="([^"]+)"/g)];
  const history = JSON.parse(fs.readFileSync(path.join(old, 'latest', 'model.json'), 'utf8')).charrnn.training.history;
  assert.deepEqual(
    history.map((h) => h.step),
    [5, 10, 12, 15],
  );
  assert.deepEqual(
    series.map((s) => s[2].split(' ').length),
    [4, 4],
    'one point per validation',
  );
});

test('plot of something that is not a run: one line, exit 4', async () => {
  const r = await cli(['plot', path.join(WORK, 'nothing')]);
  assert.equal(r.code, 4);
  assert.equal(r.stderr.trim().split('\n').length, 1, r.stderr);
});

test('plot never writes into a checkpoint or over a run’s own files: one line, exit 6, nothing changed', async () => {
  for (const target of [path.join(RUN, 'latest', 'model.json'), path.join(RUN, 'best', 'chart.svg'), path.join(RUN, 'metrics.jsonl')]) {
    const before = fs.existsSync(target) ? fs.readFileSync(target) : null;
    const r = await cli(['plot', RUN, '--svg', target]);
    assert.equal(r.code, 6, r.stderr);
    assert.match(r.stderr, /^charrnn: .*(inside the checkpoint directory|the run's own metrics\.jsonl)/);
    assert.equal(r.stderr.trim().split('\n').length, 1, r.stderr);
    assert.deepEqual(fs.existsSync(target) ? fs.readFileSync(target) : null, before, target);
  }
  // Beside the checkpoints is the user's to use.
  const beside = await cli(['plot', RUN, '--svg', path.join(RUN, 'loss.svg')]);
  assert.equal(beside.code, 0, beside.stderr);
});
