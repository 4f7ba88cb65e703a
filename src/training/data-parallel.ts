/**
 * Data-parallel training on several cores. tfjs-backend-wasm runs on one thread under
 * Node, so a step's streams are split into shards: this thread computes the gradients
 * of the first shard while worker threads compute the others, each on its own copy of
 * the weights, and the gradients are averaged (weighted by shard size). Workers are
 * stateless: the weights arrive through shared memory, the carried recurrent state of the
 * shard with each step, so resuming, rollbacks and epochs work exactly as on one thread.
 */
import * as tf from '../tf.js';
import { availableParallelism } from 'node:os';
import { Worker } from 'node:worker_threads';
import type { Batch } from '../data/batches.js';
import { computeGradients, type Gradients } from './gradients.js';
import type { RecurrentState } from '../cells/cell.js';
import type { CharModel } from '../model/model.js';
import { WorkerError } from '../errors.js';

/** Computes a step's loss and gradients for a batch with its carried state. */
export type GradientSource = (state: RecurrentState[], batch: Batch, dropoutSeed: number) => Promise<Gradients>;

/**
 * Native TensorFlow spreads each op over the cores itself, and a worker thread would load
 * its addon a second time, which Node refuses ("Module did not self-register").
 */
const threadsItself = (backend: string) => backend === 'tensorflow';

/**
 * Threads sharing each step: `requested` (default one per core) on the JS backends (wasm,
 * cpu), at most one per stream; one on native TensorFlow, with a note when more were asked for.
 */
export function trainerThreads(requested: number | undefined, streams: number): { threads: number; note: string | null } {
  if (threadsItself(tf.getBackend())) {
    const note =
      requested !== undefined && requested > 1
        ? `--threads ${requested} ignored: native TensorFlow threads by itself, so training runs on one thread`
        : null;
    return { threads: 1, note };
  }
  // Never more threads than streams (a thread needs one) or cores (one beyond them only
  // shares a core, and costs a heap of its own).
  return { threads: Math.max(1, Math.min(requested ?? availableParallelism(), streams, availableParallelism())), note: null };
}

/** Everything in this thread. */
export function localGradients(model: CharModel): GradientSource {
  return async (state, batch, dropoutSeed) => computeGradients(model, state, batch.inputs, batch.targets, dropoutSeed);
}

/** What a worker needs once: the model's shape, its backend, and the shared buffers. */
export interface WorkerSetup {
  modelConfig: CharModel['config'];
  backend: string;
  shapes: number[][];
  weights: SharedArrayBuffer;
  grads: SharedArrayBuffer;
}

/** One step's shard for a worker. state: every layer's state tensors, each (streams, H), concatenated. */
export interface ShardRequest {
  inputs: Int32Array;
  targets: Int32Array;
  state: Float32Array;
  streams: number;
  dropoutSeed: number;
}

/** A worker's loss for its shard, and its final state laid out as `ShardRequest.state`; its gradients are in shared memory. */
export interface ShardResult {
  loss: number;
  final: Float32Array;
}

export type ShardReply = ShardResult | { error: string };

/** Streams [from, to) of time-major (T*B) ids. */
export function shardStreams(ids: Int32Array, batch: number, from: number, to: number): Int32Array {
  const steps = ids.length / batch;
  const out = new Int32Array(steps * (to - from));
  for (let t = 0; t < steps; t++) out.set(ids.subarray(t * batch + from, t * batch + to), t * (to - from));
  return out;
}

/** [from, to) stream ranges of `shards` near-equal shards of `batch` streams. */
export function shardRanges(batch: number, shards: number): [number, number][] {
  return Array.from({ length: shards }, (_, k) => [Math.floor((k * batch) / shards), Math.floor(((k + 1) * batch) / shards)]);
}

export class GradientPool {
  private readonly workers: GradientWorker[];
  private readonly weights: Float32Array;
  private readonly grads: Float32Array[];
  private readonly sizes: number[];

  /** `shards` - 1 worker threads; shard 0 stays on this thread. */
  constructor(
    private readonly model: CharModel,
    private readonly shards: number,
    backend: string,
  ) {
    if (threadsItself(backend)) throw new Error(`no gradient workers on the ${backend} backend: each would load its native addon again`);
    const variables = model.variables;
    this.sizes = variables.map((v) => v.size);
    const total = this.sizes.reduce((a, b) => a + b, 0);
    const weights = new SharedArrayBuffer(total * 4);
    this.weights = new Float32Array(weights);
    this.grads = [];
    this.workers = Array.from({ length: shards - 1 }, (_, w) => {
      const grads = new SharedArrayBuffer(total * 4);
      this.grads.push(new Float32Array(grads));
      const setup: WorkerSetup = { modelConfig: model.config, backend, shapes: variables.map((v) => v.shape), weights, grads };
      // No Node flags: the worker needs none, and some (--input-type, from `node -e`) stop it starting.
      const worker = new Worker(new URL('./gradient-worker.js', import.meta.url), { workerData: setup, execArgv: [] });
      return new GradientWorker(worker, `gradient worker ${w + 1}`);
    });
  }

  readonly source: GradientSource = async (state, batch, dropoutSeed) => {
    const B = state[0][0].shape[0];
    const ranges = shardRanges(B, this.shards);
    this.publishWeights();
    const requests = this.workers.map((_, w): ShardRequest => {
      const [from, to] = ranges[w + 1];
      return {
        inputs: shardStreams(batch.inputs, B, from, to),
        targets: shardStreams(batch.targets, B, from, to),
        state: stateRows(state, from, to),
        streams: to - from,
        dropoutSeed: dropoutSeed + 7919 * (w + 1),
      };
    });
    const replies = Promise.all(this.workers.map((worker, w) => worker.ask(requests[w])));
    // Shard 0 here, while the workers compute theirs.
    const [from0, to0] = ranges[0];
    const local = state.map((layer) => layer.map((t) => t.slice([from0, 0], [to0 - from0, -1])));
    let mine: Gradients;
    try {
      mine = computeGradients(
        this.model,
        local,
        shardStreams(batch.inputs, B, from0, to0),
        shardStreams(batch.targets, B, from0, to0),
        dropoutSeed,
      );
    } catch (err) {
      replies.catch(() => {}); // this step has failed: what the workers answer, or a failure of theirs, no longer matters
      throw err;
    } finally {
      tf.dispose(local.flat());
    }
    let theirs: ShardResult[];
    try {
      theirs = await replies;
    } catch (err) {
      tf.dispose([...mine.grads, ...mine.final.flat()]);
      throw err;
    }
    return this.combine(mine, theirs, ranges, B);
  };

  async close(): Promise<void> {
    await Promise.all(this.workers.map((w) => w.terminate()));
  }

  private publishWeights(): void {
    let offset = 0;
    for (const v of this.model.variables) {
      this.weights.set(v.dataSync() as Float32Array, offset);
      offset += v.size;
    }
  }

  /** Averages the shards' losses and gradients by their number of streams; joins the states. */
  private combine(mine: Gradients, theirs: ShardResult[], ranges: [number, number][], B: number): Gradients {
    const streams = ranges.map(([from, to]) => to - from);
    const share = streams.map((n) => n / B);
    const loss = mine.loss * share[0] + theirs.reduce((sum, r, w) => sum + r.loss * share[w + 1], 0);
    const H = this.model.config.hidden;
    let offset = 0;
    // One gradient at a time, so that only one gradient's temporaries exist at once.
    const grads = mine.grads.map((g) => {
      const sum = tf.tidy(() => {
        const parts = this.grads.map((shared, w) => tf.mul(tf.tensor(shared.subarray(offset, offset + g.size), g.shape), share[w + 1]));
        offset += g.size;
        return tf.addN([tf.mul(g, share[0]), ...parts]);
      });
      g.dispose();
      return sum;
    });
    const perLayer = this.model.cell.state.length;
    const final = tf.tidy(() => {
      // Worker w's state: every layer's state tensors, each (streams, H), in that order.
      const rows = (w: number, l: number, k: number) => {
        const n = streams[w + 1];
        const start = (perLayer * l + k) * n * H;
        return tf.tensor2d(theirs[w].final.subarray(start, start + n * H), [n, H]);
      };
      return mine.final.map((layer, l) =>
        layer.map((mineK, k) => tf.concat([mineK, ...theirs.map((_, w) => rows(w, l, k))], 0) as tf.Tensor2D),
      );
    });
    tf.dispose(mine.final.flat());
    return { loss, grads, final };
  }
}

/** Every layer's state tensors for streams [from, to), concatenated. */
export function stateRows(state: RecurrentState[], from: number, to: number): Float32Array {
  const rows = tf.tidy(() => tf.concat(state.flat().map((t) => t.slice([from, 0], [to - from, -1]).flatten())));
  const values = Float32Array.from(rows.dataSync()); // not returned through tidy: it would walk every element
  rows.dispose();
  return values;
}

/**
 * A worker thread and the one request it may be computing. A worker that fails or stops
 * (an uncaught error, an exit) fails that request, or the next one if it was idle: a step
 * never waits for a worker that is gone. An idle worker never keeps the process alive.
 */
class GradientWorker {
  private pending: { resolve: (result: ShardResult) => void; reject: (err: Error) => void } | null = null;
  private failure: Error | null = null;
  private stopping = false;

  constructor(
    private readonly worker: Worker,
    name: string,
  ) {
    worker.unref();
    worker.on('message', (reply: ShardReply) => this.settle('error' in reply ? workerError(`${name} failed: ${reply.error}`) : reply));
    worker.on('error', (err) => this.fail(workerError(`${name} failed: ${err.message}`)));
    worker.on('exit', (code) => this.fail(workerError(`${name} stopped (exit code ${code})`)));
  }

  ask(request: ShardRequest): Promise<ShardResult> {
    if (this.failure) return Promise.reject(this.failure);
    return new Promise((resolve, reject) => {
      this.pending = { resolve, reject };
      this.worker.ref(); // the process waits for its answer
      this.worker.postMessage(request);
    });
  }

  async terminate(): Promise<void> {
    this.stopping = true; // held until it has stopped: an answer on its way must not let the process leave first
    this.worker.ref();
    await this.worker.terminate();
  }

  private fail(err: Error): void {
    this.failure ??= err; // an error is followed by an exit: the error says why
    this.settle(this.failure);
  }

  private settle(outcome: ShardResult | Error): void {
    const { pending } = this;
    this.pending = null;
    if (!this.stopping) this.worker.unref();
    if (outcome instanceof Error) pending?.reject(outcome);
    else pending?.resolve(outcome);
  }
}

function workerError(what: string): WorkerError {
  return new WorkerError(`${what}; the checkpoints saved so far are kept (--resume continues; --threads 1 trains without worker threads)`);
}
