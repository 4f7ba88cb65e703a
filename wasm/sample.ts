// The sampler's whole step (src/backend/wasm-kernels/packed-model.ts writes its plans): for B
// streams, each stream's character id → every layer's projection and cell → the output logits.
// The same maths as the op-by-op step (src/sampling/sampler.ts BatchStepper, src/cells/*.ts),
// in another order of summation.
//
// A plan describes one share of the step: units [UNIT_FROM, +UNITS) of every layer (all their
// gates: the columns of the gate matrices that the cell needs to update those units) and
// output columns [COLUMN_FROM, +COLUMNS). One thread runs the whole step with one share of
// everything (sampleStep); several threads each run their share, phase by phase, on one copy
// of the weights in shared memory, the host holding a barrier between phases (sampleLayer,
// sampleCandidate for the GRU, sampleOutput; column-step.ts). A share's weights are only its
// columns, so each thread reads only its part of them.
//
// The plan, i32 words at `plan` (pointers are byte offsets; "share" is the plan's, U = UNITS):
//   header  KIND (0 LSTM, 1 GRU, 2 RNN), L, B, H, V, G (gates), ids (B) int32, logits (B, V),
//           z scratch (B, G·U), rh (B, H; the GRU's r∘h), the share's packed Wy columns (H, C)
//           and by (C), WIDE, UNIT_FROM, U, COLUMN_FROM, C
//   layer l at word HEADER_WORDS + LAYER_WORDS·l, the share's columns (gate by gate, U each):
//           E (V, G·U) = W + b for layer 0 (its input is one-hot: x·W + b is a row), else 0;
//           b (G·U) above layer 0, else 0; packed W (H, G·U) above layer 0, else 0;
//           packed U's first R columns (H, R) and R (G·U; the GRU 2U, its candidate's Uh apart);
//           packed Uh (H, U) for the GRU, else 0; h in two buffers (B, H) each; c (B, H) for
//           the LSTM, else 0
// A step reads h from the buffer `parity` names and writes the new h to the other: with several
// shares, the other threads still read the old h while one writes its units' new h (one
// thread: both buffers are one, the step in place). c is read and written by its unit's share
// only, in place.
// Weights are packed by the host in panels of 32 columns when WIDE is 1, else of 8 (gemm.ts pack's form).
//
// The products are matrix-vector at batch 1 and have few rows at sampling's batches. Below 4
// streams (the host sets WIDE) each stream's row goes through `rowTimesPanel`: 8 independent
// accumulators, the panel read as one sequential stream (2x gemm's 1x8 tile on 8-column panels
// at batch 1, whose two accumulators wait on multiply-add latency; and 2x the same 8
// accumulators over four 8-column panels, four streams K·32 bytes apart). From 4 streams on,
// gemm.ts's 4x8 tile on its 8-column panels, each loaded weight vector used by 4 streams (1.3x
// the wide rows at batch 16). Either way every output element is its start value plus its
// products in order of k, so a stream's logits are the same bits in any share and any batch.
import { gemm } from './gemm';
import { forwardRow } from './lstm';
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
const UNIT_FROM = 13;
const UNITS = 14;
const COLUMN_FROM = 15;
const COLUMNS = 16;
export const HEADER_WORDS = 17;

const TABLE = 0;
const BIAS = 1;
const PACKED_W = 2;
const PACKED_U = 3;
const RECURRENT_COLUMNS = 4;
const PACKED_UH = 5;
const STATE_H = 6; // and 7
const STATE_C = 8;
export const LAYER_WORDS = 9;

const LSTM = 0;
const GRU = 1;

@inline function word(at: usize, k: i32): i32 {
  return load<i32>(at + (<usize>k << 2));
}

@inline function pointer(at: usize, k: i32): usize {
  return <usize>word(at, k);
}

@inline function layerAt(plan: usize, l: i32): usize {
  return plan + (<usize>(HEADER_WORDS + LAYER_WORDS * l) << 2);
}

/** Steps the model a one-share plan describes once: reads ids, writes logits and every layer's state. */
export function sampleStep(plan: usize): void {
  const L = word(plan, LAYERS);
  const gru = word(plan, KIND) == GRU;
  for (let l = 0; l < L; l++) {
    sampleLayer(plan, l, 0);
    if (gru) sampleCandidate(plan, l, 0);
  }
  sampleOutput(plan, 0);
}

/**
 * The share's units of layer l: z = (E[ids] | b) + x·W + h·U on its columns, then the cell
 * (for the GRU up to r∘h, which sampleCandidate needs whole). x: the layer below's new h.
 */
export function sampleLayer(plan: usize, l: i32, parity: i32): void {
  const kind = word(plan, KIND);
  const B = word(plan, BATCH);
  const H = word(plan, HIDDEN);
  const units = word(plan, UNITS);
  const N = word(plan, GATES) * units;
  const ids = pointer(plan, IDS);
  const z = pointer(plan, Z);
  const wide = word(plan, WIDE) != 0;
  const row = <usize>N * 4;
  const layer = layerAt(plan, l);
  const table = pointer(layer, TABLE);
  for (let b = 0; b < B; b++) {
    const from = table != 0 ? table + <usize>load<i32>(ids + (<usize>b << 2)) * row : pointer(layer, BIAS);
    memory.copy(z + <usize>b * row, from, row);
  }
  if (l > 0) product(B, N, H, pointer(layerAt(plan, l - 1), STATE_H + (parity ^ 1)), pointer(layer, PACKED_W), z, N, wide);
  const hPrev = pointer(layer, STATE_H + parity);
  product(B, word(layer, RECURRENT_COLUMNS), H, hPrev, pointer(layer, PACKED_U), z, N, wide);
  const at = <usize>word(plan, UNIT_FROM) << 2; // the share's first unit in a state row
  const h = pointer(layer, STATE_H + (parity ^ 1)) + at;
  const stateRow = <usize>H << 2;
  if (kind == LSTM) {
    const c = pointer(layer, STATE_C) + at;
    for (let b = 0; b < B; b++) {
      const zRow = z + <usize>b * row;
      const state = <usize>b * stateRow;
      forwardRow(units, zRow, zRow, c + state, c + state, h + state);
    }
  } else if (kind == GRU) {
    gruGates(B, units, z, hPrev + at, pointer(plan, RH) + at, H);
  } else {
    tanhInPlace(z, B * units);
    for (let b = 0; b < B; b++) memory.copy(h + <usize>b * stateRow, z + <usize>b * row, row);
  }
}

/** The GRU's second phase for the share's units (r∘h of every unit complete): the candidate's recurrent product, then the new h. */
export function sampleCandidate(plan: usize, l: i32, parity: i32): void {
  const B = word(plan, BATCH);
  const H = word(plan, HIDDEN);
  const units = word(plan, UNITS);
  const z = pointer(plan, Z);
  const layer = layerAt(plan, l);
  const at = <usize>word(plan, UNIT_FROM) << 2;
  product(B, units, H, pointer(plan, RH), pointer(layer, PACKED_UH), z + <usize>units * 8, 3 * units, word(plan, WIDE) != 0);
  gruOutput(B, units, z, pointer(layer, STATE_H + parity) + at, pointer(layer, STATE_H + (parity ^ 1)) + at, H);
}

/** The share's output columns: logits = by + h·Wy from the top layer's new h. */
export function sampleOutput(plan: usize, parity: i32): void {
  const B = word(plan, BATCH);
  const H = word(plan, HIDDEN);
  const V = word(plan, VOCAB);
  const columns = word(plan, COLUMNS);
  const logits = pointer(plan, LOGITS) + (<usize>word(plan, COLUMN_FROM) << 2);
  const bias = pointer(plan, OUT_B);
  for (let b = 0; b < B; b++) memory.copy(logits + <usize>b * <usize>V * 4, bias, <usize>columns * 4);
  const x = pointer(layerAt(plan, word(plan, LAYERS) - 1), STATE_H + (parity ^ 1));
  product(B, columns, H, x, pointer(plan, OUT_W), logits, V, word(plan, WIDE) != 0);
}

/**
 * C (M, N; row stride ldc) += A (M, K; rows contiguous) · P, P the (K, N) matrix packed in
 * panels of 32 columns when `wide`, else of 8 (gemm.ts's).
 */
function product(M: i32, N: i32, K: i32, a: usize, packed: usize, c: usize, ldc: i32, wide: bool): void {
  if (wide) {
    for (let m = 0; m < M; m++) rowTimesWide(N, K, a + <usize>m * <usize>K * 4, packed, c + <usize>m * <usize>ldc * 4);
    return;
  }
  gemm(M, N, K, a, K, 1, packed, c, ldc, true);
}

/** y (N) += x (K) · P (32-column panels); a partial last panel through a scratch row, so nothing past column N is touched. */
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

/** y (32) += x (K) · one 32-column panel (row k's 32 floats together): 8 independent accumulators, the panel read in one sequential stream. */
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
