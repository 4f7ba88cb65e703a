/**
 * The training loop, top-down as a reader expects it: learning rate → batch →
 * forward/backward → clip → Adam step → divergence check → log → validate/checkpoint →
 * stop? It never prints; the caller watches through `TrainingObserver`.
 */
import * as tf from '../tf.js';
import { clipScale, type Adam } from './adam.js';
import type { Batch, StreamBatcher } from '../data/batches.js';
import { GradientPool, trainerThreads, localGradients, type GradientSource } from './data-parallel.js';
import type { TrainConfig } from './config.js';
import type { Corpus } from '../data/corpus.js';
import { UserError } from '../errors.js';
import { disposeState, type RecurrentState } from '../cells/cell.js';
import { isDivergence, nextLossFloor, rollBack, RollbackPoint } from './rollback.js';
import { Cadence, checkInterval, epochsEnd, stopReason } from './schedule.js';
import { learningRate, planTimeDecay, stepsBudgetDecay, type Decay } from './learning-rate.js';
import type { RunState, StartingPoint } from './starting-point.js';
import type { CharModel } from '../model/model.js';
import type { StopReason, TrainingObserver, TrainingPlan, TrainResult } from './observer.js';
import { trainingData, type TrainingData } from './training-data.js';
import { validate } from './validation.js';
import { Throughput } from './throughput.js';
import { RunCheckpoints } from './run-checkpoints.js';

export interface RunOptions {
  /** Run directory: checkpoints go to <outDir>/latest and <outDir>/best. */
  outDir: string;
  /** Description of the backend, recorded in checkpoints. Default: tfjs's backend name. */
  backend?: string;
  observer?: TrainingObserver;
  /** Aborting stops after the current step; the latest checkpoint is still written. */
  signal?: AbortSignal;
  /**
   * Threads sharing each step's streams (data-parallel.ts); 1 keeps everything on this
   * thread. Default: one per core (`trainerThreads`).
   */
  threads?: number;
  /** Milliseconds, for --max-time and the seconds recorded. Default: `performance.now` (tests pass a clock they move). */
  clock?: () => number;
}

/** Trains from `start` until a stop condition; the model and optimiser are disposed at the end. */
export async function runTraining(corpus: Corpus, config: TrainConfig, start: StartingPoint, options: RunOptions): Promise<TrainResult> {
  const data = trainingData(corpus, start.vocab, config);
  const plan = planRun(config, start, data, trainerThreads(options.threads, config.batch));
  options.observer?.onStart?.(plan);
  return new TrainingLoop(corpus, config, start, data, plan, options).run();
}

/** What the run will do, for the observer; refuses a run that is already done. */
function planRun(config: TrainConfig, start: StartingPoint, data: TrainingData, threads: ReturnType<typeof trainerThreads>): TrainingPlan {
  const { batcher } = data;
  const totalSteps = Math.min(config.maxSteps ?? Infinity, epochsEnd(config, batcher.stepsPerEpoch));
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

/** A step that did not diverge: what it reports. */
interface StepOutcome {
  loss: number;
  lr: number;
  gradNorm: number;
}

class TrainingLoop {
  private readonly model: CharModel;
  private readonly adam: Adam;
  private readonly batcher: StreamBatcher;
  private readonly observer: TrainingObserver;
  private readonly checkpoints: RunCheckpoints;
  private readonly rollback: RollbackPoint;
  private readonly pool: GradientPool | null;
  private readonly gradients: GradientSource;
  private readonly validation: Cadence;
  private readonly saving: Cadence;
  private readonly throughput = new Throughput();
  private readonly clock: () => number;
  private readonly startTime: number;
  /** A steps budget's decay window (learning-rate.ts); a time budget's is planned as it runs and kept in the progress. */
  private readonly stepsDecay: Decay | null;
  private state: RunState;

  constructor(
    corpus: Corpus,
    private readonly config: TrainConfig,
    start: StartingPoint,
    private readonly data: TrainingData,
    private readonly plan: TrainingPlan,
    private readonly options: RunOptions,
  ) {
    ({ model: this.model, adam: this.adam } = start);
    this.batcher = data.batcher;
    this.observer = options.observer ?? {};
    const { vocab } = start;
    const { counts, batcher } = data;
    const backend = options.backend ?? tf.getBackend();
    this.checkpoints = new RunCheckpoints(options.outDir, { config, corpus, counts, vocab, stepsPerEpoch: batcher.stepsPerEpoch, backend });
    this.clock = options.clock ?? (() => performance.now());
    this.startTime = this.clock();
    this.rollback = new RollbackPoint(this.model, this.adam);
    this.pool = plan.threads > 1 ? new GradientPool(this.model, plan.threads, tf.getBackend()) : null;
    this.gradients = this.pool?.source ?? localGradients(this.model);
    this.state = { carried: start.carried ?? this.model.initialState(config.batch), rng: start.rng, progress: start.progress };
    this.validation = new Cadence(checkInterval(config.evalEvery, config, plan.totalSteps));
    this.saving = new Cadence(checkInterval(config.saveEvery, config, plan.totalSteps));
    this.stepsDecay = config.maxSteps !== null ? stepsBudgetDecay(plan.totalSteps) : null;
  }

  async run(): Promise<TrainResult> {
    let stoppedBy: StopReason | null = null;
    try {
      this.takeRollbackPoint();
      while (stoppedBy === null) {
        const outcome = await this.step();
        if (outcome === null) continue; // diverged: back at the rollback point
        this.report(outcome);
        stoppedBy = await this.checkpoint(outcome.lr);
      }
    } finally {
      await this.close();
    }
    return this.result(stoppedBy);
  }

  /** One step: its learning rate and batch, forward/backward, clip, Adam; null if the loss diverged and the run went back. */
  private async step(): Promise<StepOutcome | null> {
    const { progress } = this.state;
    const position = progress.step % this.batcher.stepsPerEpoch;
    if (position === 0 && progress.step > 0) {
      // A new epoch starts every stream over from its beginning: the old state no longer fits.
      disposeState(this.state.carried);
      this.state.carried = this.model.initialState(this.config.batch);
    }
    const lr = learningRate(this.config, progress.step, this.batcher.stepsPerEpoch, this.decay()) * progress.lrScale;
    const batch = this.batcher.get(position);

    this.throughput.begin();
    const { loss, gradNorm, final } = await trainStep(this.gradients, this.adam, this.state, batch, lr, this.config.clip);
    disposeState(this.state.carried);
    this.state.carried = final;
    progress.step++;
    this.throughput.end(batch.inputs.length);
    await yieldToEventLoop(); // lets a SIGINT handler run between steps

    if (isDivergence(loss, progress.lossFloor, () => this.lossAhead(1))) {
      this.goBack(progress.step, loss, lr);
      return null;
    }
    progress.lossFloor = nextLossFloor(progress.lossFloor, loss);
    progress.lossSinceEval.sum += loss;
    progress.lossSinceEval.count++;
    return { loss, lr, gradNorm };
  }

  /** Back to the last good state with half the learning rate, the loss of step `divergedAt` having blown up. */
  private goBack(divergedAt: number, loss: number, lr: number): void {
    this.state = rollBack(this.rollback, this.state, loss, divergedAt, this.options.outDir);
    this.observer.onRollback?.(divergedAt, loss, this.state.progress.step, lr / 2);
  }

  /**
   * The loss of the batch `batches` steps ahead (1: the next step's) with the weights as
   * they are now, the carried state run through the batches between: the divergence
   * guard's looks at weights no step has judged yet. Without dropout, and nothing a step
   * changes (weights, optimiser, carried state, RNG) is touched, so runs stay reproducible.
   */
  private lossAhead(batches: number): number {
    const { step } = this.state.progress;
    return tf.tidy(() => {
      let state = this.state.carried;
      let loss: tf.Scalar | null = null;
      for (let k = 0; k < batches; k++) {
        const position = (step + k) % this.batcher.stepsPerEpoch;
        const { inputs, targets } = this.batcher.get(position);
        // As in step: a new epoch starts its streams from the initial state.
        const start = position === 0 ? this.model.initialState(this.config.batch) : state;
        const result = this.model.loss(tf.tensor1d(inputs, 'int32'), tf.tensor1d(targets, 'int32'), start);
        // The model keeps each final state past tidy: all but the carried state are ours to dispose.
        if (k > 0) disposeState(state);
        state = result.final;
        loss = result.loss;
      }
      disposeState(state);
      return loss!.dataSync()[0];
    });
  }

  /** The budget's decay window: a time budget plans its own when the time comes, unless a steps budget's comes first. */
  private decay(): Decay | null {
    const { progress } = this.state;
    const { maxSeconds } = this.config;
    const stepsDecayStarted = this.stepsDecay !== null && progress.step >= this.stepsDecay.start;
    if (maxSeconds !== null && progress.timeDecay === null && !stepsDecayStarted) {
      const planned = planTimeDecay(progress.step, progress.step - this.plan.firstStep, this.secondsHere(), maxSeconds);
      progress.timeDecay = planned && { start: planned.start, end: Math.min(planned.end, this.plan.totalSteps) };
    }
    return progress.timeDecay ?? this.stepsDecay;
  }

  private report({ loss, lr, gradNorm }: StepOutcome): void {
    const { step } = this.state.progress;
    const epoch = step / this.batcher.stepsPerEpoch;
    this.observer.onStep?.({ step, epoch, loss, lr, gradNorm, charsPerSecond: this.throughput.rate, seconds: this.seconds() });
  }

  /**
   * After a step: whether the run stops, and the validation and checkpoints that are due
   * (all of them at the end). Returns why the run stops, or null to go on.
   */
  private async checkpoint(lr: number): Promise<StopReason | null> {
    const { config, options } = this;
    const { progress } = this.state;
    const { step } = progress;
    const started = this.secondsHere();
    let stoppedBy = stopReason(step, this.plan, config, started, progress.timeDecay, options.signal);
    const validationDue = this.validation.due(step, started);
    const saveDue = this.saving.due(step, started);

    // Weights are validated, saved or kept to go back to only once the batches after them
    // pass the divergence guard: a step's loss judges the weights before its update, so a
    // blow-up in the update shows first in the batches after it. Weights that fail are a
    // divergence, as in step(): back to the last good state, and on towards the stop (an
    // interrupted run stops there, saving that state).
    if (validationDue || saveDue || stoppedBy !== null) {
      const ahead = this.lossAhead(1);
      if (isDivergence(ahead, progress.lossFloor, () => this.lossAhead(2))) {
        this.goBack(step + 1, ahead, lr);
        if (stoppedBy !== 'interrupted') return null;
        this.save('latest');
        return stoppedBy;
      }
    }

    // An interrupted run saves at once and skips validation: the user is waiting. A signal
    // during validation abandons it (validation yields to the event loop to see one).
    const validated =
      stoppedBy !== 'interrupted' && (validationDue || stoppedBy !== null)
        ? await validate(this.model, this.data.valIds, config, progress, this.batcher.stepsPerEpoch, lr, this.seconds(), options.signal)
        : null;
    if (validated === null && options.signal?.aborted) stoppedBy = 'interrupted';
    if (validated !== null) {
      const { valLoss, isBest } = validated;
      this.observer.onValidation?.(step, valLoss, isBest);
      if (isBest) this.save('best');
      if (stoppedBy === null && config.patience !== null && progress.staleValidations >= config.patience) stoppedBy = 'patience';
    }
    if (saveDue || stoppedBy !== null) {
      this.save('latest');
      this.takeRollbackPoint();
    }
    // A time budget spaces the next checks by what this one cost.
    const ended = this.secondsHere();
    if (validationDue) this.validation.ran(started, ended);
    if (saveDue) this.saving.ran(started, ended);
    return stoppedBy;
  }

  private save(kind: 'latest' | 'best'): void {
    const dir = this.checkpoints.save(kind, this.model, this.adam, this.state, this.seconds());
    this.observer.onCheckpoint?.(kind, dir);
  }

  private takeRollbackPoint(): void {
    const { carried, rng, progress } = this.state;
    this.rollback.take(carried, rng.savedState, progress);
  }

  /** This process's training seconds: what --max-time counts. */
  private secondsHere(): number {
    return (this.clock() - this.startTime) / 1000;
  }

  /** The run's training seconds, a resumed run's earlier ones included. */
  private seconds(): number {
    return this.state.progress.seconds + this.secondsHere();
  }

  private async close(): Promise<void> {
    await this.pool?.close();
    this.rollback.dispose();
    disposeState(this.state.carried);
    this.adam.dispose();
    this.model.dispose();
  }

  private result(stoppedBy: StopReason | null): TrainResult {
    const { progress } = this.state;
    return {
      steps: progress.step,
      epoch: progress.step / this.batcher.stepsPerEpoch,
      valLoss: progress.valLoss ?? NaN,
      bestValLoss: progress.bestValLoss ?? NaN,
      bestDir: this.checkpoints.dirs.best,
      latestDir: this.checkpoints.dirs.latest,
      seconds: this.seconds(),
      charsPerSecond: this.throughput.average,
      stoppedBy: stoppedBy!,
    };
  }
}

/**
 * One optimisation step: forward/backward (shared out by `source`), clip, Adam. Returns
 * the loss before the update and the carried state.
 */
async function trainStep(
  source: GradientSource,
  adam: Adam,
  state: RunState,
  batch: Batch,
  lr: number,
  clip: number,
): Promise<{ loss: number; gradNorm: number; final: RecurrentState[] }> {
  const { loss, grads, final } = await source(state.carried, batch, state.rng.int());
  const { scale, norm } = clipScale(grads, clip);
  adam.apply(grads, lr, scale);
  tf.dispose(grads);
  return { loss, gradNorm: norm, final };
}

function yieldToEventLoop(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}
