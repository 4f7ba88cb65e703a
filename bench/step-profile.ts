/**
 * Where one training step's time goes, on the wasm backend: every kernel of the backend
 * timed (exclusive of kernels it calls), grouped by the part of the step that ran it —
 * forward + backward (computeGradients), clipping, Adam — and, with 2 threads, the
 * data-parallel step's own parts (publishing weights, combining shard gradients) and the
 * time this thread waits for the worker. JS/engine overhead = a part's time − its kernels'.
 *
 *   npm run bench:profile -- [steps] [sizes] [threads]   (sizes: hidden sizes, default 128,256, 2 layers, seq 50
 *                                  batch 50 at 128, seq 100 batch 64 above; threads: default 1,2)
 */
import * as tf from '../dist/tf.js';
import { selectBackend } from '../dist/backend/select.js';
import { CharModel } from '../dist/model/model.js';
import { Adam, clipScale } from '../dist/training/adam.js';
import { computeGradients, type Gradients } from '../dist/training/gradients.js';
import { GradientPool } from '../dist/training/data-parallel.js';
import type { RecurrentState } from '../dist/cells/cell.js';
import { median } from './measure.js';

const VOCAB = 82; // warpeace.txt's

/** Per kernel name: exclusive milliseconds and calls, since the last reset. */
class KernelClock {
  readonly totals = new Map<string, { ms: number; calls: number }>();
  private readonly stack: number[] = []; // time spent in callees, per open kernel

  install(): void {
    for (const config of tf.getKernelsForBackend('wasm')) {
      const { kernelName, kernelFunc } = config;
      const timed: tf.KernelFunc = (args) => {
        this.stack.push(0);
        const start = performance.now();
        try {
          return kernelFunc(args);
        } finally {
          const elapsed = performance.now() - start;
          const inner = this.stack.pop()!;
          if (this.stack.length > 0) this.stack[this.stack.length - 1] += elapsed;
          const entry = this.totals.get(kernelName) ?? { ms: 0, calls: 0 };
          entry.ms += elapsed - inner;
          entry.calls++;
          this.totals.set(kernelName, entry);
        }
      };
      tf.unregisterKernel(kernelName, 'wasm');
      tf.registerKernel({ ...config, kernelFunc: timed });
    }
  }

  total(): number {
    let ms = 0;
    for (const e of this.totals.values()) ms += e.ms;
    return ms;
  }

  reset(): void {
    this.totals.clear();
  }
}

const clock = new KernelClock();

interface Part {
  ms: number;
  kernelMs: number;
}

/** Runs `f`, adding its wall time and its kernels' time to `parts[name]`. */
async function part<R>(parts: Map<string, Part[]>, name: string, f: () => R | Promise<R>): Promise<R> {
  const k0 = clock.total();
  const t0 = performance.now();
  const result = await f();
  const entry = { ms: performance.now() - t0, kernelMs: clock.total() - k0 };
  parts.set(name, [...(parts.get(name) ?? []), entry]);
  return result;
}

function table(
  title: string,
  parts: Map<string, Part[]>,
  kernels: Map<string, { ms: number; calls: number }>,
  steps: number,
  cpuMs: number,
): void {
  const step = median(parts.get('step')!.map((p) => p.ms));
  console.log(`\n${title}: step ${step.toFixed(1)} ms (median of ${steps}), cpu ${cpuMs.toFixed(1)} ms/step (all threads, mean)`);
  console.log('  part                        ms   share  kernels  JS/engine');
  for (const [name, entries] of parts) {
    if (name === 'step') continue;
    const ms = median(entries.map((e) => e.ms));
    const kms = median(entries.map((e) => e.kernelMs));
    console.log(
      `  ${name.padEnd(24)} ${ms.toFixed(2).padStart(7)} ${((100 * ms) / step).toFixed(1).padStart(6)}% ${kms.toFixed(2).padStart(8)} ${(ms - kms).toFixed(2).padStart(9)}`,
    );
  }
  console.log('  kernel (this thread)        ms/step  share  calls/step');
  const rows = [...kernels].sort((a, b) => b[1].ms - a[1].ms);
  for (const [name, { ms, calls }] of rows.slice(0, 16)) {
    console.log(
      `  ${name.padEnd(26)} ${(ms / steps).toFixed(2).padStart(7)} ${((100 * ms) / steps / step).toFixed(1).padStart(6)}% ${(calls / steps).toFixed(0).padStart(8)}`,
    );
  }
  const rest = rows.slice(16).reduce((s, [, e]) => s + e.ms, 0);
  console.log(
    `  ${'(other kernels)'.padEnd(26)} ${(rest / steps).toFixed(2).padStart(7)} ${((100 * rest) / steps / step).toFixed(1).padStart(6)}%`,
  );
}

async function profile(hidden: number, threads: number, steps: number): Promise<void> {
  const [seq, batch] = hidden <= 128 ? [50, 50] : [100, 64];
  const model = CharModel.create({ vocabSize: VOCAB, hidden, layers: 2, dropout: 0, cell: 'lstm', learnedInit: false }, 1);
  const adam = new Adam(model.variables);
  const ids = Int32Array.from({ length: seq * batch }, (_, k) => (k * 31) % VOCAB);
  const pool = threads > 1 ? new GradientPool(model, threads, 'wasm') : null;
  if (pool) {
    // Private methods, timed from outside: the bench only.
    const p = pool as unknown as Record<string, (...args: unknown[]) => unknown>;
    for (const name of ['publishWeights', 'combine']) {
      const original = p[name].bind(pool);
      p[name] = (...args: unknown[]) => {
        const k0 = clock.total();
        const t0 = performance.now();
        const r = original(...args);
        poolParts.push({ name, ms: performance.now() - t0, kernelMs: clock.total() - k0 });
        return r;
      };
    }
  }
  const poolParts: { name: string; ms: number; kernelMs: number }[] = [];
  let state: RecurrentState[] = model.initialState(batch);
  const parts = new Map<string, Part[]>();
  const run = async (record: boolean) => {
    const mine = record ? parts : new Map<string, Part[]>();
    poolParts.length = 0;
    await part(mine, 'step', async () => {
      const { grads, final } = await part(mine, pool ? 'shard step (source)' : 'forward+backward', () =>
        pool ? pool.source(state, { inputs: ids, targets: ids }, 1) : (computeGradients(model, state, ids, ids, 1) as Gradients),
      );
      const { scale } = await part(mine, 'clip norm', () => clipScale(grads, 5));
      await part(mine, 'adam', () => adam.apply(grads, 2e-3, scale));
      tf.dispose([...grads, ...state.flat()]);
      state = final;
    });
    if (record) for (const { name, ms, kernelMs } of poolParts) mine.set(name, [...(mine.get(name) ?? []), { ms, kernelMs }]);
  };
  for (let k = 0; k < 3; k++) await run(false);
  clock.reset();
  const cpu = process.cpuUsage();
  for (let k = 0; k < steps; k++) await run(true);
  const { user, system } = process.cpuUsage(cpu);
  const cpuMs = (user + system) / 1000 / steps; // every thread's, workers' included
  const kernels = new Map(clock.totals);
  if (pool) {
    // What remains of the source's time is this thread's shard and the wait for the worker's.
    const source = parts.get('shard step (source)')!;
    const own = source.map((s, k) => ({
      ms: s.ms - parts.get('publishWeights')![k].ms - parts.get('combine')![k].ms,
      kernelMs: s.kernelMs - parts.get('publishWeights')![k].kernelMs - parts.get('combine')![k].kernelMs,
    }));
    parts.set('  shard 0 + wait', own);
    await pool.close();
  }
  table(`2x${hidden} seq ${seq} batch ${batch}, ${threads} thread${threads > 1 ? 's' : ''}`, parts, kernels, steps, cpuMs);
  tf.dispose(state.flat());
  adam.dispose();
  model.dispose();
}

const steps = Number(process.argv[2] ?? 10);
const sizes = (process.argv[3] ?? '128,256').split(',').map(Number);
const backend = await selectBackend('wasm');
clock.install();
console.log(`backend: ${backend.description}; tensors before: ${tf.memory().numTensors}`);
const threadCounts = (process.argv[4] ?? '1,2').split(',').map(Number);
for (const hidden of sizes) for (const threads of threadCounts) await profile(hidden, threads, steps);
console.log(`\ntensors after: ${tf.memory().numTensors}`);
