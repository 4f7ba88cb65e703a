// Sums over a matrix's rows: the gradient of a bias added to every row (x·W + b, the output
// layer's logits) sums the upstream gradient over T·B rows. tfjs-backend-wasm reduces only
// innermost axes, so it first transposes the whole (T·B, N) matrix; here the rows stream
// through once, in order.

/** out (N) = Σ_m x (M, N)[m], each column summed in row order. */
export function columnSums(M: i32, N: i32, x: usize, out: usize): void {
  const vectorEnd = <usize>(N & ~3) << 2;
  const rowBytes = <usize>N << 2;
  memory.fill(out, 0, rowBytes);
  for (let m = 0; m < M; m++) {
    let j: usize = 0;
    for (; j < vectorEnd; j += 16) v128.store(out + j, f32x4.add(v128.load(out + j), v128.load(x + j)));
    for (; j < rowBytes; j += 4) store<f32>(out + j, load<f32>(out + j) + load<f32>(x + j));
    x += rowBytes;
  }
}
