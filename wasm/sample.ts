// The sampler's whole step in one call (src/backend/wasm-kernels/model-step.ts): for B streams,
// each stream's character id → every layer's projection and cell → the output logits, with
// the state carried in place. The same maths as the op-by-op step (src/sampling/sampler.ts
// BatchStepper, src/cells/*.ts), in another order of summation.
//
// The host describes the model once in a plan, i32 words at `plan` (pointers are byte offsets):
//   header  KIND (0 LSTM, 1 GRU, 2 RNN), L, B, H, V, G (gates), ids (B) int32, logits (B, V),
//           z scratch (B, G·H), rh scratch (B, H; the GRU's r∘h), packed Wy (H, V), by (V), WIDE
//   layer l at word HEADER_WORDS + LAYER_WORDS·l:
//           E (V, G·H) = W + b for layer 0 (its input is one-hot: x·W + b is a row), else 0;
//           b (G·H) above layer 0, else 0; packed W (H, G·H) above layer 0, else 0;
//           packed U's first R columns (H, R) and R (G·H; the GRU 2H, its candidate's Uh apart);
//           packed Uh (H, H) for the GRU, else 0; h (B, H); c (B, H) for the LSTM, else 0
// Weights are packed by `packWide` when WIDE is 1, else by gemm.ts `pack`. Per step, a layer is z = (E[ids] | b) + x·W + h·U,
// then the cell, writing h (and c) over the old state.
//
// The products are matrix-vector at batch 1 and have few rows at sampling's batches. Below 4
// streams (the host sets WIDE) the weights are packed in panels of 32 columns, and each stream's
// row goes through `rowTimesPanel`: 8 independent accumulators, the panel read as one sequential
// stream (2x gemm's 1x8 tile on 8-column panels at batch 1, whose two accumulators wait on
// multiply-add latency; and 2x the same 8 accumulators over four 8-column panels, four streams
// K·32 bytes apart). From 4 streams on, gemm.ts's 4x8 tile on its 8-column panels, each loaded
// weight vector used by 4 streams (1.3x the wide rows at batch 16).
import { gemm } from './gemm';
import { lstmCell } from './lstm';
import { gruGates, gruOutput } from './gru';
import { madd, slot } from './simd';
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
const WIDE = 12;
export const HEADER_WORDS = 13;

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
  const wide = word(plan, WIDE) != 0;
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
    if (x != 0) product(B, N, H, x, pointer(layer, PACKED_W), z, N, wide);
    product(B, word(layer, RECURRENT_COLUMNS), H, h, pointer(layer, PACKED_U), z, N, wide);
    if (kind == LSTM) {
      const c = pointer(layer, STATE_C);
      lstmCell(B, H, z, c, z, h, c);
    } else if (kind == GRU) {
      const rh = pointer(plan, RH);
      gruGates(B, H, z, h, rh);
      product(B, H, H, rh, pointer(layer, PACKED_UH), z + <usize>H * 8, N, wide);
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
  product(B, V, H, x, pointer(plan, OUT_W), logits, V, wide);
}

/** Bytes of the wide packed form of a (K, N) matrix: panels of 32 columns, row k's 32 floats together, the last zero-padded. */
export function packedWideBytes(K: i32, N: i32): usize {
  return <usize>((N + 31) >> 5) * <usize>K * 128;
}

/** Packs the (K, N) matrix whose element (k, n) is at src + 4·(k·sk + n·sn) into wide panels. */
export function packWide(src: usize, K: i32, N: i32, sk: i32, sn: i32, dst: usize): void {
  for (let n0 = 0; n0 < N; n0 += 32) {
    const cols = min(32, N - n0);
    for (let k = 0; k < K; k++) {
      const row = src + (<usize>k * <usize>sk + <usize>n0 * <usize>sn) * 4;
      for (let j = 0; j < 32; j++) store<f32>(dst + (<usize>j << 2), j < cols ? load<f32>(row + <usize>j * <usize>sn * 4) : 0);
      dst += 128;
    }
  }
}

/**
 * C (M, N; row stride ldc) += A (M, K; rows contiguous) · P, P the (K, N) matrix packed wide
 * (packWide) when `wide`, else in gemm.ts's 8-column panels.
 */
function product(M: i32, N: i32, K: i32, a: usize, packed: usize, c: usize, ldc: i32, wide: bool): void {
  if (wide) {
    for (let m = 0; m < M; m++) rowTimesWide(N, K, a + <usize>m * <usize>K * 4, packed, c + <usize>m * <usize>ldc * 4);
    return;
  }
  gemm(M, N, K, a, K, 1, packed, c, ldc, true);
}

/** y (N) += x (K) · P (wide panels); a partial last panel through a scratch row, so nothing past column N is touched. */
function rowTimesWide(N: i32, K: i32, x: usize, packed: usize, y: usize): void {
  const panel = <usize>K * 128;
  let n = 0;
  for (; n + 32 <= N; n += 32) rowTimesPanel(x, packed + <usize>(n >> 5) * panel, K, y + (<usize>n << 2));
  if (n == N) return;
  const rest = <usize>(N - n) << 2;
  const scratch = slot(0); // 8 slots: 32 floats
  memory.fill(scratch, 0, 128);
  memory.copy(scratch, y + (<usize>n << 2), rest);
  rowTimesPanel(x, packed + <usize>(n >> 5) * panel, K, scratch);
  memory.copy(y + (<usize>n << 2), scratch, rest);
}

/** y (32) += x (K) · one wide panel: 8 independent accumulators, the panel read in one sequential stream. */
function rowTimesPanel(x: usize, p: usize, K: i32, y: usize): void {
  let y0 = v128.load(y), y1 = v128.load(y, 16), y2 = v128.load(y, 32), y3 = v128.load(y, 48);
  let y4 = v128.load(y, 64), y5 = v128.load(y, 80), y6 = v128.load(y, 96), y7 = v128.load(y, 112);
  for (let k = 0; k < K; k++) {
    const v = v128.load32_splat(x);
    y0 = madd(v, v128.load(p), y0); y1 = madd(v, v128.load(p, 16), y1);
    y2 = madd(v, v128.load(p, 32), y2); y3 = madd(v, v128.load(p, 48), y3);
    y4 = madd(v, v128.load(p, 64), y4); y5 = madd(v, v128.load(p, 80), y5);
    y6 = madd(v, v128.load(p, 96), y6); y7 = madd(v, v128.load(p, 112), y7);
    x += 4; p += 128;
  }
  v128.store(y, y0); v128.store(y, y1, 16); v128.store(y, y2, 32); v128.store(y, y3, 48);
  v128.store(y, y4, 64); v128.store(y, y5, 80); v128.store(y, y6, 96); v128.store(y, y7, 112);
}
