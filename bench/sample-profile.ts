/**
 * Where one sampling step's time goes, on the wasm backend, for the step with per-layer kernels
 * (BatchStepper: time inside each kernel, and the rest: tfjs engine and JS around them, the
 * logits' read-back by dataSync) and for the whole step (modelStepper: its one wasm call and the
 * JS around it), each followed by the distribution in JS (draw and log-probability per stream).
 * Kernel times come from wrapping the registered wasm kernels with timers (a few hundred ns
 * each). Medians over steps, so that steps another process interrupted drop out.
 *
 *   npm run build && tsc -p bench && node dist-bench/sample-profile.js [steps] [configs] [batches]
 *   (configs: cell:LxH comma-separated, default lstm:2x128,lstm:2x256,lstm:3x512; batches default 1,16)
 */
import * as tf from '../dist/tf.js';
import { selectBackend } from '../dist/backend/select.js';
import { CharModel } from '../dist/model/model.js';
import type { CellType } from '../dist/cells/registry.js';
import { BatchStepper, modelStepper } from '../dist/sampling/sampler.js';
import { ownKernels } from '../dist/backend/wasm-kernels/own-module.js';
import { logProbability, pickIndex } from '../dist/sampling/distribution.js';
import { Rng } from '../dist/rng.js';
import { median } from './measure.js';

const VOCAB = 82; // warpeace.txt's

/** Per kernel name: time inside it during the current step, and each step's total. */
const kernelTime = new Map<string, { ms: number; calls: number; steps: number[] }>();

/** Wraps every kernel registered for wasm with a timer (kernels call each other through getKernel rarely; nested time counts in both). */
function timeKernels(): void {
  for (const config of tf.getKernelsForBackend('wasm')) {
    const original = config.kernelFunc;
    const name = config.kernelName;
    tf.unregisterKernel(name, 'wasm');
    tf.registerKernel({
      ...config,
      kernelFunc: (args) => {
        const start = performance.now();
        const out = original(args);
        const entry = kernelTime.get(name) ?? { ms: 0, calls: 0, steps: [] };
        entry.ms += performance.now() - start;
        entry.calls++;
        kernelTime.set(name, entry);
        return out;
      },
    });
  }
}

/** What sampleStreams does with a step's logits (B·V): each stream's draw at temperature 1 into ids (B), and its log-probability. Milliseconds. */
function draw(logits: Float32Array, ids: Int32Array, rngs: Rng[]): number {
  const start = performance.now();
  for (let b = 0; b < ids.length; b++) {
    const row = logits.subarray(b * VOCAB, (b + 1) * VOCAB);
    ids[b] = pickIndex(row, { temperature: 1, topK: null, topP: null }, () => rngs[b].next());
    logProbability(row, ids[b]);
  }
  return performance.now() - start;
}

function profile(cell: CellType, layers: number, hidden: number, batch: number, steps: number): void {
  const model = CharModel.create({ vocabSize: VOCAB, hidden, layers, dropout: 0, cell, learnedInit: false }, 1);
  const stepper = new BatchStepper(model, batch);
  const rngs = Array.from({ length: batch }, (_, b) => new Rng(b));
  const ids = new Int32Array(batch).fill(3);
  for (let k = 0; k < 50; k++) stepper.step(ids); // warm-up
  kernelTime.clear();
  const originalDataSync = tf.Tensor.prototype.dataSync;
  let readMs = 0;
  tf.Tensor.prototype.dataSync = function (this: tf.Tensor) {
    const start = performance.now();
    const values = originalDataSync.call(this);
    readMs += performance.now() - start;
    return values;
  } as typeof originalDataSync;
  // Per step: model step, read-back, kernels (all), distribution; medians over steps drop the ones another process interrupted.
  const rows = { step: [] as number[], read: [] as number[], kernels: [] as number[], draw: [] as number[] };
  for (let k = 0; k < steps; k++) {
    readMs = 0;
    for (const entry of kernelTime.values()) entry.ms = 0;
    const start = performance.now();
    const logits = stepper.step(ids);
    rows.step.push(performance.now() - start);
    rows.draw.push(draw(logits, ids, rngs));
    rows.read.push(readMs);
    let inKernels = 0;
    for (const entry of kernelTime.values()) {
      entry.steps.push(entry.ms);
      inKernels += entry.ms;
    }
    rows.kernels.push(inKernels);
  }
  tf.Tensor.prototype.dataSync = originalDataSync;
  const us = (ms: number[]) => (median(ms) * 1000).toFixed(1);
  const other = rows.step.map((ms, k) => ms - rows.kernels[k] - rows.read[k]);
  const total = rows.step.map((ms, k) => ms + rows.draw[k]);
  console.log(
    `${cell} ${layers}x${hidden} batch ${batch}: ${us(total)} µs/step (${((batch / median(total)) * 1000).toFixed(0)} chars/s); ` +
      `model step ${us(rows.step)} µs = kernels ${us(rows.kernels)} + dataSync ${us(rows.read)} + other JS ${us(other)}; distribution in JS ${us(rows.draw)} µs`,
  );
  for (const [name, entry] of [...kernelTime.entries()].sort((a, b) => median(b[1].steps) - median(a[1].steps)))
    console.log(`    ${name.padEnd(24)} ${us(entry.steps).padStart(8)} µs/step  ${(entry.calls / steps).toFixed(0)} calls/step`);
  stepper.dispose();
  model.dispose();
}

/** Multiply-adds of one stream's step: every layer's products and the output layer's (LSTM/RNN: G·H columns of x·W and h·U; GRU likewise). */
function multiplyAdds(cell: CellType, layers: number, H: number): number {
  const G = { lstm: 4, gru: 3, rnn: 1 }[cell];
  return G * H * H + (layers - 1) * 2 * G * H * H + H * VOCAB;
}

/**
 * The whole step (modelStepper): time inside the one wasm call, the JS around it (ids in,
 * logits out), and the distribution; GMAC/s and the rate the weights are read at (each step
 * reads every weight once: at batch 1 the step is matrix-vector products, bound by that rate).
 */
function profileWhole(cell: CellType, layers: number, hidden: number, batch: number, steps: number): void {
  const model = CharModel.create({ vocabSize: VOCAB, hidden, layers, dropout: 0, cell, learnedInit: false }, 1);
  const stepper = modelStepper(model, batch);
  // The one call, on the plan the stepper wrote (private to it: read here only to time the call alone).
  const plan = (stepper as unknown as { plan: number }).plan;
  const kernels = ownKernels(tf.backend() as unknown as Parameters<typeof ownKernels>[0]);
  const rngs = Array.from({ length: batch }, (_, b) => new Rng(b));
  const ids = new Int32Array(batch).fill(3);
  for (let k = 0; k < 50; k++) stepper.step(ids); // warm-up
  const rows = { step: [] as number[], call: [] as number[], draw: [] as number[] };
  for (let k = 0; k < steps; k++) {
    let start = performance.now();
    kernels.sampleStep(plan);
    rows.call.push(performance.now() - start);
    start = performance.now();
    const logits = stepper.step(ids);
    rows.step.push(performance.now() - start);
    rows.draw.push(draw(logits, ids, rngs));
  }
  const us = (ms: number[]) => (median(ms) * 1000).toFixed(1);
  const call = median(rows.call) / 1000;
  const macs = multiplyAdds(cell, layers, hidden);
  const total = median(rows.step) + median(rows.draw);
  console.log(
    `${cell} ${layers}x${hidden} batch ${batch}, whole step: ${(total * 1000).toFixed(1)} µs/step (${((batch / total) * 1000).toFixed(0)} chars/s); ` +
      `model step ${us(rows.step)} µs = wasm call ${us(rows.call)} (${((macs * batch) / call / 1e9).toFixed(1)} GMAC/s, weights read at ${((macs * 4) / call / 1e9).toFixed(1)} GB/s) ` +
      `+ JS ${(median(rows.step) * 1000 - median(rows.call) * 1000).toFixed(1)}; distribution in JS ${us(rows.draw)} µs`,
  );
  stepper.dispose();
  model.dispose();
}

const steps = Number(process.argv[2] ?? 300);
const configs = (process.argv[3] ?? 'lstm:2x128,lstm:2x256,lstm:3x512').split(',').map((c) => {
  const [cell, size] = c.split(':');
  const [layers, hidden] = size.split('x').map(Number);
  return { cell: cell as CellType, layers, hidden };
});
const batches = (process.argv[4] ?? '1,16').split(',').map(Number);
const backend = await selectBackend('wasm');
console.log(`backend: ${backend.description}; ${steps} steps each`);
timeKernels();
for (const { cell, layers, hidden } of configs)
  for (const batch of batches) {
    profile(cell, layers, hidden, batch, steps);
    profileWhole(cell, layers, hidden, batch, steps);
  }
