/**
 * Where one sampling step's time goes, on the wasm backend: the model step (time inside each
 * kernel, and the rest: tfjs engine and JS around them), the logits' read-back (dataSync) and
 * the distribution in JS (draw and log-probability per stream). Kernel times come from
 * wrapping the registered wasm kernels with timers (a few hundred ns each).
 *
 *   npm run build && tsc -p bench && node dist-bench/sample-profile.js [steps] [configs] [batches]
 *   (configs: cell:LxH comma-separated, default lstm:2x128,lstm:2x256,lstm:3x512; batches default 1,16)
 */
import * as tf from '../dist/tf.js';
import { selectBackend } from '../dist/backend/select.js';
import { CharModel } from '../dist/model/model.js';
import type { CellType } from '../dist/cells/registry.js';
import { BatchStepper } from '../dist/sampling/sampler.js';
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

function profile(cell: CellType, layers: number, hidden: number, batch: number, steps: number): void {
  const model = CharModel.create({ vocabSize: VOCAB, hidden, layers, dropout: 0, cell, learnedInit: false }, 1);
  const stepper = new BatchStepper(model, batch);
  const rngs = Array.from({ length: batch }, (_, b) => new Rng(b));
  const distribution = { temperature: 1, topK: null, topP: null };
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
    let start = performance.now();
    const logits = stepper.step(ids);
    rows.step.push(performance.now() - start);
    start = performance.now();
    for (let b = 0; b < batch; b++) {
      const row = logits.subarray(b * VOCAB, (b + 1) * VOCAB);
      ids[b] = pickIndex(row, distribution, () => rngs[b].next());
      logProbability(row, ids[b]);
    }
    rows.draw.push(performance.now() - start);
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
for (const { cell, layers, hidden } of configs) for (const batch of batches) profile(cell, layers, hidden, batch, steps);
