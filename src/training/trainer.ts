/**
 * The training loop, top-down as a reader expects it: learning rate → batch →
 * forward/backward → clip → Adam step → log → validate/checkpoint → stop?
 * It never prints; the caller watches through `TrainingObserver`.
 */
import * as tf from '../tf.js';
import { join } from 'node:path';
import { clipScale, type Adam } from './adam.js';
import { StreamBatcher, type Batch } from '../data/batches.js';
import { defaultThreads, GradientPool, localGradients, type GradientSource } from './data-parallel.js';
import { saveCheckpoint, type LoadedCheckpoint, type TrainingRecord } from '../checkpoint/checkpoint.js';
import { validateTrainConfig, type TrainConfig } from './config.js';
import { splitIds, type Corpus } from '../data/corpus.js';
import { CorpusError, TrainingDivergedError, UserError } from '../errors.js';
import { evaluate } from '../scoring/evaluate.js';
import { disposeState, type RecurrentState } from '../cells/cell.js';
import { Rng } from '../rng.js';
import { RollbackPoint } from './rollback.js';
import { startFresh, startFromResume, startFromWeights } from './starting-point.js';

export interface TrainingPlan {
  vocabSize: number;
  parameterCount: number;
  trainChars: number;
  valChars: number;
  stepsPerEpoch: number;
  /** 0, or where a resumed run continues. */
  firstStep: number;
  /** The step the run will end at unless --max-time, --patience or a signal stops it first. */
  totalSteps: number;
  /** Threads sharing each step. */
  threads: number;
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
  /** The loss diverged at `step`; training went back to `backTo` with `newLr`. */
  onRollback?(step: number, loss: number, backTo: number, newLr: number): void;
}

export type StopReason = 'epochs' | 'max-steps' | 'max-time' | 'patience' | 'interrupted';

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
  /** Continue exactly where this checkpoint (loaded with `{ resume: true }`) stopped. */
  resumeFrom?: LoadedCheckpoint;
  /** Fine-tune these weights with a fresh optimiser; `extendVocab` admits new characters. */
  initFrom?: LoadedCheckpoint;
  extendVocab?: boolean;
  /** Threads sharing each step's streams (data-parallel.ts); 1 keeps everything on this thread. Default: `defaultThreads()`. */
  threads?: number;
}

/**
 * Periodic validation scores at most this many characters (the start of the validation
 * split, the same ones each time), so that a 100 MB corpus does not spend minutes on
 * every validation. `charrnn eval` scores the whole split.
 */
const VALIDATION_MAX_CHARS = 200_000;

/** A loss above this multiple of the lowest loss so far counts as exploding. */
const EXPLOSION_FACTOR = 3;
/** Rollbacks (each halving the learning rate) before the run gives up. */
const MAX_ROLLBACKS = 3;

export async function train(options: TrainOptions): Promise<TrainResult> {
  const { corpus, config, outDir, observer = {}, signal } = options;
  validateTrainConfig(config);
  const start = options.resumeFrom
    ? startFromResume(corpus, options.resumeFrom)
    : options.initFrom
      ? startFromWeights(corpus, config, options.initFrom, options.extendVocab ?? false)
      : startFresh(corpus, config);
  const { vocab, model, adam } = start;
  let { rng, progress } = start;
  const ids = vocab.encode(corpus.text);
  const counts = new Array<number>(vocab.size).fill(0);
  for (const id of ids) counts[id]++;
  const { train: trainIds, val: valIds } = splitIds(ids, config.valFrac);
  const batcher = makeBatcher(trainIds, valIds, config);
  const totalSteps = Math.min(config.maxSteps ?? Infinity, config.epochs * batcher.stepsPerEpoch);
  if (progress.step >= totalSteps) {
    throw new UserError(`the run is already at step ${progress.step} of ${totalSteps}; raise --epochs or --max-steps to train further`);
  }
  const threads = Math.min(options.threads ?? defaultThreads(), config.batch);
  observer.onStart?.({
    vocabSize: vocab.size,
    parameterCount: model.parameterCount,
    trainChars: trainIds.length,
    valChars: valIds.length,
    stepsPerEpoch: batcher.stepsPerEpoch,
    firstStep: progress.step,
    totalSteps,
    threads,
  });

  const dirs = { latest: join(outDir, 'latest'), best: join(outDir, 'best') };
  const throughput = new Throughput();
  const startTime = performance.now();
  const secondsHere = () => (performance.now() - startTime) / 1000; // --max-time counts this process only
  const seconds = () => progress.seconds + secondsHere();
  const rollback = new RollbackPoint(model, adam);
  const pool = threads > 1 ? new GradientPool(model, threads, tf.getBackend()) : null;
  const gradients = pool?.source ?? localGradients(model);
  let carried: RecurrentState[] = start.carried ?? model.initialState(config.batch);
  let stoppedBy: StopReason | null = null;

  const record = (): TrainingRecord => ({
    config,
    step: progress.step,
    epoch: progress.step / batcher.stepsPerEpoch,
    history: progress.history,
    valLoss: progress.valLoss,
    bestValLoss: progress.bestValLoss,
    backend: options.backend,
    seconds: seconds(),
    corpus: { path: corpus.path, encoding: corpus.encoding, bytes: corpus.bytes, chars: ids.length, fingerprint: corpus.fingerprint, counts },
  });
  const save = (kind: 'latest' | 'best') => {
    const { lossSinceEval, minLoss, lrScale, rollbacks, staleValidations } = progress;
    const tensors = [...adam.moments, ...carried.flat()];
    const resume = { adamStep: adam.step, rngState: rng.savedState, lossSinceEval, minLoss, lrScale, rollbacks, staleValidations, tensors };
    saveCheckpoint(dirs[kind], model, vocab, record(), resume);
    observer.onCheckpoint?.(kind, dirs[kind]);
  };

  try {
    rollback.take(carried, rng.savedState, progress);
    while (stoppedBy === null) {
      const epochIndex = Math.floor(progress.step / batcher.stepsPerEpoch);
      const position = progress.step % batcher.stepsPerEpoch;
      if (position === 0 && progress.step > 0) {
        // A new epoch starts every stream over from its beginning: the old state no longer fits.
        disposeState(carried);
        carried = model.initialState(config.batch);
      }
      const lr = config.lr * config.lrDecay ** epochIndex * progress.lrScale;
      const batch = batcher.get(position);

      throughput.begin();
      const { loss, gradNorm, final } = await trainStep(gradients, adam, carried, batch, lr, config.clip, rng.int());
      disposeState(carried);
      carried = final;
      progress.step++;
      throughput.end(batch.inputs.length);
      await yieldToEventLoop(); // lets a SIGINT handler run between steps

      if (!Number.isFinite(loss) || loss > EXPLOSION_FACTOR * progress.minLoss) {
        // Back to the last good state with half the learning rate; never save a diverged model.
        const divergedAt = progress.step;
        if (progress.rollbacks >= MAX_ROLLBACKS) {
          const kept = rollback.step > 0 ? `the checkpoints in ${outDir} are from step ${rollback.step} or before` : 'no checkpoint was written';
          throw new TrainingDivergedError(
            `training diverged (loss ${loss.toFixed(3)} at step ${divergedAt}) ${MAX_ROLLBACKS + 1} times, the last at 1/${2 ** MAX_ROLLBACKS} of the learning rate; ${kept}; try a lower --lr or --clip`,
          );
        }
        const restored = rollback.restore();
        disposeState(carried);
        carried = restored.carried;
        rng = new Rng(restored.rngState);
        progress = { ...restored.progress, rollbacks: progress.rollbacks + 1, lrScale: progress.lrScale / 2 };
        observer.onRollback?.(divergedAt, loss, progress.step, lr / 2);
        continue;
      }
      progress.minLoss = Math.min(progress.minLoss, loss);
      progress.lossSinceEval.sum += loss;
      progress.lossSinceEval.count++;
      observer.onStep?.({ step: progress.step, epoch: progress.step / batcher.stepsPerEpoch, loss, lr, gradNorm, charsPerSecond: throughput.rate, seconds: seconds() });

      const { step } = progress;
      if (step >= totalSteps) stoppedBy = step >= config.epochs * batcher.stepsPerEpoch ? 'epochs' : 'max-steps';
      else if (config.maxSeconds !== null && secondsHere() >= config.maxSeconds) stoppedBy = 'max-time';
      else if (signal?.aborted) stoppedBy = 'interrupted';

      // An interrupted run saves at once and skips validation: the user is waiting.
      if (stoppedBy !== 'interrupted' && (step % config.evalEvery === 0 || stoppedBy !== null)) {
        const valLoss = evaluate(model, valIds.subarray(0, VALIDATION_MAX_CHARS), config.batch, config.seq).nats;
        const isBest = progress.bestValLoss === null || valLoss < progress.bestValLoss;
        progress.valLoss = valLoss;
        progress.bestValLoss = isBest ? valLoss : progress.bestValLoss;
        progress.staleValidations = isBest ? 0 : progress.staleValidations + 1;
        const { sum, count } = progress.lossSinceEval;
        progress.history.push({ step, epoch: step / batcher.stepsPerEpoch, trainLoss: sum / count, valLoss, lr, seconds: seconds() });
        progress.lossSinceEval = { sum: 0, count: 0 };
        observer.onValidation?.(step, valLoss, isBest);
        if (isBest) save('best');
        if (stoppedBy === null && config.patience !== null && progress.staleValidations >= config.patience) stoppedBy = 'patience';
      }
      if (step % config.saveEvery === 0 || stoppedBy !== null) {
        save('latest');
        rollback.take(carried, rng.savedState, progress);
      }
    }
  } finally {
    await pool?.close();
    rollback.dispose();
    disposeState(carried);
    adam.dispose();
    model.dispose();
  }
  return {
    steps: progress.step,
    epoch: progress.step / batcher.stepsPerEpoch,
    valLoss: progress.valLoss ?? NaN,
    bestValLoss: progress.bestValLoss ?? NaN,
    bestDir: dirs.best,
    latestDir: dirs.latest,
    seconds: seconds(),
    charsPerSecond: throughput.average,
    stoppedBy: stoppedBy!,
  };
}

/** One optimisation step; returns the loss before the update and the carried state. */
async function trainStep(
  source: GradientSource,
  adam: Adam,
  state: RecurrentState[],
  batch: Batch,
  lr: number,
  clip: number,
  dropoutSeed: number,
): Promise<{ loss: number; gradNorm: number; final: RecurrentState[] }> {
  const { loss, grads, final } = await source(state, batch, dropoutSeed);
  const { scale, norm } = clipScale(grads, clip);
  adam.apply(grads, lr, scale);
  tf.dispose(grads);
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
