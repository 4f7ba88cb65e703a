/**
 * Sampling's whole step on one thread and on two (column-step.ts: each layer's units and the
 * output's columns split between this thread and a worker, one shared copy of the weights),
 * side by side in one process on the wasm backend, LSTM models of the bench's sizes.
 * Alternates the two, so machine noise falls on both; prints, as medians with their spread [min–max]:
 *   start-up  ms from asking for the stepper to the first step's logits (one thread: the
 *             packing; two: also threads.ts's probe of the idle cores and the worker's start);
 *   chars/s   B / step time in WALL time (the point of a second thread), over about SECONDS;
 *   ratio     of two threads' chars/s to one's, repetition by repetition;
 *   with the draws  chars/s and ratio of `sampleStreams` on 1 and 2 threads (the characters drawn too);
 *   break-even  characters per stream after which two threads have paid their extra
 *             start-up: Δstart-up / (step time on one − on two).
 * and the load average before and after (the machine may be shared).
 *
 *   npm run bench:threads -- [repeats] [sizes] [batches]   (default 5 2x128,2x256,3x512 1,4,16)
 */
import { loadavg } from 'node:os';
import { selectBackend } from '../dist/backend/select.js';
import { ColumnSplitModelStep } from '../dist/backend/wasm-kernels/column-step.js';
import type { ModelStepper } from '../dist/cells/cell.js';
import { CharModel } from '../dist/model/model.js';
import { Vocabulary } from '../dist/data/vocab.js';
import { modelStepper, sampleStreams } from '../dist/sampling/sampler.js';
import { idleCores } from '../dist/sampling/threads.js';
import * as tf from '../dist/tf.js';
import { median } from './measure.js';

const VOCAB = 82; // warpeace.txt's
const VOCABULARY = new Vocabulary(Array.from({ length: VOCAB }, (_, k) => String.fromCharCode(32 + k)));
const SECONDS = 0.3; // per timing

/** The model's weights and B streams' initial state, as the whole step's constructors take them. */
function parts(model: CharModel, batch: number, make: (weights: tf.Tensor[], initial: tf.Tensor[][]) => ModelStepper): ModelStepper {
  const initial = model.initialState(batch);
  const stepper = make(
    model.weights.map((named) => named.tensor),
    initial,
  );
  tf.dispose(initial.flat());
  return stepper;
}

const ways: [string, number, (model: CharModel, batch: number) => ModelStepper][] = [
  ['1 thread', 1, (model, batch) => modelStepper(model, batch, 1)],
  // Made directly, after the probe the default rule makes before it takes a second thread (part of its start-up).
  ['2 threads', 2, (model, batch) => (idleCores(), parts(model, batch, (w, s) => new ColumnSplitModelStep('lstm', w, s, 2)))],
];

/**
 * Wall-clock chars/s of `sampleStreams` on `threads` threads (what `charrnn sample` runs: this
 * thread draws every stream's character between steps while the worker waits), from the first
 * step's characters on.
 */
function sampled(model: CharModel, batch: number, threads: number): number {
  const streams = Array.from({ length: batch }, (_, b) => ({ temperature: 1, seed: 1 + b }));
  let chars = -batch;
  let start = 0;
  for (const event of sampleStreams(model, VOCABULARY, { streams, length: 1_000_000, prime: '', keep: false, threads })) {
    if (event.type !== 'char' || event.stream !== batch - 1) continue;
    if (chars < 0) start = performance.now();
    chars += batch;
    if (chars % (10 * batch) === 0 && performance.now() - start >= SECONDS * 1000) break;
  }
  return chars / ((performance.now() - start) / 1000);
}

/** Start-up ms and wall-clock chars/s of the whole step made by `make`. */
function time(make: (model: CharModel, batch: number) => ModelStepper, model: CharModel, batch: number): { startMs: number; rate: number } {
  const ids = new Int32Array(batch).fill(5);
  let start = performance.now();
  const stepper = make(model, batch);
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
const batches = (process.argv[4] ?? '1,4,16').split(',').map(Number);
const backend = await selectBackend('wasm');
const load = () =>
  loadavg()
    .map((x) => x.toFixed(2))
    .join(' ');
console.log(`backend: ${backend.description}; load average ${load()}`);
console.log(`whole step and sampleStreams on 1 and 2 threads, wall clock, medians of ${repeats} alternating repeats [min–max]`);
const fmt = (xs: number[], digits = 0) =>
  `${median(xs).toFixed(digits)} [${Math.min(...xs).toFixed(digits)}–${Math.max(...xs).toFixed(digits)}]`;
for (const [layers, hidden] of sizes) {
  const model = CharModel.create({ vocabSize: VOCAB, hidden, layers, dropout: 0, cell: 'lstm', learnedInit: false }, 1);
  for (const batch of batches) {
    const runs = ways.map(() => [] as { startMs: number; rate: number; sampled: number }[]);
    for (let r = 0; r < repeats; r++)
      ways.forEach(([, threads, make], k) => runs[k].push({ ...time(make, model, batch), sampled: sampled(model, batch, threads) }));
    const [one, two] = runs;
    // Per stream: steps × (1/rate1 − 1/rate2) × B = extra start-up.
    const breakEven = two.map((x, r) => {
      const saved = batch / one[r].rate - batch / x.rate; // s per step
      return saved > 0 ? (x.startMs - one[r].startMs) / 1000 / saved : Infinity;
    });
    const rows = (rate: (x: (typeof one)[number]) => number) =>
      ways
        .map(([name], k) => {
          const ratio =
            k === 0
              ? ''
              : `, ${fmt(
                  runs[k].map((x, r) => rate(x) / rate(one[r])),
                  2,
                )}x`;
          return `${name} ${fmt(runs[k].map(rate))}${ratio}`;
        })
        .join('; ');
    const startUp = ways
      .map(
        ([name], k) =>
          `${name} ${fmt(
            runs[k].map((x) => x.startMs),
            1,
          )} ms`,
      )
      .join('; ');
    console.log(
      `lstm ${layers}x${hidden} batch ${batch}: step chars/s ${rows((x) => x.rate)}; start-up ${startUp}; break-even ${fmt(breakEven)} chars per stream`,
    );
    console.log(`  with the draws (sampleStreams) ${rows((x) => x.sampled)}`);
  }
  model.dispose();
}
console.log(`load average ${load()}`);
