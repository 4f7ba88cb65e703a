/**
 * Shows training as it happens: a progress bar on a terminal, fitted to its width; in a
 * pipe or a CI log, plain lines at validations and every few seconds (no escape codes).
 * Under --max-time the bar and its ETA follow the clock (this process's seconds out of
 * the budget); otherwise the steps, out of --max-steps or the epochs.
 */
import cliProgress from 'cli-progress';
import type { StepProgress, TrainingObserver, TrainingPlan } from '../training/observer.js';
import { formatCount, formatDuration, info, paint } from './output.js';

const PLAIN_LINE_SECONDS = 10;
const BAR_WIDTH = 24;

/** One part of the progress line; on a narrow terminal the parts with the highest `drop` go first. */
export interface LineField {
  text: string;
  drop: number;
}

/**
 * The fields that fit in `columns`, in their given order, joined by " | ": fields are
 * dropped, highest `drop` first, until the line fits (the last one left is kept whole).
 */
export function fitLine(fields: readonly LineField[], columns: number): string {
  const kept = [...fields];
  const width = () => kept.reduce((n, f) => n + visibleLength(f.text), 0) + 3 * (kept.length - 1);
  while (kept.length > 1 && width() > columns) {
    const worst = kept.reduce((a, b) => (b.drop > a.drop ? b : a));
    kept.splice(kept.indexOf(worst), 1);
  }
  return kept.map((f) => f.text).join(' | ');
}

function visibleLength(text: string): number {
  return [...text.replace(/\x1b\[[0-9;]*m/g, '')].length; // colour codes take no columns
}

export class TrainingProgress implements TrainingObserver {
  private bar: cliProgress.SingleBar | null = null;
  private plan: TrainingPlan | null = null;
  private lastValLoss = '–';
  private lastPlainLine = 0;
  private latest: StepProgress | null = null;
  private started = 0;

  constructor(private readonly interactive = Boolean(process.stderr.isTTY)) {}

  onStart(plan: TrainingPlan): void {
    this.plan = plan;
    this.started = performance.now();
    if (!this.interactive) return;
    const timed = plan.config.maxSeconds !== null;
    this.bar = new cliProgress.SingleBar(
      {
        stream: process.stderr,
        format: (options, params, payload: Record<string, string>) => {
          const known = params.total > 0;
          const filled = known ? Math.round(Math.min(1, params.progress) * BAR_WIDTH) : 0;
          const bar = options.barCompleteString!.slice(0, filled) + options.barIncompleteString!.slice(0, BAR_WIDTH - filled);
          // cli-progress estimates from its last 50 updates, a fraction of a second of a
          // clock that ticks once a second (an ETA of 1s halfway through): the budget knows.
          const eta = timed ? params.total - params.value : params.eta;
          // A bar of ~105 characters cut off chars/s and the ETA on an 80-column terminal:
          // fit the width, keeping the step, loss, speed and ETA longest.
          return fitLine(
            [
              { text: paint.cyan(bar), drop: 6 },
              { text: timed ? `step ${payload.step}` : known ? `step ${params.value}/${params.total}` : `step ${params.value}`, drop: 0 },
              ...(timed ? [{ text: `${formatDuration(params.value)} of ${formatDuration(params.total)}`, drop: 3 }] : []),
              { text: `epoch ${payload.epoch}`, drop: 5 },
              { text: `loss ${payload.loss}`, drop: 1 },
              { text: `val ${payload.val}`, drop: 4 },
              { text: `${payload.rate} chars/s`, drop: 2 },
              ...(known && Number.isFinite(eta) ? [{ text: `ETA ${formatDuration(eta)}`, drop: 3 }] : []),
            ],
            (process.stderr.columns || 80) - 1,
          );
        },
        barsize: BAR_WIDTH,
        hideCursor: true,
        etaBuffer: 50,
        fps: 5,
      },
      cliProgress.Presets.shades_classic,
    );
    const fields = { step: String(plan.firstStep), epoch: '0.00', loss: '–', val: '–', rate: '–' };
    if (timed) this.bar.start(Math.round(plan.config.maxSeconds!), 0, fields);
    else this.bar.start(Number.isFinite(plan.totalSteps) ? plan.totalSteps : 0, plan.firstStep, fields);
  }

  onStep(progress: StepProgress): void {
    this.latest = progress;
    if (this.bar) {
      this.bar.update(this.barValue(progress.step), this.fields(progress));
    } else if (progress.seconds - this.lastPlainLine >= PLAIN_LINE_SECONDS) {
      this.lastPlainLine = progress.seconds;
      info(this.plainLine(progress));
    }
  }

  onValidation(step: number, valLoss: number, isBest: boolean): void {
    this.lastValLoss = valLoss.toFixed(3) + (isBest ? '*' : '');
    if (this.bar) {
      if (this.latest) this.bar.update(this.barValue(step), this.fields(this.latest));
    } else if (this.latest) {
      info(`${this.plainLine(this.latest)} | val ${this.lastValLoss}`);
      this.lastPlainLine = this.latest.seconds;
    }
  }

  /** Ends the bar so later lines start on a fresh line. */
  stop(): void {
    this.bar?.stop();
    this.bar = null;
  }

  /** Seconds of this process under --max-time, else the step. */
  private barValue(step: number): number {
    return this.plan?.config.maxSeconds != null
      ? Math.min(this.plan.config.maxSeconds, Math.round((performance.now() - this.started) / 1000))
      : step;
  }

  private fields(p: StepProgress): Record<string, string> {
    return {
      step: String(p.step),
      epoch: p.epoch.toFixed(2),
      loss: p.loss.toFixed(3),
      val: this.lastValLoss,
      rate: formatCount(p.charsPerSecond),
    };
  }

  private plainLine(p: StepProgress): string {
    const timed = this.plan?.config.maxSeconds != null;
    const total = !timed && this.plan && Number.isFinite(this.plan.totalSteps) ? `/${this.plan.totalSteps}` : '';
    const clock = timed
      ? `${formatDuration((performance.now() - this.started) / 1000)} of ${formatDuration(this.plan!.config.maxSeconds!)}`
      : formatDuration(p.seconds);
    const rate = `${formatCount(p.charsPerSecond)} chars/s`;
    return `step ${p.step}${total} | epoch ${p.epoch.toFixed(2)} | loss ${p.loss.toFixed(3)} | ${rate} | ${clock}`;
  }
}
