// What column-step.ts and its workers (column-worker.ts) agree on; no tfjs, as the workers load none.
import type { OwnKernels } from './own-module.js';
import type { WholeStepCell } from './packed-model.js';

/**
 * Control words (an Int32Array over a SharedArrayBuffer of controlBytes(threads)), one per
 * thread, the main thread's first: how many barriers the thread has passed, counting a step's
 * start (the main thread's word only) and the end of each of its phases. Negative: the thread
 * has stopped (STOP; the main thread's, when the stepper is disposed) or failed (FAILED). Each
 * word has a cache line of its own, the number of threads asleep on it next to it.
 */
export const STOP = -1;
export const FAILED = -2;
const STRIDE = 16; // Int32s: 64 bytes
const SLEEPERS = 1;

export function controlBytes(threads: number): number {
  return 4 * STRIDE * threads;
}

/** What a worker needs once: the module and the memory the weights and plans are in, its plan and constant table there. */
export interface ColumnWorkerSetup {
  module: WebAssembly.Module;
  memory: WebAssembly.Memory;
  cell: WholeStepCell;
  layers: number;
  plan: number;
  table: number;
  /** Its control word, of `threads`. */
  index: number;
  threads: number;
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

/**
 * Signals that thread `index` passed barrier `count` (or stopped: STOP, FAILED). Atomics.notify
 * only where a thread sleeps on the word: it takes a process-wide lock, which cost threads that
 * notified together ~10 µs a barrier.
 */
export function signal(control: Int32Array, index: number, count: number): void {
  Atomics.store(control, index * STRIDE, count);
  if (Atomics.load(control, index * STRIDE + SLEEPERS) > 0) Atomics.notify(control, index * STRIDE);
}

/**
 * Waits until thread `index`'s word reaches `count` or goes negative, at most `timeoutMs`;
 * returns the word (below `count` and not negative: timed out).
 */
export function awaitCount(control: Int32Array, index: number, count: number, timeoutMs = Infinity): number {
  const at = index * STRIDE;
  const now = performance.now();
  const spinUntil = now + SPIN_MS;
  let seen = Atomics.load(control, at);
  while (seen >= 0 && seen < count && performance.now() < spinUntil) seen = Atomics.load(control, at);
  const deadline = now + timeoutMs;
  while (seen >= 0 && seen < count) {
    const left = deadline - performance.now();
    if (left <= 0) break;
    // Counted as a sleeper before the word is read again, so a signal after that read notifies.
    Atomics.add(control, at + SLEEPERS, 1);
    if (Atomics.load(control, at) === seen) Atomics.wait(control, at, seen, left);
    Atomics.sub(control, at + SLEEPERS, 1);
    seen = Atomics.load(control, at);
  }
  return seen;
}
