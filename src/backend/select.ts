/**
 * Choosing where the tensors live. `auto` prefers CUDA through tfjs-node-gpu, then
 * WebAssembly, then pure JS, and says why it fell back. It takes the native backend only
 * with a GPU: TensorFlow on the CPU has not been measured against WebAssembly with
 * threads, which has. `--backend tensorflow` takes tfjs-node-gpu with or without a GPU,
 * then tfjs-node. The native packages are optional dependencies: they may be absent, or
 * present but unable to load (no libtensorflow, wrong CUDA), so any load error means
 * "fall back".
 */
import * as tf from '../tf.js';
import { UserError } from '../errors.js';

export const BACKEND_CHOICES = ['auto', 'tensorflow', 'wasm', 'cpu'] as const;
export type BackendChoice = (typeof BACKEND_CHOICES)[number];

export interface BackendInfo {
  /** The tfjs backend name: tensorflow, wasm or cpu. */
  name: string;
  /** One line for the user, e.g. "tfjs-node-gpu on a CUDA GPU". */
  description: string;
  /** Why each preferred backend was skipped, in order. */
  fallbacks: string[];
}

export const NATIVE_PACKAGES = ['@tensorflow/tfjs-node-gpu', '@tensorflow/tfjs-node'] as const;
export type NativePackage = (typeof NATIVE_PACKAGES)[number];

/**
 * Imports a native package, which registers a backend named 'tensorflow' with the shared
 * tfjs-core. Tests pass a fake: no machine here can load the real one.
 */
export type NativeLoader = (pkg: NativePackage) => Promise<unknown>;

export interface SelectOptions {
  loadNative?: NativeLoader;
}

/** How to see why TensorFlow found no GPU: we quieten its logging, which hides the missing library's name. */
const NO_GPU_HINT = "TF_CPP_MIN_LOG_LEVEL=0 shows TensorFlow's reason";

type Attempt = () => Promise<string>; // resolves to the description, rejects with the reason

export async function selectBackend(choice: BackendChoice = 'auto', options: SelectOptions = {}): Promise<BackendInfo> {
  tf.enableProdMode(); // no debug checks, and no "install tfjs-node" banner: we say what runs
  const loader = options.loadNative ?? ((pkg) => import(pkg));
  const attempts: [string, Attempt][] = [];
  if (choice === 'auto') attempts.push([NATIVE_PACKAGES[0], () => loadNative(loader, NATIVE_PACKAGES[0], true)]);
  if (choice === 'tensorflow') for (const pkg of NATIVE_PACKAGES) attempts.push([pkg, () => loadNative(loader, pkg, false)]);
  if (choice === 'auto' || choice === 'wasm') attempts.push(['wasm', loadWasm]);
  if (choice === 'auto' || choice === 'cpu') attempts.push(['cpu', loadCpu]);

  const fallbacks: string[] = [];
  for (const [label, attempt] of attempts) {
    try {
      const description = await attempt();
      return { name: tf.getBackend(), description, fallbacks };
    } catch (err) {
      fallbacks.push(`${label}: ${firstLine(err)}`);
    }
  }
  // A choice the machine cannot honour (e.g. tensorflow without its package) is a usage error.
  throw new UserError(
    `no usable backend for --backend ${choice}: ${fallbacks.join('; ')}${choice === 'auto' ? '' : '; try --backend auto'}`,
  );
}

/** `gpuOnly`: refuse (so that `auto` falls back to WebAssembly) when TensorFlow finds no GPU. */
async function loadNative(loader: NativeLoader, pkg: NativePackage, gpuOnly: boolean): Promise<string> {
  // Let TensorFlow take GPU memory as it needs it rather than the whole card up front,
  // and keep its C++ start-up chatter off the user's terminal.
  process.env.TF_FORCE_GPU_ALLOW_GROWTH ??= 'true';
  process.env.TF_CPP_MIN_LOG_LEVEL ??= '2';
  await loader(pkg);
  if (!(await tf.setBackend('tensorflow'))) throw new Error('the tensorflow backend failed to initialise');
  if (pkg === '@tensorflow/tfjs-node') return 'tfjs-node (native TensorFlow on the CPU)';
  const usingGpu = (tf.backend() as unknown as { isUsingGpuDevice?: boolean }).isUsingGpuDevice === true;
  if (usingGpu) return 'tfjs-node-gpu on a CUDA GPU';
  if (gpuOnly) {
    throw new Error(
      `loaded, but TensorFlow found no GPU (${NO_GPU_HINT}); ` +
        'WebAssembly is measured, TensorFlow on the CPU is not (--backend tensorflow forces it)',
    );
  }
  return `tfjs-node-gpu on the CPU: TensorFlow found no GPU (${NO_GPU_HINT})`;
}

async function loadWasm(): Promise<string> {
  const { registerWasmKernelFixes } = await import('./wasm-kernels/index.js');
  const { ownKernelsBuild } = await import('./wasm-kernels/own-module.js');
  registerWasmKernelFixes();
  if (!(await tf.setBackend('wasm'))) throw new Error('the wasm backend failed to initialise');
  const simd = tf.env().getBool('WASM_HAS_SIMD_SUPPORT') ? 'SIMD' : 'no SIMD';
  // Chosen here, before training starts, so the line says which build runs.
  return `WebAssembly (tfjs-backend-wasm, ${simd}; fused layers: ${ownKernelsBuild()})`;
}

async function loadCpu(): Promise<string> {
  if (!(await tf.setBackend('cpu'))) throw new Error('the cpu backend failed to initialise');
  return 'pure JavaScript (tfjs cpu backend; slow)';
}

function firstLine(err: unknown): string {
  const code = (err as { code?: string }).code;
  if (code === 'ERR_MODULE_NOT_FOUND' || code === 'MODULE_NOT_FOUND') return 'not installed';
  const message = err instanceof Error ? err.message : String(err);
  return message.split('\n')[0];
}
