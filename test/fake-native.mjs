// A stand-in for @tensorflow/tfjs-node-gpu, which no machine here can load: importing it
// registers a backend named 'tensorflow' (as the real package does) that runs tfjs's cpu
// kernels, and reports a GPU or not as the real one's `isUsingGpuDevice` does. Code keyed
// on the name 'tensorflow' then runs somewhere.
import * as tf from '../dist/tf.js';

/** A `loadNative` for selectBackend: tfjs-node-gpu is "installed" (with or without a GPU), tfjs-node is not. */
export function fakeNativeLoader({ gpu }) {
  return async (pkg) => {
    if (pkg !== '@tensorflow/tfjs-node-gpu')
      throw Object.assign(new Error(`Cannot find package '${pkg}'`), { code: 'ERR_MODULE_NOT_FOUND' });
    registerFakeTensorflow(gpu);
    await tf.setBackend('tensorflow'); // the real package's index does this on import
  };
}

function registerFakeTensorflow(gpu) {
  if (tf.findBackendFactory('tensorflow')) tf.removeBackend('tensorflow');
  const cpu = tf.findBackendFactory('cpu');
  tf.registerBackend('tensorflow', () => Object.assign(cpu(), { isUsingGpuDevice: gpu }));
  if (tf.getKernelsForBackend('tensorflow').length === 0) {
    for (const kernel of tf.getKernelsForBackend('cpu')) tf.registerKernel({ ...kernel, backendName: 'tensorflow' });
  }
}
