// Matrix product C (M, N) = [C +] A (M, K) · B (K, N), float32, with B packed in panels
// of 8 columns: panel p holds columns 8p..8p+7 of every row k, 8 floats a row, the last
// panel zero-padded. Each 4×8 block of C is held in eight SIMD registers for the whole
// K loop (the prototype's best: 39–42 GFLOP/s plain SIMD at H 128–512; larger tiles
// spill, x64 wasm has 15 usable SIMD registers). Rows beyond a multiple of 4 go one at a
// time; a partial last panel goes through a scratch tile.
//
// All pointers are byte offsets; strides are in floats. A is read through its strides
// (so a transposed A needs no copy), B is packed first (any strides).
import { madd, tile } from './simd';

/** Bytes of the packed form of a (K, N) matrix. */
export function packedBytes(K: i32, N: i32): usize {
  return <usize>((N + 7) >> 3) * <usize>K * 32;
}

/** Packs the (K, N) matrix whose element (k, n) is at src + 4·(k·sk + n·sn) (sn = 1: row-major; sk = 1: transposed). */
export function pack(src: usize, K: i32, N: i32, sk: i32, sn: i32, dst: usize): void {
  const kStep = <usize>sk << 2;
  const nStep = <usize>sn << 2;
  for (let n0 = 0; n0 < N; n0 += 8) {
    const cols = min(8, N - n0);
    let row = src + <usize>n0 * nStep;
    if (cols == 8 && sn == 1) {
      for (let k = 0; k < K; k++) {
        v128.store(dst, v128.load(row));
        v128.store(dst, v128.load(row, 16), 16);
        row += kStep;
        dst += 32;
      }
      continue;
    }
    for (let k = 0; k < K; k++) {
      for (let lane = 0; lane < 8; lane++) store<f32>(dst + (<usize>lane << 2), lane < cols ? load<f32>(row + <usize>lane * nStep) : 0);
      row += kStep;
      dst += 32;
    }
  }
}

/** C (M, N; row stride ldc) = [C +] A · B (packed), A's element (m, k) at a + 4·(m·sam + k·sak). */
export function gemm(M: i32, N: i32, K: i32, a: usize, sam: i32, sak: i32, b: usize, c: usize, ldc: i32, accumulate: bool): void {
  const aRow = <usize>sam << 2;
  product(M, N, K, a, aRow << 2, aRow, <usize>sak << 2, b, c, <usize>ldc << 2, accumulate);
}

/**
 * C (M, N; row stride cRow bytes) = [C +] A · B (packed), A in tiles of four rows: tile t at
 * a + t·tileStride, its row r at + r·aRow, each next k at + aStep (all bytes).
 */
function product(M: i32, N: i32, K: i32, a: usize, tileStride: usize, aRow: usize, aStep: usize, b: usize, c: usize, cRow: usize, accumulate: bool): void {
  for (let n0 = 0; n0 < N; n0 += 8) {
    const panel = b + <usize>n0 * <usize>K * 4;
    const cols = min(8, N - n0);
    for (let m = 0; m < M; m += 4) {
      const rows = min(4, M - m);
      const aTile = a + <usize>(m >> 2) * tileStride;
      const cTile = c + <usize>m * cRow + (<usize>n0 << 2);
      if (rows == 4 && cols == 8) {
        tile4x8(aTile, aRow, aStep, panel, K, cTile, cRow, accumulate);
      } else if (cols == 8) {
        for (let r = 0; r < rows; r++) tile1x8(aTile + <usize>r * aRow, aStep, panel, K, cTile + <usize>r * cRow, accumulate);
      } else {
        // A partial panel: through the scratch tile, so no lane beyond column N is touched.
        const t = tile();
        for (let r = 0; r < rows; r++) {
          for (let j = 0; j < 8; j++) store<f32>(t + (<usize>(r * 8 + j) << 2), accumulate && j < cols ? load<f32>(cTile + <usize>r * cRow + (<usize>j << 2)) : 0);
        }
        if (rows == 4) tile4x8(aTile, aRow, aStep, panel, K, t, 32, true);
        else for (let r = 0; r < rows; r++) tile1x8(aTile + <usize>r * aRow, aStep, panel, K, t + <usize>r * 32, true);
        for (let r = 0; r < rows; r++) {
          for (let j = 0; j < cols; j++) store<f32>(cTile + <usize>r * cRow + (<usize>j << 2), load<f32>(t + (<usize>(r * 8 + j) << 2)));
        }
      }
    }
  }
}

// The projections' products (M = T·B rows of thousands, K and N of H, 4H or V) are cache
// blocked, BLIS-style: K in slices of KC, for each slice B's rows packed (KC × N), and A in
// blocks of MC rows (MC × KC floats, 128 KB, in L2); each 8-column panel of the B slice
// (KC × 8, 8 KB) then stays in L1 across the block's row tiles. Unblocked, a gradient's
// K = T·B made every panel, and the whole of A for every panel, far larger than the caches.
const KC = 256;
const MC = 128;

/** Bytes of matMul's scratch: B's packed slice, then A's packed block. */
export function matMulBytes(M: i32, N: i32, K: i32): usize {
  const kc = min(K, KC);
  return packedBytes(kc, N) + <usize>((min(M, MC) + 3) & ~3) * <usize>kc * 4;
}

/**
 * C (M, N) = A (M, K) · B (K, N), each operand through its strides (element (m, k) of A at
 * a + 4·(m·sam + k·sak), (k, n) of B at b + 4·(k·sbk + n·sbn)): any transposes, no copies
 * but the packing into `scratch` (matMulBytes(M, N, K)).
 */
export function matMul(M: i32, N: i32, K: i32, a: usize, sam: i32, sak: i32, b: usize, sbk: i32, sbn: i32, c: usize, scratch: usize): void {
  const packedB = scratch;
  const packedA = scratch + packedBytes(min(K, KC), N);
  // Rows of A in place (four sequential streams); other layouts (a transposed A: a row's
  // elements a row of memory apart) packed, four rows interleaved.
  const inPlace = sak == 1;
  for (let k0 = 0; k0 < K; k0 += KC) {
    const kc = min(KC, K - k0);
    pack(b + ((<usize>k0 * <usize>sbk) << 2), kc, N, sbk, sbn, packedB);
    for (let m0 = 0; m0 < M; m0 += MC) {
      const mc = min(MC, M - m0);
      const block = a + ((<usize>m0 * <usize>sam + <usize>k0 * <usize>sak) << 2);
      const cBlock = c + ((<usize>m0 * <usize>N) << 2);
      if (inPlace) {
        product(mc, N, kc, block, <usize>sam << 4, <usize>sam << 2, 4, packedB, cBlock, <usize>N << 2, k0 > 0);
      } else {
        packRows(block, mc, kc, sam, sak, packedA);
        product(mc, N, kc, packedA, <usize>kc << 4, 4, 16, packedB, cBlock, <usize>N << 2, k0 > 0);
      }
    }
  }
}

/**
 * Packs rows [0, rows) of the (rows, K) matrix whose element (m, k) is at src + 4·(m·sm + k·sk)
 * in tiles of four rows, interleaved (tile t, step k: rows 4t..4t+3 at dst + 16·(t·K + k)).
 */
function packRows(src: usize, rows: i32, K: i32, sm: i32, sk: i32, dst: usize): void {
  const mStep = <usize>sm << 2;
  const kStep = <usize>sk << 2;
  for (let m = 0; m < rows; m += 4) {
    const tileRows = min(4, rows - m);
    let at = src + <usize>m * mStep;
    if (tileRows == 4 && sm == 1) {
      for (let k = 0; k < K; k++) {
        v128.store(dst, v128.load(at));
        at += kStep;
        dst += 16;
      }
      continue;
    }
    for (let k = 0; k < K; k++) {
      for (let r = 0; r < tileRows; r++) store<f32>(dst + (<usize>r << 2), load<f32>(at + <usize>r * mStep));
      at += kStep;
      dst += 16;
    }
  }
}

function tile4x8(a: usize, aRow: usize, aStep: usize, b: usize, K: i32, c: usize, cRow: usize, accumulate: bool): void {
  let c00 = f32x4.splat(0), c01 = f32x4.splat(0), c10 = f32x4.splat(0), c11 = f32x4.splat(0);
  let c20 = f32x4.splat(0), c21 = f32x4.splat(0), c30 = f32x4.splat(0), c31 = f32x4.splat(0);
  const r1 = c + cRow, r2 = r1 + cRow, r3 = r2 + cRow;
  if (accumulate) {
    c00 = v128.load(c); c01 = v128.load(c, 16);
    c10 = v128.load(r1); c11 = v128.load(r1, 16);
    c20 = v128.load(r2); c21 = v128.load(r2, 16);
    c30 = v128.load(r3); c31 = v128.load(r3, 16);
  }
  let a0 = a, a1 = a + aRow, a2 = a1 + aRow, a3 = a2 + aRow;
  for (let k = 0; k < K; k++) {
    const b0 = v128.load(b), b1 = v128.load(b, 16);
    let x = v128.load32_splat(a0);
    c00 = madd(x, b0, c00); c01 = madd(x, b1, c01);
    x = v128.load32_splat(a1);
    c10 = madd(x, b0, c10); c11 = madd(x, b1, c11);
    x = v128.load32_splat(a2);
    c20 = madd(x, b0, c20); c21 = madd(x, b1, c21);
    x = v128.load32_splat(a3);
    c30 = madd(x, b0, c30); c31 = madd(x, b1, c31);
    a0 += aStep; a1 += aStep; a2 += aStep; a3 += aStep; b += 32;
  }
  v128.store(c, c00); v128.store(c, c01, 16);
  v128.store(r1, c10); v128.store(r1, c11, 16);
  v128.store(r2, c20); v128.store(r2, c21, 16);
  v128.store(r3, c30); v128.store(r3, c31, 16);
}

function tile1x8(a: usize, aStep: usize, b: usize, K: i32, c: usize, accumulate: bool): void {
  let c0 = f32x4.splat(0), c1 = f32x4.splat(0);
  if (accumulate) {
    c0 = v128.load(c); c1 = v128.load(c, 16);
  }
  for (let k = 0; k < K; k++) {
    const x = v128.load32_splat(a);
    c0 = madd(x, v128.load(b), c0);
    c1 = madd(x, v128.load(b, 16), c1);
    a += aStep; b += 32;
  }
  v128.store(c, c0); v128.store(c, c1, 16);
}
