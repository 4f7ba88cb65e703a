// The sampler's step projections (wasm/step.ts) as kernels of the wasm backend:
//   CharrnnPack            w (K, N) -> its packed form (packedBytes(K, N) / 4 floats), made once
//   CharrnnStepProjection  z (B, N) = (table[ids] | b) + x·W + h·U, W and U packed:
//                          inputs x: ids (B) int32 with table E (V, N), or x (B, K) with
//                          packedW and b (N); optional h (B, Kh) with packedU; attr N
import * as tf from '../../tf.js';
import { asWasm, byteOffset, input, type KernelArgs } from './backend.js';
import { ownKernels } from './own-module.js';

export const PACK = 'CharrnnPack';
export const STEP_PROJECTION = 'CharrnnStepProjection';

function pack({ inputs, backend: anyBackend }: KernelArgs): tf.TensorInfo {
  const backend = asWasm(anyBackend);
  const w = input(inputs, 'w');
  const [K, N] = w.shape;
  const kernels = ownKernels(backend);
  const packed = backend.makeOutput([kernels.packedBytes(K, N) / 4], 'float32');
  kernels.pack(byteOffset(backend, w), K, N, N, 1, byteOffset(backend, packed));
  return packed;
}

function project({ inputs, backend: anyBackend, attrs }: KernelArgs): tf.TensorInfo {
  const backend = asWasm(anyBackend);
  const x = input(inputs, 'x');
  const N = attrs?.N as number;
  const B = x.shape[0];
  const at = (name: string) => (inputs[name] ? byteOffset(backend, inputs[name]) : 0);
  const lookup = x.dtype === 'int32';
  const h = inputs.h;
  const z = backend.makeOutput([B, N], 'float32');
  ownKernels(backend).projectStep(
    B,
    N,
    at('table'),
    lookup ? at('x') : 0,
    at('b'),
    lookup ? 0 : at('x'),
    lookup ? 0 : x.shape[1],
    at('packedW'),
    at('h'),
    h ? h.shape[1] : 0,
    at('packedU'),
    byteOffset(backend, z),
  );
  return z;
}

export const stepKernelConfigs: tf.KernelConfig[] = [
  { kernelName: PACK, backendName: 'wasm', kernelFunc: pack as unknown as tf.KernelFunc },
  { kernelName: STEP_PROJECTION, backendName: 'wasm', kernelFunc: project as unknown as tf.KernelFunc },
];
