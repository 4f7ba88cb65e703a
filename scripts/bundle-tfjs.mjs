// Builds what `npm run build` ships of TensorFlow.js (see src/tf.d.ts for why):
//   dist/tf.js             src/tf.js's packages as one ES module for Node (tsc never writes it)
//   dist/tf.d.ts           its types, src/tf.d.ts (tsc does not copy declaration files)
//   dist/*.wasm            tfjs-backend-wasm's binaries, where its loader in dist/tf.js looks
//   dist/export/tf.min.js  core, cpu backend and layers for the exported web page (global `tf`)
import { build } from 'esbuild';
import { copyFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const dist = join(root, 'dist');
const require = createRequire(import.meta.url);

// CommonJS code inside the bundle (seedrandom, the wasm loader) still calls require and reads
// __dirname; an ES module has neither, so the bundle defines them first.
const nodeGlobals = [
  "import { createRequire as __createRequire } from 'node:module';",
  "import { fileURLToPath as __fileURLToPath } from 'node:url';",
  "import { dirname as __pathDirname } from 'node:path';",
  'const require = __createRequire(import.meta.url);',
  'const __filename = __fileURLToPath(import.meta.url);',
  'const __dirname = __pathDirname(__filename);',
].join('\n');

await build({
  entryPoints: [join(root, 'src/tf.js')],
  outfile: join(dist, 'tf.js'),
  bundle: true,
  platform: 'node',
  format: 'esm',
  target: 'node20',
  mainFields: ['module', 'main'], // tfjs's ES modules, which hold the gradients
  banner: { js: nodeGlobals },
  logLevel: 'warning',
});

copyFileSync(join(root, 'src/tf.d.ts'), join(dist, 'tf.d.ts'));

const wasmDir = join(dirname(require.resolve('@tensorflow/tfjs-backend-wasm/package.json')), 'dist');
for (const file of ['tfjs-backend-wasm.wasm', 'tfjs-backend-wasm-simd.wasm']) copyFileSync(join(wasmDir, file), join(dist, file));

await build({
  stdin: {
    contents: [
      "export * from '@tensorflow/tfjs-core';",
      "import '@tensorflow/tfjs-core/dist/public/chained_ops/register_all_chained_ops';",
      "import '@tensorflow/tfjs-backend-cpu';",
      "export * from '@tensorflow/tfjs-layers';",
    ].join('\n'),
    resolveDir: root,
  },
  outfile: join(dist, 'export', 'tf.min.js'),
  bundle: true,
  platform: 'browser',
  format: 'iife',
  globalName: 'tf',
  minify: true,
  target: 'es2020',
  logLevel: 'warning',
});
