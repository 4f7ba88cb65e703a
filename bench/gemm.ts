/**
 * GFLOP/s of our GEMM (wasm/gemm.ts matMul) at the shapes of a training step's projections and
 * their gradients, one thread, outside tfjs (the module on a memory of its own). With the path of
 * another build of the module (e.g. main's, `git show main:wasm/build/kernels-relaxed-simd.wasm`),
 * the two alternate in one process and each shape gets both figures and their ratio.
 *
 *   npm run bench:gemm -- [repeats] [other.wasm]   (CHARRNN_WASM_SIMD=plain: the plain-SIMD build)
 */
import { readFileSync } from 'node:fs';
import { setFlagsFromString } from 'node:v8';
import { median } from './measure.js';

interface Kernels {
  setTable(ptr: number): void;
  TABLE_BYTES: WebAssembly.Global<'i32'>;
  packedBytes(K: number, N: number): number;
  matMulBytes?(M: number, N: number, K: number): number;
  matMul(...args: number[]): void;
}

const VOCAB = 82;
const memory = new WebAssembly.Memory({ initial: 4096 }); // 256 MB
const heap = new Float32Array(memory.buffer);

function load(path: string | URL): Kernels {
  const kernels = new WebAssembly.Instance(new WebAssembly.Module(readFileSync(path)), { env: { memory } }).exports as unknown as Kernels;
  kernels.setTable(0);
  return kernels;
}

/** A product C (M, N) = op(A) · op(B), as the training step runs it: A or B transposed in place. */
interface Shape {
  label: string;
  M: number;
  N: number;
  K: number;
  transposeA: boolean;
  transposeB: boolean;
}

function stepShapes(H: number, rows: number): Shape[] {
  const G = 4 * H;
  return [
    { label: `x·W       (${rows}×${H})·(${H}×${G})`, M: rows, N: G, K: H, transposeA: false, transposeB: false },
    { label: `dZ·Wᵀ     (${rows}×${G})·(${G}×${H})ᵀ`, M: rows, N: H, K: G, transposeA: false, transposeB: true },
    { label: `xᵀ·dZ     (${H}×${rows})ᵀ·(${rows}×${G})`, M: H, N: G, K: rows, transposeA: true, transposeB: false },
    { label: `h·Wy      (${rows}×${H})·(${H}×${VOCAB})`, M: rows, N: VOCAB, K: H, transposeA: false, transposeB: false },
    { label: `dY·Wyᵀ    (${rows}×${VOCAB})·(${VOCAB}×${H})ᵀ`, M: rows, N: H, K: VOCAB, transposeA: false, transposeB: true },
    { label: `hᵀ·dY     (${H}×${rows})ᵀ·(${rows}×${VOCAB})`, M: H, N: VOCAB, K: rows, transposeA: true, transposeB: false },
  ];
}

const A = 1 << 20; // byte offsets, after the table (TABLE_BYTES): A, B and C 64 MB apart, scratch after them
const B = A + (64 << 20);
const C = B + (64 << 20);
const SCRATCH = C + (64 << 20);

/**
 * CPU milliseconds of one call of `kernels`' matMul at `shape`: this process's CPU time, not
 * wall time, so that the time other processes hold the core is not counted (the machine is shared).
 */
function time(kernels: Kernels, { M, N, K, transposeA, transposeB }: Shape): number {
  const [sam, sak] = transposeA ? [1, M] : [K, 1];
  const [sbk, sbn] = transposeB ? [1, K] : [N, 1];
  const call = () => kernels.matMul(M, N, K, A, sam, sak, B, sbk, sbn, C, SCRATCH);
  call();
  const calls = Math.max(1, Math.round(4e8 / (2 * M * N * K))); // ~10 ms at 40 GFLOP/s
  const start = process.cpuUsage();
  for (let k = 0; k < calls; k++) call();
  const { user, system } = process.cpuUsage(start);
  return (user + system) / 1000 / calls;
}

const repeats = Number(process.argv[2] ?? 5);
const otherPath = process.argv[3];
const build = process.env.CHARRNN_WASM_SIMD === 'plain' ? 'kernels-simd' : 'kernels-relaxed-simd';
if (build === 'kernels-relaxed-simd') setFlagsFromString('--experimental-wasm-relaxed-simd'); // Node 20, as own-module.ts
const builds: [string, Kernels][] = [['this', load(new URL(`../wasm/build/${build}.wasm`, import.meta.url))]];
if (otherPath) builds.unshift(['other', load(otherPath)]);
let seed = 1;
for (let i = A / 4; i < SCRATCH / 4; i++) {
  seed = (seed * 1103515245 + 12345) >>> 0;
  heap[i] = seed / 2 ** 31 - 1;
}

console.log(`${build}; GFLOP/s, medians of ${repeats} alternating repeats [min–max]`);
for (const [H, rows] of [
  [128, 1250],
  [128, 2500],
  [256, 3200],
  [256, 6400],
]) {
  for (const shape of stepShapes(H, rows)) {
    const times = builds.map(() => [] as number[]);
    for (let r = 0; r < repeats; r++) builds.forEach(([, kernels], b) => times[b].push(time(kernels, shape)));
    const flops = 2 * shape.M * shape.N * shape.K;
    const figures = times.map((ts, b) => {
      const g = ts.map((ms) => flops / ms / 1e6);
      return `${builds[b][0]} ${median(g).toFixed(1)} [${Math.min(...g).toFixed(1)}–${Math.max(...g).toFixed(1)}]`;
    });
    const ratio = builds.length > 1 ? `  ${(median(times[0]) / median(times[1])).toFixed(2)}x` : '';
    console.log(`${shape.label.padEnd(36)} ${figures.join('  ')}${ratio}`);
  }
}
