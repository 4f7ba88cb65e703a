/**
 * A worker thread of the threaded whole step (threaded-step.ts): steps its share of the
 * streams on an instance of our module with memory of its own (no tfjs), step by step as
 * the main thread bumps the generation word; ids in and logits out through shared memory.
 */
import { workerData, type MessagePort } from 'node:worker_threads';
import { instantiateOwnKernels, PackedModelStep, type StepHeap } from './packed-model.js';
import { CONTROL, FAILED, STOP, type StepWorkerSetup } from './step-shared.js';

const setup = workerData as StepWorkerSetup & { errors: MessagePort };
const { from, to, slot } = setup;
const memory = new WebAssembly.Memory({ initial: 1 });
let top = 16; // a bump allocator: everything lives as long as the thread
function malloc(bytes: number): number {
  const at = top;
  top += Math.ceil(bytes / 16) * 16;
  const pages = Math.ceil(top / 65536) - memory.buffer.byteLength / 65536;
  if (pages > 0) memory.grow(pages);
  return at;
}
const control = new Int32Array(setup.control);
let generation = 0;
try {
  const kernels = instantiateOwnKernels(setup.module, memory, malloc);
  const heap: StepHeap = { kernels, memory: () => memory, malloc, free: () => {} };
  const stepper = new PackedModelStep(heap, setup.shape, () => setup.weights, setup.initial, to - from);
  const ids = new Int32Array(setup.ids, from * 4, to - from);
  const logits = new Float32Array(setup.logits, from * setup.shape.vocabSize * 4, (to - from) * setup.shape.vocabSize);
  for (;;) {
    Atomics.wait(control, CONTROL, generation);
    const next = Atomics.load(control, CONTROL);
    if (next === STOP) break;
    generation = next;
    logits.set(stepper.step(ids));
    Atomics.store(control, slot, generation);
    Atomics.notify(control, slot);
  }
} catch (err) {
  setup.errors.postMessage(err instanceof Error ? err.message : String(err));
  Atomics.store(control, slot, FAILED);
  Atomics.notify(control, slot);
}
