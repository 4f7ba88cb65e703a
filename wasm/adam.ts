// One Adam update of one parameter in a single pass over its floats (src/training/adam.ts
// has the maths; its op-by-op form is 12 tfjs kernels, each a pass over the parameter and a
// new tensor). Each step is the same float32 operation, in the same order, as those
// kernels' (no fused multiply-add), so the results are identical bit for bit:
//   m' = β1·m + gf·g     v' = β2·v + sf·(g·g)     p' = p − (m' / (√v' + ε))·α
// All pointers are byte offsets to n floats; outputs may not alias inputs.

export function adamUpdate(n: i32, p: usize, m: usize, v: usize, g: usize, pOut: usize, mOut: usize, vOut: usize,
  beta1: f32, beta2: f32, gradFactor: f32, squareFactor: f32, epsilon: f32, stepSize: f32): void {
  const b1 = f32x4.splat(beta1), b2 = f32x4.splat(beta2), gf = f32x4.splat(gradFactor), sf = f32x4.splat(squareFactor);
  const eps = f32x4.splat(epsilon), alpha = f32x4.splat(stepSize);
  const vectorEnd = <usize>(n & ~3) << 2;
  let at: usize = 0;
  for (; at < vectorEnd; at += 16) {
    const gv = v128.load(g + at);
    const mv = f32x4.add(f32x4.mul(v128.load(m + at), b1), f32x4.mul(gv, gf));
    const vv = f32x4.add(f32x4.mul(v128.load(v + at), b2), f32x4.mul(f32x4.mul(gv, gv), sf));
    v128.store(mOut + at, mv);
    v128.store(vOut + at, vv);
    v128.store(pOut + at, f32x4.sub(v128.load(p + at), f32x4.mul(f32x4.div(mv, f32x4.add(f32x4.sqrt(vv), eps)), alpha)));
  }
  const end = <usize>n << 2;
  for (; at < end; at += 4) {
    const gs = load<f32>(g + at);
    const ms = load<f32>(m + at) * beta1 + gs * gradFactor;
    const vs = load<f32>(v + at) * beta2 + gs * gs * squareFactor;
    store<f32>(mOut + at, ms);
    store<f32>(vOut + at, vs);
    store<f32>(pOut + at, load<f32>(p + at) - (ms / (Mathf.sqrt(vs) + epsilon)) * stepSize);
  }
}
