// The sampler's whole step (wasm/sample.ts) on any memory our module runs on: the weights
// packed once, the state stepped in place. No tfjs here, so that worker threads can step on
// instances of our module (column-step.ts: a share of every layer's units each, on one shared
// memory); model-step.ts runs one share of everything on the wasm backend's heap.
//
// Weights as Float32Arrays in checkpoint order (see model/model.ts):
//   per layer W (D, G·H), U (H, G·H), b (G·H); then Wy (H, V), by (V)
import type { OwnKernels } from './own-module.js';

/** The cells the whole step knows (wasm/sample.ts KIND). */
export type WholeStepCell = 'lstm' | 'gru' | 'rnn';
const KIND: Record<WholeStepCell, number> = { lstm: 0, gru: 1, rnn: 2 };

/** Memory our module runs on, and its allocator. */
export interface StepHeap {
  kernels: OwnKernels;
  /** The memory as it is now (an allocation may grow it). */
  memory(): WebAssembly.Memory;
  malloc(bytes: number): number;
  free(ptr: number): void;
}

/** An instance of our module (own-module.ts compiles it) on `memory`, its constant table allocated by `malloc`. */
export function instantiateOwnKernels(
  module: WebAssembly.Module,
  memory: WebAssembly.Memory,
  malloc: (bytes: number) => number,
): OwnKernels {
  const instance = new WebAssembly.Instance(module, { env: { memory } });
  const exports = instance.exports as unknown as OwnKernels;
  exports.setTable(malloc(exports.TABLE_BYTES.value));
  return exports;
}

/** The model's shape as the step needs it: L layers of H units, G gates, V characters. */
export interface StepShape {
  cell: WholeStepCell;
  layers: number;
  hidden: number;
  vocabSize: number;
  gates: number;
}

/** One thread's part of a step: units [unitFrom, +units) of every layer (all their gates), output columns [columnFrom, +columns). */
export interface StepShare {
  unitFrom: number;
  units: number;
  columnFrom: number;
  columns: number;
}

/** [from, count) parts of n, as even as boundaries at multiples of 8 (SIMD lanes, gemm.ts's panels) allow; some may be empty. */
function split(n: number, parts: number): [number, number][] {
  const ends = Array.from({ length: parts + 1 }, (_, k) => Math.min(n, Math.round((n * k) / parts / 8) * 8));
  ends[parts] = n;
  return ends.slice(1).map((end, k) => [ends[k], end - ends[k]]);
}

/** The shares of `threads` threads: hidden units and output columns split evenly. */
export function stepShares(shape: StepShape, threads: number): StepShare[] {
  const columns = split(shape.vocabSize, threads);
  return split(shape.hidden, threads).map(([unitFrom, units], k) => ({
    unitFrom,
    units,
    columnFrom: columns[k][0],
    columns: columns[k][1],
  }));
}

/** Where memory for each part goes in one allocation (byte offsets from its start, 16-aligned). */
class Layout {
  bytes = 0;
  take(bytes: number): number {
    const at = this.bytes;
    this.bytes += Math.ceil(bytes / 16) * 16;
    return at;
  }
}

/** Panels of `width` columns (wasm/sample.ts: 32 wide, else gemm.ts's 8): bytes of a (K, N) matrix. */
function packedBytes(K: number, N: number, width: number): number {
  return Math.ceil(N / width) * K * width * 4;
}

/**
 * Packs columns `columns` (indices) of the row-major matrix `src` (K rows, `stride` floats apart)
 * into `out` from float `at`: panel p holds columns p·width.. of every row k, row k's together,
 * the last panel zero-padded.
 */
function packColumns(src: Float32Array, K: number, stride: number, columns: number[], width: number, out: Float32Array, at: number): void {
  for (let p = 0; p < columns.length; p += width) {
    const n = Math.min(width, columns.length - p);
    const first = columns[p];
    const contiguous = columns[p + n - 1] - first === n - 1; // columns increase: a run, copied without the lookups
    for (let k = 0; k < K; k++, at += width) {
      const row = k * stride;
      if (contiguous) for (let j = 0; j < n; j++) out[at + j] = src[row + first + j];
      else for (let j = 0; j < n; j++) out[at + j] = src[row + columns[p + j]];
      if (n < width) out.fill(0, at + n, at + width);
    }
  }
}

interface LayerState {
  h: number[]; // one buffer, or two with several shares
  c: number; // -1 for cells without one
}

interface SharePart {
  share: StepShare;
  plan: number;
  z: number;
  packedWy: number;
  by: number;
  layers: { table: number; bias: number; packedW: number; packedU: number; recurrent: number; packedUh: number }[];
}

/**
 * The plans, weights and state of a step split into `shares` (one per thread), laid out in one
 * allocation: byte offsets from its 16-aligned origin. The state (h in two buffers with several
 * shares, see wasm/sample.ts), ids and logits are common; each share has its plan, scratch and
 * packed weight columns.
 */
export class StepLayout {
  readonly bytes: number;
  readonly ids: number;
  readonly logits: number;
  readonly plans: number[];
  private readonly rh: number;
  private readonly state: LayerState[];
  private readonly parts: SharePart[];
  private readonly width: number; // of the weights' panels

  constructor(
    private readonly kernels: OwnKernels,
    private readonly shape: StepShape,
    private readonly batch: number,
    shares: StepShare[],
  ) {
    const { cell, layers: L, hidden: H, vocabSize: V, gates: G } = shape;
    const B = batch;
    // wasm/sample.ts WIDE, measured: 32-column panels 2x faster at batch 1, gemm's 4-row tiles 1.3x faster at 16.
    this.width = B < 4 ? 32 : 8;
    const layout = new Layout();
    this.ids = layout.take(B * 4);
    this.logits = layout.take(B * V * 4);
    this.rh = layout.take(B * H * 4);
    const buffers = shares.length > 1 ? 2 : 1;
    this.state = Array.from({ length: L }, () => ({
      h: Array.from({ length: buffers }, () => layout.take(B * H * 4)),
      c: cell === 'lstm' ? layout.take(B * H * 4) : -1,
    }));
    const planBytes = (kernels.HEADER_WORDS.value + L * kernels.LAYER_WORDS.value) * 4;
    this.parts = shares.map((share) => {
      const n = G * share.units;
      const recurrent = cell === 'gru' ? 2 * share.units : n;
      return {
        share,
        plan: layout.take(planBytes),
        z: layout.take(B * n * 4),
        packedWy: layout.take(packedBytes(H, share.columns, this.width)),
        by: layout.take(share.columns * 4),
        layers: this.state.map((_, l) => ({
          table: l === 0 ? layout.take(V * n * 4) : -1,
          bias: l > 0 ? layout.take(n * 4) : -1,
          packedW: l > 0 ? layout.take(packedBytes(H, n, this.width)) : -1,
          packedU: layout.take(packedBytes(H, recurrent, this.width)),
          recurrent,
          packedUh: cell === 'gru' ? layout.take(packedBytes(H, share.units, this.width)) : -1,
        })),
      };
    });
    this.bytes = layout.bytes;
    this.plans = this.parts.map((part) => part.plan);
  }

  /**
   * Writes the plans (pointers from `origin`, 16-aligned), each share's columns of the weights
   * (checkpoint order; packed) and the initial state (per layer the cell's state rows, B·H
   * each, h first) into `buffer`.
   */
  fill(buffer: ArrayBufferLike, origin: number, weights: Float32Array[], initial: Float32Array[][]): void {
    const { cell, layers: L, hidden: H, vocabSize: V, gates: G } = this.shape;
    const { width } = this;
    const N = G * H;
    const at = (offset: number) => (offset < 0 ? 0 : origin + offset);
    const floats = new Float32Array(buffer);
    const words = new Int32Array(buffer);
    const header = this.kernels.HEADER_WORDS.value;
    const layerWords = this.kernels.LAYER_WORDS.value;
    const [outW, outB] = [weights[3 * L], weights[3 * L + 1]];
    this.state.forEach(({ h, c }, l) => {
      for (const copy of h) floats.set(initial[l][0], at(copy) >> 2);
      if (c >= 0) floats.set(initial[l][1], at(c) >> 2);
    });
    for (const { share, plan, z, packedWy, by, layers } of this.parts) {
      const { unitFrom, units, columnFrom, columns } = share;
      // The share's columns of a gate matrix: gate by gate, its units of each.
      const gateColumns = (from: number, to: number) =>
        Array.from({ length: (to - from) * units }, (_, j) => (from + Math.floor(j / units)) * H + unitFrom + (j % units));
      const mine = gateColumns(0, G);
      const n = mine.length;
      packColumns(
        outW,
        H,
        V,
        Array.from({ length: columns }, (_, j) => columnFrom + j),
        width,
        floats,
        at(packedWy) >> 2,
      );
      floats.set(outB.subarray(columnFrom, columnFrom + columns), at(by) >> 2);
      const top = [KIND[cell], L, this.batch, H, V, G, at(this.ids), at(this.logits), at(z), at(this.rh), at(packedWy), at(by)];
      words.set(top.concat([width === 32 ? 1 : 0, unitFrom, units, columnFrom, columns]), at(plan) >> 2);
      layers.forEach((part, l) => {
        const [W, U, b] = weights.slice(3 * l, 3 * l + 3);
        if (l === 0) {
          // E = W + b: layer 0's input is one-hot, so x·W + b is row ids[b] of E.
          const table = at(part.table) >> 2;
          for (let v = 0; v < V; v++) for (let j = 0; j < n; j++) floats[table + v * n + j] = W[v * N + mine[j]] + b[mine[j]];
        } else {
          floats.set(
            mine.map((column) => b[column]),
            at(part.bias) >> 2,
          );
          packColumns(W, H, N, mine, width, floats, at(part.packedW) >> 2);
        }
        packColumns(U, H, N, cell === 'gru' ? gateColumns(0, 2) : mine, width, floats, at(part.packedU) >> 2);
        if (cell === 'gru') packColumns(U, H, N, gateColumns(2, 3), width, floats, at(part.packedUh) >> 2);
        const { h, c } = this.state[l];
        const entry = [at(part.table), at(part.bias), at(part.packedW), at(part.packedU), part.recurrent, at(part.packedUh)];
        words.set(entry.concat([at(h[0]), at(h[h.length - 1]), at(c)]), (at(plan) >> 2) + header + l * layerWords);
      });
    }
  }
}

/** The whole step on one thread, one share of everything, on a StepHeap. */
export class PackedModelStep {
  private readonly base: number; // the allocation, freed by dispose
  private readonly plan: number;
  private readonly ids: number;
  private readonly logits: number;
  private readonly size: number; // B·V

  /**
   * weights: the weights in checkpoint order, asked for after the allocation (which may grow
   * the memory they are in; read here, not kept); initial: per layer the cell's state rows
   * (B·H each), h first (copied).
   */
  constructor(
    private readonly heap: StepHeap,
    shape: StepShape,
    weights: () => Float32Array[],
    initial: Float32Array[][],
    readonly batch: number,
  ) {
    const layout = new StepLayout(heap.kernels, shape, batch, stepShares(shape, 1));
    this.base = heap.malloc(layout.bytes + 16);
    const origin = Math.ceil(this.base / 16) * 16;
    layout.fill(heap.memory().buffer, origin, weights(), initial);
    this.plan = origin + layout.plans[0];
    this.ids = origin + layout.ids;
    this.logits = origin + layout.logits;
    this.size = batch * shape.vocabSize;
  }

  /**
   * Feeds one character id per stream, ids (B), and returns the next-character logits (B·V,
   * row b for stream b) as a view of the memory, valid until the next step.
   */
  step(ids: Int32Array): Float32Array {
    if (ids.length !== this.batch) throw new RangeError(`expected ${this.batch} ids, got ${ids.length}`);
    const { buffer } = this.heap.memory();
    new Int32Array(buffer, this.ids, this.batch).set(ids);
    this.heap.kernels.sampleStep(this.plan);
    return new Float32Array(buffer, this.logits, this.size);
  }

  dispose(): void {
    this.heap.free(this.base);
  }
}
