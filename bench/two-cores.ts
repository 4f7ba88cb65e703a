/**
 * How much one thread's kernel slows down while a second thread runs the same kernel: our
 * fused LSTM forward (wasm/lstm.ts, T50 B32) at a width whose packed U fits in a core's L1
 * and L2 (H 64: 64 KB), one where it about fills L2 (H 256: 1 MB) and one where it is in L3
 * only (H 512: 4 MB). Each thread has the module on a memory of its own, as the training
 * threads have. Rounds alternate this thread alone and beside the busy second thread, so a
 * change in the machine's state meanwhile falls on both alike.
 *
 *   node dist-bench/two-cores.js [rounds]   (wall time: run it on a quiet machine)
 */
import { readFileSync } from 'node:fs';
import { setFlagsFromString } from 'node:v8';
import { isMainThread, Worker, workerData } from 'node:worker_threads';
import { median } from './measure.js';

interface Kernels {
  setTable(ptr: number): void;
  lstmForward(...args: number[]): void;
}

const T = 50;
const B = 32;
const WIDTHS = [64, 256, 512];
const CALLS_PER_ROUND = 5;
const MB = 1 << 20;
/** The control words: 1 while the second thread should run (-1: end), the calls it has made, 1 while it sleeps. */
const BUSY = 0;
const CALLS = 1;
const PARKED = 2;

setFlagsFromString('--experimental-wasm-relaxed-simd'); // Node 20, as own-module.ts; in the worker too

/** A forward call's timer at width H, on a module and memory of its own (operands 16 MB apart, after the 1 MB table). */
function forwardAt(H: number): () => number {
  const memory = new WebAssembly.Memory({ initial: 2048 }); // 128 MB
  const bytes = readFileSync(new URL('../wasm/build/kernels-relaxed-simd.wasm', import.meta.url));
  const kernels = new WebAssembly.Instance(new WebAssembly.Module(bytes), { env: { memory } }).exports as unknown as Kernels;
  kernels.setTable(0);
  const heap = new Float32Array(memory.buffer);
  for (let i = MB / 4; i < heap.length; i++) heap[i] = Math.sin(i) * 0.1;
  const [zIn, U, h0, c0, hs, cs, gates, packed] = [1, 17, 33, 34, 35, 51, 67, 100].map((m) => m * MB);
  return () => {
    const start = performance.now();
    kernels.lstmForward(T, B, H, zIn, U, h0, c0, hs, cs, gates, 1, packed);
    return performance.now() - start;
  };
}

/** The second thread: runs the kernel at workerData.H while BUSY is 1, sleeps while it is 0, ends at -1. */
function keepBusy(): void {
  const { H, control } = workerData as { H: number; control: SharedArrayBuffer };
  const words = new Int32Array(control);
  const call = forwardAt(H);
  for (;;) {
    Atomics.store(words, PARKED, 1);
    Atomics.wait(words, BUSY, 0);
    if (Atomics.load(words, BUSY) < 0) return;
    Atomics.store(words, PARKED, 0);
    while (Atomics.load(words, BUSY) === 1) {
      call();
      Atomics.add(words, CALLS, 1);
    }
  }
}

/** Median milliseconds of a call at width H over `rounds` rounds, alone and beside the second thread. */
async function measure(H: number, rounds: number): Promise<{ alone: number; together: number }> {
  const call = forwardAt(H);
  const control = new SharedArrayBuffer(12);
  const words = new Int32Array(control);
  const worker = new Worker(new URL(import.meta.url), { workerData: { H, control } });
  const times = { alone: [] as number[], together: [] as number[] };
  call();
  while (Atomics.load(words, PARKED) === 0) await new Promise((resolve) => setImmediate(resolve)); // it is ready
  for (let r = 0; r < rounds; r++) {
    for (let k = 0; k < CALLS_PER_ROUND; k++) times.alone.push(call());
    const before = Atomics.load(words, CALLS);
    Atomics.store(words, BUSY, 1);
    Atomics.notify(words, BUSY);
    while (Atomics.load(words, CALLS) === before) await new Promise((resolve) => setImmediate(resolve)); // it is running
    for (let k = 0; k < CALLS_PER_ROUND; k++) times.together.push(call());
    Atomics.store(words, BUSY, 0);
    while (Atomics.load(words, PARKED) === 0) await new Promise((resolve) => setImmediate(resolve)); // its last call is over
  }
  Atomics.store(words, BUSY, -1);
  Atomics.notify(words, BUSY);
  await worker.terminate();
  return { alone: median(times.alone), together: median(times.together) };
}

if (isMainThread) {
  const rounds = Number(process.argv[2] ?? 8);
  console.log(
    `fused LSTM forward T${T} B${B}, relaxed-SIMD build; GFLOP/s of the recurrent product, medians of ${rounds} rounds × ${CALLS_PER_ROUND} calls`,
  );
  console.log('H      alone   beside a second thread   ratio');
  for (const H of WIDTHS) {
    const flops = 2 * T * B * H * 4 * H;
    const { alone, together } = await measure(H, rounds);
    const [a, t] = [alone, together].map((ms) => flops / ms / 1e6);
    console.log(`${String(H).padEnd(6)} ${a.toFixed(1).padStart(5)}   ${t.toFixed(1).padStart(22)}   ${(t / a).toFixed(2)}`);
  }
} else {
  keepBusy();
}
