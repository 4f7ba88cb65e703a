// _FusedMatMul fix. In tfjs-backend-wasm 4.22 the fused kernel gives WRONG
// results whenever it leaves its XNNPACK case (transposeA or transposeB set,
// or a batch size > 1) and a bias is given: the naive C++ loop indexes the
// bias with min(row * N + col, biasSize - 1), so only the first output row
// gets the right bias and every other row gets bias[N - 1]. It is also as
// slow as BatchMatMul (see batch-matmul.ts) in those cases. Here such calls are
// reduced to the XNNPACK case (bias handled correctly there); biases that are
// not of shape [N] and activations the fused C++ kernel lacks run unfused
// (BatchMatMul, Add, activation kernel) instead of throwing.
import * as tf from '../../tf.js';
import { matMulViaFastPath } from './batch-matmul.js';
import { asWasm, input, dispose, runWasmKernel, type KernelArgs, type WasmBackend } from './backend.js';

/** Activations the fused C++ kernel applies correctly on its XNNPACK path. */
const FUSABLE = new Set<string>(['linear', 'relu', 'relu6', 'elu', 'sigmoid', 'leakyrelu']);

const ACTIVATION_KERNELS: Record<string, string> = {
  relu: tf.Relu,
  relu6: tf.Relu6,
  elu: tf.Elu,
  sigmoid: tf.Sigmoid,
  tanh: tf.Tanh,
};

function applyActivation(backend: WasmBackend, x: tf.TensorInfo, attrs: tf._FusedMatMulAttrs, preluWeights?: tf.TensorInfo): tf.TensorInfo {
  const { activation, leakyreluAlpha } = attrs;
  if (activation === 'linear') return x;
  let y: tf.TensorInfo;
  if (activation === 'leakyrelu') {
    y = runWasmKernel(tf.LeakyRelu, backend, { x }, { alpha: leakyreluAlpha ?? 0.2 });
  } else if (activation === 'prelu' && preluWeights != null) {
    y = runWasmKernel(tf.Prelu, backend, { x, alpha: preluWeights });
  } else if (ACTIVATION_KERNELS[activation] != null) {
    y = runWasmKernel(ACTIVATION_KERNELS[activation], backend, { x });
  } else {
    throw new Error(`_FusedMatMul: activation ${activation} is not supported on wasm`);
  }
  dispose(backend, x);
  return y;
}

export function makeFusedMatMulConfig(original: tf.KernelConfig): tf.KernelConfig {
  const kernelFunc = ({ inputs, backend, attrs }: KernelArgs): tf.TensorInfo => {
    const a = input(inputs, 'a');
    const b = input(inputs, 'b');
    const { bias, preluActivationWeights } = inputs;
    const fusedAttrs = attrs as unknown as tf._FusedMatMulAttrs;
    const { transposeA, transposeB, activation } = fusedAttrs;
    const wasm = asWasm(backend);
    if (a.dtype !== 'float32' || b.dtype !== 'float32') {
      return original.kernelFunc({ inputs, backend, attrs }) as tf.TensorInfo; // throws a clear error
    }
    const n = b.shape[b.shape.length - (transposeB ? 2 : 1)];
    const biasFusable = bias == null || (bias.shape.length === 1 && bias.shape[0] === n);
    if (biasFusable && FUSABLE.has(activation)) {
      const fusedInputs: tf.NamedTensorInfoMap = bias == null ? {} : { bias };
      return matMulViaFastPath(
        wasm,
        a,
        b,
        transposeA,
        transposeB,
        (a3, b3) =>
          original.kernelFunc({
            inputs: { ...fusedInputs, a: a3, b: b3 },
            backend,
            attrs: { ...attrs, transposeA: false, transposeB: false },
          }) as tf.TensorInfo,
      );
    }
    // Unfused: (fixed) BatchMatMul, then broadcasting Add, then the activation.
    let out = runWasmKernel(tf.BatchMatMul, wasm, { a, b }, { transposeA, transposeB });
    if (bias != null) {
      const biased = runWasmKernel(tf.Add, wasm, { a: out, b: bias });
      dispose(wasm, out);
      out = biased;
    }
    return applyActivation(wasm, out, fusedAttrs, preluActivationWeights);
  };
  return { ...original, kernelFunc };
}
