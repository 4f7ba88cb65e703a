/**
 * What a training run tells its caller: the plan at the start, each step, each
 * validation and checkpoint, rollbacks, and the result. The library never prints; the
 * CLI turns these into a progress bar and a summary (cli/progress.ts).
 */
import type { TrainConfig } from './config.js';

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

export type CheckpointKind = 'latest' | 'best';

export interface TrainingObserver {
  onStart?(plan: TrainingPlan): void;
  onStep?(progress: StepProgress): void;
  onValidation?(step: number, valLoss: number, isBest: boolean): void;
  onCheckpoint?(kind: CheckpointKind, dir: string): void;
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
