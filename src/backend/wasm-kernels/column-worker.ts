/**
 * A worker thread of the column-split whole step (column-step.ts): runs its share's phases of
 * every step on our module's instance over the shared memory, a barrier after each, as the
 * main thread starts the steps. On a failure, or when any other thread stops, it says so in
 * its control word and ends, so that no thread waits on it.
 */
import { workerData, type MessagePort } from 'node:worker_threads';
import { instantiateOwnKernels } from './packed-model.js';
import { awaitCount, FAILED, signal, STOP, stepPhases, type ColumnWorkerSetup } from './column-shared.js';

const setup = workerData as ColumnWorkerSetup & { errors: MessagePort };
const { index, threads } = setup;
const control = new Int32Array(setup.control);

/** Waits for every other thread to pass barrier `count`; false if one has stopped. */
function barrier(count: number): boolean {
  for (let k = 0; k < threads; k++) if (k !== index && awaitCount(control, k, count) < 0) return false;
  return true;
}

/** Runs the share's phases step after step, as the main thread starts them, until a thread stops. */
function run(phases: ((parity: number) => void)[]): void {
  let count = 0;
  for (let parity = 0; ; parity ^= 1) {
    if (awaitCount(control, 0, count + 1) < 0) return; // the step's start
    count++;
    for (let k = 0; k < phases.length; k++) {
      phases[k](parity);
      signal(control, index, ++count);
      if (!barrier(count)) return;
    }
  }
}

let status = STOP;
try {
  const kernels = instantiateOwnKernels(setup.module, setup.memory, () => setup.table);
  run(stepPhases(kernels, setup.cell, setup.layers, setup.plan));
} catch (err) {
  setup.errors.postMessage(err instanceof Error ? err.message : String(err));
  status = FAILED;
}
signal(control, index, status);
