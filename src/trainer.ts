/**
 * The training loop, top-down as a reader expects it: learning rate → batch →
 * forward/backward → clip → Adam step → log → validate/checkpoint → stop?
 * It never prints; the caller watches through `TrainingObserver`.
 */
import * as tf from '@tensorflow/tfjs';
import { join } from 'node:path';
import { Adam, clipByGlobalNorm } from './adam.js';
import { StreamBatcher } from './batches.js';
import { saveCheckpoint, type HistoryEntry, type TrainingRecord } from './checkpoint.js';
import { validateTrainConfig, type TrainConfig } from './config.js';
import { splitIds, type Corpus } from './corpus.js';
import { CorpusError } from './errors.js';
import { disposeState, evaluate } from './evaluate.js';
import type { LstmState } from './lstm.js';
import { CharModel } from './model.js';
import { Rng } from './rng.js';
import { Vocabulary } from './vocab.js';

export interface TrainingPlan {
  vocabSize: number;
  parameterCount: number;
  trainChars: number;
  valChars: number;
  stepsPerEpoch: number;
  /** Steps the run will take unless --max-time or a signal stops it first. */
  totalSteps: number;
}

export interface StepProgress {
  step: number;
  /** Epochs completed, fractional. */
  epoch: number;
  loss: number;
  lr: number;
  gradNorm: number;
  /** Training throughput over recent steps, validation excluded. */
  charsPerSecond: number;
  seconds: number;
}

export interface TrainingObserver {
  onStart?(plan: TrainingPlan): void;
  onStep?(progress: StepProgress): void;
  onValidation?(step: number, valLoss: number, isBest: boolean): void;
  onCheckpoint?(kind: 'latest' | 'best', dir: string): void;
}

export type StopReason = 'epochs' | 'max-steps' | 'max-time' | 'interrupted';

export interface TrainResult {
  steps: number;
  epoch: number;
  valLoss: number;
  bestValLoss: number;
  bestDir: string;
  latestDir: string;
  seconds: number;
  charsPerSecond: number;
  stoppedBy: StopReason;
}

export interface TrainOptions {
  corpus: Corpus;
  config: TrainConfig;
  /** Run directory: checkpoints go to <outDir>/latest and <outDir>/best. */
  outDir: string;
  /** Description of the backend, recorded in checkpoints. */
  backend: string;
  observer?: TrainingObserver;
  /** Aborting stops after the current step; the latest checkpoint is still written. */
  signal?: AbortSignal;
}

export async function train(options: TrainOptions): Promise<TrainResult> {
  const { corpus, config, outDir, observer = {}, signal } = options;
  validateTrainConfig(config);
  const vocab = Vocabulary.fromText(corpus.text);
  const { train: trainIds, val: valIds } = splitIds(vocab.encode(corpus.text), config.valFrac);
  const batcher = makeBatcher(trainIds, valIds, config);

  const model = CharModel.create({ vocabSize: vocab.size, hidden: config.hidden, layers: config.layers, dropout: config.dropout }, config.seed);
  const adam = new Adam(model.variables);
  const dropoutRng = new Rng(config.seed + 1);
  const totalSteps = Math.min(config.maxSteps ?? Infinity, config.epochs * batcher.stepsPerEpoch);
  observer.onStart?.({
    vocabSize: vocab.size,
    parameterCount: model.parameterCount,
    trainChars: trainIds.length,
    valChars: valIds.length,
    stepsPerEpoch: batcher.stepsPerEpoch,
    totalSteps,
  });

  const dirs = { latest: join(outDir, 'latest'), best: join(outDir, 'best') };
  const history: HistoryEntry[] = [];
  const throughput = new Throughput();
  const startTime = performance.now();
  const seconds = () => (performance.now() - startTime) / 1000;
  let state: LstmState[] = model.zeroState(config.batch);
  let valLoss = Infinity;
  let bestValLoss = Infinity;
  let lossSinceEval = { sum: 0, count: 0 };
  let step = 0;
  let stoppedBy: StopReason | null = null;

  const record = (): TrainingRecord => ({
    config,
    step,
    epoch: step / batcher.stepsPerEpoch,
    history,
    valLoss: Number.isFinite(valLoss) ? valLoss : null,
    bestValLoss: Number.isFinite(bestValLoss) ? bestValLoss : null,
    backend: options.backend,
    seconds: seconds(),
    corpus: { path: corpus.path, encoding: corpus.encoding, bytes: corpus.bytes, chars: trainIds.length + valIds.length, fingerprint: corpus.fingerprint },
  });
  const save = async (kind: 'latest' | 'best') => {
    await saveCheckpoint(dirs[kind], model, vocab, record());
    observer.onCheckpoint?.(kind, dirs[kind]);
  };

  try {
    while (stoppedBy === null) {
      const epochIndex = Math.floor(step / batcher.stepsPerEpoch);
      const position = step % batcher.stepsPerEpoch;
      if (position === 0 && step > 0) {
        // A new epoch starts every stream over from its beginning: the old state no longer fits.
        disposeState(state);
        state = model.zeroState(config.batch);
      }
      const lr = config.lr * config.lrDecay ** epochIndex;
      const batch = batcher.get(position);

      throughput.begin();
      const { loss, gradNorm, final } = trainStep(model, adam, state, batch.inputs, batch.targets, lr, config.clip, dropoutRng.int());
      disposeState(state);
      state = final;
      step++;
      throughput.end(batch.inputs.length);
      lossSinceEval.sum += loss;
      lossSinceEval.count++;
      if (!Number.isFinite(loss)) throw new Error(`training diverged: loss is ${loss} at step ${step}; try a lower --lr or --clip`);
      observer.onStep?.({ step, epoch: step / batcher.stepsPerEpoch, loss, lr, gradNorm, charsPerSecond: throughput.rate, seconds: seconds() });

      await yieldToEventLoop(); // lets a SIGINT handler run between steps

      if (step >= totalSteps) stoppedBy = step >= config.epochs * batcher.stepsPerEpoch ? 'epochs' : 'max-steps';
      else if (config.maxSeconds !== null && seconds() >= config.maxSeconds) stoppedBy = 'max-time';
      else if (signal?.aborted) stoppedBy = 'interrupted';

      // An interrupted run saves at once and skips validation: the user is waiting.
      const validate = stoppedBy !== 'interrupted' && (step % config.evalEvery === 0 || stoppedBy !== null);
      if (validate) {
        valLoss = evaluate(model, valIds, config.batch, config.seq).nats;
        const isBest = valLoss < bestValLoss;
        if (isBest) bestValLoss = valLoss;
        history.push({ step, epoch: step / batcher.stepsPerEpoch, trainLoss: lossSinceEval.sum / lossSinceEval.count, valLoss, lr, seconds: seconds() });
        lossSinceEval = { sum: 0, count: 0 };
        observer.onValidation?.(step, valLoss, isBest);
        if (isBest) await save('best');
      }
      if (step % config.saveEvery === 0 || stoppedBy !== null) await save('latest');
    }
  } finally {
    disposeState(state);
    adam.dispose();
    model.dispose();
  }
  return {
    steps: step,
    epoch: step / batcher.stepsPerEpoch,
    valLoss,
    bestValLoss,
    bestDir: dirs.best,
    latestDir: dirs.latest,
    seconds: seconds(),
    charsPerSecond: throughput.average,
    stoppedBy: stoppedBy!,
  };
}

/** One optimisation step; returns the loss before the update and the carried state. */
function trainStep(
  model: CharModel,
  adam: Adam,
  state: LstmState[],
  inputs: Int32Array,
  targets: Int32Array,
  lr: number,
  clip: number,
  dropoutSeed: number,
): { loss: number; gradNorm: number; final: LstmState[] } {
  let final: LstmState[] = [];
  const variables = model.variables;
  const { value, grads } = tf.variableGrads(() => {
    const result = model.loss(tf.tensor1d(inputs, 'int32'), tf.tensor1d(targets, 'int32'), state, { dropoutSeed });
    final = result.final;
    return result.loss;
  }, variables);
  const gradList = variables.map((v) => grads[v.name]);
  const { clipped, norm } = clipByGlobalNorm(gradList, clip);
  adam.apply(clipped, lr);
  const loss = value.dataSync()[0];
  tf.dispose([value, ...gradList, ...clipped]);
  return { loss, gradNorm: norm, final };
}

function makeBatcher(trainIds: Int32Array, valIds: Int32Array, config: TrainConfig): StreamBatcher {
  const needed = StreamBatcher.minimumLength(config.batch, config.seq);
  if (trainIds.length < needed) {
    const fitBatch = Math.floor((trainIds.length - 1) / config.seq);
    const hint = fitBatch >= 1 ? `--batch ${fitBatch} or less would fit` : `try --seq ${Math.max(1, Math.floor((trainIds.length - 1) / 2))} --batch 1`;
    throw new CorpusError(
      `corpus too small: the training split has ${trainIds.length} characters but --batch ${config.batch} × --seq ${config.seq} needs at least ${needed}; ${hint}`,
    );
  }
  if (valIds.length < 2) {
    throw new CorpusError(`corpus too small for validation: --val-frac ${config.valFrac} leaves ${valIds.length} characters; raise --val-frac or give more text`);
  }
  return new StreamBatcher(trainIds, config.batch, config.seq);
}

function yieldToEventLoop(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}

/** Characters per second over the last few steps, timing only the steps themselves. */
class Throughput {
  private recent: { chars: number; ms: number }[] = [];
  private totalChars = 0;
  private totalMs = 0;
  private started = 0;

  begin(): void {
    this.started = performance.now();
  }

  end(chars: number): void {
    const ms = performance.now() - this.started;
    this.recent.push({ chars, ms });
    if (this.recent.length > 20) this.recent.shift();
    this.totalChars += chars;
    this.totalMs += ms;
  }

  get rate(): number {
    const chars = this.recent.reduce((n, r) => n + r.chars, 0);
    const ms = this.recent.reduce((n, r) => n + r.ms, 0);
    return ms > 0 ? (chars / ms) * 1000 : 0;
  }

  get average(): number {
    return this.totalMs > 0 ? (this.totalChars / this.totalMs) * 1000 : 0;
  }
}
