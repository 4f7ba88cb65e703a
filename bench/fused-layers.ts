/**
 * Side by side in one process, one thread: the fused LSTM and GRU layers (src/cells/fused.ts)
 * against the op-by-op ones (src/cells/lstm.ts, gru.ts), on the wasm backend. Alternates the two,
 * so machine noise falls on both; prints each repeat's milliseconds, medians and their ratio.
 *   training: forward + backward of one shard's step (seq 50, 25 streams), no optimiser
 *   sampling: one BatchStepper step at batch 1
 *
 *   npm run bench:fused -- [repeats] [cells]   (cells: comma-separated, default lstm,gru;
 *                                               CHARRNN_WASM_SIMD=plain: the plain-SIMD build)
 */
import * as tf from '../dist/tf.js';
import { selectBackend } from '../dist/backend/select.js';
import { useFusedLayers } from '../dist/cells/fused.js';
import { CharModel } from '../dist/model/model.js';
import type { CellType } from '../dist/cells/registry.js';
import { BatchStepper } from '../dist/sampling/sampler.js';
import { median } from './measure.js';

const VOCAB = 82; // warpeace.txt's
const SEQ = 50;
const STREAMS = 25;

function trainingStep(model: CharModel, ids: tf.Tensor1D): void {
  const { value, grads } = tf.variableGrads(() => {
    const { loss, final } = model.loss(ids, ids, model.initialState(STREAMS), { dropoutSeed: 1 });
    tf.dispose(final.flat());
    return loss;
  });
  value.dataSync();
  tf.dispose([value, ...Object.values(grads)]);
}

/** Milliseconds per call of `run(fused)`, `repeats` timings of `calls` calls each, with the fused layers off and on. */
function compare(repeats: number, calls: number, run: (fused: boolean) => void): { opByOp: number[]; fused: number[] } {
  const times = { opByOp: [] as number[], fused: [] as number[] };
  for (let r = 0; r < repeats; r++) {
    for (const fused of [false, true]) {
      useFusedLayers(fused);
      run(fused); // warm-up: first calls allocate
      const start = performance.now();
      for (let k = 0; k < calls; k++) run(fused);
      times[fused ? 'fused' : 'opByOp'].push((performance.now() - start) / calls);
    }
  }
  useFusedLayers(true);
  return times;
}

function report(label: string, { opByOp, fused }: { opByOp: number[]; fused: number[] }): void {
  const fmt = (xs: number[]) => xs.map((x) => x.toFixed(2)).join(' ');
  const [a, b] = [median(opByOp), median(fused)];
  console.log(`${label}: op-by-op ${a.toFixed(2)} ms [${fmt(opByOp)}], fused ${b.toFixed(2)} ms [${fmt(fused)}], ${(a / b).toFixed(2)}x`);
}

const repeats = Number(process.argv[2] ?? 5);
const cells = (process.argv[3] ?? 'lstm,gru').split(',') as CellType[];
const backend = await selectBackend('wasm');
console.log(`backend: ${backend.description}; medians of ${repeats} repeats, alternating`);
for (const [cell, hidden] of cells.flatMap((c) => [128, 256].map((h) => [c, h] as const))) {
  const model = CharModel.create({ vocabSize: VOCAB, hidden, layers: 2, dropout: 0, cell, learnedInit: false }, 1);
  const ids = tf.tensor1d(
    Array.from({ length: SEQ * STREAMS }, (_, k) => (k * 31) % VOCAB),
    'int32',
  );
  report(
    `${cell} 2x${hidden} training step (seq ${SEQ}, ${STREAMS} streams)`,
    compare(repeats, 3, () => trainingStep(model, ids)),
  );
  // A stepper takes its cell's kernels when it is made: one of each.
  const steppers = [false, true].map((fused) => (useFusedLayers(fused), new BatchStepper(model, 1)));
  report(
    `${cell} 2x${hidden} sampling step (batch 1)`,
    compare(repeats, 200, (fused) => steppers[Number(fused)].step(Int32Array.of(5))),
  );
  steppers.forEach((s) => s.dispose());
  ids.dispose();
  model.dispose();
}
