// The training loss (wasm/cross-entropy.ts) as kernels of the wasm backend:
//   CharrnnCrossEntropy          logits (R, V), targets (R) int32 -> losses (R), probs (R, V)
//   CharrnnCrossEntropyBackward  probs (R, V), targets (R), dLosses (R) -> dLogits (R, V)
// src/model/cross-entropy.ts uses these.
import * as tf from '../../tf.js';
import { asWasm, byteOffset, input, type KernelArgs } from './backend.js';
import { ownKernels } from './own-module.js';

export const CROSS_ENTROPY = 'CharrnnCrossEntropy';
export const CROSS_ENTROPY_BACKWARD = 'CharrnnCrossEntropyBackward';

function forward({ inputs, backend: anyBackend }: KernelArgs): tf.TensorInfo[] {
  const backend = asWasm(anyBackend);
  const [logits, targets] = ['logits', 'targets'].map((name) => input(inputs, name));
  const [R, V] = logits.shape;
  const losses = backend.makeOutput([R], 'float32');
  const probs = backend.makeOutput([R, V], 'float32');
  const at = (x: tf.TensorInfo) => byteOffset(backend, x);
  ownKernels(backend).crossEntropyForward(R, V, at(logits), at(targets), at(losses), at(probs));
  return [losses, probs];
}

function backward({ inputs, backend: anyBackend }: KernelArgs): tf.TensorInfo {
  const backend = asWasm(anyBackend);
  const [probs, targets, dLosses] = ['probs', 'targets', 'dLosses'].map((name) => input(inputs, name));
  const [R, V] = probs.shape;
  const dLogits = backend.makeOutput([R, V], 'float32');
  const at = (x: tf.TensorInfo) => byteOffset(backend, x);
  ownKernels(backend).crossEntropyBackward(R, V, at(probs), at(targets), at(dLosses), at(dLogits));
  return dLogits;
}

export const crossEntropyKernelConfigs: tf.KernelConfig[] = [
  { kernelName: CROSS_ENTROPY, backendName: 'wasm', kernelFunc: forward as unknown as tf.KernelFunc },
  { kernelName: CROSS_ENTROPY_BACKWARD, backendName: 'wasm', kernelFunc: backward as unknown as tf.KernelFunc },
];
