/**
 * The settings a run trains with, and what may change from run to run: a fresh run's
 * are the defaults with the caller's changes; a resumed run keeps its checkpoint's,
 * except how long it goes on and how often it reports; fine-tuning keeps the
 * checkpoint's model shape. A broken rule is a UserError naming the flag.
 */
import { UserError } from '../errors.js';
import type { ModelConfig } from '../model/model.js';
import { definedOnly } from '../options/option.js';
import {
  LONG_BUDGET_BETA2,
  LONG_BUDGET_DROPOUT,
  LONG_BUDGET_HIDDEN,
  LONG_BUDGET_SECONDS,
  trainFlag,
  TRAIN_DEFAULTS,
  validateTrainConfig,
  type TrainConfig,
} from './config.js';

/** What may change when a run is resumed: how long it goes on, and how often it reports. */
export const RESUMABLE: readonly (keyof TrainConfig)[] = ['epochs', 'maxSteps', 'maxSeconds', 'patience', 'evalEvery', 'saveEvery'];

/**
 * The defaults that depend on the budget (docs/defaults.md): a run given --max-time or
 * --max-steps stops when that runs out, not after --epochs' default 20 passes (a 2×128 LSTM
 * on 900 K characters still gained 0.03 nats between its 20th epoch and its 20th minute);
 * a long --max-time trains a wider model, with dropout and a β2 that forgets sooner.
 */
function budgetDefaults(given: Partial<TrainConfig>): Partial<TrainConfig> {
  const budgeted = (given.maxSeconds ?? null) !== null || (given.maxSteps ?? null) !== null;
  const long = (given.maxSeconds ?? 0) >= LONG_BUDGET_SECONDS;
  return {
    ...(budgeted ? { epochs: null } : {}),
    ...(long ? { hidden: LONG_BUDGET_HIDDEN, dropout: LONG_BUDGET_DROPOUT, beta2: LONG_BUDGET_BETA2 } : {}),
  };
}

/** The defaults (those of its budget first) with `changes` (undefined values are no change), checked. */
export function freshSettings(changes: Partial<TrainConfig>): TrainConfig {
  const given = definedOnly(changes);
  const config = { ...TRAIN_DEFAULTS, ...budgetDefaults(given), ...given };
  validateTrainConfig(config);
  return config;
}

/** Refuses a change to anything but `RESUMABLE` (undefined values are no change). */
export function refuseFixedChanges(changes: Partial<TrainConfig>): void {
  const fixed = Object.keys(definedOnly(changes)).filter((key) => !RESUMABLE.includes(key as keyof TrainConfig));
  if (fixed.length > 0) {
    const may = RESUMABLE.map(trainFlag).join(', ');
    throw new UserError(
      `${trainFlag(fixed[0] as keyof TrainConfig)} cannot change when resuming; a resumed run keeps its settings (only ${may} may)`,
    );
  }
}

/** A resumed run's settings: the checkpoint's `saved` ones, with `changes` to `RESUMABLE` only. */
export function resumedSettings(saved: TrainConfig, changes: Partial<TrainConfig>): TrainConfig {
  refuseFixedChanges(changes);
  const config = { ...saved, ...definedOnly(changes) };
  validateTrainConfig(config);
  return config;
}

/**
 * A fine-tuning run's settings: fresh ones with the model shape of the checkpoint in
 * `dir` (`model`); a change to that shape is refused rather than ignored.
 */
export function fineTuneSettings(model: ModelConfig, dir: string, changes: Partial<TrainConfig>): TrainConfig {
  const { layers, hidden, cell, learnedInit } = model;
  const shape = { layers, hidden, cell, learnedInit };
  for (const [key, value] of Object.entries(shape) as [keyof typeof shape, unknown][]) {
    if (changes[key] !== undefined && changes[key] !== value) {
      throw new UserError(`${trainFlag(key)} ${changes[key]} does not match ${dir} (${value}); --init-from keeps its model's shape`);
    }
  }
  return freshSettings({ ...changes, ...shape });
}
