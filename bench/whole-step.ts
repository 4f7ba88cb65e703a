/**
 * Side by side in one process, one thread, on the wasm backend: sampling's model step as one
 * call into our module (modelStepper: wasm/sample.ts) against the step it replaced (BatchStepper:
 * per layer a projection and a cell kernel, then the output projection and a read-back), for
 * LSTM models of the bench's sizes at batch 1 and 16. Alternates the two, so machine noise falls
 * on both; prints chars/s per second of this process's CPU time (B / step time; wall time on a
 * busy machine counts other processes' time) as medians with their spread, and the ratio.
 *
 *   npm run bench:sample -- [repeats] [sizes]   (sizes: LxH comma-separated, default 2x128,2x256,3x512)
 */
import { selectBackend } from '../dist/backend/select.js';
import { CharModel } from '../dist/model/model.js';
import { BatchStepper, modelStepper } from '../dist/sampling/sampler.js';
import type { ModelStepper } from '../dist/cells/cell.js';
import { median } from './measure.js';

const VOCAB = 82; // warpeace.txt's
const SECONDS = 0.3; // per timing

/** This process's CPU time in ms: unlike wall time, it does not count the time other processes ran instead (a busy machine). */
function cpuMs(): number {
  const { user, system } = process.cpuUsage();
  return (user + system) / 1000;
}

/** chars/s of `stepper` per second of CPU time, over about SECONDS of it. */
function time(stepper: ModelStepper): number {
  const ids = new Int32Array(stepper.batch).fill(5);
  for (let k = 0; k < 5; k++) stepper.step(ids); // warm-up
  let steps = 0;
  const start = cpuMs();
  let elapsed = 0;
  while (elapsed < SECONDS * 1000) {
    for (let k = 0; k < 10; k++) stepper.step(ids);
    steps += 10;
    elapsed = cpuMs() - start;
  }
  return (steps * stepper.batch) / (elapsed / 1000);
}

const repeats = Number(process.argv[2] ?? 5);
const sizes = (process.argv[3] ?? '2x128,2x256,3x512').split(',').map((s) => s.split('x').map(Number));
const backend = await selectBackend('wasm');
console.log(`backend: ${backend.description}; chars/s of the model step, medians of ${repeats} alternating repeats [min–max]`);
const fmt = (xs: number[]) => `${Math.round(median(xs))} [${Math.round(Math.min(...xs))}–${Math.round(Math.max(...xs))}]`;
for (const [layers, hidden] of sizes) {
  const model = CharModel.create({ vocabSize: VOCAB, hidden, layers, dropout: 0, cell: 'lstm', learnedInit: false }, 1);
  for (const batch of [1, 16]) {
    const steppers = [new BatchStepper(model, batch), modelStepper(model, batch)];
    const rates: number[][] = [[], []];
    for (let r = 0; r < repeats; r++) steppers.forEach((s, k) => rates[k].push(time(s)));
    const ratios = rates[1].map((x, r) => x / rates[0][r]);
    console.log(
      `lstm ${layers}x${hidden} batch ${batch}: per-layer kernels ${fmt(rates[0])}, whole step ${fmt(rates[1])}, ` +
        `${median(ratios).toFixed(2)}x [${Math.min(...ratios).toFixed(2)}–${Math.max(...ratios).toFixed(2)}]`,
    );
    steppers.forEach((s) => s.dispose());
  }
  model.dispose();
}
