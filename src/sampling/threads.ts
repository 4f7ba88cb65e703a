/**
 * How many threads share sampling's streams (the wasm backend's whole step: see
 * backend/wasm-kernels/threaded-step.ts). A second thread costs a worker's start (measured
 * ~60–350 ms, median ~100–150, 2×128 to 2×256 on this 2-core machine; `npm run bench:threads`)
 * and a wake-up per step, and saves at most half of each step; so more than one only where
 * both the whole sample and each thread's share of a step are large enough to pay.
 */
import { availableParallelism } from 'node:os';
import type { CharModel } from '../model/model.js';

/**
 * Multiply-adds over the whole sample below which one thread is kept: the measured break-even
 * (extra start-up / time saved per step) was 1.8–3.1e9 at 2×128 batch 16 and 2×256 batch 8 and 16
 * (`npm run bench:threads`), about 0.15 s of one thread's work.
 */
export const PARALLEL_MIN_WORK = 3e9;
/**
 * Multiply-adds of one step a thread must have at least: at 2×128, 2 streams a thread
 * (0.4e6) ran slower on two threads than on one; 8 a thread (1.6e6) 1.3–1.8x faster.
 */
export const PARALLEL_MIN_SHARE = 1.5e6;

/** Multiply-adds of one step of one stream: layer 0's recurrence (its input is a row lookup), the layers above's input and recurrence, the output. */
export function stepMultiplyAdds(model: CharModel): number {
  const { layers, hidden: H, vocabSize: V } = model.config;
  const N = model.cell.gates * H;
  return H * N + (layers - 1) * 2 * H * N + H * V;
}

/**
 * Threads for `streams` streams of `characters` steps each: `requested` (at most one per
 * stream) if given; else one per core where the work pays (PARALLEL_MIN_WORK, PARALLEL_MIN_SHARE), else one.
 */
export function samplingThreads(model: CharModel, streams: number, characters: number, requested?: number): number {
  if (requested !== undefined) return Math.max(1, Math.min(requested, streams));
  const perStream = stepMultiplyAdds(model);
  if (characters * streams * perStream < PARALLEL_MIN_WORK) return 1;
  const threads = Math.min(availableParallelism(), Math.floor((streams * perStream) / PARALLEL_MIN_SHARE));
  return Math.max(1, Math.min(threads, streams));
}
