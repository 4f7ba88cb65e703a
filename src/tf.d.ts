/**
 * The TensorFlow.js this program runs on, in one module: tfjs-core with its gradients and
 * chained ops (x.slice() and the like), the cpu and WebAssembly backends, and
 * tfjs-layers' loader (what `tf.loadLayersModel` users of our checkpoints call).
 *
 * Every file imports TensorFlow.js from here (`../tf.js`), never from a package. This file
 * gives the types; tf.js beside it is the code, which `npm run build` bundles with these
 * packages into dist/tf.js (scripts/bundle-tfjs.mjs) and copies this file beside it. Node
 * cannot load tfjs-core's ES modules (extensionless imports) and its CommonJS build has no
 * gradients, so without the bundle we would need the whole @tensorflow/tfjs package: 141 MB
 * for WebGL, the converter and tfjs-data, none of which run here. The bundle holds one copy
 * of tfjs-core; a native backend (tfjs-node-gpu) brings its own, and they share tfjs's
 * global engine and registry.
 */
export * from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-core/dist/public/chained_ops/register_all_chained_ops.js'; // declares the chained ops on Tensor
export type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';
export { loadLayersModel } from '@tensorflow/tfjs-layers';
