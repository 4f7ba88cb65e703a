/**
 * Sampling's whole step on several threads: the streams are independent, so they are split
 * into shards; this thread steps the first on the wasm backend's heap (model-step.ts) while
 * each worker thread steps another on an instance of our module with memory of its own
 * (step-worker.ts). Per step the ids go out and the logits rows come back through shared
 * memory, synchronised with Atomics (no message per step). Every stream's arithmetic is
 * the same as on one thread (its row of each product sums in the same order whatever the
 * batch), so seeded samples are the same text.
 */
import { MessageChannel, receiveMessageOnPort, Worker, type MessagePort } from 'node:worker_threads';
import type * as tf from '../../tf.js';
import type { ModelStepper } from '../../cells/cell.js';
import { shardRanges } from '../../training/data-parallel.js';
import type { WasmBackend } from './backend.js';
import { WasmModelStep } from './model-step.js';
import { ownKernelsModule } from './own-module.js';
import type { StepShape, WholeStepCell } from './packed-model.js';
import { CONTROL, FAILED, STOP, type StepWorkerSetup } from './step-shared.js';

/**
 * How long this thread waits for a worker's step before giving up on it (a worker that died
 * cannot say so while this thread waits): a step takes milliseconds (3×512, 8 streams:
 * ~5 ms), the first also waits for the worker's start (measured up to ~0.5 s on a busy machine).
 */
const WORKER_TIMEOUT_MS = 10_000;

let threadedSteps = 0;

/** How many threaded steppers have been made in this process (for tests that the sampler takes this path). */
export function threadedStepsMade(): number {
  return threadedSteps;
}

interface StepWorker {
  worker: Worker;
  errors: MessagePort;
  from: number;
  to: number;
}

export class ThreadedModelStep implements ModelStepper {
  private readonly local: WasmModelStep;
  private readonly workers: StepWorker[];
  private readonly control: Int32Array;
  private readonly ids: Int32Array;
  private readonly logits: Float32Array;
  /** What step returns: every stream's logits, reused from step to step. */
  private readonly out: Float32Array;
  private readonly localStreams: number;
  private generation = 0;
  readonly batch: number;
  readonly vocabSize: number;

  /** weights and initial (B, H) as model-step.ts takes them; `threads` ≥ 2 shards of the B streams. */
  constructor(backend: WasmBackend, cell: WholeStepCell, weights: tf.Tensor[], initial: tf.Tensor[][], threads: number) {
    const [B, H] = initial[0][0].shape;
    const [V, N] = weights[0].shape;
    this.batch = B;
    this.vocabSize = V;
    const ranges = shardRanges(B, threads);
    const shape: StepShape = { cell, layers: initial.length, hidden: H, vocabSize: V, gates: N / H };
    const control = new SharedArrayBuffer(4 * threads);
    const ids = new SharedArrayBuffer(4 * B);
    const logits = new SharedArrayBuffer(4 * B * V);
    this.control = new Int32Array(control);
    this.ids = new Int32Array(ids);
    this.logits = new Float32Array(logits);
    this.out = new Float32Array(B * V);
    const values = weights.map((w) => w.dataSync() as Float32Array);
    const states = initial.map((layer) => layer.map((s) => s.dataSync() as Float32Array));
    const [, localTo] = ranges[0];
    this.localStreams = localTo;
    const localInitial = initial.map((layer) => layer.map((s) => s.slice([0, 0], [localTo, H])));
    this.local = new WasmModelStep(backend, cell, weights, localInitial);
    localInitial.flat().forEach((s) => s.dispose());
    const module = ownKernelsModule();
    this.workers = ranges.slice(1).map(([from, to], w) => {
      const { port1, port2 } = new MessageChannel();
      const rows = states.map((layer) => layer.map((s) => s.slice(from * H, to * H)));
      const setup: StepWorkerSetup & { errors: MessagePort } = {
        module,
        shape,
        weights: values,
        initial: rows,
        from,
        to,
        slot: 1 + w,
        control,
        ids,
        logits,
        errors: port2,
      };
      // No Node flags: the worker needs none (no tfjs, the module compiled), and some (--input-type) stop it starting.
      const worker = new Worker(new URL('./step-worker.js', import.meta.url), { workerData: setup, transferList: [port2], execArgv: [] });
      worker.unref(); // never keeps the process alive
      return { worker, errors: port1, from, to };
    });
    threadedSteps++;
  }

  /** As ModelStepper.step: the logits of every stream, this thread's and the workers', in one reused buffer. */
  step(ids: Int32Array): Float32Array {
    if (ids.length !== this.batch) throw new RangeError(`expected ${this.batch} ids, got ${ids.length}`);
    const generation = ++this.generation;
    this.ids.set(ids);
    Atomics.store(this.control, CONTROL, generation);
    Atomics.notify(this.control, CONTROL);
    const { out } = this;
    out.set(this.local.step(ids.subarray(0, this.localStreams)));
    this.workers.forEach(({ errors, from, to }, w) => {
      this.awaitWorker(1 + w, generation, errors);
      out.set(this.logits.subarray(from * this.vocabSize, to * this.vocabSize), from * this.vocabSize);
    });
    return out;
  }

  private awaitWorker(slot: number, generation: number, errors: MessagePort): void {
    const deadline = Date.now() + WORKER_TIMEOUT_MS;
    for (;;) {
      const seen = Atomics.load(this.control, slot);
      if (seen === generation) return;
      if (seen === FAILED) throw new Error(`sampling worker failed: ${receiveMessageOnPort(errors)?.message ?? 'no reason given'}`);
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`sampling worker did not answer within ${WORKER_TIMEOUT_MS / 1000} s`);
      Atomics.wait(this.control, slot, seen, left);
    }
  }

  dispose(): void {
    Atomics.store(this.control, CONTROL, STOP);
    Atomics.notify(this.control, CONTROL);
    for (const { worker, errors } of this.workers) {
      errors.close();
      void worker.terminate();
    }
    this.local.dispose();
  }
}
