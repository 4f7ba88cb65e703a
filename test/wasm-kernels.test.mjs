// Compares the wasm kernel fixes (dist/backend/wasm-kernels) with the cpu backend.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import * as tf from '../dist/tf.js';
import { byteOffset, free, heapMemory, malloc } from '../dist/backend/wasm-kernels/backend.js';
import { registerWasmKernelFixes } from '../dist/backend/wasm-kernels/index.js';
import { crossEntropy } from '../dist/model/cross-entropy.js';
import { Adam } from '../dist/training/adam.js';

registerWasmKernelFixes(); // before the backend is initialised (the other order is tested below)
await tf.setBackend('cpu');
await tf.setBackend('wasm');

// Deterministic inputs, identical on both backends.
let seed = 12345;
function random(shape, dtype = 'float32') {
  const size = shape.reduce((p, d) => p * d, 1);
  const values = new Float32Array(size);
  for (let i = 0; i < size; i++) {
    seed = (seed * 1103515245 + 12345) >>> 0;
    values[i] = dtype === 'int32' ? seed % 100 : seed / 2 ** 31 - 1;
  }
  return { shape, values, dtype };
}

/** Runs fn(...inputs) on wasm and on cpu; returns [{shape, values}] per output for each. */
async function runOn(backend, fn, inputs) {
  await tf.setBackend(backend);
  const results = tf.tidy(() => {
    const out = fn(...inputs.map(({ values, shape, dtype }) => tf.tensor(values, shape, dtype)));
    return Array.isArray(out) ? out : [out];
  });
  const plain = results.map((t) => ({ shape: t.shape, dtype: t.dtype, values: t.dataSync() }));
  tf.dispose(results);
  return plain;
}

async function assertSameAsCpu(fn, inputs, label, tol = 1e-4) {
  const wasm = await runOn('wasm', fn, inputs);
  const cpu = await runOn('cpu', fn, inputs);
  await tf.setBackend('wasm');
  assert.equal(wasm.length, cpu.length, `${label}: number of outputs`);
  cpu.forEach((expected, o) => {
    const actual = wasm[o];
    assert.deepEqual(actual.shape, expected.shape, `${label}: shape of output ${o}`);
    assert.equal(actual.dtype, expected.dtype, `${label}: dtype of output ${o}`);
    let scale = 1;
    for (const v of expected.values) scale = Math.max(scale, Math.abs(v));
    for (let i = 0; i < expected.values.length; i++) {
      const diff = Math.abs(actual.values[i] - expected.values[i]);
      if (!(diff <= tol * scale)) {
        assert.fail(`${label}: output ${o}[${i}] = ${actual.values[i]}, cpu ${expected.values[i]}`);
      }
    }
  });
}

const TRANSPOSES = [
  [false, false],
  [false, true],
  [true, false],
  [true, true],
];
const operand = (batch, rows, cols, transposed) => random([...batch, ...(transposed ? [cols, rows] : [rows, cols])]);

test('matMul: all transpose combinations, batched and broadcast', async () => {
  const cases = [
    { m: 37, k: 64, n: 50, batchA: [], batchB: [] }, // our GEMM (32 rows or more): tails of rows and columns
    { m: 70, k: 33, n: 13, batchA: [1], batchB: [1, 1] }, // our GEMM, through batch dimensions of 1
    { m: 1, k: 16, n: 8, batchA: [], batchB: [] },
    { m: 5, k: 7, n: 3, batchA: [3], batchB: [3] },
    { m: 6, k: 9, n: 4, batchA: [4], batchB: [] }, // b shared by all batches
    { m: 6, k: 9, n: 4, batchA: [1], batchB: [3] }, // a broadcast
    { m: 4, k: 5, n: 6, batchA: [2, 3], batchB: [2, 3] },
  ];
  for (const { m, k, n, batchA, batchB } of cases) {
    for (const [ta, tb] of TRANSPOSES) {
      await assertSameAsCpu(
        (a, b) => tf.matMul(a, b, ta, tb),
        [operand(batchA, m, k, ta), operand(batchB, k, n, tb)],
        `matMul ${[batchA, m, k, n, ta, tb]}`,
      );
    }
  }
});

test("matMul: our GEMM's cache blocks (K over several slices, rows over several blocks, tails), within 1e-6 of cpu", async () => {
  // wasm/gemm.ts blocks K by 256 and rows by 128.
  for (const { m, k, n } of [
    { m: 301, k: 601, n: 83 },
    { m: 129, k: 257, n: 9 },
  ]) {
    for (const [ta, tb] of TRANSPOSES) {
      await assertSameAsCpu(
        (a, b) => tf.matMul(a, b, ta, tb),
        [operand([], m, k, ta), operand([], k, n, tb)],
        `matMul ${[m, k, n, ta, tb]}`,
        1e-6,
      );
    }
  }
});

test('matMul gradients (transposed matMuls from autodiff)', async () => {
  const grads = (a, b) => tf.grads((x, y) => tf.matMul(x, y).square().sum())([a, b]);
  await assertSameAsCpu(grads, [random([20, 30]), random([30, 12])], 'grad 2d');
  await assertSameAsCpu(grads, [random([2, 8, 5]), random([2, 5, 6])], 'grad batched');
});

test('fused matMul: bias, activations, transposes, batches', async () => {
  const activations = ['linear', 'relu', 'relu6', 'elu', 'sigmoid', 'leakyrelu', 'prelu'];
  const [m, k, n] = [9, 13, 7];
  for (const [ta, tb] of TRANSPOSES) {
    for (const [batch, biasShape] of [
      [[], [n]],
      [[], null],
      [[3], [n]],
      [[], [m, n]],
      [[2], [1]],
    ]) {
      for (const activation of activations) {
        const inputs = [operand(batch, m, k, ta), operand(batch, k, n, tb), random([n])];
        if (biasShape) inputs.push(random(biasShape));
        await assertSameAsCpu(
          (a, b, alpha, bias) =>
            tf.fused.matMul({
              a,
              b,
              bias,
              transposeA: ta,
              transposeB: tb,
              activation,
              leakyreluAlpha: 0.3,
              preluActivationWeights: activation === 'prelu' ? alpha : undefined,
            }),
          inputs,
          `fused ${[ta, tb, batch, biasShape, activation]}`,
        );
      }
    }
  }
});

test('slice: rows, inner columns, blocks, other ranks and dtypes', async () => {
  const x3 = random([20, 30, 16]);
  const cases = [
    [random([50, 64]), [10, 0], [20, 64]], // contiguous rows
    [random([50, 64]), [0, 5], [50, 12]], // inner columns
    [random([50, 64]), [49, 63], [1, 1]],
    [x3, [3, 0, 0], [4, 30, 16]],
    [x3, [3, 7, 0], [4, 5, 16]],
    [x3, [0, 0, 2], [20, 30, 9]],
    [x3, [1, 2, 3], [-1, 1, 4]],
    [random([100]), [17], [40]],
    [random([2, 3, 4, 5, 6]), [1, 0, 1, 2, 0], [1, 3, 2, 3, 6]],
    [random([12, 10], 'int32'), [2, 3], [5, 4]],
    [random([4, 0, 3]), [1, 0, 0], [2, 0, 3]],
  ];
  for (const [x, begin, size] of cases) {
    await assertSameAsCpu((t) => tf.slice(t, begin, size), [x], `slice ${x.shape} ${begin} ${size}`);
  }
  await assertSameAsCpu((t) => tf.slice(t.greater(0), [1, 2], [3, 4]), [random([6, 8])], 'slice bool');
});

test('split with uneven sizes along each axis', async () => {
  const x = random([10, 12, 9]);
  await assertSameAsCpu((t) => tf.split(t, [3, 5, 2], 0), [x], 'split axis 0');
  await assertSameAsCpu((t) => tf.split(t, [1, 7, -1], 1), [x], 'split axis 1');
  await assertSameAsCpu((t) => tf.split(t, [4, 5], -1), [x], 'split axis -1');
  await assertSameAsCpu((t) => tf.split(t, 3, 2), [x], 'split even');
});

test('unstack along axes 0, 1 and -1', async () => {
  const x = random([6, 5, 8]);
  for (const axis of [0, 1, 2, -1]) {
    await assertSameAsCpu((t) => tf.unstack(t, axis), [x], `unstack axis ${axis}`);
  }
  await assertSameAsCpu((t) => tf.unstack(t), [random([7], 'int32')], 'unstack 1d int32');
});

test('gather of rows (fast path) and of other axes (original kernel)', async () => {
  const indices = { shape: [9], values: new Float32Array([3, 0, 3, 7, 1, 3, 0, 9, 2]), dtype: 'int32' };
  await assertSameAsCpu((x, idx) => tf.gather(x, idx), [random([10, 6]), indices], 'gather rows');
  await assertSameAsCpu((x, idx) => tf.gather(x, idx), [random([10, 2, 3]), indices], 'gather rank-3 rows');
  await assertSameAsCpu((x, idx) => tf.gather(x, idx), [random([10], 'int32'), indices], 'gather int32 vector');
  const idx2d = { shape: [3, 3], values: indices.values, dtype: 'int32' };
  await assertSameAsCpu((x, idx) => tf.gather(x, idx), [random([10, 4]), idx2d], 'gather 2d indices');
  await assertSameAsCpu((x, idx) => tf.gather(x, idx, 1), [random([4, 10, 3]), indices], 'gather axis 1');
  assert.throws(() => tf.tidy(() => tf.gather(tf.ones([3, 2]), tf.tensor1d([3], 'int32'))), /not in \[0, 2\]/);
});

test('tanh within 2e-7 of the cpu backend, small and large tensors, and its gradient', async () => {
  for (const size of [7, 5000]) {
    const x = random([size]);
    const specials = [0, 1e-8, -1e-8, 0.3, -0.3, 9, -9, 30, -30, 1e6, -1e6, Infinity, -Infinity];
    specials.forEach((v, i) => (x.values[i] = v));
    x.values.forEach((v, i) => {
      if (i >= specials.length) x.values[i] = v * 6;
    }); // most of tanh's range
    await assertSameAsCpu((t) => tf.tanh(t), [x], `tanh of ${size}`, 2e-7);
    await assertSameAsCpu((t) => tf.grad((u) => tf.tanh(u).sum())(t), [x], `tanh gradient of ${size}`, 4e-7);
  }
  const nan = await runOn('wasm', (t) => tf.tanh(t), [{ shape: [2000], values: new Float32Array(2000).fill(NaN), dtype: 'float32' }]);
  assert.ok(nan[0].values.every(Number.isNaN), 'tanh(NaN) is NaN');
});

test('gather gradients and unsortedSegmentSum', async () => {
  const indices = { shape: [9], values: new Float32Array([3, 0, 3, 7, 1, 3, 0, 9, 2]), dtype: 'int32' };
  const gatherGrad = (axis) => (x, idx, w) => tf.grad((t) => tf.gather(t, idx, axis).mul(w).sum())(x);
  await assertSameAsCpu(gatherGrad(0), [random([10, 6]), indices, random([9, 6])], 'gather grad axis 0');
  await assertSameAsCpu(gatherGrad(1), [random([4, 10, 3]), indices, random([4, 9, 3])], 'gather grad axis 1');
  const idx2d = { shape: [3, 3], values: indices.values, dtype: 'int32' };
  await assertSameAsCpu(gatherGrad(0), [random([10, 5]), idx2d, random([3, 3, 5])], 'gather grad 2d indices');
  await assertSameAsCpu((x, ids) => tf.unsortedSegmentSum(x, ids, 12), [random([9, 4]), indices], 'segment sum');
  // int32 input: wasm keeps int32 (as TF does); the cpu backend returns float32, so compare as float32.
  await assertSameAsCpu((x, ids) => tf.unsortedSegmentSum(x, ids, 10).toFloat(), [random([9], 'int32'), indices], 'segment sum int32');
});

test('sum over leading axes (one pass, no transpose) and over others, with and without keepDims', async () => {
  for (const [shape, axis] of [
    [[301, 67], 0],
    [
      [7, 5, 6],
      [0, 1],
    ],
    [
      [7, 5, 6],
      [1, 0],
    ],
    [[7, 5, 6], 1],
    [[7, 5, 6], -1],
    [[7, 5, 6], null],
    [[1, 9], 0],
  ]) {
    for (const keepDims of [false, true]) {
      await assertSameAsCpu((x) => tf.sum(x, axis, keepDims), [random(shape)], `sum ${shape} over ${axis} keepDims ${keepDims}`, 1e-5);
    }
  }
});

test('clone shares its data: disposing either leaves the other intact, the last frees it', () => {
  const backend = tf.backend();
  const dataIds = backend.numDataIds();
  const x = tf.tensor1d([1, 2, 3]);
  const y = tf.clone(x);
  assert.equal(backend.numDataIds(), dataIds + 1, 'one buffer for both');
  x.dispose();
  assert.deepEqual(Array.from(y.dataSync()), [1, 2, 3]);
  y.dispose();
  assert.equal(backend.numDataIds(), dataIds);
});

test('the training loss (our kernel on wasm, tfjs softmaxCrossEntropy on cpu) and its gradient', async () => {
  const lossAndGradient = (logits, targets) => [
    crossEntropy(logits, targets),
    // targets made inside the differentiated function are gone by the time the backward runs
    tf.grad((x) => crossEntropy(x, tf.tensor1d(targets.dataSync(), 'int32')))(logits),
  ];
  for (const [R, V] of [
    [37, 83],
    [1, 3],
    [8, 4],
  ]) {
    const logits = random([R, V]);
    logits.values.forEach((x, i) => (logits.values[i] = 20 * x)); // spread: exp over a wide range
    const targets = { shape: [R], values: Float32Array.from({ length: R }, (_, r) => (r * 5) % V), dtype: 'int32' };
    await assertSameAsCpu(lossAndGradient, [logits, targets], `cross-entropy ${R}x${V}`, 2e-6);
  }
});

test('no leaked tensors or backend buffers', () => {
  const backend = tf.backend();
  const a = tf.randomNormal([3, 8, 6]);
  const b = tf.randomNormal([3, 6, 5]);
  const x = tf.randomNormal([10, 12, 9]);
  const idx = tf.tensor1d([1, 3, 1, 0], 'int32');
  const run = () =>
    tf.tidy(() => {
      tf.matMul(a, b, false, false).dataSync();
      tf.matMul(a, b.transpose([0, 2, 1]), false, true);
      tf.matMul(a.transpose([0, 2, 1]), b, true, false);
      tf.matMul(a.reshape([24, 6]), b.reshape([18, 5]).slice([0, 0], [6, 5]), false, false);
      tf.fused.matMul({ a, b, bias: tf.ones([5]), transposeA: false, transposeB: false, activation: 'relu' });
      tf.fused.matMul({ a, b, bias: tf.ones([8, 5]), activation: 'prelu', preluActivationWeights: tf.ones([5]) });
      tf.grads((p, q) => tf.matMul(p, q).sum())([a, b]);
      tf.slice(x, [2, 0, 0], [3, 12, 9]);
      tf.split(x, [3, 7], 0);
      tf.unstack(x, 1);
      tf.grad((t) => tf.gather(t, idx).sum())(x);
      tf.sum(x, [0, 1]);
      tf.clone(x);
    });
  run();
  const tensors = tf.memory().numTensors;
  const dataIds = backend.numDataIds();
  for (let i = 0; i < 5; i++) run();
  assert.equal(tf.memory().numTensors, tensors);
  assert.equal(backend.numDataIds(), dataIds);
  tf.dispose([a, b, x, idx]);
});

// Our own kernels (src/wasm-kernels/own-module.ts) run on tfjs-backend-wasm's heap through
// these internals; an upgrade that changes any of them must fail here, not corrupt memory.
test('tfjs-backend-wasm internals we rely on: its heap memory, data offsets, malloc and free', () => {
  const backend = tf.backend();
  const memory = heapMemory(backend);
  assert.ok(memory instanceof WebAssembly.Memory);
  assert.equal(memory.buffer, backend.wasm.HEAPU8.buffer, 'HEAPU8 views the exported memory');
  const x = tf.tensor1d([1.5, -2, 3.25]);
  assert.deepEqual(Array.from(new Float32Array(memory.buffer, byteOffset(backend, x), 3)), [1.5, -2, 3.25]);
  const ptr = malloc(backend, 1 << 20);
  const y = tf.tensor1d([7, 8]);
  const yAt = byteOffset(backend, y);
  assert.ok(yAt + 8 <= ptr || yAt >= ptr + (1 << 20), 'tfjs does not hand out memory we allocated');
  new Float32Array(memory.buffer, ptr, 1 << 18).fill(9);
  assert.deepEqual(Array.from(y.dataSync()), [7, 8]);
  free(backend, ptr);
  tf.dispose([x, y]);
});

/** Whether two float arrays hold the same values bit for bit (NaN payloads aside); the first difference otherwise. */
function firstDifference(a, b) {
  if (a.length !== b.length) return `lengths ${a.length} and ${b.length}`;
  for (let i = 0; i < a.length; i++) if (!Object.is(a[i], b[i])) return `[${i}]: ${a[i]} and ${b[i]}`;
  return null;
}

test("Adam's update in one kernel gives the op-by-op update's float32 values bit for bit (clipped or not, tails of 4)", async () => {
  const shapes = [[3, 5], [7], [64, 33]];
  const params = shapes.map((shape) => tf.variable(tf.tensor(random(shape).values, shape)));
  const adam = new Adam(params);
  // The reference: Adam.apply's op-by-op form, written out.
  const p = params.map((x) => x.clone());
  const m = params.map((x) => tf.zerosLike(x));
  const v = params.map((x) => tf.zerosLike(x));
  for (const [step, scale] of [
    [1, 1],
    [2, 0.3],
    [3, 1],
  ]) {
    const grads = shapes.map((shape) => tf.tensor(random(shape).values, shape));
    adam.apply(grads, 5e-3, scale);
    const stepSize = tf.scalar((5e-3 * Math.sqrt(1 - 0.999 ** step)) / (1 - 0.9 ** step));
    const [gf, sf] = [tf.scalar(0.1 * scale), tf.scalar(0.001 * scale * scale)];
    grads.forEach((g, k) => {
      const [mk, vk] = [tf.add(tf.mul(m[k], 0.9), tf.mul(g, gf)), tf.add(tf.mul(v[k], 0.999), tf.mul(tf.square(g), sf))];
      const pk = tf.sub(p[k], tf.mul(tf.div(mk, tf.add(tf.sqrt(vk), 1e-8)), stepSize));
      tf.dispose([m[k], v[k], p[k]]);
      [m[k], v[k], p[k]] = [mk, vk, pk];
    });
    tf.dispose([...grads, stepSize, gf, sf]);
    const moments = adam.moments;
    params.forEach((param, k) => {
      for (const [name, actual, expected] of [
        ['p', param, p[k]],
        ['m', moments[k], m[k]],
        ['v', moments[shapes.length + k], v[k]],
      ]) {
        const difference = firstDifference(actual.dataSync(), expected.dataSync());
        assert.equal(difference, null, `step ${step}, parameter ${k}, ${name}${difference}`);
      }
    });
  }
  const grads = params.map((x) => tf.onesLike(x));
  const { kernels } = await tf.profile(() => adam.apply(grads, 5e-3));
  assert.deepEqual(
    kernels.map((k) => k.name),
    params.map(() => 'CharrnnAdamUpdate'),
    'one kernel per parameter',
  );
  adam.dispose();
  tf.dispose(grads);
  tf.dispose([...params, ...p, ...m, ...v]);
});

test('registerWasmKernelFixes is idempotent and only touches wasm', () => {
  const before = ['BatchMatMul', '_FusedMatMul', 'Slice', 'SplitV', 'Unpack', 'UnsortedSegmentSum'].map((name) =>
    tf.getKernel(name, 'wasm'),
  );
  registerWasmKernelFixes();
  const after = ['BatchMatMul', '_FusedMatMul', 'Slice', 'SplitV', 'Unpack', 'UnsortedSegmentSum'].map((name) =>
    tf.getKernel(name, 'wasm'),
  );
  assert.deepEqual(after, before);
  assert.equal(tf.getKernel('BatchMatMul', 'cpu').backendName, 'cpu');
});

test('registerWasmKernelFixes also works after tf.setBackend("wasm")', () => {
  const script = `
    import * as tf from './dist/tf.js';
    import { registerWasmKernelFixes } from './dist/backend/wasm-kernels/index.js';
    await tf.setBackend('wasm');
    registerWasmKernelFixes();
    const a = tf.tensor2d([[1, 2], [3, 4], [5, 6]]);
    const y = tf.fused.matMul({ a, b: a, transposeA: true, bias: tf.tensor1d([1, -1]) });
    const g = tf.grad((t) => tf.gather(t, tf.tensor1d([2, 2], 'int32')).sum())(a);
    console.log(JSON.stringify([y.arraySync(), tf.unstack(a)[1].arraySync(), g.arraySync()]));`;
  const out = execFileSync(process.execPath, ['--input-type=module', '-e', script], {
    cwd: new URL('..', import.meta.url),
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'ignore'],
  });
  assert.deepEqual(JSON.parse(out.trim().split('\n').pop()), [
    [
      [36, 43],
      [45, 55],
    ],
    [3, 4],
    [
      [0, 0],
      [0, 0],
      [2, 2],
    ],
  ]);
});
