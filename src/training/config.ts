/**
 * Training settings: their type, and one table with each one's flag, default, range and
 * help, grouped as --help and docs/flags.md show them. The library checks a config
 * against the same table the command line parses with. The resolved settings are saved in
 * every checkpoint, so sampling and evaluation need no shape flags.
 */
import { CELL_TYPES, type CellType } from '../cells/registry.js';
import { CHECK_SHARE, DEFAULT_CHECK_STEPS, MIN_CHECKS_PER_BUDGET } from './schedule.js';
import {
  above,
  atLeast,
  atMost,
  below,
  choice,
  defaultsOf,
  duration,
  flag,
  integer,
  real,
  validateValues,
  type OptionSpec,
} from '../options/option.js';

export interface TrainConfig {
  // model
  /**
   * Recurrent cell of every layer: lstm, gru (reset gate before the recurrent matMul, as
   * tfjs and Keras reset_after=False) or rnn (tanh).
   */
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
  /** Adam's β2: how slowly its estimate of each gradient's scale forgets. */
  beta2: number;

  // run length: training stops at whichever comes first
  /** Passes over the training text; null: no limit (a fresh run's default under --max-time or --max-steps, settings.ts). */
  epochs: number | null;
  /** Optional cap on steps (null: none). */
  maxSteps: number | null;
  /** Optional cap on wall-clock seconds (null: none). */
  maxSeconds: number | null;
  /** Stop after this many validations in a row without a new best (null: never). */
  patience: number | null;

  // bookkeeping
  /** Steps between validations (the best checkpoint is kept by validation loss); null: spaced to the budget (schedule.ts). */
  evalEvery: number | null;
  /** Steps between writes of the latest checkpoint; null: spaced to the budget (schedule.ts). */
  saveEvery: number | null;
  seed: number;
}

/**
 * From this --max-time on, a fresh run's default width is LONG_BUDGET_HIDDEN, its dropout
 * LONG_BUDGET_DROPOUT and its β2 LONG_BUDGET_BETA2: 2×256 learnt more than 2×128 from 10
 * minutes on, and with dropout 0.1 more than without, on War and Peace and on the built-in
 * corpus; with β2 0.99 more than with 0.999 on War and Peace and as much on the built-in
 * corpus (docs/defaults.md).
 */
export const LONG_BUDGET_SECONDS = 600;
export const LONG_BUDGET_HIDDEN = 256;
export const LONG_BUDGET_DROPOUT = 0.1;
export const LONG_BUDGET_BETA2 = 0.99;

/** --eval-every's and --save-every's default (null): schedule.ts's checkInterval. */
const SPACED_TO_BUDGET =
  `${DEFAULT_CHECK_STEPS}, a twentieth of --max-steps, or under --max-time as often as ${CHECK_SHARE * 100}% of the time allows, ` +
  `at least every 1/${MIN_CHECKS_PER_BUDGET} of it`;

export const TRAIN_OPTIONS: { [K in keyof TrainConfig]: OptionSpec<TrainConfig[K]> } = {
  cell: choice({
    flag: '--cell',
    placeholder: 'type',
    group: 'model',
    choices: CELL_TYPES,
    default: 'lstm',
    help: 'recurrent cell; rnn is a vanilla tanh RNN',
  }),
  layers: integer({ flag: '--layers', group: 'model', min: 1, default: 2, help: 'stacked recurrent layers' }),
  hidden: integer({
    flag: '--hidden',
    group: 'model',
    min: 1,
    default: 128,
    defaultText: `128, or ${LONG_BUDGET_HIDDEN} under --max-time ${LONG_BUDGET_SECONDS / 60}m or more`,
    help: 'units per recurrent layer',
    example: '--hidden 256',
  }),
  dropout: real({
    flag: '--dropout',
    placeholder: 'p',
    group: 'model',
    range: { min: atLeast(0), max: below(1) },
    default: 0,
    defaultText: `0, or ${LONG_BUDGET_DROPOUT} under --max-time ${LONG_BUDGET_SECONDS / 60}m or more`,
    help: "dropout on each layer's output while training, 0 = off",
    example: '--dropout 0.2',
  }),
  learnedInit: flag({
    flag: '--learned-init',
    group: 'model',
    help: "learn each layer's initial state instead of starting streams from zeros (not exportable)",
  }),
  seq: integer({ flag: '--seq', group: 'data', min: 1, default: 50, help: 'characters per step: how far back gradients reach' }),
  batch: integer({ flag: '--batch', group: 'data', min: 1, default: 50, help: 'parallel streams per step' }),
  valFrac: real({
    flag: '--val-frac',
    placeholder: 'f',
    group: 'data',
    range: { min: above(0), max: below(0.5) },
    default: 0.05,
    help: 'fraction of the corpus, from its end, held out for validation',
  }),
  lr: real({
    flag: '--lr',
    placeholder: 'rate',
    group: 'optimisation',
    range: { min: above(0) },
    // char-rnn's 2e-3 learnt a third to half a nat less by 960 steps on three kinds of text (docs/defaults.md).
    default: 5e-3,
    help: 'Adam learning rate',
  }),
  lrDecay: real({
    flag: '--lr-decay',
    placeholder: 'factor',
    group: 'optimisation',
    range: { min: above(0), max: atMost(1) },
    default: 0.97,
    help: 'multiply the learning rate by this after each epoch',
  }),
  clip: real({
    flag: '--clip',
    placeholder: 'norm',
    group: 'optimisation',
    range: { min: above(0) },
    default: 5,
    help: 'largest global gradient norm',
  }),
  beta2: real({
    flag: '--beta2',
    placeholder: 'decay',
    group: 'optimisation',
    range: { min: above(0), max: below(1) },
    default: 0.999,
    defaultText: `0.999, or ${LONG_BUDGET_BETA2} under --max-time ${LONG_BUDGET_SECONDS / 60}m or more`,
    help: "Adam's second-moment decay: lower adapts sooner to a change in the gradients' scale",
  }),
  epochs: integer({
    flag: '--epochs',
    group: 'run length',
    min: 1,
    default: 20,
    nullable: true,
    defaultText: '20, or no limit under --max-time or --max-steps',
    help: 'passes over the training text',
  }),
  maxSteps: integer({
    flag: '--max-steps',
    group: 'run length',
    min: 1,
    default: null,
    help: 'stop after this many steps (the rate falls to 0 over the last 30%)',
  }),
  maxSeconds: duration({
    flag: '--max-time',
    group: 'run length',
    default: null,
    help: 'stop after this long, e.g. 90s, 5m, 1h (the rate falls to 0 over the last 30%)',
    example: '--max-time 30m',
  }),
  patience: integer({
    flag: '--patience',
    group: 'run length',
    min: 1,
    default: null,
    help: 'stop after this many validations in a row without a new best',
  }),
  evalEvery: integer({
    flag: '--eval-every',
    placeholder: 'steps',
    group: 'bookkeeping',
    min: 1,
    default: null,
    defaultText: SPACED_TO_BUDGET,
    help: 'validate (and keep the best checkpoint) every this many steps',
  }),
  saveEvery: integer({
    flag: '--save-every',
    placeholder: 'steps',
    group: 'bookkeeping',
    min: 1,
    default: null,
    defaultText: SPACED_TO_BUDGET,
    help: 'write the latest checkpoint every this many steps',
  }),
  seed: integer({
    flag: '--seed',
    group: 'bookkeeping',
    min: -(2 ** 31),
    default: 1234,
    help: 'random seed for initialisation and dropout',
  }),
};

export const TRAIN_DEFAULTS: TrainConfig = defaultsOf(TRAIN_OPTIONS);

/** Refuses settings that cannot work, naming the flag. */
export function validateTrainConfig(config: TrainConfig): void {
  validateValues(TRAIN_OPTIONS, config, true);
}

/** The command-line flag of a setting: '--max-time' for maxSeconds. */
export function trainFlag(key: keyof TrainConfig): string {
  return TRAIN_OPTIONS[key].flag;
}
