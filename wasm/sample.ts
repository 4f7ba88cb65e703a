// The sampler's whole step in one call (src/backend/wasm-kernels/model-step.ts): for B streams,
// each stream's character id → every layer's projection and cell → the output logits, with
// the state carried in place. The same maths as the op-by-op step (src/sampling/sampler.ts
// BatchStepper, src/cells/*.ts), in another order of summation.
//
// The host describes the model once in a plan, i32 words at `plan` (pointers are byte offsets):
//   header  KIND (0 LSTM, 1 GRU, 2 RNN), L, B, H, V, G (gates), ids (B) int32, logits (B, V),
//           z scratch (B, G·H), rh scratch (B, H; the GRU's r∘h), packed Wy (H, V), by (V)
//   layer l at word HEADER_WORDS + LAYER_WORDS·l:
//           E (V, G·H) = W + b for layer 0 (its input is one-hot: x·W + b is a row), else 0;
//           b (G·H) above layer 0, else 0; packed W (H, G·H) above layer 0, else 0;
//           packed U's first R columns (H, R) and R (G·H; the GRU 2H, its candidate's Uh apart);
//           packed Uh (H, H) for the GRU, else 0; h (B, H); c (B, H) for the LSTM, else 0
// Weights are packed by gemm.ts `pack`. Per step, a layer is z = (E[ids] | b) + x·W + h·U,
// then the cell, writing h (and c) over the old state.
//
// The products are matrix-vector at batch 1 and have few rows at sampling's batches: rows in
// blocks of 4 go through gemm.ts's 4×8 tile (each loaded weight vector used by 4 streams); the
// rest row by row through `rowTimesPanels`, whose 8 accumulators over 4 panels keep 8 multiply-adds
// in flight (gemm's 1×8 tile has 2, and waits on their latency: at batch 1 that bound the step).
import { gemm } from './gemm';
import { lstmCell } from './lstm';
import { gruGates, gruOutput } from './gru';
import { madd } from './simd';
import { tanhInPlace } from './rnn';

const KIND = 0;
const LAYERS = 1;
const BATCH = 2;
const HIDDEN = 3;
const VOCAB = 4;
const GATES = 5;
const IDS = 6;
const LOGITS = 7;
const Z = 8;
const RH = 9;
const OUT_W = 10;
const OUT_B = 11;
export const HEADER_WORDS = 12;

const TABLE = 0;
const BIAS = 1;
const PACKED_W = 2;
const PACKED_U = 3;
const RECURRENT_COLUMNS = 4;
const PACKED_UH = 5;
const STATE_H = 6;
const STATE_C = 7;
export const LAYER_WORDS = 8;

const LSTM = 0;
const GRU = 1;

@inline function word(at: usize, k: i32): i32 {
  return load<i32>(at + (<usize>k << 2));
}

@inline function pointer(at: usize, k: i32): usize {
  return <usize>word(at, k);
}

/** Steps the model described at `plan` once: reads ids, writes logits and every layer's state. */
export function sampleStep(plan: usize): void {
  const kind = word(plan, KIND);
  const L = word(plan, LAYERS);
  const B = word(plan, BATCH);
  const H = word(plan, HIDDEN);
  const N = word(plan, GATES) * H;
  const ids = pointer(plan, IDS);
  const z = pointer(plan, Z);
  const row = <usize>N * 4;
  let x: usize = 0; // the layer's input above layer 0: the layer below's new h (B, H)
  for (let l = 0; l < L; l++) {
    const layer = plan + (<usize>(HEADER_WORDS + LAYER_WORDS * l) << 2);
    const table = pointer(layer, TABLE);
    const h = pointer(layer, STATE_H);
    for (let b = 0; b < B; b++) {
      const from = table != 0 ? table + <usize>load<i32>(ids + (<usize>b << 2)) * row : pointer(layer, BIAS);
      memory.copy(z + <usize>b * row, from, row);
    }
    if (x != 0) product(B, N, H, x, pointer(layer, PACKED_W), z, N);
    product(B, word(layer, RECURRENT_COLUMNS), H, h, pointer(layer, PACKED_U), z, N);
    if (kind == LSTM) {
      const c = pointer(layer, STATE_C);
      lstmCell(B, H, z, c, z, h, c);
    } else if (kind == GRU) {
      const rh = pointer(plan, RH);
      gruGates(B, H, z, h, rh);
      product(B, H, H, rh, pointer(layer, PACKED_UH), z + <usize>H * 8, N);
      gruOutput(B, H, z, h, h);
    } else {
      tanhInPlace(z, B * H);
      memory.copy(h, z, <usize>B * <usize>H * 4);
    }
    x = h;
  }
  const V = word(plan, VOCAB);
  const logits = pointer(plan, LOGITS);
  const bias = pointer(plan, OUT_B);
  for (let b = 0; b < B; b++) memory.copy(logits + <usize>b * <usize>V * 4, bias, <usize>V * 4);
  product(B, V, H, x, pointer(plan, OUT_W), logits, V);
}

/** C (M, N; row stride ldc) += A (M, K; rows contiguous) · P (packed (K, N)). */
function product(M: i32, N: i32, K: i32, a: usize, packed: usize, c: usize, ldc: i32): void {
  const blocked = M & ~3;
  if (blocked > 0) gemm(blocked, N, K, a, K, 1, packed, c, ldc, true);
  for (let m = blocked; m < M; m++) rowTimesPacked(N, K, a + <usize>m * <usize>K * 4, packed, c + <usize>m * <usize>ldc * 4);
}

/** y (N) += x (K) · P: 32 columns (4 panels) at a time, the rest (fewer than 4 panels) through gemm. */
function rowTimesPacked(N: i32, K: i32, x: usize, packed: usize, y: usize): void {
  const panel = <usize>K * 32;
  let n = 0;
  for (; n + 32 <= N; n += 32) rowTimesPanels(x, packed + <usize>(n >> 3) * panel, panel, K, y + (<usize>n << 2));
  if (n < N) gemm(1, N - n, K, x, K, 1, packed + <usize>(n >> 3) * panel, y + (<usize>n << 2), N, true);
}

/** y (32) += x (K) · 4 consecutive panels of `panel` bytes each: 8 independent accumulators. */
function rowTimesPanels(x: usize, p0: usize, panel: usize, K: i32, y: usize): void {
  let y0 = v128.load(y), y1 = v128.load(y, 16), y2 = v128.load(y, 32), y3 = v128.load(y, 48);
  let y4 = v128.load(y, 64), y5 = v128.load(y, 80), y6 = v128.load(y, 96), y7 = v128.load(y, 112);
  let p1 = p0 + panel, p2 = p1 + panel, p3 = p2 + panel;
  for (let k = 0; k < K; k++) {
    const v = v128.load32_splat(x);
    y0 = madd(v, v128.load(p0), y0); y1 = madd(v, v128.load(p0, 16), y1);
    y2 = madd(v, v128.load(p1), y2); y3 = madd(v, v128.load(p1, 16), y3);
    y4 = madd(v, v128.load(p2), y4); y5 = madd(v, v128.load(p2, 16), y5);
    y6 = madd(v, v128.load(p3), y6); y7 = madd(v, v128.load(p3, 16), y7);
    x += 4; p0 += 32; p1 += 32; p2 += 32; p3 += 32;
  }
  v128.store(y, y0); v128.store(y, y1, 16); v128.store(y, y2, 32); v128.store(y, y3, 48);
  v128.store(y, y4, 64); v128.store(y, y5, 80); v128.store(y, y6, 96); v128.store(y, y7, 112);
}
