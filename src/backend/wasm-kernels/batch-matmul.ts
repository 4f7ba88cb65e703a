// BatchMatMul fix. tfjs-backend-wasm 4.22 only uses XNNPACK (~30 GFLOP/s)
// when transposeA = transposeB = false AND both operands have batch size 1;
// every other case (including the matMul(dy, b, false, true) and
// matMul(a, dy, true, false) produced by autodiff, and any batched matMul)
// runs a naive C++ loop at ~0.3 GFLOP/s. A product of two single matrices with
// at least OWN_GEMM_ROWS rows (training's projections and their gradients)
// runs on our own cache-blocked GEMM (wasm/gemm.ts), which takes transposed operands as they
// are: 1.4-1.9x XNNPACK's speed at 1250 rows (before blocking, which gained 1.1-2.5x more at
// 1250-6400 rows: npm run bench:gemm). With fewer rows (sampling) XNNPACK,
// which keeps its packed copy of b between calls, is faster. Otherwise transposed operands are
// first transposed with the backend's fast Transpose kernel, batches are folded
// into rows when b is not batched, and otherwise each batch is one XNNPACK
// call, so the original kernel only ever sees its fast case.
import * as tf from '../../tf.js';
import {
  asWasm,
  byteOffset,
  input,
  copyRange,
  dispose,
  heapCopy,
  runWasmKernel,
  view,
  type KernelArgs,
  type WasmBackend,
} from './backend.js';
import { ownKernels, withScratch } from './own-module.js';

const OWN_GEMM_ROWS = 32;

/** Runs [1, M, K] x [1, K, N] -> [1, M, N] on the XNNPACK path. */
export type FastMatMul3d = (a: tf.TensorInfo, b: tf.TensorInfo) => tf.TensorInfo;

/** Swaps the last two axes of a rank-3 tensor with the wasm Transpose kernel. */
function transpose3d(backend: WasmBackend, x: tf.TensorInfo): tf.TensorInfo {
  return runWasmKernel(tf.Transpose, backend, { x }, { perm: [0, 2, 1] });
}

/** The operands' last two dimensions and the product's M, K, N; throws as tfjs does if K differs. */
function matMulDims(a: tf.TensorInfo, b: tf.TensorInfo, transposeA: boolean, transposeB: boolean) {
  const [aRows, aCols] = a.shape.slice(-2);
  const [bRows, bCols] = b.shape.slice(-2);
  const [m, k] = transposeA ? [aCols, aRows] : [aRows, aCols];
  const [k2, n] = transposeB ? [bCols, bRows] : [bRows, bCols];
  tf.util.assert(
    k === k2,
    () =>
      `Error in matMul: inner shapes (${k}) and (${k2}) of Tensors with shapes ` +
      `${a.shape} and ${b.shape} and transposeA=${transposeA} and transposeB=${transposeB} must match.`,
  );
  return { aRows, aCols, bRows, bCols, m, k, n };
}

/**
 * matMul(a, b, transposeA, transposeB) for float32 tensors of rank >= 2 with
 * tfjs batch broadcasting, computed only through `run` (the fast case).
 */
export function matMulViaFastPath(
  backend: WasmBackend,
  a: tf.TensorInfo,
  b: tf.TensorInfo,
  transposeA: boolean,
  transposeB: boolean,
  run: FastMatMul3d,
): tf.TensorInfo {
  const { aRows, aCols, bRows, bCols, m, k, n } = matMulDims(a, b, transposeA, transposeB);
  const batchShape = tf.broadcast_util.assertAndGetBroadcastShape(a.shape.slice(0, -2), b.shape.slice(0, -2));
  const outShape = [...batchShape, m, n];
  const batchA = tf.util.sizeFromShape(a.shape.slice(0, -2));
  const batchB = tf.util.sizeFromShape(b.shape.slice(0, -2));
  const batch = Math.max(batchA, batchB);

  // Operands as [batch, M, K] and [batch, K, N]; temporaries are transposed copies.
  const temps: tf.TensorInfo[] = [];
  let a3 = view(a, [batchA, aRows, aCols]);
  let b3 = view(b, [batchB, bRows, bCols]);
  if (transposeA) temps.push((a3 = transpose3d(backend, a3)));
  if (transposeB) temps.push((b3 = transpose3d(backend, b3)));

  let out: tf.TensorInfo;
  if (batchB === 1) {
    // b is shared by all batches: one [batchA * M, K] x [K, N] product.
    out = run(view(a3, [1, batchA * m, k]), view(b3, [1, k, n]));
  } else {
    out = backend.makeOutput([batch, m, n], a.dtype);
    for (let i = 0; i < batch; i++) {
      const ai = batchA === 1 ? view(a3, [1, m, k]) : copyRange(backend, a3, i * m * k, [1, m, k]);
      const bi = copyRange(backend, b3, (i % batchB) * k * n, [1, k, n]);
      const oi = run(ai, bi);
      heapCopy(backend, oi, 0, out, i * m * n, m * n);
      dispose(backend, oi, bi);
      if (batchA !== 1) dispose(backend, ai);
    }
  }
  dispose(backend, ...temps);
  return { dataId: out.dataId, shape: outShape, dtype: out.dtype };
}

/** a (…, M, K) · b (…, K, N) for single matrices (batch dimensions all 1), either one transposed in place. */
function ownMatMul(backend: WasmBackend, a: tf.TensorInfo, b: tf.TensorInfo, transposeA: boolean, transposeB: boolean): tf.TensorInfo {
  const { aCols, bCols, m, k, n } = matMulDims(a, b, transposeA, transposeB);
  const rank = Math.max(a.shape.length, b.shape.length);
  const out = backend.makeOutput([...new Array<number>(rank - 2).fill(1), m, n], 'float32');
  const kernels = ownKernels(backend);
  const [sam, sak] = transposeA ? [1, aCols] : [aCols, 1];
  const [sbk, sbn] = transposeB ? [1, bCols] : [bCols, 1];
  withScratch(backend, [kernels.matMulBytes(m, n, k)], (scratch) => {
    kernels.matMul(m, n, k, byteOffset(backend, a), sam, sak, byteOffset(backend, b), sbk, sbn, byteOffset(backend, out), scratch);
  });
  return out;
}

export function makeBatchMatMulConfig(original: tf.KernelConfig): tf.KernelConfig {
  const kernelFunc = ({ inputs, backend, attrs }: KernelArgs): tf.TensorInfo => {
    const a = input(inputs, 'a');
    const b = input(inputs, 'b');
    const { transposeA, transposeB } = attrs as unknown as tf.BatchMatMulAttrs;
    if (a.dtype !== 'float32' || b.dtype !== 'float32') {
      return original.kernelFunc({ inputs, backend, attrs }) as tf.TensorInfo; // throws a clear error
    }
    const rows = a.shape[a.shape.length - (transposeA ? 1 : 2)];
    const single = tf.util.sizeFromShape(a.shape.slice(0, -2)) === 1 && tf.util.sizeFromShape(b.shape.slice(0, -2)) === 1;
    if (single && rows >= OWN_GEMM_ROWS) {
      return ownMatMul(asWasm(backend), a, b, transposeA, transposeB);
    }
    const run: FastMatMul3d = (a3, b3) =>
      original.kernelFunc({
        inputs: { a: a3, b: b3 },
        backend,
        attrs: { transposeA: false, transposeB: false },
      }) as tf.TensorInfo;
    return matMulViaFastPath(asWasm(backend), a, b, transposeA, transposeB, run);
  };
  return { ...original, kernelFunc };
}
