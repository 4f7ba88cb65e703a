// The fused LSTM layer: a whole window's time loop in one call, forward and backward.
// The same maths as src/cells/lstm.ts (the op-by-op reference, whose opening comment has the
// shapes and gate order), in one pass over memory per step instead of ~30 tfjs ops.
//
// Shapes (float32, row-major, T steps, B streams, H hidden; all pointers are byte offsets):
//   zIn (T·B, 4H)  input projection x·W + b of every step, gates (i, f, g, o)
//   U (H, 4H); h0, c0 (B, H)
//   hs, cs (T·B, H)  h and c after every step
//   gates (T·B, 4H)  i, f, g, o after their activations
// Memory the backward keeps (the forward's outputs): gates, cs and hs, 6·T·B·H floats, the
// same as the op-by-op layer's.
//
// The host passes scratch memory (it owns the heap): `packed` of packedBytes(H, 4H), and for
// the backward `dh` and `dc` of B·H floats each.
import { gemm, pack } from './gemm';
import { fromSlot, madd, one, sigmoid4, slot, tanh4, toSlot } from './simd';


/**
 * Runs the layer forward over T steps. With `keepAll` false (evaluation, sampling), `gates`
 * and `cs` hold one step (B·4H and B·H floats) and end as the last step's.
 */
export function lstmForward(T: i32, B: i32, H: i32, zIn: usize, U: usize, h0: usize, c0: usize, hs: usize, cs: usize, gates: usize, keepAll: bool, packed: usize): void {
  const G = 4 * H;
  pack(U, H, G, G, 1, packed);
  const stepZ = <usize>B * <usize>G * 4;
  const stepH = <usize>B * <usize>H * 4;
  for (let t = 0; t < T; t++) {
    const z = gates + (keepAll ? <usize>t * stepZ : 0);
    const c = cs + (keepAll ? <usize>t * stepH : 0);
    const h = hs + <usize>t * stepH;
    const hPrev = t == 0 ? h0 : h - stepH;
    const cPrev = t == 0 ? c0 : keepAll ? c - stepH : c; // in place when one step is kept
    memory.copy(z, zIn + <usize>t * stepZ, stepZ);
    gemm(B, G, H, hPrev, H, 1, packed, z, G, true);
    for (let b = 0; b < B; b++) {
      const zRow = z + <usize>b * <usize>G * 4;
      const offset = <usize>b * <usize>H * 4;
      forwardRow(H, zRow, zRow, cPrev + offset, c + offset, h + offset);
    }
  }
}

/**
 * One step's cell without the recurrent product (the sampler's step, whose z (B, 4H) =
 * x·W + h·U + b tfjs computes): gates (B, 4H) gets the activations, h and c (B, H) the new state.
 */
export function lstmCell(B: i32, H: i32, z: usize, cPrev: usize, gates: usize, h: usize, c: usize): void {
  for (let b = 0; b < B; b++) {
    const zRow = <usize>b * <usize>H * 16;
    const offset = <usize>b * <usize>H * 4;
    forwardRow(H, z + zRow, gates + zRow, cPrev + offset, c + offset, h + offset);
  }
}

/** One stream's step from its pre-activations z (4H) and c_{t-1}: activations a (4H; may be z), c and h (H). */
export function forwardRow(H: i32, z: usize, a: usize, cPrev: usize, c: usize, h: usize): void {
  const gate = <usize>H * 4;
  let j = 0;
  for (; j + 4 <= H; j += 4) {
    const at = <usize>j * 4;
    forwardLanes(z + at, gate, a + at, cPrev + at, c + at, h + at);
  }
  const rest = H - j;
  if (rest == 0) return;
  // The last H mod 4 units go through four-lane slots, so no lane beyond the row is touched.
  const at = <usize>j * 4;
  for (let g = 0; g < 4; g++) toSlot(z + <usize>g * gate + at, rest, g);
  toSlot(cPrev + at, rest, 4);
  forwardLanes(slot(0), 16, slot(0), slot(4), slot(5), slot(6));
  for (let g = 0; g < 4; g++) fromSlot(g, a + <usize>g * gate + at, rest);
  fromSlot(5, c + at, rest);
  fromSlot(6, h + at, rest);
}

/** Four units: gate k's pre-activations at z + k·gate, its activations to a + k·gate. */
@inline function forwardLanes(z: usize, gate: usize, a: usize, cPrev: usize, c: usize, h: usize): void {
  const i = sigmoid4(v128.load(z));
  const f = sigmoid4(v128.load(z + gate));
  const g = tanh4(v128.load(z + 2 * gate));
  const o = sigmoid4(v128.load(z + 3 * gate));
  const cNext = madd(f, v128.load(cPrev), f32x4.mul(i, g));
  v128.store(a, i);
  v128.store(a + gate, f);
  v128.store(a + 2 * gate, g);
  v128.store(a + 3 * gate, o);
  v128.store(c, cNext);
  v128.store(h, f32x4.mul(o, tanh4(cNext)));
}

/**
 * The backward over the forward's window: from dHs (T·B, H), the gradient of the loss with
 * respect to every hs, writes dZ (T·B, 4H) (the gradient of zIn; dU = hPrevᵀ·dZ is left to
 * the host) and dh0, dc0 (B, H), the initial state's gradient.
 *   dh_t = dHs_t + dz_{t+1}·Uᵀ          dc_t = dh_t ∘ o ∘ (1 − tanh² c_t) + dc_{t+1} ∘ f_{t+1}
 *   dz = (dc∘g∘i(1−i), dc∘c_{t−1}∘f(1−f), dc∘i∘(1−g²), dh∘tanh c_t∘o(1−o))
 */
export function lstmBackward(T: i32, B: i32, H: i32, dHs: usize, gates: usize, cs: usize, c0: usize, U: usize, dZ: usize, dh0: usize, dc0: usize, packed: usize, dh: usize, dc: usize): void {
  const G = 4 * H;
  pack(U, G, H, 1, G, packed); // Uᵀ (4H, H)
  const stepZ = <usize>B * <usize>G * 4;
  const stepH = <usize>B * <usize>H * 4;
  memory.fill(dc, 0, stepH);
  for (let t = T - 1; t >= 0; t--) {
    memory.copy(dh, dHs + <usize>t * stepH, stepH);
    if (t < T - 1) gemm(B, H, G, dZ + <usize>(t + 1) * stepZ, G, 1, packed, dh, H, true);
    const cPrev = t == 0 ? c0 : cs + <usize>(t - 1) * stepH;
    for (let b = 0; b < B; b++) {
      const zRow = <usize>(t * B + b) * <usize>G * 4;
      const offset = <usize>b * <usize>H * 4;
      backwardRow(H, gates + zRow, cs + <usize>t * stepH + offset, cPrev + offset, dh + offset, dc + offset, dZ + zRow);
    }
  }
  gemm(B, H, G, dZ, G, 1, packed, dh0, H, false);
  memory.copy(dc0, dc, stepH);
}

/** One stream's step back: a = (i, f, g, o) (4H), c_t, c_{t−1}, dh; dc in: dc_{t+1}∘f_{t+1}, out: dc_t∘f_t. */
function backwardRow(H: i32, a: usize, c: usize, cPrev: usize, dh: usize, dc: usize, dz: usize): void {
  const gate = <usize>H * 4;
  let j = 0;
  for (; j + 4 <= H; j += 4) {
    const at = <usize>j * 4;
    backwardLanes(a + at, a + gate + at, a + 2 * gate + at, a + 3 * gate + at, c + at, cPrev + at, dh + at, dc + at,
      dz + at, dz + gate + at, dz + 2 * gate + at, dz + 3 * gate + at);
  }
  const rest = H - j;
  if (rest == 0) return;
  const at = <usize>j * 4;
  for (let g = 0; g < 4; g++) toSlot(a + <usize>g * gate + at, rest, g);
  toSlot(c + at, rest, 4);
  toSlot(cPrev + at, rest, 5);
  toSlot(dh + at, rest, 6);
  toSlot(dc + at, rest, 7);
  backwardLanes(slot(0), slot(1), slot(2), slot(3), slot(4), slot(5), slot(6), slot(7), slot(8), slot(9), slot(10), slot(11));
  fromSlot(7, dc + at, rest);
  for (let g = 0; g < 4; g++) fromSlot(8 + g, dz + <usize>g * gate + at, rest);
}

@inline function backwardLanes(pi: usize, pf: usize, pg: usize, po: usize, pc: usize, pcPrev: usize, pdh: usize, pdc: usize,
  dzi: usize, dzf: usize, dzg: usize, dzo: usize): void {
  const i = v128.load(pi), f = v128.load(pf), g = v128.load(pg), o = v128.load(po);
  const dh = v128.load(pdh);
  const tc = tanh4(v128.load(pc));
  const ones = one();
  const dc = madd(f32x4.mul(dh, o), f32x4.sub(ones, f32x4.mul(tc, tc)), v128.load(pdc));
  v128.store(dzi, f32x4.mul(f32x4.mul(dc, g), f32x4.mul(i, f32x4.sub(ones, i))));
  v128.store(dzf, f32x4.mul(f32x4.mul(dc, v128.load(pcPrev)), f32x4.mul(f, f32x4.sub(ones, f))));
  v128.store(dzg, f32x4.mul(f32x4.mul(dc, i), f32x4.sub(ones, f32x4.mul(g, g))));
  v128.store(dzo, f32x4.mul(f32x4.mul(dh, tc), f32x4.mul(o, f32x4.sub(ones, o))));
  v128.store(pdc, f32x4.mul(dc, f));
}
