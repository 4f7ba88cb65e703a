/**
 * Where one training step's time goes, on the wasm backend: every kernel of the backend
 * timed (exclusive of kernels it calls), grouped by the part of the step that ran it —
 * forward + backward (computeGradients), clipping, Adam — and, with 2 threads, the
 * data-parallel step's own parts (publishing weights, combining shard gradients) and the
 * time this thread waits for the worker. JS/engine overhead = a part's time − its kernels'.
 *
 *   npm run bench:profile -- [steps] [sizes] [threads]   (sizes: default 128,256; a hidden size H is 2×H, seq 50
 *          batch 50 at 128, seq 100 batch 64 above; a name of `npm run bench`'s, e.g. 3x512, is its shape;
 *          threads: default 1,2)
 *
 * Products (BatchMatMul) and the fused LSTM layer's calls are listed by shape with their GFLOP/s
 * (the layer's: its recurrent product's flops, 2·T·B·H·4H per call).
 */
import { readdirSync, readFileSync } from 'node:fs';
import * as tf from '../dist/tf.js';
import { selectBackend } from '../dist/backend/select.js';
import { CharModel } from '../dist/model/model.js';
import { Adam, clipScale } from '../dist/training/adam.js';
import { computeGradients, type Gradients } from '../dist/training/gradients.js';
import { GradientPool } from '../dist/training/data-parallel.js';
import type { RecurrentState } from '../dist/cells/cell.js';
import { median } from './measure.js';
import { CONFIGS, type BenchConfig } from './options.js';

const VOCAB = 82; // warpeace.txt's

/** A kernel call's row in the table: its name, and for the products its shape and flops. */
function describe(kernelName: string, { inputs, attrs }: Parameters<tf.KernelFunc>[0]): { row: string; flops: number } {
  const shape = (name: string) => (inputs[name] as tf.TensorInfo).shape;
  if (kernelName === tf.BatchMatMul || kernelName === tf._FusedMatMul) {
    const { transposeA, transposeB } = attrs as unknown as tf.BatchMatMulAttrs;
    const [a, b] = [shape('a'), shape('b')];
    const [m, k] = (transposeA ? [...a].reverse() : a).slice(-2);
    const n = (transposeB ? b[b.length - 2] : b[b.length - 1]) as number;
    const batch = tf.util.sizeFromShape(a.slice(0, -2));
    const op = `${transposeA ? 'Aᵀ' : 'A'}·${transposeB ? 'Bᵀ' : 'B'}`;
    return { row: `${kernelName} ${op} ${batch > 1 ? `${batch}×` : ''}${m}×${k}·${n}`, flops: 2 * batch * m * k * n };
  }
  if (kernelName === 'CharrnnLstmForward' || kernelName === 'CharrnnLstmBackward') {
    const [B, H] = shape(kernelName === 'CharrnnLstmForward' ? 'h0' : 'c0');
    const T = shape(kernelName === 'CharrnnLstmForward' ? 'zIn' : 'dHs')[0] / B;
    return { row: `${kernelName} T${T} B${B} H${H}`, flops: 2 * T * B * H * 4 * H };
  }
  return { row: kernelName, flops: 0 };
}

/** Per table row (kernel, and shape where describe gives one): exclusive milliseconds, calls and flops, since the last reset. */
class KernelClock {
  readonly totals = new Map<string, { ms: number; calls: number; flops: number }>();
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
          const { row, flops } = describe(kernelName, args);
          const entry = this.totals.get(row) ?? { ms: 0, calls: 0, flops: 0 };
          entry.ms += elapsed - inner;
          entry.calls++;
          entry.flops += flops;
          this.totals.set(row, entry);
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

/**
 * CPU milliseconds of each of this process's threads so far, by thread id, with its name (Linux's
 * /proc; empty elsewhere): whether a thread waits for the worker because the worker has more to
 * do, or because it got less of a core.
 */
function threadCpu(): Map<string, { name: string; ms: number }> {
  const threads = new Map<string, { name: string; ms: number }>();
  let tids: string[];
  try {
    tids = readdirSync('/proc/self/task');
  } catch {
    return threads;
  }
  for (const tid of tids) {
    try {
      const stat = readFileSync(`/proc/self/task/${tid}/stat`, 'utf8');
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' '); // from field 3 (state) on
      const ticks = Number(fields[11]) + Number(fields[12]); // utime + stime, fields 14 and 15
      const name = tid === String(process.pid) ? 'main' : stat.slice(stat.indexOf('(') + 1, stat.lastIndexOf(')'));
      threads.set(tid, { name, ms: ticks * 10 }); // USER_HZ = 100
    } catch {
      // the thread ended meanwhile
    }
  }
  return threads;
}

/** "name ms" per thread that used at least 2% of a step's CPU between two threadCpu() readings, per step. */
function threadShares(before: Map<string, { ms: number }>, after: Map<string, { name: string; ms: number }>, steps: number): string {
  const used = [...after].map(([tid, { name, ms }]) => ({ name, ms: (ms - (before.get(tid)?.ms ?? 0)) / steps }));
  const total = used.reduce((sum, t) => sum + t.ms, 0);
  return used
    .filter((t) => t.ms >= 0.02 * total)
    .sort((a, b) => b.ms - a.ms)
    .map((t) => `${t.name} ${t.ms.toFixed(0)}`)
    .join(', ');
}

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
  kernels: Map<string, { ms: number; calls: number; flops: number }>,
  steps: number,
  cpuMs: number,
  perThread: string,
): void {
  const step = median(parts.get('step')!.map((p) => p.ms));
  console.log(`\n${title}: step ${step.toFixed(1)} ms (median of ${steps}), cpu ${cpuMs.toFixed(1)} ms/step (all threads, mean)`);
  if (perThread) console.log(`  cpu ms/step by thread: ${perThread}`);
  console.log('  part                        ms   share  kernels  JS/engine');
  for (const [name, entries] of parts) {
    if (name === 'step') continue;
    const ms = median(entries.map((e) => e.ms));
    const kms = median(entries.map((e) => e.kernelMs));
    console.log(
      `  ${name.padEnd(24)} ${ms.toFixed(2).padStart(7)} ${((100 * ms) / step).toFixed(1).padStart(6)}% ${kms.toFixed(2).padStart(8)} ${(ms - kms).toFixed(2).padStart(9)}`,
    );
  }
  console.log(`  ${'kernel (this thread)'.padEnd(48)} ms/step  share  calls/step  GFLOP/s`);
  const rows = [...kernels].sort((a, b) => b[1].ms - a[1].ms);
  for (const [name, { ms, calls, flops }] of rows.slice(0, 24)) {
    const rate = flops > 0 ? (flops / ms / 1e6).toFixed(1).padStart(8) : '';
    console.log(
      `  ${name.padEnd(48)} ${(ms / steps).toFixed(2).padStart(7)} ${((100 * ms) / steps / step).toFixed(1).padStart(6)}% ${(calls / steps).toFixed(0).padStart(8)}  ${rate}`,
    );
  }
  const rest = rows.slice(24).reduce((s, [, e]) => s + e.ms, 0);
  console.log(
    `  ${'(other kernels)'.padEnd(48)} ${(rest / steps).toFixed(2).padStart(7)} ${((100 * rest) / steps / step).toFixed(1).padStart(6)}%`,
  );
}

/** A size argument: a name of `npm run bench`'s configurations (3x512), or a hidden size H for 2×H. */
function shapeOf(size: string): BenchConfig {
  const named = CONFIGS.find((c) => c.name === size);
  if (named) return named;
  const hidden = Number(size);
  if (!Number.isInteger(hidden) || hidden <= 0)
    throw new Error(`size ${size}: not a hidden size or one of ${CONFIGS.map((c) => c.name).join(', ')}`);
  const [seq, batch] = hidden <= 128 ? [50, 50] : [100, 64];
  return { name: `2x${hidden}`, layers: 2, hidden, seq, batch };
}

async function profile({ name, layers, hidden, seq, batch }: BenchConfig, threads: number, steps: number): Promise<void> {
  const model = CharModel.create({ vocabSize: VOCAB, hidden, layers, dropout: 0, cell: 'lstm', learnedInit: false }, 1);
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
  const threadsBefore = threadCpu();
  for (let k = 0; k < steps; k++) await run(true);
  const { user, system } = process.cpuUsage(cpu);
  const cpuMs = (user + system) / 1000 / steps; // every thread's, workers' included
  const perThread = threadShares(threadsBefore, threadCpu(), steps);
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
  table(`${name} seq ${seq} batch ${batch}, ${threads} thread${threads > 1 ? 's' : ''}`, parts, kernels, steps, cpuMs, perThread);
  tf.dispose(state.flat());
  adam.dispose();
  model.dispose();
}

const steps = Number(process.argv[2] ?? 10);
const sizes = (process.argv[3] ?? '128,256').split(',').map(shapeOf);
const backend = await selectBackend('wasm');
clock.install();
console.log(`backend: ${backend.description}; tensors before: ${tf.memory().numTensors}`);
const threadCounts = (process.argv[4] ?? '1,2').split(',').map(Number);
for (const size of sizes) for (const threads of threadCounts) await profile(size, threads, steps);
console.log(`\ntensors after: ${tf.memory().numTensors}`);
