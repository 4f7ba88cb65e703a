// Identity (tf.clone, and the copies tf.customGrad's save keeps of what a backward needs)
// shares its input's data, as Reshape does and as the cpu backend's Identity does: tensors
// are immutable, so no copy is needed. tfjs-backend-wasm 4.22 copied every element: a fused
// LSTM layer's saved gates and states, 6·T·B·H floats per layer per training step.
import * as tf from '../../tf.js';
import { asWasm, input, type KernelArgs } from './backend.js';

export function makeIdentityConfig(original: tf.KernelConfig): tf.KernelConfig {
  const kernelFunc = ({ inputs, backend, attrs }: KernelArgs): tf.TensorInfo => {
    const x = input(inputs, 'x');
    if (x.dtype === 'string') return original.kernelFunc({ inputs, backend, attrs }) as tf.TensorInfo;
    asWasm(backend).incRef(x.dataId);
    return { dataId: x.dataId, shape: x.shape, dtype: x.dtype };
  };
  return { ...original, kernelFunc };
}
