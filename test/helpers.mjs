// Shared test setup: the backends (wasm is what users without tfjs-node run) and small fixtures.
import assert from 'node:assert/strict';
import * as tf from '../dist/tf.js';
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { selectBackend } from '../dist/backend/select.js';
import { loadCheckpoint } from '../dist/checkpoint/checkpoint.js';
import { TRAIN_DEFAULTS } from '../dist/training/config.js';
import { fakeNativeLoader } from './fake-native.mjs';

export const BIN = fileURLToPath(new URL('../bin/charrnn.js', import.meta.url));

/** A fresh temporary directory, removed when the test process exits. */
export function workDir(prefix) {
  const dir = mkdtempSync(join(tmpdir(), `charrnn-${prefix}-`));
  process.on('exit', () => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

/**
 * Runs bin/charrnn.js as a user would (no colour: FORCE_COLOR would beat NO_COLOR), with
 * `env` added and Node's `flags` (e.g. a test preload); killed after `timeout` ms if given.
 * Resolves with its exit and output, never rejects on failure.
 */
export function runCli(args, { cwd, env = {}, flags = [], timeout }) {
  return runProcess(process.execPath, [...flags, BIN, ...args], {
    cwd,
    env: { ...process.env, NO_COLOR: '1', FORCE_COLOR: undefined, ...env },
    timeout,
  }).then((r) => ({ ...r, args }));
}

/** Runs a program to its end (killed after `timeout` ms if given); resolves with its exit code, signal and output, never rejects on failure. */
export function runProcess(command, args, { cwd, env = process.env, timeout }) {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { cwd, env, timeout, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (d) => (stdout += d));
    child.stderr.setEncoding('utf8').on('data', (d) => (stderr += d));
    child.on('error', reject);
    child.on('close', (code, signal) => resolve({ code, signal, stdout, stderr }));
  });
}

export const TINY_CORPUS = fileURLToPath(new URL('../corpora/tiny.txt', import.meta.url));
export const tinyText = () => readFileSync(TINY_CORPUS, 'utf8');

/** Train flags for the smallest model the CLI tests need: fast, and enough to check behaviour. */
export const TINY_MODEL = ['--hidden', '8', '--layers', '1', '--seq', '8', '--batch', '4'];

/** 'wasm', 'cpu', or 'fake-tensorflow': the cpu kernels under the native backend's name (fake-native.mjs). */
export async function useBackend(name = 'wasm') {
  if (name === 'fake-tensorflow') await selectBackend('tensorflow', { loadNative: fakeNativeLoader({ gpu: true }) });
  else await selectBackend(name);
  return tf;
}

export function maxAbsDiff(a, b) {
  assertSameLength(a, b);
  let max = 0;
  for (let k = 0; k < a.length; k++) max = Math.max(max, Math.abs(a[k] - b[k]));
  return max;
}

function assertSameLength(a, b) {
  if (a.length !== b.length) throw new Error(`length ${a.length} != ${b.length}`);
}

/** Next-character log-probabilities (T, V) of a checkpoint for `text`, from zero state. */
export function logProbabilities(checkpointDir, text) {
  const { model, vocab } = loadCheckpoint(checkpointDir);
  const out = tf.tidy(() => {
    const { logits, final } = model.forward(tf.tensor1d(vocab.encode(text), 'int32'), model.initialState(1));
    tf.dispose(final.flat());
    return tf.logSoftmax(logits).arraySync();
  });
  model.dispose();
  return out;
}

/** Largest |a[t][k] - b[t][k]| of two equally shaped (T, V) arrays. */
export function maxAbsDiff2d(a, b) {
  assertSameLength(a, b);
  return Math.max(...a.map((row, t) => maxAbsDiff(row, b[t])));
}

/**
 * How far plain tf.loadLayersModel on an export is from our own forward on the same files:
 * the largest |Δp| over the next-character probabilities after each character of `text`,
 * and our largest p (to show the predictions are not near uniform).
 */
export async function exportGap(exportDir, text) {
  const ours = logProbabilities(exportDir, text).map((row) => row.map(Math.exp)); // charrnn reads its own exports too
  const vocab = JSON.parse(readFileSync(join(exportDir, 'vocab.json'), 'utf8'));
  const ids = Array.from(text, (ch) => vocab.indexOf(ch));
  const theirs = await layersModelProbabilities(exportDir, ids, vocab.length);
  const theirRows = theirs.arraySync();
  theirs.dispose();
  return { diff: maxAbsDiff2d(ours, theirRows), peak: Math.max(...ours.flat()) };
}

/** Next-character probabilities (T, V) of tf.loadLayersModel on the exported files, for `ids`. */
async function layersModelProbabilities(exportDir, ids, V) {
  const json = JSON.parse(readFileSync(join(exportDir, 'model.json'), 'utf8'));
  const weightData = new Uint8Array(readFileSync(join(exportDir, json.weightsManifest[0].paths[0]))).buffer;
  const layers = await tf.loadLayersModel(
    tf.io.fromMemory({ modelTopology: json.modelTopology, weightSpecs: json.weightsManifest[0].weights, weightData }),
  );
  const probs = tf.tidy(() =>
    layers.predict(tf.oneHot(tf.tensor2d([Array.from(ids)], undefined, 'int32'), V).toFloat()).reshape([ids.length, V]),
  );
  layers.dispose();
  return probs;
}

/** The one line a failed command prints after the backend lines; fails if there are more, or a stack trace. */
export function errorLine(r) {
  const lines = r.stderr
    .trim()
    .split('\n')
    .filter((l) => !/^(backend:|  skipped )/.test(l));
  assert.equal(lines.length, 1, r.stderr);
  assert.ok(!r.stderr.includes('    at '), r.stderr);
  return lines[0];
}

/** The lines of a run's stderr that report an error: ours (`charrnn: …`) and any stack trace's. */
export function errorLines(r) {
  return r.stderr.split('\n').filter((l) => /^charrnn:|Error|    at /.test(l));
}

/** The training record saveCheckpoint takes, for a model made in a test rather than trained: `config` overrides the defaults. */
export function trainingRecord(config, step = 0) {
  return {
    config: { ...TRAIN_DEFAULTS, ...config },
    step,
    epoch: 0,
    history: [],
    valLoss: null,
    bestValLoss: null,
    backend: 'test',
    seconds: 0,
    corpus: { path: 'none.txt', files: [], encoding: 'utf8', bytes: 0, chars: 0, fingerprint: '0' },
  };
}
