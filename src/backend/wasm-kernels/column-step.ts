/**
 * Sampling's whole step on several threads that share one copy of the packed weights: each
 * thread runs every stream for its share of each layer's hidden units (all gates of a unit,
 * so it also updates their state) and of the output columns (packed-model.ts stepShares), in a
 * shared WebAssembly.Memory on an instance of our module built for one (own-module.ts); a
 * barrier on Atomics after each phase (column-shared.ts), this thread's phases run here, and
 * the logits are read where the threads wrote them. So each thread reads only its part of the
 * weights every step, and their one copy stays in the shared L3 cache (threads that each
 * stepped some of the streams on a copy of their own lost where two copies did not fit in it:
 * README, Speed). Every output's sum is in the same order whatever the share (wasm/sample.ts),
 * so seeded samples are the same text on any number of threads.
 */
import { MessageChannel, receiveMessageOnPort, Worker, type MessagePort } from 'node:worker_threads';
import type * as tf from '../../tf.js';
import type { ModelStepper } from '../../cells/cell.js';
import { WorkerError } from '../../errors.js';
import { sharedOwnKernelsModule } from './own-module.js';
import { instantiateOwnKernels, StepLayout, stepShares, type StepShape, type WholeStepCell } from './packed-model.js';
import { awaitCount, controlBytes, FAILED, signal, STOP, stepPhases, type ColumnWorkerSetup } from './column-shared.js';

/**
 * How long this thread waits for a worker at a barrier before giving up on it (a worker that
 * died cannot say so while this thread waits): a phase takes under a few ms, the first also
 * waits for the workers' start (measured up to ~0.5 s on a busy machine).
 */
const WORKER_TIMEOUT_MS = 10_000;
const PAGE = 65536;
/** The memory's limit in pages: the module declares it shared with wasm32's whole 4 GB as its maximum (wasm/asconfig.json). */
const MAX_PAGES = 65536;

let made = 0;

/** One line for the user (the CLI's exit 7), with the way round it. */
function workerError(what: string): WorkerError {
  return new WorkerError(`${what} (--threads 1 samples without worker threads)`);
}

/** How many column-split steppers have been made in this process (for tests that the sampler takes this path). */
export function columnStepsMade(): number {
  return made;
}

interface ColumnWorker {
  worker: Worker;
  errors: MessagePort;
}

export class ColumnSplitModelStep implements ModelStepper {
  private readonly workers: ColumnWorker[];
  private readonly control: Int32Array;
  private readonly phases: ((parity: number) => void)[];
  private readonly ids: Int32Array;
  private readonly logits: Float32Array;
  private readonly plans: number[];
  private count = 0; // barriers passed
  private parity = 0;
  readonly batch: number;
  readonly vocabSize: number;

  /** weights: in checkpoint order (model-step.ts); initial: per layer the cell's state (B, H), h first (both copied); `threads` ≥ 2. */
  constructor(cell: WholeStepCell, weights: tf.Tensor[], initial: tf.Tensor[][], threads: number) {
    const [B, H] = initial[0][0].shape;
    const [V, N] = weights[0].shape;
    this.batch = B;
    this.vocabSize = V;
    const shape: StepShape = { cell, layers: initial.length, hidden: H, vocabSize: V, gates: N / H };
    const module = sharedOwnKernelsModule();
    const memory = new WebAssembly.Memory({ initial: 1, maximum: MAX_PAGES, shared: true });
    let top = 16; // a bump allocator: everything lives as long as the stepper
    const malloc = (bytes: number) => {
      const at = top;
      top += Math.ceil(bytes / 16) * 16;
      const pages = Math.ceil(top / PAGE) - memory.buffer.byteLength / PAGE;
      if (pages > 0) memory.grow(pages);
      return at;
    };
    const kernels = instantiateOwnKernels(module, memory, malloc);
    const tables = Array.from({ length: threads - 1 }, () => malloc(kernels.TABLE_BYTES.value));
    const layout = new StepLayout(kernels, shape, B, stepShares(shape, threads));
    const origin = malloc(layout.bytes);
    layout.fill(
      memory.buffer,
      origin,
      weights.map((w) => w.dataSync() as Float32Array),
      initial.map((layer) => layer.map((s) => s.dataSync() as Float32Array)),
    );
    this.plans = layout.plans.map((plan) => origin + plan);
    this.ids = new Int32Array(memory.buffer, origin + layout.ids, B);
    this.logits = new Float32Array(memory.buffer, origin + layout.logits, B * V);
    this.phases = stepPhases(kernels, cell, shape.layers, this.plans[0]);
    const control = new SharedArrayBuffer(controlBytes(threads));
    this.control = new Int32Array(control);
    this.workers = tables.map((table, w) => {
      const { port1, port2 } = new MessageChannel();
      const setup: ColumnWorkerSetup & { errors: MessagePort } = {
        module,
        memory,
        cell,
        layers: shape.layers,
        plan: this.plans[1 + w],
        table,
        index: 1 + w,
        threads,
        control,
        errors: port2,
      };
      // No Node flags: the worker needs none (no tfjs, the module compiled), and some (--input-type) stop it starting.
      const worker = new Worker(new URL('./column-worker.js', import.meta.url), { workerData: setup, transferList: [port2], execArgv: [] });
      worker.unref(); // never keeps the process alive
      // One that cannot start misses its first barrier, which awaitWorker reports; its error event, later, must not end the process.
      worker.on('error', () => {});
      return { worker, errors: port1 };
    });
    made++;
  }

  /** As ModelStepper.step: every stream's logits, in the shared memory where the threads wrote them. */
  step(ids: Int32Array): Float32Array {
    if (ids.length !== this.batch) throw new RangeError(`expected ${this.batch} ids, got ${ids.length}`);
    this.ids.set(ids);
    signal(this.control, 0, ++this.count); // the start
    for (let k = 0; k < this.phases.length; k++) {
      this.phases[k](this.parity);
      signal(this.control, 0, ++this.count);
      for (let w = 1; w <= this.workers.length; w++) this.awaitWorker(w);
    }
    this.parity ^= 1;
    return this.logits;
  }

  private awaitWorker(index: number): void {
    const seen = awaitCount(this.control, index, this.count, WORKER_TIMEOUT_MS);
    if (seen >= this.count) return;
    if (seen >= 0) throw workerError(`sampling worker did not answer within ${WORKER_TIMEOUT_MS / 1000} s`);
    // Failed, or stopped because another worker failed: the reason is on some worker's port.
    const reason = this.workers.map(({ errors }) => receiveMessageOnPort(errors)?.message as string | undefined).find((m) => m);
    throw workerError(`sampling worker failed: ${reason ?? (seen === FAILED ? 'no reason given' : 'it stopped')}`);
  }

  dispose(): void {
    signal(this.control, 0, STOP);
    for (const { worker, errors } of this.workers) {
      errors.close();
      void worker.terminate();
    }
  }
}
