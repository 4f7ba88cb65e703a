/**
 * Shows training as it happens: a progress bar on a terminal; in a pipe or a CI log,
 * plain lines at validations and every few seconds (no escape codes).
 */
import cliProgress from 'cli-progress';
import type { StepProgress, TrainingObserver, TrainingPlan } from '../training/trainer.js';
import { formatCount, formatDuration, info, paint } from './output.js';

const PLAIN_LINE_SECONDS = 10;

export class TrainingProgress implements TrainingObserver {
  private bar: cliProgress.SingleBar | null = null;
  private plan: TrainingPlan | null = null;
  private lastValLoss = '–';
  private lastPlainLine = 0;
  private latest: StepProgress | null = null;

  constructor(private readonly interactive = Boolean(process.stderr.isTTY)) {}

  onStart(plan: TrainingPlan): void {
    this.plan = plan;
    if (!this.interactive) return;
    this.bar = new cliProgress.SingleBar(
      {
        stream: process.stderr,
        format: `${paint.cyan('{bar}')} step {value}/{total} | epoch {epoch} | loss {loss} | val {val} | {rate} chars/s | ETA {eta_formatted}`,
        barsize: 24,
        hideCursor: true,
        etaBuffer: 50,
        fps: 5,
      },
      cliProgress.Presets.shades_classic,
    );
    this.bar.start(Number.isFinite(plan.totalSteps) ? plan.totalSteps : 0, plan.firstStep, { epoch: '0.00', loss: '–', val: '–', rate: '–' });
  }

  onStep(progress: StepProgress): void {
    this.latest = progress;
    if (this.bar) {
      this.bar.update(progress.step, this.fields(progress));
    } else if (progress.seconds - this.lastPlainLine >= PLAIN_LINE_SECONDS) {
      this.lastPlainLine = progress.seconds;
      info(this.plainLine(progress));
    }
  }

  onValidation(step: number, valLoss: number, isBest: boolean): void {
    this.lastValLoss = valLoss.toFixed(3) + (isBest ? '*' : '');
    if (this.bar) {
      if (this.latest) this.bar.update(step, this.fields(this.latest));
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

  private fields(p: StepProgress): Record<string, string> {
    return { epoch: p.epoch.toFixed(2), loss: p.loss.toFixed(3), val: this.lastValLoss, rate: formatCount(p.charsPerSecond) };
  }

  private plainLine(p: StepProgress): string {
    const total = this.plan && Number.isFinite(this.plan.totalSteps) ? `/${this.plan.totalSteps}` : '';
    return `step ${p.step}${total} | epoch ${p.epoch.toFixed(2)} | loss ${p.loss.toFixed(3)} | ${formatCount(p.charsPerSecond)} chars/s | ${formatDuration(p.seconds)}`;
  }
}
