/**
 * The learning rate of every step. Without a budget it is char-rnn's: --lr, times
 * --lr-decay per completed epoch. A budget (--max-steps, --max-time) adds an end: the same
 * rate is held until the last DECAY_SHARE of the budget and then brought down linearly to
 * zero when the budget runs out, so the run ends on a model that has settled rather than
 * one still jumping about at full rate (measured in docs/defaults.md).
 *
 * The rate is a pure function of the step and a `Decay` window of absolute steps, so a
 * resumed run applies exactly the rates the uninterrupted one would have. A steps budget's
 * window follows from --max-steps. A time budget's cannot be known at the start: it is
 * planned once, when DECAY_SHARE of the time is left, from the speed measured until then,
 * and kept in the checkpoint.
 */
import type { TrainConfig } from './config.js';

/** The steps over which the rate falls from its scheduled value to zero: [start, end). */
export interface Decay {
  start: number;
  end: number;
}

/** The part of a budget over which the rate falls to zero. */
export const DECAY_SHARE = 0.3;

/** The rate for `step` (0-based: the step about to run), before the divergence guard's scale. */
export function learningRate(
  config: Pick<TrainConfig, 'lr' | 'lrDecay'>,
  step: number,
  stepsPerEpoch: number,
  decay: Decay | null,
): number {
  const epochs = Math.floor(step / stepsPerEpoch);
  return config.lr * config.lrDecay ** epochs * decayFactor(step, decay);
}

/** 1 before the window, falling linearly to 0 at its end (and 0 after it). */
export function decayFactor(step: number, decay: Decay | null): number {
  if (decay === null || step < decay.start) return 1;
  return Math.max(0, (decay.end - step) / (decay.end - decay.start));
}

/** The window of a run that ends at step `end` (--max-steps): its last DECAY_SHARE, at least one step. */
export function stepsBudgetDecay(end: number): Decay {
  return { start: Math.min(end - 1, Math.round(end * (1 - DECAY_SHARE))), end };
}

/**
 * A time budget's window, once DECAY_SHARE of `maxSeconds` is left (null before): from
 * `step` to where the speed so far (`stepsHere` steps in `secondsHere`, this process's,
 * checks included, as the rest of the run will include them) reaches the budget's end.
 */
export function planTimeDecay(step: number, stepsHere: number, secondsHere: number, maxSeconds: number): Decay | null {
  if (secondsHere < maxSeconds * (1 - DECAY_SHARE) || stepsHere < 1) return null;
  const remaining = Math.max(0, maxSeconds - secondsHere);
  return { start: step, end: step + Math.max(1, Math.round((stepsHere / secondsHere) * remaining)) };
}
