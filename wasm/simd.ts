// SIMD building blocks shared by the kernels: multiply-add (fused in the relaxed-SIMD
// build), tanh, sigmoid and exp on four lanes, and the constant table they read.
//
// The constants live in a table in memory, filled once by `initKernels`, not as v128
// literals: V8 rebuilds a v128 constant each time round a loop, which made the
// activations 2.5x slower in the prototype. The module has no data segment of its own
// (it runs on tfjs-backend-wasm's heap, whose layout it must not touch), so the table is
// in memory the host allocates.
//
// tanh is Eigen's rational approximation (odd degree-13 / even degree-6 polynomials on
// x clamped to ±7.9053, beyond which float32 tanh is ±1); sigmoid(x) = ½ + ½·tanh(x/2).
// Maximum absolute error against float64 over [-20, 20]: 3.6e-7 for tanh (the largest is
// where it saturates, at 1 − 3.6e-7) and 2.3e-7 for sigmoid; test/fused-lstm.test.mjs
// holds the kernels to 4e-7.
//
// exp is Cephes' expf: x = n·ln 2 + r with |r| ≤ ½ ln 2, e^r by a degree-7 polynomial,
// 2^n put together from its exponent bits; x is clamped to [-87, 88] (normal results).
const CLAMP_HI = 0;
const CLAMP_LO = 1;
const ALPHA = 2; // 7 numerator coefficients, x¹ to x¹³
const BETA = 9; // 4 denominator coefficients, x⁰ to x⁶
const HALF = 13;
const ONE = 14;
const EXP_LO = 15;
const EXP_HI = 16;
const LOG2E = 17;
const ROUNDING = 18; // 1.5·2^23: adding it rounds to an integer, held in the low mantissa bits
const LN2_HI = 19; // −ln 2 in two parts
const LN2_LO = 20;
const EXP_P = 21; // 6 polynomial coefficients, r⁷ down to r²
const EXP_BIAS = 27; // i32: 127 − the bits of ROUNDING
export const CONSTANTS = 28; // v128s in the table
/**
 * Scratch after the constants: 16 four-lane slots for loop tails, a 4×8 GEMM tile, and
 * gemm's packed block of A (A_BLOCK_FLOATS, 128 KB: it stays in L2).
 */
export const SLOTS_OFFSET: usize = CONSTANTS << 4;
export const TILE_OFFSET: usize = SLOTS_OFFSET + (16 << 4);
export const A_BLOCK_FLOATS: i32 = 128 * 256;
const A_BLOCK_OFFSET: usize = TILE_OFFSET + 4 * 8 * 4;
export const TABLE_BYTES: usize = A_BLOCK_OFFSET + (<usize>A_BLOCK_FLOATS << 2);

let table: usize = 0;

export function setTable(ptr: usize): void {
  table = ptr;
  // Stores, not an array literal: a literal would be a data segment.
  put(CLAMP_HI, 7.90531110763549805);
  put(CLAMP_LO, -7.90531110763549805);
  put(ALPHA, 4.89352455891786e-3);
  put(ALPHA + 1, 6.37261928875436e-4);
  put(ALPHA + 2, 1.48572235717979e-5);
  put(ALPHA + 3, 5.12229709037114e-8);
  put(ALPHA + 4, -8.60467152213735e-11);
  put(ALPHA + 5, 2.00018790482477e-13);
  put(ALPHA + 6, -2.76076847742355e-16);
  put(BETA, 4.89352518554385e-3);
  put(BETA + 1, 2.26843463243900e-3);
  put(BETA + 2, 1.18534705686654e-4);
  put(BETA + 3, 1.19825839466702e-6);
  put(HALF, 0.5);
  put(ONE, 1.0);
  put(EXP_LO, -87.0);
  put(EXP_HI, 88.0);
  put(LOG2E, 1.44269504088896341);
  put(ROUNDING, 12582912.0);
  put(LN2_HI, -0.693359375);
  put(LN2_LO, 2.12194440e-4);
  put(EXP_P, 1.9875691500e-4);
  put(EXP_P + 1, 1.3981999507e-3);
  put(EXP_P + 2, 8.3334519073e-3);
  put(EXP_P + 3, 4.1665795894e-2);
  put(EXP_P + 4, 1.6666665459e-1);
  put(EXP_P + 5, 5.0000001201e-1);
  v128.store(table + (<usize>EXP_BIAS << 4), i32x4.splat(127 - 0x4b400000));
}

function put(k: i32, value: f32): void {
  v128.store(table + (<usize>k << 4), f32x4.splat(value));
}

@inline export function slot(k: i32): usize {
  return table + SLOTS_OFFSET + (<usize>k << 4);
}

@inline export function tile(): usize {
  return table + TILE_OFFSET;
}

@inline export function aBlock(): usize {
  return table + A_BLOCK_OFFSET;
}

@inline function constant(k: i32): v128 {
  return v128.load(table + (<usize>k << 4));
}

/** a·b + c: one fused instruction in the relaxed-SIMD build (where the CPU has FMA). */
@inline export function madd(a: v128, b: v128, c: v128): v128 {
  if (ASC_FEATURE_RELAXED_SIMD) return f32x4.relaxed_madd(a, b, c);
  return f32x4.add(f32x4.mul(a, b), c);
}

@inline export function one(): v128 {
  return constant(ONE);
}

@inline export function tanh4(v: v128): v128 {
  // pmax/pmin, not max/min: those compile to long NaN-handling sequences on x64.
  const x = f32x4.pmin(f32x4.pmax(v, constant(CLAMP_LO)), constant(CLAMP_HI));
  const x2 = f32x4.mul(x, x);
  let p = madd(x2, constant(ALPHA + 6), constant(ALPHA + 5));
  p = madd(x2, p, constant(ALPHA + 4));
  p = madd(x2, p, constant(ALPHA + 3));
  p = madd(x2, p, constant(ALPHA + 2));
  p = madd(x2, p, constant(ALPHA + 1));
  p = madd(x2, p, constant(ALPHA));
  let q = madd(x2, constant(BETA + 3), constant(BETA + 2));
  q = madd(x2, q, constant(BETA + 1));
  q = madd(x2, q, constant(BETA));
  return f32x4.div(f32x4.mul(x, p), q);
}

@inline export function exp4(v: v128): v128 {
  const x = f32x4.pmin(f32x4.pmax(v, constant(EXP_LO)), constant(EXP_HI));
  const t = madd(x, constant(LOG2E), constant(ROUNDING)); // n = round(x / ln 2) + ROUNDING
  const n = f32x4.sub(t, constant(ROUNDING));
  const r = madd(n, constant(LN2_LO), madd(n, constant(LN2_HI), x));
  let p = madd(constant(EXP_P), r, constant(EXP_P + 1));
  p = madd(p, r, constant(EXP_P + 2));
  p = madd(p, r, constant(EXP_P + 3));
  p = madd(p, r, constant(EXP_P + 4));
  p = madd(p, r, constant(EXP_P + 5));
  const er = f32x4.add(madd(p, f32x4.mul(r, r), r), constant(ONE));
  return f32x4.mul(er, i32x4.shl(i32x4.add(t, constant(EXP_BIAS)), 23)); // · 2^n
}

@inline export function sigmoid4(x: v128): v128 {
  const half = constant(HALF);
  return madd(half, tanh4(f32x4.mul(x, half)), half);
}

/** Copies `count` (< 4) floats into slot k, zeros after them. */
export function toSlot(src: usize, count: i32, k: i32): void {
  const s = slot(k);
  v128.store(s, f32x4.splat(0));
  memory.copy(s, src, <usize>count * 4);
}

export function fromSlot(k: i32, dst: usize, count: i32): void {
  memory.copy(dst, slot(k), <usize>count * 4);
}
