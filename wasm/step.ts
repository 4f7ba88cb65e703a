// The sampler's projections of one step in one call (src/cells/fused.ts FusedStepProjection):
//   z (B, N) = start + x·W + h·U
// where start is row ids[b] of a lookup table E (V, N) (layer 0, whose one-hot input makes
// x·W + b a row of E = W + b) or the bias b (N) (above; the output layer), and W, U are
// packed once when the sampler is made (gemm.ts pack), so a step copies no weights.
// Any term may be absent: x·W on layer 0, h·U for the GRU's candidate and the output layer.
import { gemm } from './gemm';

/**
 * table: E (V, N) with ids (B) int32, or 0 with bias (N); x (B, K) with packedW (K, N) or
 * x = 0; h (B, Kh) with packedU (Kh, N) or h = 0. Pointers are byte offsets.
 */
export function projectStep(B: i32, N: i32, table: usize, ids: usize, bias: usize, x: usize, K: i32, packedW: usize, h: usize, Kh: i32, packedU: usize, z: usize): void {
  const row = <usize>N * 4;
  for (let b = 0; b < B; b++) {
    const from = table != 0 ? table + <usize>load<i32>(ids + (<usize>b << 2)) * row : bias;
    memory.copy(z + <usize>b * row, from, row);
  }
  if (x != 0) gemm(B, N, K, x, K, 1, packedW, z, N, true);
  if (h != 0) gemm(B, N, Kh, h, Kh, 1, packedU, z, N, true);
}
