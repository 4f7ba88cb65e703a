/**
 * How many threads share sampling's streams (the wasm backend's whole step: see
 * backend/wasm-kernels/column-step.ts; the figures below are from the streams split it replaced,
 * each thread with a copy of the weights, and are still to be re-measured for it). A second thread costs a worker's start (measured
 * 50–350 ms, medians 100–150, 2×128 to 2×384, ~250 at 3×512, on this 2-core machine; `npm run bench:threads`)
 * and a wake-up per step, saves at most half of each step, and reads a second copy of the
 * weights; so more than one only where the whole sample and each thread's share of a step
 * are large enough to pay, and the copies small enough to stay in cache together.
 */
import * as tf from '../tf.js';
import { availableParallelism } from 'node:os';
import { cellKernels } from '../cells/cell.js';
import type { CharModel } from '../model/model.js';

/**
 * Multiply-adds over the whole sample below which one thread is kept: the measured break-even
 * (extra start-up / time saved per step) was 1.8–4.2e9 at 2×128 batch 16 and 2×256 batch 8 and 16
 * over two runs (`npm run bench:threads`), about 0.15 s of one thread's work.
 */
export const PARALLEL_MIN_WORK = 3e9;
/**
 * Multiply-adds of one step a thread must have at least (a step's wake-up costs tens of µs):
 * at 2×128, 2 streams a thread (0.4e6) ran 0.62x and 1.16x on two threads in two runs;
 * 8 a thread (1.6e6) 1.58x and 1.69x.
 */
export const PARALLEL_MIN_SHARE = 1.5e6;

/**
 * Bytes the threads' copies of the packed weights may take together: each thread reads all
 * of its copy every step, and two threads gained only while both copies stayed in this
 * machine's shared 32 MB L3 (batch 16: 2×384, 2×7.7 MB, 1.57x; 2×512, 2×13 MB, 0.61x;
 * 3×512, 2×21 MB, 0.80x; `npm run bench:threads -- 5 2x384,2x512,3x512 16`).
 */
export const PARALLEL_MAX_WEIGHT_BYTES = 16 * 2 ** 20;

/** Bytes of the whole step's copy of the weights: layer 0's lookup table (V, G·H) and recurrence, the layers above's, the output layer. */
export function stepWeightBytes(model: CharModel): number {
  const { layers, hidden: H, vocabSize: V } = model.config;
  const N = model.cell.gates * H;
  return 4 * (V * N + H * N + (layers - 1) * (2 * H * N + N) + H * V + V);
}

/**
 * Multiply-adds of one step of one stream: layer 0's recurrence (its input is a row lookup),
 * the layers above's input and recurrence, the output.
 */
export function stepMultiplyAdds(model: CharModel): number {
  const { layers, hidden: H, vocabSize: V } = model.config;
  const N = model.cell.gates * H;
  return H * N + (layers - 1) * 2 * H * N + H * V;
}

/** Whether sampling `model` can share its streams between threads here: only with the cell's whole model step (on wasm: cells/fused.ts). */
function threadsShareSteps(model: CharModel): boolean {
  return cellKernels(model.cell).modelStep !== undefined;
}

/** Why `requested` threads will not sample `model` here, for the user; null when they will (or when no more than one was asked for). */
export function samplingThreadsNote(model: CharModel, requested: number | undefined): string | null {
  if (requested === undefined || requested <= 1 || threadsShareSteps(model)) return null;
  return `--threads ${requested} ignored: only the wasm backend shares sampling between threads, so sampling runs on one thread on ${tf.getBackend()}`;
}

/**
 * Threads for `streams` streams of `characters` steps each: one where the backend cannot
 * share them (`samplingThreadsNote`); else `requested` (at most one per stream) if given;
 * else one per core where the work pays (PARALLEL_MIN_WORK, PARALLEL_MIN_SHARE,
 * PARALLEL_MAX_WEIGHT_BYTES), else one.
 */
export function samplingThreads(model: CharModel, streams: number, characters: number, requested?: number): number {
  if (!threadsShareSteps(model)) return 1;
  if (requested !== undefined) return Math.max(1, Math.min(requested, streams));
  const perStream = stepMultiplyAdds(model);
  if (characters * streams * perStream < PARALLEL_MIN_WORK) return 1;
  const threads = Math.min(
    availableParallelism(),
    Math.floor((streams * perStream) / PARALLEL_MIN_SHARE),
    Math.floor(PARALLEL_MAX_WEIGHT_BYTES / stepWeightBytes(model)),
  );
  return Math.max(1, Math.min(threads, streams));
}
