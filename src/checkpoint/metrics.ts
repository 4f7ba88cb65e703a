/**
 * Training metrics as JSON lines: `metrics.jsonl` in the run directory, one line per
 * step, for plotting and for tools such as jq or pandas:
 *   {"step":1,"epoch":0.0135,"trainLoss":4.37,"lr":0.002,"charsPerSecond":12000,"seconds":0.41,"time":"2025-…Z"}
 * `valLoss` is present on the steps where the validation loss was measured. `seconds` is
 * training time (it carries across a resume), `time` the wall-clock time of the line.
 *
 * The file is opened once and only appended to; each line is written whole with one
 * write, so a crash loses at most the line being held for its validation loss.
 * A resumed run appends to the same file (or, resumed into another run directory, to a
 * copy of it); `readMetrics` keeps the last timeline when steps were repeated (a resume
 * from an earlier checkpoint, a rollback). A failed write throws an OutputError.
 */
import { closeSync, copyFileSync, existsSync, openSync, writeSync } from 'node:fs';
import { CheckpointError, writeFailure } from '../errors.js';
import { readRegularFile } from '../read-file.js';
import { FieldError, metricsLineSchema } from './schema.js';

export const METRICS_FILE = 'metrics.jsonl';

export interface MetricsRecord {
  step: number;
  /** Epochs completed, fractional. */
  epoch: number;
  trainLoss: number;
  /** Only on steps where validation ran. */
  valLoss?: number;
  lr: number;
  charsPerSecond: number;
  /** Training seconds so far, across resumes. */
  seconds: number;
  /** ISO 8601 wall-clock time the step finished. */
  time: string;
}

/** What the trainer reports after each step (a subset of its `StepProgress`). */
export interface StepMetrics {
  step: number;
  epoch: number;
  loss: number;
  lr: number;
  charsPerSecond: number;
  seconds: number;
}

export class MetricsLog {
  private fd: number | null = null;
  /** The latest step, held until we know whether it gets a validation loss. */
  private pending: MetricsRecord | null = null;

  /**
   * `append`: continue the file (a resumed run); `continueFrom`: continue a copy of that
   * file (a run resumed into another directory); otherwise a fresh run starts it anew.
   */
  constructor(
    readonly path: string,
    private readonly options: { append: boolean; continueFrom?: string },
  ) {}

  /** Opens the file; called once training has really started, so a failed start leaves an old file alone. */
  open(): void {
    if (this.fd !== null) return;
    const { append, continueFrom } = this.options;
    try {
      const copied = continueFrom !== undefined && existsSync(continueFrom);
      if (copied) copyFileSync(continueFrom, this.path);
      this.fd = openSync(this.path, append || copied ? 'a' : 'w');
    } catch (err) {
      throw writeFailure(this.path, err);
    }
  }

  step(p: StepMetrics): void {
    this.flush();
    this.pending = {
      step: p.step,
      epoch: round(p.epoch, 6),
      trainLoss: p.loss,
      lr: p.lr,
      charsPerSecond: Math.round(p.charsPerSecond),
      seconds: round(p.seconds, 3),
      time: new Date().toISOString(),
    };
  }

  validation(step: number, valLoss: number): void {
    if (this.pending?.step === step) this.pending = insertAfter(this.pending, 'trainLoss', { valLoss });
    else this.write({ step, valLoss });
  }

  /** Writes the held line. */
  flush(): void {
    if (this.pending) this.write(this.pending);
    this.pending = null;
  }

  close(): void {
    this.flush();
    if (this.fd !== null) closeSync(this.fd);
    this.fd = null;
  }

  private write(record: object): void {
    this.open();
    try {
      writeSync(this.fd!, `${JSON.stringify(record)}\n`);
    } catch (err) {
      throw writeFailure(this.path, err);
    }
  }
}

/** About ten million steps of lines: far more than a run writes. */
const METRICS_MAX_BYTES = 2 ** 30;

/**
 * The records of a metrics file in step order. When a step number comes again (a resume
 * from an earlier checkpoint, a rollback), the records from that step on are replaced by
 * the later ones. A torn line (a crash mid-write, which a resumed run then appends to) is
 * not JSON and is ignored; a line that is JSON must have the fields of a record
 * (schema.ts), or the file is refused naming the line and field.
 */
export function readMetrics(path: string): MetricsRecord[] {
  if (!existsSync(path)) return [];
  const text = readRegularFile(path, { maxBytes: METRICS_MAX_BYTES }, (reason) => new CheckpointError(`${path} ${reason}`)).toString(
    'utf8',
  );
  const records: MetricsRecord[] = [];
  for (const [index, line] of text.split('\n').entries()) {
    if (!line.trim()) continue;
    let parsed: unknown;
    try {
      parsed = JSON.parse(line);
    } catch {
      continue;
    }
    let record: Partial<MetricsRecord>;
    try {
      record = metricsLineSchema(parsed, 'line') as Partial<MetricsRecord>;
    } catch (err) {
      if (err instanceof FieldError)
        throw new CheckpointError(`${path} line ${index + 1}: field ${err.field.replace(/^line\.?/, '') || '(the line)'} ${err.problem}`);
      throw err;
    }
    const last = records.at(-1);
    if (last && record.step === last.step && record.trainLoss === undefined) {
      Object.assign(last, record); // a validation written on its own line
      continue;
    }
    while (records.length && records[records.length - 1].step >= record.step!) records.pop();
    records.push(record as MetricsRecord);
  }
  return records;
}

function round(x: number, digits: number): number {
  const f = 10 ** digits;
  return Math.round(x * f) / f;
}

/** A copy of `record` with `extra` placed right after `key`, so the fields read in a natural order. */
function insertAfter<T extends object>(record: T, key: keyof T, extra: object): T {
  const entries = Object.entries(record);
  const at = entries.findIndex(([k]) => k === key) + 1;
  return Object.fromEntries([...entries.slice(0, at), ...Object.entries(extra), ...entries.slice(at)]) as T;
}
