// Holds src/training/memory.ts's estimate to what training really allocates: for each
// shape, two steps and a validation on one thread under tf.profile, and the peak tensor
// bytes beside the estimate for the main thread; also the peaks of the steps and of the
// validation apart (all tensors then, from tf.profile's kernel records), to fit the
// coefficients by. Run after `npm run build`:
//   node scripts/memory-estimate.mjs            (a few minutes; needs ~3 GB free)
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tf from '../dist/tf.js';
import { selectBackend } from '../dist/backend/select.js';
import { readCorpus } from '../dist/data/corpus.js';
import { TRAIN_DEFAULTS } from '../dist/training/config.js';
import { estimateTrainingMemory } from '../dist/training/memory.js';
import { train } from '../dist/training/trainer.js';

const work = mkdtempSync(join(tmpdir(), 'charrnn-memory-'));
process.on('exit', () => rmSync(work, { recursive: true, force: true }));
// 41,056 distinct CJK and Hangul characters, each at least once: a large vocabulary.
const wide = join(work, 'wide.txt');
const chars = [];
for (const [from, count] of [
  [0x4e00, 20992],
  [0xac00, 11172],
  [0x3400, 6592],
  [0x20000, 2300],
]) {
  for (let k = 0; k < count; k++) chars.push(String.fromCodePoint(from + k));
}
writeFileSync(wide, chars.join('') + Array.from({ length: 100_000 }, (_, k) => chars[(k * 7919) % chars.length]).join(''));
const builtIn = new URL('../corpora/default.txt', import.meta.url).pathname;

const shapes = [
  { hidden: 128, layers: 2 },
  { hidden: 256, layers: 1, seq: 20, batch: 16 },
  { hidden: 64, layers: 2, cell: 'gru', seq: 100, batch: 32 },
  { hidden: 64, layers: 3, cell: 'rnn', seq: 100, batch: 32 },
  { hidden: 512, layers: 2, seq: 10, batch: 4 },
  { hidden: 1024, layers: 1, seq: 5, batch: 2 },
  { hidden: 32, layers: 1, seq: 20, batch: 20, corpus: wide },
  { hidden: 128, layers: 2, seq: 10, batch: 10, corpus: wide },
  // where the layers' activations dominate, for each cell
  { hidden: 256, layers: 2, seq: 100, batch: 64 },
  { hidden: 256, layers: 2, cell: 'gru', seq: 100, batch: 64 },
  { hidden: 256, layers: 2, cell: 'rnn', seq: 100, batch: 64 },
];

await selectBackend('wasm');
console.log('shape                                    V       peak MB  estimate MB  estimate/peak   steps MB  validation MB');
for (const { corpus: path = builtIn, ...over } of shapes) {
  const config = { ...TRAIN_DEFAULTS, maxSteps: 2, evalEvery: 1000, saveEvery: 1000, ...over };
  let vocabSize = 0;
  const phases = { steps: 0, validation: 0 };
  let phaseStart = 0;
  /** The highest tensor total since the last call, into `phases[phase]`. */
  const endPhase = (phase) => {
    const kernels = tf.engine().state.activeProfile.kernels;
    for (const { totalBytesSnapshot } of kernels.slice(phaseStart)) phases[phase] = Math.max(phases[phase], totalBytesSnapshot);
    phaseStart = kernels.length;
  };
  const { peakBytes } = await tf.profile(() =>
    train({
      corpus: readCorpus(path),
      config,
      outDir: mkdtempSync(join(work, 'run-')),
      backend: 'wasm',
      threads: 1,
      observer: {
        onStart: (p) => {
          vocabSize = p.vocabSize;
          phaseStart = tf.engine().state.activeProfile.kernels.length;
        },
        onStep: () => endPhase('steps'),
        onValidation: () => endPhase('validation'),
      },
    }),
  );
  const model = { vocabSize, hidden: config.hidden, layers: config.layers, dropout: 0, cell: config.cell };
  const estimate = estimateTrainingMemory(model, { seq: config.seq, batch: config.batch, threads: 1 }).perThreadBytes;
  const name = `${config.layers}×${config.hidden} ${config.cell} seq ${config.seq} batch ${config.batch}`;
  const mb = (bytes) => (bytes / 2 ** 20).toFixed(1);
  console.log(
    `${name.padEnd(40)} ${String(vocabSize).padStart(6)} ${mb(peakBytes).padStart(10)} ${mb(estimate).padStart(12)} ${(estimate / peakBytes).toFixed(2).padStart(14)} ${mb(phases.steps).padStart(10)} ${mb(phases.validation).padStart(14)}`,
  );
}
