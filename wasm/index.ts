// The entry point of charrnn's own WebAssembly kernels (what the module exports). Built by
// `npm run build:wasm` (asconfig.json) into build/kernels-simd.wasm and, with FMA through
// relaxed SIMD, build/kernels-relaxed-simd.wasm; src/backend/wasm-kernels/own-module.ts loads one.
//
// The module imports its memory: it runs on tfjs-backend-wasm's heap, so kernels read and
// write tensors where tfjs keeps them. It has no data segment and no allocator: the host
// allocates everything, starting with the constant table (setTable, TABLE_BYTES).
export { adamUpdate } from './adam';
export { matMul, matMulBytes, pack, packedBytes } from './gemm';
export { crossEntropyBackward, crossEntropyForward } from './cross-entropy';
export { gruBackward, gruCell, gruForward, gruPackedBytes } from './gru';
export { lstmBackward, lstmCell, lstmForward } from './lstm';
export { rnnBackward, rnnForward } from './rnn';
export { HEADER_WORDS, LAYER_WORDS, sampleCandidate, sampleLayer, sampleOutput, sampleStep } from './sample';
export { projectStep } from './step';
export { setTable, TABLE_BYTES } from './simd';
export { columnSums, segmentRowSums } from './sums';
