// What column-step.ts and its workers (column-worker.ts) agree on; no tfjs, as the workers load none.
import type { OwnKernels } from './own-module.js';
import type { WholeStepCell } from './packed-model.js';

/**
 * Control words (Int32Array over a SharedArrayBuffer), one per thread, the main thread's
 * first: how many barriers the thread has passed, counting a step's start (the main thread's
 * word only) and the end of each of its phases. Negative: the thread has stopped (STOP; the
 * main thread's, when the stepper is disposed) or failed (FAILED).
 */
export const STOP = -1;
export const FAILED = -2;

/** What a worker needs once: the module and the memory the weights and plans are in, its plan and constant table there. */
export interface ColumnWorkerSetup {
  module: WebAssembly.Module;
  memory: WebAssembly.Memory;
  cell: WholeStepCell;
  layers: number;
  plan: number;
  table: number;
  /** Its control word. */
  index: number;
  control: SharedArrayBuffer;
}

/**
 * One step's phases on a share (wasm/sample.ts), each a barrier apart: every layer (the GRU's in
 * two, r∘h whole before its candidate's product), then the output columns. parity: which h buffer holds the old state.
 */
export function stepPhases(kernels: OwnKernels, cell: WholeStepCell, layers: number, plan: number): ((parity: number) => void)[] {
  const phases: ((parity: number) => void)[] = [];
  for (let l = 0; l < layers; l++) {
    phases.push((parity) => kernels.sampleLayer(plan, l, parity));
    if (cell === 'gru') phases.push((parity) => kernels.sampleCandidate(plan, l, parity));
  }
  phases.push((parity) => kernels.sampleOutput(plan, parity));
  return phases;
}

/**
 * How long a thread spins on a word before it sleeps in Atomics.wait: a phase takes tens to
 * hundreds of µs and the threads finish theirs close together, where a sleep and a wake-up
 * would cost tens of µs; between steps the main thread draws the characters.
 */
const SPIN_MS = 0.2;

/** Signals that thread `index` passed barrier `count` (or stopped: STOP, FAILED). */
export function signal(control: Int32Array, index: number, count: number): void {
  Atomics.store(control, index, count);
  Atomics.notify(control, index);
}

/**
 * Waits until word `index` reaches `count` or goes negative, at most `timeoutMs`; returns the
 * word (below `count` and not negative: timed out).
 */
export function awaitCount(control: Int32Array, index: number, count: number, timeoutMs = Infinity): number {
  const now = performance.now();
  const spinUntil = now + SPIN_MS;
  let seen = Atomics.load(control, index);
  while (seen >= 0 && seen < count && performance.now() < spinUntil) seen = Atomics.load(control, index);
  const deadline = now + timeoutMs;
  while (seen >= 0 && seen < count) {
    const left = deadline - performance.now();
    if (left <= 0) break;
    Atomics.wait(control, index, seen, left);
    seen = Atomics.load(control, index);
  }
  return seen;
}
