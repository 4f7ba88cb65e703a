// The sampler's whole step (wasm/sample.ts) on the wasm backend's heap: one call into our
// module per character for all streams. Not a tfjs kernel: the weights are packed once into
// memory of our own (the backend's malloc), where the state also lives, stepped in place,
// so a step makes no tensors and goes through no engine; the host writes the ids and reads
// the logits (B, V) back.
//
// Weights as the model holds them (checkpoint order, see model/model.ts), on the wasm backend:
//   per layer W (D, G·H), U (H, G·H), b (G·H); then Wy (H, V), by (V)
import * as tf from '../../tf.js';
import { byteOffset, free, heapMemory, malloc, type WasmBackend } from './backend.js';
import { ownKernels } from './own-module.js';

/** The cells the whole step knows (wasm/sample.ts KIND). */
export type WholeStepCell = 'lstm' | 'gru' | 'rnn';
const KIND: Record<WholeStepCell, number> = { lstm: 0, gru: 1, rnn: 2 };

/** Where memory for each part goes in one allocation (byte offsets from its start, 16-aligned). */
class Layout {
  bytes = 0;
  take(bytes: number): number {
    const at = this.bytes;
    this.bytes += Math.ceil(bytes / 16) * 16;
    return at;
  }
}

let calls = 0;

/** How many whole steps have run in this process (for tests that the sampler takes this path). */
export function wholeStepCalls(): number {
  return calls;
}

export class WasmModelStep {
  private readonly memory: WebAssembly.Memory;
  private readonly base: number; // the allocation, freed by dispose
  private readonly plan: number;
  private readonly ids: number;
  private readonly logits: number;
  private readonly size: number; // B·V
  readonly batch: number;
  readonly vocabSize: number;

  /** weights: as above; initial: per layer the cell's state tensors (B, H), h first (copied). */
  constructor(
    private readonly backend: WasmBackend,
    cell: WholeStepCell,
    weights: tf.Tensor[],
    initial: tf.Tensor[][],
  ) {
    const kernels = ownKernels(backend);
    const header = kernels.HEADER_WORDS.value;
    const layerWords = kernels.LAYER_WORDS.value;
    const L = initial.length;
    const [B, H] = initial[0][0].shape;
    const [V, N] = weights[0].shape; // N = G·H
    const G = N / H;
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
    const layers = initial.map((state, l) => ({
      table: l === 0 ? layout.take(V * N * 4) : -1,
      bias: l > 0 ? layout.take(N * 4) : -1,
      packedW: l > 0 ? layout.take(packedBytes(H, N)) : -1,
      packedU: layout.take(packedBytes(H, recurrentColumns)),
      packedUh: cell === 'gru' ? layout.take(packedBytes(H, H)) : -1,
      state: state.map(() => layout.take(B * H * 4)),
    }));
    this.base = malloc(backend, layout.bytes + 16);
    const origin = Math.ceil(this.base / 16) * 16;
    const at = (offset: number) => (offset < 0 ? 0 : origin + offset);
    this.memory = heapMemory(backend); // after the allocation: it may have grown the heap
    this.plan = at(plan);
    this.ids = at(ids);
    this.logits = at(logits);
    this.size = B * V;
    this.batch = B;
    this.vocabSize = V;

    const floats = new Float32Array(this.memory.buffer);
    const words = new Int32Array(this.memory.buffer);
    const weight = (k: number) => byteOffset(backend, weights[k]);
    const copy = (from: number, to: number, count: number) => floats.copyWithin(to >> 2, from >> 2, (from >> 2) + count);
    const [outW, outB] = [weights[3 * L], weights[3 * L + 1]];
    words.set([KIND[cell], L, B, H, V, G, at(ids), at(logits), at(z), at(rh), at(packedWy), at(by), wide ? 1 : 0], this.plan >> 2);
    pack(byteOffset(backend, outW), H, V, V, at(packedWy));
    copy(byteOffset(backend, outB), at(by), V);
    layers.forEach((parts, l) => {
      const [W, U, b] = [weight(3 * l), weight(3 * l + 1), weight(3 * l + 2)];
      if (l === 0) {
        // E = W + b: layer 0's input is one-hot, so x·W + b is row ids[b] of E.
        const bias = floats.subarray(b >> 2, (b >> 2) + N);
        for (let v = 0; v < V; v++) {
          const row = floats.subarray((W >> 2) + v * N, (W >> 2) + (v + 1) * N);
          const out = (at(parts.table) >> 2) + v * N;
          for (let j = 0; j < N; j++) floats[out + j] = row[j] + bias[j];
        }
      } else {
        copy(b, at(parts.bias), N);
        pack(W, H, N, N, at(parts.packedW));
      }
      pack(U, H, recurrentColumns, N, at(parts.packedU));
      if (cell === 'gru') pack(U + 2 * H * 4, H, H, N, at(parts.packedUh));
      initial[l].forEach((s, k) => floats.set(s.dataSync(), at(parts.state[k]) >> 2));
      const [h, c] = parts.state.map(at);
      const entry = [
        at(parts.table),
        at(parts.bias),
        at(parts.packedW),
        at(parts.packedU),
        recurrentColumns,
        at(parts.packedUh),
        h,
        c ?? 0,
      ];
      words.set(entry, (this.plan >> 2) + header + l * layerWords);
    });
  }

  /** Feeds one character id per stream, ids (B), and returns the next-character logits (B·V, row b for stream b). */
  step(ids: Int32Array): Float32Array {
    if (ids.length !== this.batch) throw new RangeError(`expected ${this.batch} ids, got ${ids.length}`);
    new Int32Array(this.memory.buffer, this.ids, this.batch).set(ids);
    ownKernels(this.backend).sampleStep(this.plan);
    calls++;
    return new Float32Array(this.memory.buffer, this.logits, this.size).slice();
  }

  dispose(): void {
    free(this.backend, this.base);
  }
}
