/**
 * The learning rate of every step, and how a budget (--max-steps, --max-time) shapes it.
 *
 * Without a budget: --lr, times --lr-decay per completed epoch (char-rnn's schedule).
 * With one, the same, held until the last DECAY_FRACTION of the budget and then brought
 * down linearly to zero at its end ("warmup-stable-decay" without the warm-up: the
 * measurements in docs/quality.md). Decaying only at the end is what lets a time budget
 * plan late: the decay's length in steps is estimated when it starts, from the speed
 * measured until then.
 *
 * The rate is a pure function of the step and a `Decay` window of absolute steps. A
 * steps budget gives the window from the config; a time budget's window is planned
 * once and stored in the checkpoint. Either way a resumed run applies exactly the rates
 * the uninterrupted run would have.
 */
import type { TrainConfig } from './config.js';

/** The steps over which the rate falls from its scheduled value to zero: [start, end). */
export interface Decay {
  start: number;
  end: number;
}

/** The part of a budget spent decaying the learning rate. */
export const DECAY_FRACTION = 0.3;

/** The learning rate for `step` (0-based: the step about to run), before the divergence guard's scale. */
export function learningRate(config: Pick<TrainConfig, 'lr' | 'lrDecay'>, step: number, stepsPerEpoch: number, decay: Decay | null): number {
  const epochs = Math.floor(step / stepsPerEpoch);
  return config.lr * config.lrDecay ** epochs * decayFactor(step, decay);
}

/** 1 before the window, falling linearly to 0 at its end (and 0 after it). */
export function decayFactor(step: number, decay: Decay | null): number {
  if (decay === null || step < decay.start) return 1;
  return Math.max(0, (decay.end - step) / (decay.end - decay.start));
}

/** A steps budget ending at `totalSteps` decays over its last DECAY_FRACTION (at least one step). */
export function stepsBudgetDecay(totalSteps: number): Decay {
  const start = Math.min(totalSteps - 1, Math.round(totalSteps * (1 - DECAY_FRACTION)));
  return { start, end: totalSteps };
}

/**
 * When a time budget's decay should start: once DECAY_FRACTION of it is left. Returns the
 * window, from the speed so far (`stepsHere` steps in `secondsHere`, validation
 * included, as the rest of the run will include it), or null while it is not time yet.
 */
export function planTimeDecay(step: number, stepsHere: number, secondsHere: number, maxSeconds: number): Decay | null {
  if (secondsHere < maxSeconds * (1 - DECAY_FRACTION) || stepsHere < 1) return null;
  const remaining = Math.max(0, maxSeconds - secondsHere);
  return { start: step, end: step + Math.max(1, Math.round((stepsHere / secondsHere) * remaining)) };
}

/** Validations (each with a write of the latest checkpoint) a budget is divided into, unless --eval-every / --save-every say otherwise. */
export const CHECKS_PER_BUDGET = 20;
/** Without a budget: every this many steps. */
export const DEFAULT_CHECK_STEPS = 100;

export type Interval = { steps: number } | { seconds: number };

/**
 * How often to validate (or save): every `given` steps if the flag was given; else a
 * twentieth of the budget (in steps for --max-steps, in seconds for --max-time alone);
 * else every DEFAULT_CHECK_STEPS steps.
 */
export function checkInterval(given: number | null, config: Pick<TrainConfig, 'maxSteps' | 'maxSeconds'>, totalSteps: number): Interval {
  if (given !== null) return { steps: given };
  if (config.maxSteps !== null) return { steps: Math.max(1, Math.ceil(totalSteps / CHECKS_PER_BUDGET)) };
  if (config.maxSeconds !== null) return { seconds: config.maxSeconds / CHECKS_PER_BUDGET };
  return { steps: DEFAULT_CHECK_STEPS };
}
