// Sums over a matrix's rows, streaming them once, in order: all of them (the gradient of a
// bias added to every row, x·W + b and the logits, sums the upstream gradient over T·B rows;
// tfjs-backend-wasm reduces only innermost axes, so it first transposed the whole matrix),
// or by segment (the gradient of a row lookup).

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

/**
 * out (S, N) = Σ over rows i with ids[i] = s of x (R, N)[i]: the gradient of a row lookup
 * (tf.gather's, layer 0's one-hot projection). Rows whose id is outside [0, S) are dropped, as
 * in TensorFlow. ids are int32.
 */
export function segmentRowSums(R: i32, N: i32, S: i32, x: usize, ids: usize, out: usize): void {
  const vectorEnd = <usize>(N & ~3) << 2;
  const rowBytes = <usize>N << 2;
  memory.fill(out, 0, <usize>S * rowBytes);
  for (let r = 0; r < R; r++) {
    const id = load<i32>(ids + (<usize>r << 2));
    if (id >= 0 && id < S) {
      const dst = out + <usize>id * rowBytes;
      let j: usize = 0;
      for (; j < vectorEnd; j += 16) v128.store(dst + j, f32x4.add(v128.load(dst + j), v128.load(x + j)));
      for (; j < rowBytes; j += 4) store<f32>(dst + j, load<f32>(dst + j) + load<f32>(x + j));
    }
    x += rowBytes;
  }
}
