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
const model = CharModel.fromTensors(setup.modelConfig, setup.shapes.map((shape) => tf.zeros(shape)));
const H = setup.modelConfig.hidden;

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
  const state = Array.from({ length: setup.modelConfig.layers }, (_, l) => ({
    h: tf.tensor2d(request.state.subarray(2 * l * n * H, (2 * l + 1) * n * H), [n, H]),
    c: tf.tensor2d(request.state.subarray((2 * l + 1) * n * H, (2 * l + 2) * n * H), [n, H]),
  }));
  const result = computeGradients(model, state, request.inputs, request.targets, request.dropoutSeed);
  let offset = 0;
  for (const g of result.grads) {
    grads.set(g.dataSync() as Float32Array, offset);
    offset += g.size;
  }
  const final = new Float32Array(2 * setup.modelConfig.layers * n * H);
  result.final.forEach(({ h, c }, l) => {
    final.set(h.dataSync() as Float32Array, 2 * l * n * H);
    final.set(c.dataSync() as Float32Array, (2 * l + 1) * n * H);
  });
  tf.dispose([...result.grads, ...result.final.flatMap(({ h, c }) => [h, c]), ...state.flatMap(({ h, c }) => [h, c])]);
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
