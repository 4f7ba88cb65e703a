// Matrix product C (M, N) = [C +] A (M, K) · B (K, N), float32, cache blocked BLIS-style.
// K goes in slices of KC. B is packed in panels of 8 columns (panel p holds columns
// 8p..8p+7 of every row k, 8 floats a row, the last panel zero-padded); A in blocks of MC
// rows, packed in tiles of four rows interleaved (tile t, step k: rows 4t..4t+3 as four
// floats), into the table's scratch (simd.ts). The block of A (MC × KC floats, 128 KB)
// stays in L2 and each panel's slice (KC × 8 floats, 8 KB) in L1 across the block's row
// tiles. Each 4×8 block of C is held in eight SIMD registers for a slice's K loop, reading
// its tile of A at fixed offsets from one pointer: 3–17% faster than reading A's four rows
// in place through four pointers (median 10% over five shapes of the training step), and
// larger tiles spill (x64 wasm has 15 usable SIMD registers; 5×8 and 6×8 ran at 0.45–0.65×).
// Rows beyond a multiple of 4 go one at a time; a partial last panel goes through a
// scratch tile.
//
// All pointers are byte offsets; strides are in floats. Each operand is read through its
// strides, so a transpose needs no copy but the packing.
import { A_BLOCK_FLOATS, aBlock, madd, tile } from './simd';

const KC = 256;
const MC = A_BLOCK_FLOATS / KC;

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

/**
 * C (M, N; row stride ldc) = [C +] A · B, B packed whole (pack() of its K rows), A's
 * element (m, k) at a + 4·(m·sam + k·sak).
 */
export function gemm(M: i32, N: i32, K: i32, a: usize, sam: i32, sak: i32, b: usize, c: usize, ldc: i32, accumulate: bool): void {
  for (let k0 = 0; k0 < K; k0 += KC) {
    const kc = min(KC, K - k0);
    kSlice(M, N, kc, a + ((<usize>k0 * <usize>sak) << 2), sam, sak, b + (<usize>k0 << 5), <usize>K << 5, c, ldc, accumulate || k0 > 0);
  }
}

/** Bytes of matMul's scratch: B's packed slice (M no longer counts; kept so that builds compared by bench:gemm share one signature). */
export function matMulBytes(M: i32, N: i32, K: i32): usize {
  return packedBytes(min(K, KC), N);
}

/**
 * C (M, N) = A (M, K) · B (K, N), each operand through its strides (element (m, k) of A at
 * a + 4·(m·sam + k·sak), (k, n) of B at b + 4·(k·sbk + n·sbn)): any transposes, no copies
 * but the packing, B's into `scratch` (matMulBytes(M, N, K)).
 */
export function matMul(M: i32, N: i32, K: i32, a: usize, sam: i32, sak: i32, b: usize, sbk: i32, sbn: i32, c: usize, scratch: usize): void {
  for (let k0 = 0; k0 < K; k0 += KC) {
    const kc = min(KC, K - k0);
    pack(b + ((<usize>k0 * <usize>sbk) << 2), kc, N, sbk, sbn, scratch);
    kSlice(M, N, kc, a + ((<usize>k0 * <usize>sak) << 2), sam, sak, scratch, <usize>kc << 5, c, N, k0 > 0);
  }
}

/**
 * C [+]= A · B over one slice of K: kc columns of A (through its strides), kc rows of B's
 * panels (panel p at b + p·panelStride bytes), A packed block by block.
 */
function kSlice(M: i32, N: i32, kc: i32, a: usize, sam: i32, sak: i32, b: usize, panelStride: usize, c: usize, ldc: i32, accumulate: bool): void {
  const packedA = aBlock();
  for (let m0 = 0; m0 < M; m0 += MC) {
    const mc = min(MC, M - m0);
    packRows(a + ((<usize>m0 * <usize>sam) << 2), mc, kc, sam, sak, packedA);
    product(mc, N, kc, packedA, b, panelStride, c + ((<usize>m0 * <usize>ldc) << 2), <usize>ldc << 2, accumulate);
  }
}

/**
 * C (M, N; row stride cRow bytes) = [C +] A · B over K, A packed by packRows, B's panel p
 * at b + p·panelStride.
 */
function product(M: i32, N: i32, K: i32, a: usize, b: usize, panelStride: usize, c: usize, cRow: usize, accumulate: bool): void {
  const tileBytes = <usize>K << 4;
  for (let n0 = 0; n0 < N; n0 += 8) {
    const panel = b + <usize>(n0 >> 3) * panelStride;
    const cols = min(8, N - n0);
    for (let m = 0; m < M; m += 4) {
      const rows = min(4, M - m);
      const aTile = a + <usize>(m >> 2) * tileBytes;
      const cTile = c + <usize>m * cRow + (<usize>n0 << 2);
      if (rows == 4 && cols == 8) {
        tile4x8(aTile, panel, K, cTile, cRow, accumulate);
      } else if (cols == 8) {
        for (let r = 0; r < rows; r++) tile1x8(aTile + (<usize>r << 2), panel, K, cTile + <usize>r * cRow, accumulate);
      } else {
        // A partial panel: through the scratch tile, so no lane beyond column N is touched.
        const t = tile();
        for (let r = 0; r < rows; r++) {
          for (let j = 0; j < 8; j++) store<f32>(t + (<usize>(r * 8 + j) << 2), accumulate && j < cols ? load<f32>(cTile + <usize>r * cRow + (<usize>j << 2)) : 0);
        }
        if (rows == 4) tile4x8(aTile, panel, K, t, 32, true);
        else for (let r = 0; r < rows; r++) tile1x8(aTile + (<usize>r << 2), panel, K, t + <usize>r * 32, true);
        for (let r = 0; r < rows; r++) {
          for (let j = 0; j < cols; j++) store<f32>(cTile + <usize>r * cRow + (<usize>j << 2), load<f32>(t + (<usize>(r * 8 + j) << 2)));
        }
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
    let k = 0;
    if (tileRows == 4 && sk == 1) {
      // Row-major: four steps of the four rows at a time, transposed in registers.
      for (; k + 4 <= K; k += 4) {
        transpose4(v128.load(at), v128.load(at + mStep), v128.load(at + 2 * mStep), v128.load(at + 3 * mStep), dst);
        at += 16;
        dst += 64;
      }
    }
    for (; k < K; k++) {
      for (let r = 0; r < tileRows; r++) store<f32>(dst + (<usize>r << 2), load<f32>(at + <usize>r * mStep));
      at += kStep;
      dst += 16;
    }
  }
}

/** Stores the 4×4 matrix of rows r0..r3 transposed, its columns at dst, dst + 16, … */
@inline function transpose4(r0: v128, r1: v128, r2: v128, r3: v128, dst: usize): void {
  const t0 = v128.shuffle<f32>(r0, r1, 0, 4, 1, 5);
  const t1 = v128.shuffle<f32>(r0, r1, 2, 6, 3, 7);
  const t2 = v128.shuffle<f32>(r2, r3, 0, 4, 1, 5);
  const t3 = v128.shuffle<f32>(r2, r3, 2, 6, 3, 7);
  v128.store(dst, v128.shuffle<f32>(t0, t2, 0, 1, 4, 5));
  v128.store(dst, v128.shuffle<f32>(t0, t2, 2, 3, 6, 7), 16);
  v128.store(dst, v128.shuffle<f32>(t1, t3, 0, 1, 4, 5), 32);
  v128.store(dst, v128.shuffle<f32>(t1, t3, 2, 3, 6, 7), 48);
}

/** A 4×8 block of C (row stride cRow bytes) [+]= a tile of packed A (4 rows interleaved) · a panel of B, over K. */
function tile4x8(a: usize, b: usize, K: i32, c: usize, cRow: usize, accumulate: bool): void {
  let c00 = f32x4.splat(0), c01 = f32x4.splat(0), c10 = f32x4.splat(0), c11 = f32x4.splat(0);
  let c20 = f32x4.splat(0), c21 = f32x4.splat(0), c30 = f32x4.splat(0), c31 = f32x4.splat(0);
  const r1 = c + cRow, r2 = r1 + cRow, r3 = r2 + cRow;
  if (accumulate) {
    c00 = v128.load(c); c01 = v128.load(c, 16);
    c10 = v128.load(r1); c11 = v128.load(r1, 16);
    c20 = v128.load(r2); c21 = v128.load(r2, 16);
    c30 = v128.load(r3); c31 = v128.load(r3, 16);
  }
  const end = b + (<usize>K << 5);
  while (b < end) {
    const b0 = v128.load(b), b1 = v128.load(b, 16);
    let x = v128.load32_splat(a);
    c00 = madd(x, b0, c00); c01 = madd(x, b1, c01);
    x = v128.load32_splat(a, 4);
    c10 = madd(x, b0, c10); c11 = madd(x, b1, c11);
    x = v128.load32_splat(a, 8);
    c20 = madd(x, b0, c20); c21 = madd(x, b1, c21);
    x = v128.load32_splat(a, 12);
    c30 = madd(x, b0, c30); c31 = madd(x, b1, c31);
    a += 16; b += 32;
  }
  v128.store(c, c00); v128.store(c, c01, 16);
  v128.store(r1, c10); v128.store(r1, c11, 16);
  v128.store(r2, c20); v128.store(r2, c21, 16);
  v128.store(r3, c30); v128.store(r3, c31, 16);
}

/** One row of C's 8 columns [+]= one row of a packed tile of A (its floats 16 bytes apart) · a panel of B, over K. */
function tile1x8(a: usize, b: usize, K: i32, c: usize, accumulate: bool): void {
  let c0 = f32x4.splat(0), c1 = f32x4.splat(0);
  if (accumulate) {
    c0 = v128.load(c); c1 = v128.load(c, 16);
  }
  const end = b + (<usize>K << 5);
  while (b < end) {
    const x = v128.load32_splat(a);
    c0 = madd(x, v128.load(b), c0);
    c1 = madd(x, v128.load(b, 16), c1);
    a += 16; b += 32;
  }
  v128.store(c, c0); v128.store(c, c1, 16);
}
