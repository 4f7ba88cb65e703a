/**
 * The TensorFlow.js this program runs on, in one module: tfjs-core with its gradients and
 * chained ops (x.slice() and the like), the cpu and WebAssembly backends, and
 * tfjs-layers' loader (what `tf.loadLayersModel` users of our checkpoints call).
 *
 * Every file imports TensorFlow.js from here, never from a package. This file gives the
 * types; `npm run build` then replaces its compiled form, dist/tf.js, with one bundle of
 * these packages (scripts/bundle-tfjs.mjs). Node cannot load tfjs-core's ES modules
 * (extensionless imports) and its CommonJS build has no gradients, so without the bundle
 * we would need the whole @tensorflow/tfjs package: 141 MB for WebGL, the converter and
 * tfjs-data, none of which run here. The bundle holds one copy of tfjs-core; a native
 * backend (tfjs-node-gpu) brings its own, and they share tfjs's global engine and registry.
 */
export * from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-core/dist/register_all_gradients.js';
import '@tensorflow/tfjs-core/dist/public/chained_ops/register_all_chained_ops.js';
import '@tensorflow/tfjs-backend-cpu';
export type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';
import '@tensorflow/tfjs-backend-wasm';
export { loadLayersModel } from '@tensorflow/tfjs-layers';
