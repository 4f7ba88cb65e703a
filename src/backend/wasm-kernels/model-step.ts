// The sampler's whole step (wasm/sample.ts, through packed-model.ts) on the wasm backend's
// heap: one call into our module per character for all streams. Not a tfjs kernel: the
// weights are packed once into memory of our own (the backend's malloc), where the state
// also lives, stepped in place, so a step makes no tensors and goes through no engine; the
// host writes the ids and reads the logits (B, V) back.
//
// Weights as the model holds them (checkpoint order, see model/model.ts), on the wasm backend:
//   per layer W (D, G·H), U (H, G·H), b (G·H); then Wy (H, V), by (V)
import type * as tf from '../../tf.js';
import { byteOffset, free, heapMemory, malloc, type WasmBackend } from './backend.js';
import { ownKernels } from './own-module.js';
import { PackedModelStep, type StepHeap, type WholeStepCell } from './packed-model.js';

export type { WholeStepCell } from './packed-model.js';

let calls = 0;

/** How many whole steps have run in this thread (for tests that the sampler takes this path). */
export function wholeStepCalls(): number {
  return calls;
}

/** The backend's heap as memory for our module. */
export function backendHeap(backend: WasmBackend): StepHeap {
  return {
    kernels: ownKernels(backend),
    memory: () => heapMemory(backend),
    malloc: (bytes) => malloc(backend, bytes),
    free: (ptr) => free(backend, ptr),
  };
}

export class WasmModelStep {
  private readonly packed: PackedModelStep;
  readonly batch: number;
  readonly vocabSize: number;

  /** weights: as above; initial: per layer the cell's state tensors (B, H), h first (copied). */
  constructor(backend: WasmBackend, cell: WholeStepCell, weights: tf.Tensor[], initial: tf.Tensor[][]) {
    const [B, H] = initial[0][0].shape;
    const [V, N] = weights[0].shape; // N = G·H
    const shape = { cell, layers: initial.length, hidden: H, vocabSize: V, gates: N / H };
    const states = initial.map((layer) => layer.map((s) => s.dataSync() as Float32Array));
    const offsets = weights.map((w) => byteOffset(backend, w));
    const views = () => weights.map((w, k) => new Float32Array(heapMemory(backend).buffer, offsets[k], w.size));
    this.packed = new PackedModelStep(backendHeap(backend), shape, views, states, B);
    this.batch = B;
    this.vocabSize = V;
  }

  /** Feeds one character id per stream, ids (B), and returns the next-character logits (B·V, row b for stream b). */
  step(ids: Int32Array): Float32Array {
    const logits = this.packed.step(ids).slice();
    calls++;
    return logits;
  }

  dispose(): void {
    this.packed.dispose();
  }
}
