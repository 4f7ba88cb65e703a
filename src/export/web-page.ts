/**
 * The web page an export carries, made to open from disk with a double-click (file://,
 * where browsers refuse fetch): index.html; tf.min.js, the parts of TensorFlow.js it needs
 * (core, the cpu backend, layers); and
 * model.js, which assigns the exported model.json, its weights (base64) and the vocabulary
 * to `window.charrnnExport`, so the page loads them with script tags, no request at all.
 * The page samples from the model (prime text, a temperature slider, a Generate button).
 *
 * A Sequential model starts every call from zero state, so reading the whole text (prime
 * + generated so far) again for every character would give exact probabilities at a
 * cost that grows with the text: tfjs-layers takes ~10 ms per time step for a small
 * model, so 200 characters would take minutes. The page instead builds a stateful copy
 * of the model (same topology with `stateful: true` and batch 1, the loaded weights):
 * it reads the prime once, then one step per character, as charrnn's own sampler does.
 * The stateless model is kept for `probabilities(text)`, which the tests compare.
 *
 * It runs on tfjs's cpu backend: a character model's steps are small matMuls, where
 * WebGL's upload/readback per character would cost more than it saves.
 *
 * Without a prime text the model first reads, unshown, what `charrnn sample` reads without
 * a --prime (sampler.ts's `startingContext`), which model.js carries as `start`.
 *
 * For tests, the page exposes `window.charrnn = { ready, probabilities(text), steppedProbabilities(text), primedProbabilities(prime) }`.
 */
import { copyFileSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { CheckpointMeta } from '../checkpoint/checkpoint.js';
import { Vocabulary } from '../data/vocab.js';
import { startingContext } from '../sampling/sampler.js';
import { WEIGHTS_FILE } from './layers-model.js';

export const PAGE_FILE = 'index.html';
export const TFJS_FILE = 'tf.min.js';
export const MODEL_SCRIPT = 'model.js';
export const PAGE_FILES = [PAGE_FILE, TFJS_FILE, MODEL_SCRIPT];

/**
 * Writes index.html, tf.min.js and model.js into `outDir`, which already holds the
 * exported model (model.json, weights.bin, vocab.json); returns the names written.
 */
export function writeWebPage(outDir: string, title: string): string[] {
  copyFileSync(new URL(`./${TFJS_FILE}`, import.meta.url), join(outDir, TFJS_FILE)); // built by scripts/bundle-tfjs.mjs
  const model = readFileSync(join(outDir, 'model.json'), 'utf8');
  const weights = readFileSync(join(outDir, WEIGHTS_FILE)).toString('base64');
  const vocab = readFileSync(join(outDir, 'vocab.json'), 'utf8');
  const { charrnn: meta } = JSON.parse(model) as { charrnn: CheckpointMeta };
  const start = JSON.stringify(startingContext(new Vocabulary(meta.vocab), meta.training.corpus.counts));
  writeFileSync(
    join(outDir, MODEL_SCRIPT),
    `window.charrnnExport = { model: ${model}, weights: '${weights}', vocab: ${vocab}, start: ${start} };\n`,
  );
  writeFileSync(join(outDir, PAGE_FILE), PAGE.replaceAll('{{TITLE}}', escapeHtml(title)));
  return [...PAGE_FILES];
}

function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (ch) => `&#${ch.charCodeAt(0)};`);
}

const PAGE = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{{TITLE}}</title>
<style>
  body { font: 15px/1.45 system-ui, sans-serif; max-width: 52rem; margin: 2rem auto; padding: 0 1rem; color: #1d1d1f; }
  h1 { font-size: 1.3rem; margin: 0 0 .2rem; }
  #model { color: #666; margin: 0 0 1rem; }
  label { display: block; margin: .6rem 0 .2rem; font-weight: 600; }
  textarea { width: 100%; box-sizing: border-box; font: 14px/1.4 ui-monospace, monospace; padding: .4rem; }
  .row { display: flex; gap: 1.5rem; align-items: end; flex-wrap: wrap; }
  input[type=range] { width: 14rem; vertical-align: middle; }
  input[type=number] { width: 5rem; }
  button {
    font-size: 1rem; padding: .45rem 1.4rem; border-radius: 6px; border: 1px solid #2a6df4;
    background: #2a6df4; color: white; cursor: pointer;
  }
  button:disabled { background: #9bb7f0; border-color: #9bb7f0; cursor: default; }
  #output {
    white-space: pre-wrap; font: 14px/1.5 ui-monospace, monospace; background: #f5f5f7; border-radius: 6px; padding: .8rem;
    min-height: 8rem; margin-top: 1rem;
  }
  #output .prime { color: #2a6df4; font-weight: 600; }
  #status { color: #666; font-size: .9rem; margin-top: .5rem; }
</style>
</head>
<body>
<h1>{{TITLE}}</h1>
<p id="model">loading…</p>
<label for="prime">Prime text</label>
<textarea id="prime" rows="2">The </textarea>
<div class="row">
  <div><label for="temperature">Temperature <span id="temperature-value">0.8</span></label>
    <input id="temperature" type="range" min="0.1" max="2" step="0.05" value="0.8"></div>
  <div><label for="length">Characters</label><input id="length" type="number" min="1" max="2000" value="200"></div>
  <div><button id="generate" disabled>Generate</button></div>
</div>
<div id="output"></div>
<div id="status">loading the model…</div>
<script src="tf.min.js"></script>
<script src="model.js"></script>
<script>
'use strict';
const $ = (id) => document.getElementById(id);
let model, stepper, vocab, index, start;

const ready = (async () => {
  await tf.setBackend('cpu');
  const { model: meta, weights, vocab: chars, start: context } = window.charrnnExport;
  const weightData = Uint8Array.from(atob(weights), (ch) => ch.charCodeAt(0)).buffer;
  const loaded = await tf.loadLayersModel(tf.io.fromMemory({
    modelTopology: meta.modelTopology, weightSpecs: meta.weightsManifest[0].weights, weightData,
  }));
  [model, vocab, start] = [loaded, chars, context];
  index = new Map(vocab.map((ch, k) => [ch, k]));
  // The stateful copy: state carried from call to call, for one batch row.
  const topology = JSON.parse(JSON.stringify(meta.modelTopology));
  for (const layer of topology.config.layers) {
    if (layer.class_name !== 'Dense') layer.config.stateful = true;
  }
  topology.config.layers[0].config.batch_input_shape = [1, null, vocab.length];
  stepper = await tf.models.modelFromJSON({ modelTopology: topology });
  stepper.setWeights(model.getWeights());
  const m = meta.charrnn && meta.charrnn.model;
  const shape = m ? m.layers + '×' + m.hidden + ' ' + m.cell.toUpperCase() + ', ' : '';
  $('model').textContent = shape + vocab.length + ' characters';
  $('status').textContent = 'ready (tfjs ' + tf.version_core + ', ' + tf.getBackend() + ' backend)';
  $('generate').disabled = false;
})().catch((err) => {
  $('status').textContent = 'could not load the model: ' + err.message;
  throw err;
});

/** Next-character probabilities (V) after reading the character ids: they go in as one-hot [1, T, V], the last step comes out. */
async function nextProbabilities(net, ids) {
  const probs = tf.tidy(() => {
    const x = tf.oneHot(tf.tensor2d([ids], [1, ids.length], 'int32'), vocab.length).toFloat(); // [1, T, V]
    return net.predict(x).slice([0, ids.length - 1, 0], [1, 1, vocab.length]).reshape([vocab.length]);
  });
  const values = await probs.data();
  probs.dispose();
  return values;
}

/**
 * The first character's probabilities (V), from the stepper's zero state after reading
 * the prime, or without one the export's starting context (not shown).
 */
async function readPrime(prime) {
  stepper.resetStates();
  return nextProbabilities(stepper, [...(prime || start)].map((ch) => index.get(ch)));
}

/** Draws an index from p^(1/T), renormalised. */
function draw(probs, temperature) {
  const logits = Array.from(probs, (p) => Math.log(Math.max(p, 1e-30)) / temperature);
  const max = Math.max(...logits);
  const weights = logits.map((l) => Math.exp(l - max));
  let u = Math.random() * weights.reduce((a, b) => a + b, 0);
  for (let k = 0; k < weights.length; k++) if ((u -= weights[k]) <= 0) return k;
  return weights.length - 1;
}

function show(prime, generated) {
  const span = document.createElement('span');
  span.className = 'prime';
  span.textContent = prime;
  $('output').replaceChildren(span, document.createTextNode(generated));
}

$('temperature').addEventListener('input', () => { $('temperature-value').textContent = Number($('temperature').value).toFixed(2); });

$('generate').addEventListener('click', async () => {
  await ready;
  $('generate').disabled = true;
  const typed = [...$('prime').value];
  const prime = typed.filter((ch) => index.has(ch)).join('');
  const skipped = typed.length - [...prime].length;
  const length = Math.max(1, Math.min(2000, Number($('length').value) || 200));
  const temperature = Number($('temperature').value);
  let generated = '';
  const started = performance.now();
  let probs = await readPrime(prime); // once
  for (let k = 0; k < length; k++) {
    const id = draw(probs, temperature);
    generated += vocab[id];
    show(prime, generated);
    $('status').textContent = 'generating… ' + (k + 1) + ' of ' + length;
    await tf.nextFrame(); // let the page paint
    if (k < length - 1) probs = await nextProbabilities(stepper, [id]); // one step: the state is carried
  }
  const seconds = (performance.now() - started) / 1000;
  $('status').textContent = 'done: ' + length + ' characters in ' + seconds.toFixed(1) + ' s at temperature ' + temperature.toFixed(2) +
    (skipped ? '; ' + skipped + ' prime characters the model never saw were left out' : '');
  $('generate').disabled = false;
});

window.charrnn = {
  ready,
  /** After reading text whole with the stateless model. */
  probabilities: async (text) => { await ready; return Array.from(await nextProbabilities(model, [...text].map((ch) => index.get(ch)))); },
  /** After reading text one character per call with the stateful copy, as Generate does. */
  steppedProbabilities: async (text) => {
    await ready;
    stepper.resetStates();
    let probs;
    for (const ch of text) probs = await nextProbabilities(stepper, [index.get(ch)]);
    return Array.from(probs);
  },
  /** What Generate draws its first character from. */
  primedProbabilities: async (prime) => { await ready; return Array.from(await readPrime(prime)); },
};
</script>
</body>
</html>
`;
