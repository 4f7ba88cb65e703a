// Tanh fix. tfjs-backend-wasm 4.22 computes tanh with a scalar std::tanh at
// ~17 ns an element, while its Sigmoid (XNNPACK, vectorised) takes ~1 ns. An
// LSTM applies tanh twice per cell per step, so this one kernel was ~5% of a
// 2×256 training step and a quarter of a batch-16 sampling step.
//
// Here tanh(x) = 2·sigmoid(2x) − 1, all in the backend's own vectorised
// kernels (~1.5 ns an element). The absolute error stays below 2e-7, the size
// of float32 rounding near ±1; near zero the relative error is larger than
// std::tanh's (tanh(1e-8) comes out as 0), which no LSTM can notice.
// Below ~1k elements (batch-1 sampling) four kernel calls cost more than the
// scalar loop saves, so small tensors keep the original kernel.
import * as tf from '../../tf.js';
import { asWasm, dispose, input, runWasmKernel, type KernelArgs, type WasmBackend } from './backend.js';

const SMALL = 1024; // elements

function scalar(backend: WasmBackend, value: number): tf.TensorInfo {
  const info = backend.makeOutput([], 'float32');
  backend.typedArrayFromHeap(info)[0] = value;
  return info;
}

export function makeTanhConfig(original: tf.KernelConfig): tf.KernelConfig {
  const kernelFunc = ({ inputs, backend: anyBackend, attrs }: KernelArgs): tf.TensorInfo => {
    const x = input(inputs, 'x');
    if (x.dtype !== 'float32' || tf.util.sizeFromShape(x.shape) < SMALL)
      return original.kernelFunc({ inputs, backend: anyBackend, attrs }) as tf.TensorInfo;
    const backend = asWasm(anyBackend);
    const two = scalar(backend, 2);
    const one = scalar(backend, 1);
    const doubled = runWasmKernel(tf.Multiply, backend, { a: x, b: two });
    const sigmoid = runWasmKernel(tf.Sigmoid, backend, { x: doubled });
    const scaled = runWasmKernel(tf.Multiply, backend, { a: sigmoid, b: two });
    const out = runWasmKernel(tf.Sub, backend, { a: scaled, b: one });
    dispose(backend, two, one, doubled, sigmoid, scaled);
    return out;
  };
  return { ...original, kernelFunc };
}
