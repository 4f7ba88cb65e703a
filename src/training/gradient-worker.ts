/**
 * A worker thread of the data-parallel trainer (data-parallel.ts): computes the loss and
 * gradients of one shard of streams per request, with the weights read from shared memory.
 */
import * as tf from '../tf.js';
import { parentPort, workerData } from 'node:worker_threads';
import { selectBackend, type BackendChoice } from '../backend/select.js';
import type { ShardReply, ShardRequest, WorkerSetup } from './data-parallel.js';
import { computeGradients } from './gradients.js';
import { CharModel } from '../model/model.js';

const setup = workerData as WorkerSetup;
await selectBackend(setup.backend as BackendChoice);
const weights = new Float32Array(setup.weights);
const grads = new Float32Array(setup.grads);
const model = CharModel.fromTensors(
  setup.modelConfig,
  setup.shapes.map((shape) => tf.zeros(shape)),
);
const H = setup.modelConfig.hidden;
const perLayer = model.cell.state.length;

function loadWeights(): void {
  let offset = 0;
  for (const v of model.variables) {
    tf.tidy(() => v.assign(tf.tensor(weights.subarray(offset, offset + v.size), v.shape)));
    offset += v.size;
  }
}

function handle(request: ShardRequest): ShardReply {
  loadWeights();
  const n = request.streams;
  const rows = (k: number) => tf.tensor2d(request.state.subarray(k * n * H, (k + 1) * n * H), [n, H]);
  const state = Array.from({ length: setup.modelConfig.layers }, (_, l) =>
    Array.from({ length: perLayer }, (_, k) => rows(perLayer * l + k)),
  );
  const result = computeGradients(model, state, request.inputs, request.targets, request.dropoutSeed);
  let offset = 0;
  for (const g of result.grads) {
    grads.set(g.dataSync() as Float32Array, offset);
    offset += g.size;
  }
  const finalTensors = result.final.flat();
  const final = new Float32Array(finalTensors.length * n * H);
  finalTensors.forEach((t, k) => final.set(t.dataSync() as Float32Array, k * n * H));
  tf.dispose([...result.grads, ...finalTensors, ...state.flat()]);
  return { loss: result.loss, final };
}

parentPort!.on('message', (request: ShardRequest) => {
  try {
    const reply = handle(request);
    parentPort!.postMessage(reply, 'final' in reply ? [reply.final.buffer as ArrayBuffer] : []);
  } catch (err) {
    parentPort!.postMessage({ error: err instanceof Error ? err.message : String(err) } satisfies ShardReply);
  }
});
