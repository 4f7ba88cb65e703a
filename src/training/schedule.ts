/**
 * When a run validates, writes its latest checkpoint, and stops. Without a budget: every
 * DEFAULT_CHECK_STEPS steps. --max-steps is divided into CHECKS_PER_BUDGET parts, so a
 * short run is not all validation and a long one still keeps its best checkpoint often
 * enough. Under --max-time alone the checks are spaced by what they cost: each one is
 * followed by enough training that checks take at most CHECK_SHARE of the time, so a
 * 1-minute budget is not a quarter checking. --eval-every / --save-every override both.
 */
import type { TrainConfig } from './config.js';
import type { StopReason, TrainingPlan } from './observer.js';
import type { Decay } from './learning-rate.js';

/** Validations (each with a write of the latest checkpoint) a budget is divided into at most, unless --eval-every / --save-every say otherwise. */
export const CHECKS_PER_BUDGET = 20;
/** Under --max-time: the share of the time that validations and checkpoints may take (the final ones aside). */
export const CHECK_SHARE = 0.05;
/**
 * Under --max-time: checks are never further apart than this part of the budget, however
 * much they cost, so that `best/` has a few candidates and `latest/` is never older.
 */
export const MIN_CHECKS_PER_BUDGET = 4;
/** Without a budget: every this many steps. */
export const DEFAULT_CHECK_STEPS = 100;

/** Every so many steps (reproducible), or paced to a time budget of so many seconds. */
export type Interval = { steps: number } | { budgetSeconds: number };

/**
 * How often to validate (or save): every `given` steps if the flag was given; else a
 * twentieth of --max-steps; else paced to --max-time; else every DEFAULT_CHECK_STEPS steps.
 * A steps budget stays in steps: its checks cost time but no steps, and a run must give
 * the same history (and --patience stop) on every machine.
 */
export function checkInterval(given: number | null, config: Pick<TrainConfig, 'maxSteps' | 'maxSeconds'>, totalSteps: number): Interval {
  if (given !== null) return { steps: given };
  if (config.maxSteps !== null) return { steps: Math.max(1, Math.ceil(totalSteps / CHECKS_PER_BUDGET)) };
  if (config.maxSeconds !== null) return { budgetSeconds: config.maxSeconds };
  return { steps: DEFAULT_CHECK_STEPS };
}

/**
 * Under a time budget of `budget` seconds: seconds from the start of one check to the
 * start of the next, after a check that took `cost` seconds. Long enough that the check
 * is at most CHECK_SHARE of it, but between a twentieth and a quarter of the budget.
 */
export function checkPeriod(budget: number, cost: number): number {
  return Math.min(budget / MIN_CHECKS_PER_BUDGET, Math.max(budget / CHECKS_PER_BUDGET, cost / CHECK_SHARE));
}

/**
 * Whether a validation (or a save) is due: every so many steps, or, under a time budget,
 * once a period (`checkPeriod`) has passed since the last check started; the first after a
 * twentieth of the budget. Seconds are this process's.
 */
export class Cadence {
  private nextSeconds: number;

  constructor(private readonly interval: Interval) {
    this.nextSeconds = 'budgetSeconds' in interval ? interval.budgetSeconds / CHECKS_PER_BUDGET : Infinity;
  }

  due(step: number, secondsHere: number): boolean {
    if ('steps' in this.interval) return step % this.interval.steps === 0;
    return secondsHere >= this.nextSeconds;
  }

  /** A check this cadence called for ran from `start` to `end`: the whole pause, whatever else it held. */
  ran(start: number, end: number): void {
    if ('budgetSeconds' in this.interval) this.nextSeconds = start + checkPeriod(this.interval.budgetSeconds, end - start);
  }
}

/** The step at which --epochs ends a run: Infinity when it sets no limit (null). */
export function epochsEnd(config: Pick<TrainConfig, 'epochs'>, stepsPerEpoch: number): number {
  return config.epochs === null ? Infinity : config.epochs * stepsPerEpoch;
}

/**
 * Why the run stops after `step`, if it does: its length, its time (`secondsHere`, this
 * process's; or the end of the decay a time budget planned, where the rate reaches 0), or
 * an abort.
 */
export function stopReason(
  step: number,
  plan: TrainingPlan,
  config: TrainConfig,
  secondsHere: number,
  timeDecay: Decay | null,
  signal: AbortSignal | undefined,
): StopReason | null {
  if (step >= plan.totalSteps) return step >= epochsEnd(config, plan.stepsPerEpoch) ? 'epochs' : 'max-steps';
  if (config.maxSeconds !== null && secondsHere >= config.maxSeconds) return 'max-time';
  if (timeDecay !== null && step >= timeDecay.end) return 'max-time';
  return signal?.aborted ? 'interrupted' : null;
}
