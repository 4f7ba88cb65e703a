// Surprisal per character (src/scoring/surprisal.ts) and `charrnn eval --heatmap / --html`.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { loadCheckpoint } from '../dist/checkpoint/checkpoint.js';
import { evaluate } from '../dist/scoring/evaluate.js';
import { meanBits, surprisal } from '../dist/scoring/surprisal.js';
import { runCli, TINY_CORPUS, tinyText, useBackend, workDir, TINY_MODEL } from './helpers.mjs';

const WORK = workDir('heatmap');
const cli = (args) => runCli(args, { cwd: WORK });
const RUN = path.join(WORK, 'run');
const trained = await cli(['train', TINY_CORPUS, '-o', RUN, ...TINY_MODEL, '--max-steps', '15', '--eval-every', '15', '--backend', 'wasm']);
assert.equal(trained.code, 0, trained.stderr);

test('surprisal: one entry per character, bits = −log2 p, top-5 sorted; the mean matches evaluate', async () => {
  const tf = await useBackend('wasm');
  const { model, vocab } = loadCheckpoint(RUN);
  try {
    const text = tinyText().slice(0, 120);
    const before = tf.memory().numTensors;
    const chars = surprisal(model, vocab, text);
    assert.equal(tf.memory().numTensors, before, 'no tensors leak');
    assert.equal(chars.length, [...text].length);
    assert.deepEqual(chars.map((c) => c.char).join(''), text);
    assert.equal(chars[0].bits, null);
    assert.deepEqual(chars[0].top, []);
    for (const { char, bits, top } of chars.slice(1)) {
      assert.ok(bits > 0 && Number.isFinite(bits));
      assert.equal(top.length, 5);
      for (let k = 1; k < 5; k++) assert.ok(top[k - 1][1] >= top[k][1], 'likeliest first');
      const listed = top.find(([c]) => c === char);
      if (listed) assert.ok(Math.abs(-Math.log2(listed[1]) - bits) < 1e-3, 'bits agree with the listed probability');
      else assert.ok(2 ** -bits <= top[4][1] + 1e-9, 'a character missing from the top 5 is less likely than all of them');
    }
    // One stream over the whole text: the same predictions as the evaluator makes.
    const score = await evaluate(model, vocab.encode(text), 1, text.length - 1);
    assert.ok(Math.abs(meanBits(chars) - score.bits) < 1e-4, `${meanBits(chars)} vs ${score.bits}`);
    assert.throws(() => surprisal(model, vocab, 'a日b'), /not in the vocabulary/);
  } finally {
    model.dispose();
  }
});

test('evaluate scores every character: the tail after the last stream continues that stream', async () => {
  await useBackend('wasm');
  const { model, vocab } = loadCheckpoint(RUN);
  try {
    const ids = vocab.encode(tinyText().slice(0, 202)); // 201 predictions: two streams of 100, and a tail of 1
    const L = 100;
    const batched = await evaluate(model, ids, 2, 30);
    assert.equal(batched.chars, ids.length - 1);
    // Stream 0 alone, then stream 1 and the tail as one stream: the same predictions.
    const alone = async (part) => (await evaluate(model, part, 1, part.length - 1)).nats * (part.length - 1);
    const expected = ((await alone(ids.subarray(0, L + 1))) + (await alone(ids.subarray(L)))) / (ids.length - 1);
    assert.ok(Math.abs(batched.nats - expected) < 1e-5, `${batched.nats} vs ${expected}`);
  } finally {
    model.dispose();
  }
});

test('eval --heatmap without colour: each text line is followed by a line of bucket digits; legend; extremes', async () => {
  const r = await cli(['eval', RUN, TINY_CORPUS, '--heatmap', '--limit', '300', '--backend', 'wasm']);
  assert.equal(r.code, 0, r.stderr);
  assert.ok(!r.stdout.includes('\x1b['), 'no colour codes with NO_COLOR');
  assert.match(r.stderr, /heatmap of the first 300 of [\d,]+ characters \(--limit to change\)/);
  const [heatmap, rest] = r.stdout.split('\nsurprisal per character');
  const lines = heatmap.replace(/\n$/, '').split('\n');
  assert.equal(lines.length % 2, 0, 'pairs of text and digit lines');
  let shown = '';
  for (let k = 0; k < lines.length; k += 2) {
    const [text, digits] = [lines[k], lines[k + 1]];
    assert.match(digits, /^[·0-9]*$/, `digit line: ${JSON.stringify(digits)}`);
    assert.ok(
      [...digits].length === [...text].length || [...digits].length === [...text].length + 1,
      `${JSON.stringify(text)} / ${digits}`,
    );
    shown += `${text}\n`;
  }
  assert.equal(lines[1][0], '·', 'the first character is not predicted');
  assert.equal(shown.split('\n')[0], tinyText().split('\n')[0], 'the text as it is');
  assert.match(rest, /d = d to d\+1 bits/);
  assert.match(rest, /tiny\.txt, the first 300 of [\d,]+ characters: \d+\.\d{3} bits\/char over 299 predictions/);
  const most = rest.split('most surprising')[1].split('least surprising')[0].trim().split('\n').slice(1);
  const least = rest.split('least surprising:')[1].trim().split('\n');
  assert.equal(most.length, 10);
  assert.equal(least.length, 10);
  const bitsOf = (line) => Number(/^\s*([\d.]+) bits/.exec(line)[1]);
  assert.ok(
    bitsOf(most[0]) >= bitsOf(most[9]) && bitsOf(most[9]) >= bitsOf(least[9]) && bitsOf(least[9]) >= bitsOf(least[0]),
    'most: highest first; least: lowest first',
  );
  assert.match(most[0], /^ +[\d.]+ bits +".*" → '.+' \(p [\d.e+-]+%; expected '.+' [\d.]+%/);
});

test('eval --html: a self-contained page, one span per character, top-5 data, a legend', async () => {
  const out = path.join(WORK, 'heat.html');
  const r = await cli(['eval', RUN, TINY_CORPUS, '--html', out, '--limit', '150', '--backend', 'wasm']);
  assert.equal(r.code, 0, r.stderr);
  assert.equal(r.stdout, '', 'the page goes to the file only');
  const html = fs.readFileSync(out, 'utf8');
  assert.match(html, /^<!doctype html>\n<html lang="en">/);
  assert.ok(html.trimEnd().endsWith('</html>'));
  assert.doesNotMatch(html, /\b(src|href)=|https?:\/\/|@import/, 'nothing loaded from elsewhere');
  for (const tag of ['html', 'head', 'body', 'style', 'script', 'pre', 'table', 'span', 'div']) {
    const open = html.match(new RegExp(`<${tag}[\\s>]`, 'g'))?.length ?? 0;
    assert.equal(open, html.match(new RegExp(`</${tag}>`, 'g'))?.length ?? 0, `<${tag}> balanced`);
  }
  const text = html.split('<pre id="text">')[1].split('</pre>')[0];
  const spans = [...text.matchAll(/<span class="c( [\w ]+)?" data-bits="([\d.]*)"(?: data-top='([^']*)')?>([^<]*)<\/span>/g)];
  assert.equal(spans.length, 150, 'one span per character');
  assert.equal(text.replace(/<span[^>]*>[^<]*<\/span>\n?/g, ''), '', 'nothing but character spans');
  assert.equal(spans[0][2], '', 'the first is not predicted');
  for (const s of spans.slice(1)) {
    assert.match(s[1], / b\d( nl)?$/, 'a colour bucket class');
    const top = JSON.parse(
      s[3]
        .replace(/&quot;/g, '"')
        .replace(/&#39;/g, "'")
        .replace(/&lt;/g, '<')
        .replace(/&gt;/g, '>')
        .replace(/&amp;/g, '&'),
    );
    assert.equal(top.length, 5);
    for (const [c, p] of top) assert.ok(typeof c === 'string' && p > 0 && p <= 1);
  }
  assert.equal(html.match(/<span class="sw b\d">/g).length, 10, 'legend: ten buckets');
  for (let d = 0; d < 10; d++) assert.match(html, new RegExp(`\\.b${d}\\{background:#[0-9a-f]{6}`));
  assert.match(html, /<caption>Most surprising<\/caption>/);
  assert.match(html, /<caption>Least surprising<\/caption>/);
  assert.match(html, /addEventListener\('mouseover'/, 'hover shows the predictions');
});

test('eval --heatmap skips characters the model never saw, as eval does; --json and --heatmap do not mix', async () => {
  const file = path.join(WORK, 'unseen.txt');
  fs.writeFileSync(file, 'The cat 日 sat by the sea.\n');
  const r = await cli(['eval', RUN, file, '--heatmap', '--backend', 'wasm']);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stderr, /skipped 1 characters the model never saw: "日"/);
  assert.ok(r.stdout.startsWith('The cat  sat by the sea.\n'));
  const both = await cli(['eval', RUN, file, '--heatmap', '--json', '--backend', 'wasm']);
  assert.equal(both.code, 2);
  assert.match(both.stderr, /--json cannot be combined with --heatmap/);
});

test('eval --html into a checkpoint directory: one line, exit 6, before any scoring, the checkpoint unchanged', async () => {
  const target = path.join(RUN, 'best', 'model.json');
  const before = fs.readFileSync(target);
  const r = await cli(['eval', RUN, TINY_CORPUS, '--html', target, '--backend', 'wasm']);
  assert.equal(r.code, 6, r.stderr);
  assert.match(r.stderr, /^charrnn: .*model\.json is inside the checkpoint directory .*best; write it elsewhere\n$/);
  assert.deepEqual(fs.readFileSync(target), before);
});
