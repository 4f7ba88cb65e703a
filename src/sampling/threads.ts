/**
 * How many threads share sampling's steps (the wasm backend's whole step, split by each
 * layer's units and the output's columns: backend/wasm-kernels/column-step.ts). The threads
 * meet at a barrier after every layer, so each needs a core of its own: where other processes
 * kept both cores busy, two threads ran 0.02–0.80× of one (load 7.7–8.4 on 2 cores, every size
 * and batch). With the cores to themselves, a second thread costs ~80–145 ms at the start
 * (probing the cores, the worker's start) and gained 1.05–2.2× (but 0.56–0.89× at 3×512 batch 4
 * and 16 in one of two runs), so more than one only on idle cores, and where the whole sample
 * and each thread's share of a step are large enough.
 * Measured with `node dist-bench/sample-threads.js 3 2x128,2x256,3x512 1,4,16` (chars/s of
 * sampleStreams, the draws included; README, Speed), the cores given to it by scheduling it
 * above the other processes.
 */
import * as tf from '../tf.js';
import { availableParallelism, cpus } from 'node:os';
import { cellKernels } from '../cells/cell.js';
import type { CharModel } from '../model/model.js';

/**
 * Multiply-adds over the whole sample below which one thread is kept: two threads repaid their
 * start after 3.3–9.3e9 (39 characters a stream at 3×512 batch 16, 430 at 2×256 batch 16, 2,300
 * at 2×128 batch 16, 8,000–10,000 at 2×256 batch 1).
 */
export const PARALLEL_MIN_WORK = 1e10;
/**
 * Multiply-adds of one step a thread must have at least: with less, the barriers and the draws
 * (on this thread, the worker waiting) are a large part of a step. At 0.1–0.2e6 a thread (2×128,
 * one and two streams) two threads gained 0.91–1.06×; from 0.4e6 (2×256 one stream, 2×128 four)
 * 1.14–1.38×, at 2×256 and 3×512 batch 16 1.5–2.1×.
 */
export const PARALLEL_MIN_SHARE = 0.35e6;

/** How long `idleCores` watches the machine: a few scheduler ticks, short against a worker's start. */
const IDLE_PROBE_MS = 50;

/**
 * Multiply-adds of one step of one stream: layer 0's recurrence (its input is a row lookup),
 * the layers above's input and recurrence, the output.
 */
export function stepMultiplyAdds(model: CharModel): number {
  const { layers, hidden: H, vocabSize: V } = model.config;
  const N = model.cell.gates * H;
  return H * N + (layers - 1) * 2 * H * N + H * V;
}

/**
 * Cores other processes left idle over the next IDLE_PROBE_MS, this thread asleep meanwhile
 * (the CPUs' idle time, os.cpus). Not the load average: that counts this process's own recent
 * work (training, an earlier sample) as busy.
 */
export function idleCores(): number {
  const idleMs = () => cpus().reduce((sum, cpu) => sum + cpu.times.idle, 0);
  const before = idleMs();
  const start = performance.now();
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, IDLE_PROBE_MS);
  return (idleMs() - before) / (performance.now() - start);
}

/** Whether sampling `model` can share its steps between threads here: only with the cell's whole model step (on wasm: cells/fused.ts). */
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
 * share them (`samplingThreadsNote`); else `requested` if given; else, where the work pays
 * (PARALLEL_MIN_WORK, PARALLEL_MIN_SHARE), one per core left idle (`idle`: by default
 * probed now, only when the work pays), else one.
 */
export function samplingThreads(
  model: CharModel,
  streams: number,
  characters: number,
  requested?: number,
  idle: () => number = idleCores,
): number {
  if (!threadsShareSteps(model)) return 1;
  if (requested !== undefined) return Math.max(1, requested);
  const perStep = streams * stepMultiplyAdds(model);
  const paying = Math.min(availableParallelism(), Math.floor(perStep / PARALLEL_MIN_SHARE));
  if (characters * perStep < PARALLEL_MIN_WORK || paying < 2) return 1;
  return Math.max(1, Math.min(paying, Math.round(idle())));
}
