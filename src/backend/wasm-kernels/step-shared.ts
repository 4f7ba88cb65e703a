// What threaded-step.ts and its workers (step-worker.ts) agree on; no tfjs, as the workers load none.
import type { StepShape } from './packed-model.js';

/**
 * Control words (Int32Array over a SharedArrayBuffer): [CONTROL] the step's generation, or
 * STOP; [1 + w] the last generation worker w finished, or FAILED.
 */
export const CONTROL = 0;
export const STOP = -1;
export const FAILED = -2;

/** What a worker needs once. weights: in checkpoint order (model-step.ts), copied; initial: per layer its streams' state rows. */
export interface StepWorkerSetup {
  module: WebAssembly.Module;
  shape: StepShape;
  weights: Float32Array[];
  initial: Float32Array[][];
  /** Its streams [from, to) of the batch. */
  from: number;
  to: number;
  /** Its control word. */
  slot: number;
  control: SharedArrayBuffer;
  /** ids (B) int32 and logits (B, V) float32 of the whole batch. */
  ids: SharedArrayBuffer;
  logits: SharedArrayBuffer;
}
