// charrnn's own WebAssembly kernels (source in wasm/, built by `npm run build:wasm` into
// wasm/build/), instantiated on tfjs-backend-wasm's heap: the module imports the backend's
// WebAssembly.Memory, so its kernels read and write tensors where tfjs keeps them, with no
// copies. Scratch memory comes from the backend's malloc.
//
// Two builds of one source: plain SIMD, and relaxed SIMD, whose multiply-adds are fused
// (FMA) where the CPU has them; and each again for a shared memory (column-step.ts: threads
// on one copy of the weights), as a module declares its memory shared or not. The relaxed
// build runs where the engine validates it; on Node 20 that needs V8's
// --experimental-wasm-relaxed-simd, which is set here at run time (before any module is
// compiled) and otherwise the plain build runs.
// CHARRNN_WASM_SIMD=plain forces the plain build (to compare the two).
import { readFileSync } from 'node:fs';
import { setFlagsFromString } from 'node:v8';
import { free, heapMemory, malloc, type WasmBackend } from './backend.js';
import { instantiateOwnKernels } from './packed-model.js';

export interface OwnKernels {
  adamUpdate(
    n: number,
    p: number,
    m: number,
    v: number,
    g: number,
    pOut: number,
    mOut: number,
    vOut: number,
    beta1: number,
    beta2: number,
    gradFactor: number,
    squareFactor: number,
    epsilon: number,
    stepSize: number,
  ): void;
  packedBytes(K: number, N: number): number;
  pack(src: number, K: number, N: number, sk: number, sn: number, dst: number): void;
  matMulBytes(M: number, N: number, K: number): number;
  matMul(
    M: number,
    N: number,
    K: number,
    a: number,
    sam: number,
    sak: number,
    b: number,
    sbk: number,
    sbn: number,
    c: number,
    scratch: number,
  ): void;
  lstmForward(
    T: number,
    B: number,
    H: number,
    zIn: number,
    U: number,
    h0: number,
    c0: number,
    hs: number,
    cs: number,
    gates: number,
    keepAll: boolean,
    packed: number,
  ): void;
  lstmBackward(
    T: number,
    B: number,
    H: number,
    dHs: number,
    gates: number,
    cs: number,
    c0: number,
    U: number,
    dZ: number,
    dh0: number,
    dc0: number,
    packed: number,
    dh: number,
    dc: number,
  ): void;
  lstmCell(B: number, H: number, z: number, cPrev: number, gates: number, h: number, c: number): void;
  gruPackedBytes(H: number): number;
  gruForward(
    T: number,
    B: number,
    H: number,
    zIn: number,
    U: number,
    h0: number,
    hs: number,
    gates: number,
    rhs: number,
    keepAll: boolean,
    packed: number,
  ): void;
  gruBackward(
    T: number,
    B: number,
    H: number,
    dHs: number,
    gates: number,
    hs: number,
    h0: number,
    U: number,
    dZ: number,
    dh0: number,
    packed: number,
    dh: number,
    dRh: number,
  ): void;
  gruCell(
    B: number,
    H: number,
    szr: number,
    xh: number,
    Uh: number,
    hPrev: number,
    h: number,
    gates: number,
    rh: number,
    packed: number,
  ): void;
  projectStep(
    B: number,
    N: number,
    table: number,
    ids: number,
    bias: number,
    x: number,
    K: number,
    packedW: number,
    h: number,
    Kh: number,
    packedU: number,
    z: number,
  ): void;
  /** The sampler's whole step over the model a one-share plan describes (wasm/sample.ts; packed-model.ts writes the plans). */
  sampleStep(plan: number): void;
  /** A share's phases of the step (column-step.ts): layer l's units, the GRU's candidate, the output columns. */
  sampleLayer(plan: number, layer: number, parity: number): void;
  sampleCandidate(plan: number, layer: number, parity: number): void;
  sampleOutput(plan: number, parity: number): void;
  /** i32 words of the plan's header, and of each layer's entry. */
  HEADER_WORDS: WebAssembly.Global<'i32'>;
  LAYER_WORDS: WebAssembly.Global<'i32'>;
  crossEntropyForward(R: number, V: number, logits: number, targets: number, losses: number, probs: number): void;
  crossEntropyBackward(R: number, V: number, probs: number, targets: number, dLosses: number, dLogits: number): void;
  columnSums(M: number, N: number, x: number, out: number): void;
  segmentRowSums(R: number, N: number, S: number, x: number, ids: number, out: number): void;
  rnnForward(T: number, B: number, H: number, zIn: number, U: number, h0: number, hs: number, packed: number): void;
  rnnBackward(T: number, B: number, H: number, dHs: number, hs: number, U: number, dZ: number, dh0: number, packed: number): void;
  /** Points the instance at its constant table and scratch, TABLE_BYTES the host allocated (wasm/simd.ts). */
  setTable(ptr: number): void;
  TABLE_BYTES: WebAssembly.Global<'i32'>;
}

export type SimdBuild = 'relaxed SIMD' | 'SIMD';

interface Compiled {
  build: SimdBuild;
  module: WebAssembly.Module;
  /** The same source built for a shared memory, compiled on first use. */
  shared?: WebAssembly.Module;
}

let compiled: Compiled | undefined;

function buildBytes(name: string): Uint8Array<ArrayBuffer> {
  return new Uint8Array(readFileSync(new URL(`../../../wasm/build/${name}.wasm`, import.meta.url)));
}

function relaxedSimdValidates(bytes: Uint8Array<ArrayBuffer>): boolean {
  if (WebAssembly.validate(bytes)) return true;
  setFlagsFromString('--experimental-wasm-relaxed-simd'); // Node 20 (V8 11.3): shipped in V8 11.4
  return WebAssembly.validate(bytes);
}

/** The build that runs here for a shared WebAssembly.Memory (column-step.ts), compiled, for worker threads to instantiate too. */
export function sharedOwnKernelsModule(): WebAssembly.Module {
  const built = compile();
  built.shared ??= new WebAssembly.Module(buildBytes(built.build === 'SIMD' ? 'kernels-shared-simd' : 'kernels-shared-relaxed-simd'));
  return built.shared;
}

/** Which build runs here (compiling it on first use). */
export function ownKernelsBuild(): SimdBuild {
  return compile().build;
}

function compile(): Compiled {
  if (compiled) return compiled;
  const relaxed = buildBytes('kernels-relaxed-simd');
  const build: SimdBuild = process.env.CHARRNN_WASM_SIMD !== 'plain' && relaxedSimdValidates(relaxed) ? 'relaxed SIMD' : 'SIMD';
  compiled = { build, module: new WebAssembly.Module(build === 'SIMD' ? buildBytes('kernels-simd') : relaxed) };
  return compiled;
}

const instances = new WeakMap<WasmBackend, OwnKernels>();

/** The kernels on `backend`'s heap (one instance per backend, made on first use). */
export function ownKernels(backend: WasmBackend): OwnKernels {
  let kernels = instances.get(backend);
  if (kernels) return kernels;
  // Its table lives as long as the backend.
  kernels = instantiateOwnKernels(compile().module, heapMemory(backend), (bytes) => malloc(backend, bytes));
  instances.set(backend, kernels);
  return kernels;
}

/** Runs `use` with `bytes` of scratch on the backend's heap for each entry, freed afterwards. */
export function withScratch<R>(backend: WasmBackend, bytes: number[], use: (...ptrs: number[]) => R): R {
  const ptrs = bytes.map((n) => malloc(backend, Math.max(n, 16)));
  try {
    return use(...ptrs);
  } finally {
    for (const ptr of ptrs) free(backend, ptr);
  }
}
