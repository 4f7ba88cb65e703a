// The sampler's whole step (wasm/sample.ts) on any memory our module runs on: the weights
// packed once, the state stepped in place. No tfjs here, so that a worker thread can step
// its share of the streams on a module instance and memory of its own (threaded-step.ts);
// model-step.ts runs it on the wasm backend's heap.
//
// Weights at byte offsets of that memory, in checkpoint order (see model/model.ts):
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
  const exports = instance.exports as unknown as OwnKernels & { setTable(ptr: number): void; TABLE_BYTES: WebAssembly.Global<'i32'> };
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

/** Where memory for each part goes in one allocation (byte offsets from its start, 16-aligned). */
class Layout {
  bytes = 0;
  take(bytes: number): number {
    const at = this.bytes;
    this.bytes += Math.ceil(bytes / 16) * 16;
    return at;
  }
}

export class PackedModelStep {
  private readonly base: number; // the allocation, freed by dispose
  private readonly plan: number;
  private readonly ids: number;
  private readonly logits: number;
  private readonly size: number; // B·V

  /**
   * weights: byte offsets of the weights in checkpoint order (read here, not kept);
   * initial: per layer the cell's state rows (B·H each), h first (copied).
   */
  constructor(
    private readonly heap: StepHeap,
    shape: StepShape,
    weights: number[],
    initial: Float32Array[][],
    readonly batch: number,
  ) {
    const { kernels } = heap;
    const header = kernels.HEADER_WORDS.value;
    const layerWords = kernels.LAYER_WORDS.value;
    const { cell, layers: L, hidden: H, vocabSize: V, gates: G } = shape;
    const B = batch;
    const N = G * H;
    const recurrentColumns = cell === 'gru' ? 2 * H : N;
    const wide = B < 4; // measured: wide panels 2x faster at batch 1, gemm's 4-row tiles 1.3x faster at 16
    const packedBytes = (K: number, cols: number) => (wide ? kernels.packedWideBytes(K, cols) : kernels.packedBytes(K, cols));
    const pack = (src: number, K: number, cols: number, sk: number, dst: number) =>
      wide ? kernels.packWide(src, K, cols, sk, 1, dst) : kernels.pack(src, K, cols, sk, 1, dst);

    const layout = new Layout();
    const plan = layout.take((header + L * layerWords) * 4);
    const ids = layout.take(B * 4);
    const logits = layout.take(B * V * 4);
    const z = layout.take(B * N * 4);
    const rh = layout.take(B * H * 4);
    const packedWy = layout.take(packedBytes(H, V));
    const by = layout.take(V * 4);
    const parts = initial.map((state, l) => ({
      table: l === 0 ? layout.take(V * N * 4) : -1,
      bias: l > 0 ? layout.take(N * 4) : -1,
      packedW: l > 0 ? layout.take(packedBytes(H, N)) : -1,
      packedU: layout.take(packedBytes(H, recurrentColumns)),
      packedUh: cell === 'gru' ? layout.take(packedBytes(H, H)) : -1,
      state: state.map(() => layout.take(B * H * 4)),
    }));
    this.base = heap.malloc(layout.bytes + 16);
    const origin = Math.ceil(this.base / 16) * 16;
    const at = (offset: number) => (offset < 0 ? 0 : origin + offset);
    this.plan = at(plan);
    this.ids = at(ids);
    this.logits = at(logits);
    this.size = B * V;

    const memory = heap.memory(); // after the allocation: it may have grown
    const floats = new Float32Array(memory.buffer);
    const words = new Int32Array(memory.buffer);
    const copy = (from: number, to: number, count: number) => floats.copyWithin(to >> 2, from >> 2, (from >> 2) + count);
    const [outW, outB] = [weights[3 * L], weights[3 * L + 1]];
    words.set([KIND[cell], L, B, H, V, G, at(ids), at(logits), at(z), at(rh), at(packedWy), at(by), wide ? 1 : 0], this.plan >> 2);
    pack(outW, H, V, V, at(packedWy));
    copy(outB, at(by), V);
    parts.forEach((part, l) => {
      const [W, U, b] = weights.slice(3 * l, 3 * l + 3);
      if (l === 0) {
        // E = W + b: layer 0's input is one-hot, so x·W + b is row ids[b] of E.
        const bias = floats.subarray(b >> 2, (b >> 2) + N);
        for (let v = 0; v < V; v++) {
          const row = floats.subarray((W >> 2) + v * N, (W >> 2) + (v + 1) * N);
          const out = (at(part.table) >> 2) + v * N;
          for (let j = 0; j < N; j++) floats[out + j] = row[j] + bias[j];
        }
      } else {
        copy(b, at(part.bias), N);
        pack(W, H, N, N, at(part.packedW));
      }
      pack(U, H, recurrentColumns, N, at(part.packedU));
      if (cell === 'gru') pack(U + 2 * H * 4, H, H, N, at(part.packedUh));
      initial[l].forEach((s, k) => floats.set(s, at(part.state[k]) >> 2));
      const [h, c] = part.state.map(at);
      const entry = [at(part.table), at(part.bias), at(part.packedW), at(part.packedU), recurrentColumns, at(part.packedUh), h, c ?? 0];
      words.set(entry, (this.plan >> 2) + header + l * layerWords);
    });
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
