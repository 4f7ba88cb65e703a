// The fused vanilla RNN layer, h' = tanh(x·W + b + h·U): a whole window's time loop in one
// call, forward and backward. The same maths as src/cells/rnn.ts (the op-by-op reference).
//
// Shapes (float32, row-major, T steps, B streams, H hidden; pointers are byte offsets):
//   zIn (T·B, H)  input projection of every step;  U (H, H);  h0 (B, H)
//   hs (T·B, H)   h after every step: all the backward keeps, T·B·H floats
// The host passes scratch: `packed` of packedBytes(H, H), and for the backward `dh` of B·H floats.
import { gemm, pack } from './gemm';
import { fromSlot, one, slot, tanh4, toSlot } from './simd';

export function rnnForward(T: i32, B: i32, H: i32, zIn: usize, U: usize, h0: usize, hs: usize, packed: usize): void {
  pack(U, H, H, H, 1, packed);
  const step = <usize>B * <usize>H * 4;
  for (let t = 0; t < T; t++) {
    const h = hs + <usize>t * step;
    memory.copy(h, zIn + <usize>t * step, step);
    gemm(B, H, H, t == 0 ? h0 : h - step, H, 1, packed, h, H, true);
    tanhInPlace(h, B * H);
  }
}

/**
 * From dHs (T·B, H) and the forward's hs: dZ (T·B, H), the gradient of zIn (dU = hPrevᵀ·dZ
 * is left to the host), and dh0 (B, H).
 *   dz_t = (dHs_t + dz_{t+1}·Uᵀ) ∘ (1 − h_t²)
 */
export function rnnBackward(T: i32, B: i32, H: i32, dHs: usize, hs: usize, U: usize, dZ: usize, dh0: usize, packed: usize): void {
  pack(U, H, H, 1, H, packed); // Uᵀ
  const step = <usize>B * <usize>H * 4;
  for (let t = T - 1; t >= 0; t--) {
    const dz = dZ + <usize>t * step;
    memory.copy(dz, dHs + <usize>t * step, step);
    if (t < T - 1) gemm(B, H, H, dz + step, H, 1, packed, dz, H, true);
    tanhSlope(dz, hs + <usize>t * step, B * H);
  }
  gemm(B, H, H, dZ, H, 1, packed, dh0, H, false);
}

export function tanhInPlace(x: usize, n: i32): void {
  let k = 0;
  for (; k + 4 <= n; k += 4) v128.store(x + (<usize>k << 2), tanh4(v128.load(x + (<usize>k << 2))));
  const rest = n - k;
  if (rest == 0) return;
  const tail = x + (<usize>k << 2);
  toSlot(tail, rest, 0);
  v128.store(slot(0), tanh4(v128.load(slot(0))));
  fromSlot(0, tail, rest);
}

/** dz ∘= 1 − h², over n floats. */
function tanhSlope(dz: usize, h: usize, n: i32): void {
  const ones = one();
  let k = 0;
  for (; k + 4 <= n; k += 4) {
    const at = <usize>k << 2;
    const hv = v128.load(h + at);
    v128.store(dz + at, f32x4.mul(v128.load(dz + at), f32x4.sub(ones, f32x4.mul(hv, hv))));
  }
  for (; k < n; k++) {
    const at = <usize>k << 2;
    const hk = load<f32>(h + at);
    store<f32>(dz + at, load<f32>(dz + at) * (1 - hk * hk));
  }
}
