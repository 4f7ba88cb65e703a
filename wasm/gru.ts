// The fused GRU layer (reset gate before the recurrent product, Keras reset_after=False): a
// whole window's time loop in one call, forward and backward, and the sampler's one step.
// The same maths as src/cells/gru.ts (the op-by-op reference, whose opening comment has the
// equations and gate order z | r | h).
//
// Shapes (float32, row-major, T steps, B streams, H hidden; pointers are byte offsets):
//   zIn (T·B, 3H)  input projection x·W + b of every step, columns z | r | candidate
//   U (H, 3H)      columns Uz | Ur | Uh;  h0 (B, H)
//   hs (T·B, H)    h after every step
//   gates (T·B, 3H)  z, r and the candidate ĥ after their activations
//   rhs (T·B, H)   r∘h_{t-1} of every step, the candidate's recurrent input (for dUh)
// Each step is two dependent products: h·[Uz Ur], then (r∘h)·Uh.
// Memory the backward keeps (the forward's outputs): gates, rhs and hs, 5·T·B·H floats.
//
// The host passes scratch: `packed` of gruPackedBytes(H); with keepAll false `gates` and
// `rhs` hold one step (B·3H and B·H floats).
import { gemm, pack, packedBytes } from './gemm';
import { fromSlot, madd, one, sigmoid4, slot, tanh4, toSlot } from './simd';
import { tanhInPlace } from './rnn';

/** Scratch for the packed recurrent kernel: [Uz Ur] (H, 2H) or its transpose, then Uh (H, H) or its transpose. */
export function gruPackedBytes(H: i32): usize {
  return uhOffset(H) + packedBytes(H, H);
}

/** Where the packed Uh starts: after room for the larger of [Uz Ur] and its transpose. */
function uhOffset(H: i32): usize {
  return packedBytes(2 * H, H); // ⌈H/8⌉·2 panels ≥ ⌈2H/8⌉
}

export function gruForward(T: i32, B: i32, H: i32, zIn: usize, U: usize, h0: usize, hs: usize, gates: usize, rhs: usize, keepAll: bool, packed: usize): void {
  const G = 3 * H;
  const packedUh = packed + uhOffset(H);
  pack(U, H, 2 * H, G, 1, packed);
  pack(U + (<usize>(2 * H) << 2), H, H, G, 1, packedUh);
  const stepZ = <usize>B * <usize>G * 4;
  const stepH = <usize>B * <usize>H * 4;
  for (let t = 0; t < T; t++) {
    const a = gates + (keepAll ? <usize>t * stepZ : 0);
    const rh = rhs + (keepAll ? <usize>t * stepH : 0);
    const h = hs + <usize>t * stepH;
    const hPrev = t == 0 ? h0 : h - stepH;
    memory.copy(a, zIn + <usize>t * stepZ, stepZ);
    gemm(B, 2 * H, H, hPrev, H, 1, packed, a, G, true);
    step(B, H, a, hPrev, rh, packedUh, h);
  }
}

/**
 * The sampler's step: from the update/reset pre-activations szr (B, 2H) (input and
 * recurrent parts summed, as tfjs computes them), the candidate's input part xh (B, H), Uh
 * (H, H) and h (B, H), the new h (B, H). Scratch: gates (B, 3H), rh (B, H), packed of
 * packedBytes(H, H).
 */
export function gruCell(B: i32, H: i32, szr: usize, xh: usize, Uh: usize, hPrev: usize, h: usize, gates: usize, rh: usize, packed: usize): void {
  pack(Uh, H, H, H, 1, packed);
  const row = <usize>H * 4;
  for (let b = 0; b < B; b++) {
    const a = gates + <usize>b * 3 * row;
    memory.copy(a, szr + <usize>b * 2 * row, 2 * row);
    memory.copy(a + 2 * row, xh + <usize>b * row, row);
  }
  step(B, H, gates, hPrev, rh, packed, h);
}

/**
 * One step after the update/reset pre-activations are complete in a (B, 3H) (its candidate
 * columns holding only the input part): activations in place, rh = r∘hPrev, the candidate's
 * recurrent product, and h = ĥ + z∘(hPrev − ĥ).
 */
function step(B: i32, H: i32, a: usize, hPrev: usize, rh: usize, packedUh: usize, h: usize): void {
  gruGates(B, H, a, hPrev, rh, H);
  gemm(B, H, H, rh, H, 1, packedUh, a + 2 * <usize>H * 4, 3 * H, true);
  gruOutput(B, H, a, hPrev, h, H);
}

/**
 * The step before the candidate's recurrent product for H units: z, r = σ(·) in place in
 * a (B, 3H), rh = r∘hPrev (B rows of H, `stateRow` floats apart, as hPrev's).
 */
export function gruGates(B: i32, H: i32, a: usize, hPrev: usize, rh: usize, stateRow: i32): void {
  const row = <usize>H * 4;
  const state = <usize>stateRow * 4;
  for (let b = 0; b < B; b++) {
    const ab = a + <usize>b * 3 * row;
    sigmoidInPlace(ab, 2 * H);
    multiply(ab + row, hPrev + <usize>b * state, rh + <usize>b * state, H);
  }
}

/**
 * The step after it (a's candidate columns complete): ĥ = tanh(·) in place, h = ĥ + z∘(hPrev − ĥ)
 * (B rows of H, `stateRow` floats apart, as hPrev's; h may be hPrev).
 */
export function gruOutput(B: i32, H: i32, a: usize, hPrev: usize, h: usize, stateRow: i32): void {
  const row = <usize>H * 4;
  const state = <usize>stateRow * 4;
  for (let b = 0; b < B; b++) {
    const ab = a + <usize>b * 3 * row;
    tanhInPlace(ab + 2 * row, H);
    interpolate(H, ab, ab + 2 * row, hPrev + <usize>b * state, h + <usize>b * state);
  }
}

/**
 * The backward over the forward's window: from dHs (T·B, H) writes dZ (T·B, 3H), the
 * gradient of zIn (dU = [hPrevᵀ·dZ_zr, rhsᵀ·dZ_h] is left to the host), and dh0 (B, H).
 * With d = dHs_t + the gradient carried from step t+1:
 *   dA = d∘(1−z)∘(1−ĥ²)               dRh = dA·Uhᵀ
 *   dSz = d∘(hPrev−ĥ)∘z(1−z)          dSr = dRh∘hPrev∘r(1−r)
 *   carried to t−1: d∘z + dRh∘r + [dSz dSr]·[Uz Ur]ᵀ
 * Scratch: packed of gruPackedBytes(H), dh and dRh of B·H floats.
 */
export function gruBackward(T: i32, B: i32, H: i32, dHs: usize, gates: usize, hs: usize, h0: usize, U: usize, dZ: usize, dh0: usize, packed: usize, dh: usize, dRh: usize): void {
  const G = 3 * H;
  const packedUhT = packed + uhOffset(H);
  pack(U, 2 * H, H, 1, G, packed); // [Uz Ur]ᵀ (2H, H)
  pack(U + (<usize>(2 * H) << 2), H, H, 1, G, packedUhT); // Uhᵀ (H, H)
  const stepZ = <usize>B * <usize>G * 4;
  const stepH = <usize>B * <usize>H * 4;
  const row = <usize>H * 4;
  memory.fill(dh, 0, stepH);
  for (let t = T - 1; t >= 0; t--) {
    const a = gates + <usize>t * stepZ;
    const dz = dZ + <usize>t * stepZ;
    const hPrev = t == 0 ? h0 : hs + <usize>(t - 1) * stepH;
    for (let b = 0; b < B; b++) {
      const ab = <usize>b * 3 * row;
      const hb = <usize>b * row;
      backwardOuter(H, a + ab, hPrev + hb, dHs + <usize>t * stepH + hb, dh + hb, dz + ab);
    }
    gemm(B, H, H, dz + 2 * row, G, 1, packedUhT, dRh, H, false);
    for (let b = 0; b < B; b++) {
      const ab = <usize>b * 3 * row;
      const hb = <usize>b * row;
      backwardReset(H, a + ab + row, hPrev + hb, dRh + hb, dh + hb, dz + ab + row);
    }
    gemm(B, H, 2 * H, dz, G, 1, packed, dh, H, true);
  }
  memory.copy(dh0, dh, stepH);
}

/** One stream: z and ĥ from a (3H), hPrev, dHs_t and the carried dh (H) → dSz, dA into dz (3H), and dh ← d∘z. */
function backwardOuter(H: i32, a: usize, hPrev: usize, dHs: usize, dh: usize, dz: usize): void {
  const row = <usize>H * 4;
  const ones = one();
  let j = 0;
  for (; j + 4 <= H; j += 4) {
    const at = <usize>j << 2;
    const z = v128.load(a + at), hh = v128.load(a + 2 * row + at);
    const d = f32x4.add(v128.load(dh + at), v128.load(dHs + at));
    v128.store(dz + at, f32x4.mul(f32x4.mul(d, f32x4.sub(v128.load(hPrev + at), hh)), f32x4.mul(z, f32x4.sub(ones, z))));
    v128.store(dz + 2 * row + at, f32x4.mul(f32x4.mul(d, f32x4.sub(ones, z)), f32x4.sub(ones, f32x4.mul(hh, hh))));
    v128.store(dh + at, f32x4.mul(d, z));
  }
  for (; j < H; j++) {
    const at = <usize>j << 2;
    const z = load<f32>(a + at), hh = load<f32>(a + 2 * row + at);
    const d = load<f32>(dh + at) + load<f32>(dHs + at);
    store<f32>(dz + at, d * (load<f32>(hPrev + at) - hh) * (z * (1 - z)));
    store<f32>(dz + 2 * row + at, d * (1 - z) * (1 - hh * hh));
    store<f32>(dh + at, d * z);
  }
}

/** One stream: r (H), hPrev, dRh → dSr (H) into dz, and dh += dRh∘r. */
function backwardReset(H: i32, r: usize, hPrev: usize, dRh: usize, dh: usize, dz: usize): void {
  const ones = one();
  let j = 0;
  for (; j + 4 <= H; j += 4) {
    const at = <usize>j << 2;
    const rv = v128.load(r + at), g = v128.load(dRh + at);
    v128.store(dz + at, f32x4.mul(f32x4.mul(g, v128.load(hPrev + at)), f32x4.mul(rv, f32x4.sub(ones, rv))));
    v128.store(dh + at, madd(g, rv, v128.load(dh + at)));
  }
  for (; j < H; j++) {
    const at = <usize>j << 2;
    const rv = load<f32>(r + at), g = load<f32>(dRh + at);
    store<f32>(dz + at, g * load<f32>(hPrev + at) * (rv * (1 - rv)));
    store<f32>(dh + at, g * rv + load<f32>(dh + at));
  }
}

function sigmoidInPlace(x: usize, n: i32): void {
  let k = 0;
  for (; k + 4 <= n; k += 4) v128.store(x + (<usize>k << 2), sigmoid4(v128.load(x + (<usize>k << 2))));
  const rest = n - k;
  if (rest == 0) return;
  const tail = x + (<usize>k << 2);
  toSlot(tail, rest, 0);
  v128.store(slot(0), sigmoid4(v128.load(slot(0))));
  fromSlot(0, tail, rest);
}

/** out = x∘y over n floats. */
function multiply(x: usize, y: usize, out: usize, n: i32): void {
  let k = 0;
  for (; k + 4 <= n; k += 4) {
    const at = <usize>k << 2;
    v128.store(out + at, f32x4.mul(v128.load(x + at), v128.load(y + at)));
  }
  for (; k < n; k++) {
    const at = <usize>k << 2;
    store<f32>(out + at, load<f32>(x + at) * load<f32>(y + at));
  }
}

/** h = ĥ + z∘(hPrev − ĥ) over H units. */
function interpolate(H: i32, z: usize, hh: usize, hPrev: usize, h: usize): void {
  let k = 0;
  for (; k + 4 <= H; k += 4) {
    const at = <usize>k << 2;
    const c = v128.load(hh + at);
    v128.store(h + at, madd(v128.load(z + at), f32x4.sub(v128.load(hPrev + at), c), c));
  }
  for (; k < H; k++) {
    const at = <usize>k << 2;
    const c = load<f32>(hh + at);
    store<f32>(h + at, load<f32>(z + at) * (load<f32>(hPrev + at) - c) + c);
  }
}
