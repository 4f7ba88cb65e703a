// Shared helpers for the wasm kernels: typed access to the parts of the wasm
// backend we touch (tensor heap offsets, allocation, disposal, the heap's
// WebAssembly.Memory, malloc/free) and calls into the backend's own kernels on
// TensorInfos (no engine bookkeeping). Every reliance on tfjs-backend-wasm
// internals is here; test/wasm-kernels.test.mjs fails if an upgrade changes them.
import * as tf from '../../tf.js';
import type { BackendWasm } from '../../tf.js';

export type WasmBackend = BackendWasm;

/** Inputs/attrs/backend of a kernel call, as the engine passes them. */
export interface KernelArgs {
  inputs: tf.NamedTensorInfoMap;
  backend: {};
  attrs?: tf.NamedAttrMap;
}

export function asWasm(backend: {}): WasmBackend {
  return backend as WasmBackend;
}

/** A required kernel input (NamedTensorInfoMap values are optional in the types). */
export function input(inputs: tf.NamedTensorInfoMap, name: string): tf.TensorInfo {
  const x = inputs[name];
  if (x == null) throw new Error(`missing kernel input '${name}'`);
  return x;
}

/** Runs a kernel registered for 'wasm' directly on TensorInfos. */
export function runWasmKernel(
  name: string,
  backend: WasmBackend,
  inputs: tf.NamedTensorInfoMap,
  attrs: tf.NamedAttrMap = {},
): tf.TensorInfo {
  const config = tf.getKernel(name, 'wasm');
  if (config == null) throw new Error(`wasm kernel ${name} is not registered`);
  return config.kernelFunc({ inputs, backend, attrs }) as tf.TensorInfo;
}

/** A TensorInfo sharing `x`'s data with another shape of the same size (no copy, no refcount). */
export function view(x: tf.TensorInfo, shape: number[]): tf.TensorInfo {
  return { dataId: x.dataId, shape, dtype: x.dtype };
}

/** Byte offset of `x`'s data in the wasm heap. */
export function byteOffset(backend: WasmBackend, x: tf.TensorInfo): number {
  const data = backend.dataIdMap.get(x.dataId);
  if (data == null) throw new Error('tensor data not found in the wasm backend');
  return data.memoryOffset;
}

/**
 * Copies `count` elements from `src` (starting at element `srcStart`) to `dst`
 * (starting at `dstStart`) inside the wasm heap (a memmove, no JS arrays).
 * Always reads `HEAPU8` afresh: an allocation may have grown (replaced) it.
 */
export function heapCopy(
  backend: WasmBackend,
  src: tf.TensorInfo,
  srcStart: number,
  dst: tf.TensorInfo,
  dstStart: number,
  count: number,
): void {
  const bpe = tf.util.bytesPerElement(src.dtype);
  const from = byteOffset(backend, src) + srcStart * bpe;
  backend.wasm.HEAPU8.copyWithin(byteOffset(backend, dst) + dstStart * bpe, from, from + count * bpe);
}

/** A new tensor holding elements [start, start + size(shape)) of `x`. */
export function copyRange(backend: WasmBackend, x: tf.TensorInfo, start: number, shape: number[]): tf.TensorInfo {
  const out = backend.makeOutput(shape, x.dtype);
  heapCopy(backend, x, start, out, 0, tf.util.sizeFromShape(shape));
  return out;
}

/**
 * The backend's heap, for a module of our own to import: tfjs-backend-wasm 4.22 is an
 * Emscripten module, which keeps its instance's exports (memory among them) in `asm`.
 */
export function heapMemory(backend: WasmBackend): WebAssembly.Memory {
  const memory = (backend.wasm as unknown as { asm?: { memory?: unknown } }).asm?.memory;
  if (!(memory instanceof WebAssembly.Memory))
    throw new Error('tfjs-backend-wasm does not expose its WebAssembly.Memory as wasm.asm.memory');
  return memory;
}

interface Allocator {
  _malloc(bytes: number): number;
  _free(ptr: number): void;
}

/** `bytes` of the backend's heap from its own allocator (so tfjs never reuses them); free with `free`. */
export function malloc(backend: WasmBackend, bytes: number): number {
  const ptr = (backend.wasm as unknown as Allocator)._malloc(bytes);
  if (ptr === 0) throw new Error(`the wasm heap could not allocate ${bytes} bytes`);
  return ptr;
}

export function free(backend: WasmBackend, ptr: number): void {
  (backend.wasm as unknown as Allocator)._free(ptr);
}

export function dispose(backend: WasmBackend, ...infos: tf.TensorInfo[]): void {
  for (const info of infos) backend.disposeData(info.dataId);
}
