/**
 * Sampling's whole step on one thread against the streams shared out between two (the main
 * thread and a worker: src/backend/wasm-kernels/threaded-step.ts), side by side in one
 * process on the wasm backend, LSTM models of the bench's sizes. Alternates the two, so
 * machine noise falls on both; prints, as medians with their spread [min–max]:
 *   start-up  ms from asking for the stepper to the first step's logits (one thread: the
 *             packing; two: also the worker's start);
 *   chars/s   B / step time in WALL time (the point of a second thread), over about SECONDS;
 *   ratio     of the two threads' chars/s to one's, repetition by repetition;
 *   break-even  characters per stream after which two threads have paid their extra
 *             start-up: Δstart-up / (step time on one − on two).
 * and the load average before and after (the machine may be shared).
 *
 *   npm run bench:threads -- [repeats] [sizes] [batches]   (default 5 2x128,2x256,3x512 4,16)
 */
import { loadavg } from 'node:os';
import { selectBackend } from '../dist/backend/select.js';
import { CharModel } from '../dist/model/model.js';
import { modelStepper } from '../dist/sampling/sampler.js';
import { median } from './measure.js';

const VOCAB = 82; // warpeace.txt's
const SECONDS = 0.3; // per timing

/** Start-up ms and wall-clock chars/s of the whole step on `threads` threads. */
function time(model: CharModel, batch: number, threads: number): { startMs: number; rate: number } {
  const ids = new Int32Array(batch).fill(5);
  let start = performance.now();
  const stepper = modelStepper(model, batch, threads);
  stepper.step(ids);
  const startMs = performance.now() - start;
  for (let k = 0; k < 5; k++) stepper.step(ids); // warm-up
  let steps = 0;
  start = performance.now();
  let elapsed = 0;
  while (elapsed < SECONDS * 1000) {
    for (let k = 0; k < 10; k++) stepper.step(ids);
    steps += 10;
    elapsed = performance.now() - start;
  }
  stepper.dispose();
  return { startMs, rate: (steps * batch) / (elapsed / 1000) };
}

const repeats = Number(process.argv[2] ?? 5);
const sizes = (process.argv[3] ?? '2x128,2x256,3x512').split(',').map((s) => s.split('x').map(Number));
const batches = (process.argv[4] ?? '4,16').split(',').map(Number);
const backend = await selectBackend('wasm');
const load = () =>
  loadavg()
    .map((x) => x.toFixed(2))
    .join(' ');
console.log(`backend: ${backend.description}; load average ${load()}`);
console.log(`whole step on 1 and 2 threads, wall clock, medians of ${repeats} alternating repeats [min–max]`);
const fmt = (xs: number[], digits = 0) =>
  `${median(xs).toFixed(digits)} [${Math.min(...xs).toFixed(digits)}–${Math.max(...xs).toFixed(digits)}]`;
for (const [layers, hidden] of sizes) {
  const model = CharModel.create({ vocabSize: VOCAB, hidden, layers, dropout: 0, cell: 'lstm', learnedInit: false }, 1);
  for (const batch of batches) {
    const runs: { startMs: number; rate: number }[][] = [[], []];
    for (let r = 0; r < repeats; r++) [1, 2].forEach((threads, k) => runs[k].push(time(model, batch, threads)));
    const [one, two] = runs;
    const ratios = two.map((x, r) => x.rate / one[r].rate);
    // Per stream: steps × (1/rate1 − 1/rate2) × B = extra start-up.
    const breakEven = two.map((x, r) => {
      const saved = batch / one[r].rate - batch / x.rate; // s per step
      return saved > 0 ? (x.startMs - one[r].startMs) / 1000 / saved : Infinity;
    });
    console.log(
      `lstm ${layers}x${hidden} batch ${batch}: start-up ms 1 thread ${fmt(
        one.map((x) => x.startMs),
        1,
      )}, 2 ${fmt(
        two.map((x) => x.startMs),
        1,
      )}; ` +
        `chars/s 1 thread ${fmt(one.map((x) => x.rate))}, 2 ${fmt(two.map((x) => x.rate))}, ${fmt(ratios, 2)}x; ` +
        `break-even ${fmt(breakEven)} chars per stream`,
    );
  }
  model.dispose();
}
console.log(`load average ${load()}`);
