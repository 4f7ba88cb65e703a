/**
 * The training loop, top-down as a reader expects it: learning rate → batch →
 * forward/backward → clip → Adam step → log → validate/checkpoint → stop?
 * It never prints; the caller watches through `TrainingObserver`.
 */
import * as tf from '../tf.js';
import { dirname, join } from 'node:path';
import { clipScale, type Adam } from './adam.js';
import { StreamBatcher, type Batch } from '../data/batches.js';
import { GradientPool, trainerThreads, localGradients, type GradientSource } from './data-parallel.js';
import { saveCheckpoint, type LoadedCheckpoint, type TrainingRecord } from '../checkpoint/checkpoint.js';
import type { TrainConfig } from './config.js';
import { splitIds, type Corpus } from '../data/corpus.js';
import { reopenCorpus } from '../data/sources.js';
import { CorpusError, TrainingDivergedError, UserError } from '../errors.js';
import { evaluate } from '../scoring/evaluate.js';
import { disposeState, type RecurrentState } from '../cells/cell.js';
import { Rng } from '../rng.js';
import { isDivergence, RollbackPoint } from './rollback.js';
import { fineTuneSettings, freshSettings, resumedSettings } from './settings.js';
import { checkInterval, type Interval } from './schedule.js';
import { startFresh, startFromResume, startFromWeights, type FitCheck, type Progress, type StartingPoint } from './starting-point.js';
import { assertMemoryFits, estimateTrainingMemory } from './memory.js';
import type { CharModel } from '../model/model.js';
import type { Vocabulary } from '../data/vocab.js';

export interface TrainingPlan {
  /** The settings the run trains with. */
  config: TrainConfig;
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
  /** Why fewer threads than asked for run, if so. */
  threadsNote: string | null;
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

export interface RunOptions {
  /** Run directory: checkpoints go to <outDir>/latest and <outDir>/best. */
  outDir: string;
  /** Description of the backend, recorded in checkpoints. Default: tfjs's backend name. */
  backend?: string;
  observer?: TrainingObserver;
  /** Aborting stops after the current step; the latest checkpoint is still written. */
  signal?: AbortSignal;
  /** Threads sharing each step's streams (data-parallel.ts); 1 keeps everything on this thread. Default: one per core (`trainerThreads`). */
  threads?: number;
  /** Milliseconds, for --max-time and the seconds recorded. Default: `performance.now` (tests pass a clock they move). */
  clock?: () => number;
}

export interface TrainOptions extends RunOptions {
  corpus: Corpus;
  /** Changes to `TRAIN_DEFAULTS`. */
  config?: Partial<TrainConfig>;
}

export interface ResumeOptions extends Omit<RunOptions, 'outDir'> {
  /** The checkpoint to continue, loaded with `{ resume: true }`. */
  checkpoint: LoadedCheckpoint;
  /** The text it was trained on. Default: read again from the path (and encoding) its training record names. */
  corpus?: Corpus;
  /** Changes to its settings: only the `RESUMABLE` ones (settings.ts) may change. */
  changes?: Partial<TrainConfig>;
  /** Default: the run directory the checkpoint is in. */
  outDir?: string;
}

export interface FineTuneOptions extends RunOptions {
  /** Whose weights to train further, with a fresh optimiser and history. */
  checkpoint: LoadedCheckpoint;
  corpus: Corpus;
  /** Changes to `TRAIN_DEFAULTS`; the model's shape is the checkpoint's. */
  config?: Partial<TrainConfig>;
  /** Append the corpus's characters the checkpoint lacks to its vocabulary (else they stop the run). */
  extendVocab?: boolean;
}

/**
 * Periodic validation scores at most this many characters (the start of the validation
 * split, the same ones each time), so that a 100 MB corpus does not spend minutes on
 * every validation. `charrnn eval` scores the whole split.
 */
const VALIDATION_MAX_CHARS = 200_000;

/** Rollbacks (each halving the learning rate) before the run gives up. */
const MAX_ROLLBACKS = 3;

/** A fresh run on `corpus`. */
export async function train(options: TrainOptions): Promise<TrainResult> {
  const config = freshSettings(options.config ?? {});
  const { threads } = trainerThreads(options.threads, config.batch);
  return runTraining(options.corpus, config, startFresh(options.corpus, config, fitCheck(config, threads)), options);
}

/** Continues a run exactly where its checkpoint stopped, on the same text. */
export async function resume(options: ResumeOptions): Promise<TrainResult> {
  const { checkpoint } = options;
  const trained = checkpoint.meta.training;
  const config = resumedSettings(trained.config, options.changes ?? {});
  const corpus = options.corpus ?? reopenCorpus(trained.corpus);
  const outDir = options.outDir ?? dirname(checkpoint.dir);
  fitCheck(config, trainerThreads(options.threads, config.batch).threads)(checkpoint.model.config);
  return runTraining(corpus, config, startFromResume(corpus, checkpoint), { ...options, outDir });
}

/** Trains a checkpoint's weights further on `corpus`, with a fresh optimiser. */
export async function fineTune(options: FineTuneOptions): Promise<TrainResult> {
  const { checkpoint, corpus } = options;
  const config = fineTuneSettings(checkpoint.meta.model, checkpoint.dir, options.config ?? {});
  const { threads } = trainerThreads(options.threads, config.batch);
  return runTraining(
    corpus,
    config,
    startFromWeights(corpus, config, checkpoint, options.extendVocab ?? false, fitCheck(config, threads)),
    options,
  );
}

/** The loop, from `start` until a stop condition; the model and optimiser are disposed at the end. */
async function runTraining(corpus: Corpus, config: TrainConfig, start: StartingPoint, options: RunOptions): Promise<TrainResult> {
  const { outDir, observer = {}, signal } = options;
  const { vocab, model, adam } = start;
  let { rng, progress } = start;
  const data = trainingData(corpus, vocab, config);
  const { batcher, valIds } = data;
  const plan = planRun(config, start, data, trainerThreads(options.threads, config.batch));
  observer.onStart?.(plan);

  const dirs = { latest: join(outDir, 'latest'), best: join(outDir, 'best') };
  const throughput = new Throughput();
  const clock = options.clock ?? (() => performance.now());
  const startTime = clock();
  const secondsHere = () => (clock() - startTime) / 1000; // --max-time counts this process only
  const seconds = () => progress.seconds + secondsHere();
  const rollback = new RollbackPoint(model, adam);
  const pool = plan.threads > 1 ? new GradientPool(model, plan.threads, tf.getBackend()) : null;
  const gradients = pool?.source ?? localGradients(model);
  let carried: RecurrentState[] = start.carried ?? model.initialState(config.batch);
  let stoppedBy: StopReason | null = null;
  const validation = new Cadence(checkInterval(config.evalEvery, config, plan.totalSteps));
  const saving = new Cadence(checkInterval(config.saveEvery, config, plan.totalSteps));

  const save = (kind: 'latest' | 'best') => {
    const { lossSinceEval, minLoss, lrScale, rollbacks, staleValidations } = progress;
    const resume = {
      adamStep: adam.step,
      rngState: rng.savedState,
      lossSinceEval,
      minLoss,
      lrScale,
      rollbacks,
      staleValidations,
      tensors: [...adam.moments, ...carried.flat()],
    };
    const record = trainingRecord(
      config,
      progress,
      batcher.stepsPerEpoch,
      options.backend ?? tf.getBackend(),
      seconds(),
      corpus,
      data.counts,
    );
    saveCheckpoint(dirs[kind], model, vocab, record, resume);
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

      if (isDivergence(loss, progress.minLoss)) {
        // Back to the last good state with half the learning rate; never save a diverged model.
        const divergedAt = progress.step;
        ({ carried, rng, progress } = rollBack(rollback, carried, progress, loss, outDir));
        observer.onRollback?.(divergedAt, loss, progress.step, lr / 2);
        continue;
      }
      progress.minLoss = Math.min(progress.minLoss, loss);
      progress.lossSinceEval.sum += loss;
      progress.lossSinceEval.count++;
      observer.onStep?.({
        step: progress.step,
        epoch: progress.step / batcher.stepsPerEpoch,
        loss,
        lr,
        gradNorm,
        charsPerSecond: throughput.rate,
        seconds: seconds(),
      });

      const { step } = progress;
      stoppedBy = stopReason(step, plan, config, secondsHere(), signal);

      // An interrupted run saves at once and skips validation: the user is waiting. A signal
      // during validation abandons it (validation yields to the event loop to see one).
      const validated =
        stoppedBy !== 'interrupted' && (validation.due(step, secondsHere()) || stoppedBy !== null)
          ? await validate(model, valIds, config, progress, batcher.stepsPerEpoch, lr, seconds(), signal)
          : null;
      if (validated === null && signal?.aborted) stoppedBy = 'interrupted';
      if (validated !== null) {
        const { valLoss, isBest } = validated;
        observer.onValidation?.(step, valLoss, isBest);
        if (isBest) save('best');
        if (stoppedBy === null && config.patience !== null && progress.staleValidations >= config.patience) stoppedBy = 'patience';
      }
      if (saving.due(step, secondsHere()) || stoppedBy !== null) {
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

/** What the run will do, for the observer; refuses a run that is already done. */
function planRun(
  config: TrainConfig,
  start: StartingPoint,
  data: ReturnType<typeof trainingData>,
  threads: ReturnType<typeof trainerThreads>,
): TrainingPlan {
  const { batcher } = data;
  const totalSteps = Math.min(config.maxSteps ?? Infinity, config.epochs * batcher.stepsPerEpoch);
  const firstStep = start.progress.step;
  if (firstStep >= totalSteps) {
    throw new UserError(`the run is already at step ${firstStep} of ${totalSteps}; raise --epochs or --max-steps to train further`);
  }
  return {
    config,
    vocabSize: start.vocab.size,
    parameterCount: start.model.parameterCount,
    trainChars: data.trainIds.length,
    valChars: data.valIds.length,
    stepsPerEpoch: batcher.stepsPerEpoch,
    firstStep,
    totalSteps,
    threads: threads.threads,
    threadsNote: threads.note,
  };
}

/** Refuses, from the shapes and before anything is allocated, a model that cannot be trained here at these settings (memory.ts). */
function fitCheck(config: TrainConfig, threads: number): FitCheck {
  return (shape) => {
    const { vocabSize: V, layers, hidden, cell } = shape;
    const what = `a ${layers}×${hidden} ${cell.toUpperCase()} over ${V} characters at seq ${config.seq}, batch ${config.batch} on ${threads} thread${threads > 1 ? 's' : ''}`;
    assertMemoryFits(
      estimateTrainingMemory(shape, { seq: config.seq, batch: config.batch, threads }),
      what,
      'make --hidden, --layers, --seq or --batch smaller',
    );
  };
}

/** Why the run stops after `step`, if it does: its length, its time (`secondsHere`, this process's), or an abort. */
function stopReason(
  step: number,
  plan: TrainingPlan,
  config: TrainConfig,
  secondsHere: number,
  signal: AbortSignal | undefined,
): StopReason | null {
  if (step >= plan.totalSteps) return step >= config.epochs * plan.stepsPerEpoch ? 'epochs' : 'max-steps';
  if (config.maxSeconds !== null && secondsHere >= config.maxSeconds) return 'max-time';
  return signal?.aborted ? 'interrupted' : null;
}

/** The corpus as ids, how often each character occurs, and the training and validation splits, batched. */
function trainingData(corpus: Corpus, vocab: Vocabulary, config: TrainConfig) {
  const ids = vocab.encode(corpus.text);
  const counts = new Array<number>(vocab.size).fill(0);
  for (const id of ids) counts[id]++;
  const { train: trainIds, val: valIds } = splitIds(ids, config.valFrac);
  return { ids, counts, trainIds, valIds, batcher: makeBatcher(trainIds, valIds, config) };
}

function trainingRecord(
  config: TrainConfig,
  progress: Progress,
  stepsPerEpoch: number,
  backend: string,
  seconds: number,
  corpus: Corpus,
  counts: number[],
): TrainingRecord {
  const { path, files, encoding, bytes, fingerprint } = corpus;
  return {
    config,
    step: progress.step,
    epoch: progress.step / stepsPerEpoch,
    history: progress.history,
    valLoss: progress.valLoss,
    bestValLoss: progress.bestValLoss,
    backend,
    seconds,
    corpus: { path, files, encoding, bytes, chars: counts.reduce((a, b) => a + b, 0), fingerprint, counts },
  };
}

/**
 * Scores the start of the validation split and records it in `progress` (best, history,
 * validations without a new best); returns the loss and whether it is a new best, or
 * null (and records nothing) if `signal` was aborted while scoring.
 */
async function validate(
  model: CharModel,
  valIds: Int32Array,
  config: TrainConfig,
  progress: Progress,
  stepsPerEpoch: number,
  lr: number,
  seconds: number,
  signal: AbortSignal | undefined,
): Promise<{ valLoss: number; isBest: boolean } | null> {
  let valLoss: number;
  try {
    valLoss = (await evaluate(model, valIds.subarray(0, VALIDATION_MAX_CHARS), config.batch, config.seq, signal, { scoreTail: false }))
      .nats;
  } catch (err) {
    if (signal?.aborted) return null;
    throw err;
  }
  const isBest = progress.bestValLoss === null || valLoss < progress.bestValLoss;
  const { step } = progress;
  progress.valLoss = valLoss;
  progress.bestValLoss = isBest ? valLoss : progress.bestValLoss;
  progress.staleValidations = isBest ? 0 : progress.staleValidations + 1;
  const { sum, count } = progress.lossSinceEval;
  progress.history.push({ step, epoch: step / stepsPerEpoch, trainLoss: sum / count, valLoss, lr, seconds });
  progress.lossSinceEval = { sum: 0, count: 0 };
  return { valLoss, isBest };
}

/**
 * The loss diverged at `progress.step`: the state of the last rollback point, with half the
 * learning rate (disposes `carried`). After `MAX_ROLLBACKS` the run gives up, saying which checkpoints are still good.
 */
function rollBack(
  rollback: RollbackPoint,
  carried: RecurrentState[],
  progress: Progress,
  loss: number,
  outDir: string,
): { carried: RecurrentState[]; rng: Rng; progress: Progress } {
  if (progress.rollbacks >= MAX_ROLLBACKS) {
    const kept = rollback.step > 0 ? `the checkpoints in ${outDir} are from step ${rollback.step} or before` : 'no checkpoint was written';
    throw new TrainingDivergedError(
      `training diverged (loss ${loss.toFixed(3)} at step ${progress.step}) ${MAX_ROLLBACKS + 1} times, the last at 1/${2 ** MAX_ROLLBACKS} of the learning rate; ${kept}; try a lower --lr or --clip`,
    );
  }
  const restored = rollback.restore();
  disposeState(carried);
  return {
    carried: restored.carried,
    rng: new Rng(restored.rngState),
    progress: { ...restored.progress, rollbacks: progress.rollbacks + 1, lrScale: progress.lrScale / 2 },
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
    const hint =
      fitBatch >= 1 ? `--batch ${fitBatch} or less would fit` : `try --seq ${Math.max(1, Math.floor((trainIds.length - 1) / 2))} --batch 1`;
    throw new CorpusError(
      `corpus too small: the training split has ${trainIds.length} characters but --batch ${config.batch} × --seq ${config.seq} needs at least ${needed}; ${hint}`,
    );
  }
  if (valIds.length < 2) {
    throw new CorpusError(
      `corpus too small for validation: --val-frac ${config.valFrac} leaves ${valIds.length} characters; raise --val-frac or give more text`,
    );
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

/** Whether a validation (or a save) is due: every so many steps, or every so many seconds of this process. */
class Cadence {
  private nextSeconds: number;

  constructor(private readonly interval: Interval) {
    this.nextSeconds = 'seconds' in interval ? interval.seconds : Infinity;
  }

  due(step: number, secondsHere: number): boolean {
    if ('steps' in this.interval) return step % this.interval.steps === 0;
    if (secondsHere < this.nextSeconds) return false;
    while (this.nextSeconds <= secondsHere) this.nextSeconds += this.interval.seconds;
    return true;
  }
}
