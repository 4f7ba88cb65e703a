// Adam's update of one parameter (wasm/adam.ts) as a kernel of the wasm backend:
//   CharrnnAdamUpdate  p, m, v, g (any shape, all alike); attrs beta1, beta2, gradFactor,
//                      squareFactor, epsilon, stepSize -> p', m', v'
// One pass instead of src/training/adam.ts's 12 kernels, the same float32 results.
import * as tf from '../../tf.js';
import { asWasm, byteOffset, input, type KernelArgs } from './backend.js';
import { ownKernels } from './own-module.js';

export const ADAM_UPDATE = 'CharrnnAdamUpdate';

/** The update's scalars, as Adam.apply computes them. */
export interface AdamUpdateAttrs {
  beta1: number;
  beta2: number;
  gradFactor: number;
  squareFactor: number;
  epsilon: number;
  stepSize: number;
}

function update({ inputs, backend: anyBackend, attrs }: KernelArgs): tf.TensorInfo[] {
  const backend = asWasm(anyBackend);
  const [p, m, v, g] = ['p', 'm', 'v', 'g'].map((name) => input(inputs, name));
  const { beta1, beta2, gradFactor, squareFactor, epsilon, stepSize } = attrs as unknown as AdamUpdateAttrs;
  const outputs = [p, m, v].map((x) => backend.makeOutput(x.shape, 'float32'));
  const at = (x: tf.TensorInfo) => byteOffset(backend, x);
  const [pOut, mOut, vOut] = outputs.map(at);
  ownKernels(backend).adamUpdate(
    tf.util.sizeFromShape(p.shape),
    at(p),
    at(m),
    at(v),
    at(g),
    pOut,
    mOut,
    vOut,
    beta1,
    beta2,
    gradFactor,
    squareFactor,
    epsilon,
    stepSize,
  );
  return outputs;
}

export const adamKernelConfig: tf.KernelConfig = {
  kernelName: ADAM_UPDATE,
  backendName: 'wasm',
  kernelFunc: update as unknown as tf.KernelFunc,
};
