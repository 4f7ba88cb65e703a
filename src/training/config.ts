/**
 * Training settings with their defaults, grouped as the CLI shows them. The resolved
 * settings are saved in every checkpoint, so sampling and evaluation need no shape flags.
 */
import { CELL_TYPES, isCellType, type CellType } from '../cells/registry.js';
import { UserError } from '../errors.js';

export interface TrainConfig {
  // model
  /** Recurrent cell of every layer: lstm, gru (reset gate before the recurrent matMul, as tfjs and Keras reset_after=False) or rnn (tanh). */
  cell: CellType;
  /** Stacked recurrent layers. */
  layers: number;
  /** Units in each recurrent layer. */
  hidden: number;
  /** Dropout on each layer's output while training; 0 turns it off. */
  dropout: number;
  /** Train each layer's initial state (h, and c for an LSTM) instead of starting streams from zeros. */
  learnedInit: boolean;

  // data
  /** Characters per stream per step: how far back the gradient reaches (truncated BPTT). */
  seq: number;
  /** Parallel streams per step. */
  batch: number;
  /** Fraction of the corpus, taken from its end, held out for validation. */
  valFrac: number;

  // optimisation
  /** Adam learning rate. */
  lr: number;
  /** The learning rate is multiplied by this after every epoch (1 = constant). */
  lrDecay: number;
  /** Largest global L2 norm of the gradient; larger gradients are scaled down. */
  clip: number;

  // run length: training stops at whichever comes first
  epochs: number;
  /** Optional cap on steps (null: none). */
  maxSteps: number | null;
  /** Optional cap on wall-clock seconds (null: none). */
  maxSeconds: number | null;
  /** Stop after this many validations in a row without a new best (null: never). */
  patience: number | null;

  // bookkeeping
  /** Steps between validations (the best checkpoint is kept by validation loss). */
  evalEvery: number;
  /** Steps between writes of the latest checkpoint. */
  saveEvery: number;
  seed: number;
}

export const TRAIN_DEFAULTS: TrainConfig = {
  cell: 'lstm',
  layers: 2,
  hidden: 128,
  dropout: 0,
  learnedInit: false,
  seq: 50,
  batch: 50,
  valFrac: 0.05,
  lr: 2e-3,
  lrDecay: 0.97,
  clip: 5,
  epochs: 20,
  maxSteps: null,
  maxSeconds: null,
  patience: null,
  evalEvery: 100,
  saveEvery: 100,
  seed: 1234,
};

/** Refuses settings that cannot work, naming the flag. */
export function validateTrainConfig(config: TrainConfig): void {
  const positiveInts: (keyof TrainConfig)[] = ['layers', 'hidden', 'seq', 'batch', 'epochs', 'evalEvery', 'saveEvery'];
  for (const key of positiveInts) {
    const value = config[key];
    if (typeof value !== 'number' || !Number.isInteger(value) || value < 1) {
      throw new UserError(`--${flagName(key)} must be a positive integer (got ${value})`);
    }
  }
  if (!isCellType(config.cell)) throw new UserError(`--cell must be one of ${CELL_TYPES.join(', ')} (got ${config.cell})`);
  if (!(config.dropout >= 0 && config.dropout < 1)) throw new UserError(`--dropout must be in [0, 1) (got ${config.dropout})`);
  if (!(config.valFrac > 0 && config.valFrac < 0.5)) throw new UserError(`--val-frac must be in (0, 0.5) (got ${config.valFrac})`);
  if (!(config.lr > 0)) throw new UserError(`--lr must be positive (got ${config.lr})`);
  if (!(config.lrDecay > 0 && config.lrDecay <= 1)) throw new UserError(`--lr-decay must be in (0, 1] (got ${config.lrDecay})`);
  if (!(config.clip > 0)) throw new UserError(`--clip must be positive (got ${config.clip})`);
  if (config.maxSteps !== null && !(Number.isInteger(config.maxSteps) && config.maxSteps >= 1)) {
    throw new UserError(`--max-steps must be a positive integer (got ${config.maxSteps})`);
  }
  if (config.maxSeconds !== null && !(config.maxSeconds > 0)) throw new UserError(`--max-time must be positive`);
  if (config.patience !== null && !(Number.isInteger(config.patience) && config.patience >= 1)) {
    throw new UserError(`--patience must be a positive integer (got ${config.patience})`);
  }
  if (!Number.isInteger(config.seed)) throw new UserError(`--seed must be an integer (got ${config.seed})`);
}

export function flagName(key: string): string {
  return key.replace(/[A-Z]/g, (ch) => `-${ch.toLowerCase()}`);
}
