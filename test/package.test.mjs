// What `npm pack` would publish: everything the commands need, nothing that needs files
// outside the tarball, and no TensorFlow.js package among the run-time dependencies.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';

const root = new URL('..', import.meta.url);
const pkg = JSON.parse(readFileSync(new URL('package.json', root), 'utf8'));

test('the package tarball holds what runs, and no source maps, tests or benchmark', () => {
  // --ignore-scripts: the test suite has just built dist/; do not rebuild it under the other tests
  const [packed] = JSON.parse(
    execFileSync('npm', ['pack', '--dry-run', '--json', '--ignore-scripts'], {
      cwd: root,
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'ignore'],
    }),
  );
  const files = packed.files.map((f) => f.path);
  for (const needed of [
    'LICENSE',
    'README.md',
    'package.json',
    'bin/charrnn.js',
    'corpora/default.txt',
    'dist/cli/main.js',
    'dist/tf.js',
    'dist/tfjs-backend-wasm-simd.wasm',
    'dist/tfjs-backend-wasm.wasm',
    'dist/export/tf.min.js',
    'dist/training/gradient-worker.js',
    'scale-out/train_ddp.py',
    'wasm/build/kernels-simd.wasm',
    'wasm/build/kernels-relaxed-simd.wasm',
    'wasm/build/kernels-shared-simd.wasm',
    'wasm/build/kernels-shared-relaxed-simd.wasm',
    'dist/backend/wasm-kernels/column-worker.js',
  ]) {
    assert.ok(files.includes(needed), `${needed} is not in the tarball`);
  }
  for (const file of files) {
    assert.doesNotMatch(file, /\.map$|^test\/|^bench\/|^dist-bench\/|^src\//, `${file} should not be published`);
  }
  assert.ok(packed.unpackedSize < 10e6, `unpacked ${packed.unpackedSize} bytes`);
});

test('no TensorFlow.js package is needed at run time: the build bundles it', () => {
  const runtime = Object.keys(pkg.dependencies);
  assert.deepEqual(
    runtime.filter((name) => name.startsWith('@tensorflow/')),
    [],
  );
  assert.deepEqual(Object.keys(pkg.optionalDependencies), ['@tensorflow/tfjs-node-gpu']); // the CUDA path, loaded only if present
  const bundle = readFileSync(new URL('dist/tf.js', root), 'utf8');
  assert.doesNotMatch(bundle, /(from |require\()['"]@tensorflow\//, 'dist/tf.js loads a TensorFlow.js package');
});

test('tsc, run alone too, never writes dist/tf.js: the bundle there is what Node runs', () => {
  const rootDir = fileURLToPath(root);
  const config = ts.getParsedCommandLineOfConfigFile(join(rootDir, 'tsconfig.json'), {}, ts.sys);
  assert.deepEqual(config.errors, []);
  const emitted = config.fileNames.flatMap((file) => ts.getOutputFileNames(config, file, false));
  assert.ok(emitted.includes(join(rootDir, 'dist/index.js')), 'tsc emits the library');
  assert.ok(!emitted.includes(join(rootDir, 'dist/tf.js')), 'tsc emits dist/tf.js');
});
