/**
 * Errors a user can fix. The CLI prints their message as one line and exits with
 * `exitCode`; anything else is a bug and keeps its stack trace.
 */
export class UserError extends Error {
  constructor(
    message: string,
    readonly exitCode = 2,
  ) {
    super(message);
    this.name = 'UserError';
  }
}

/** The input text cannot be used (missing, empty, binary, not UTF-8, too small). */
export class CorpusError extends UserError {
  constructor(message: string) {
    super(message, 3);
    this.name = 'CorpusError';
  }
}

/** A checkpoint directory is missing, corrupt, or from an unknown format. */
export class CheckpointError extends UserError {
  constructor(message: string) {
    super(message, 4);
    this.name = 'CheckpointError';
  }
}

/** Training kept diverging after every rollback; the last good checkpoints are kept. */
export class TrainingDivergedError extends UserError {
  constructor(message: string) {
    super(message, 5);
    this.name = 'TrainingDivergedError';
  }
}

/**
 * Output cannot be written: a read-only folder, a full disk, a file where a directory
 * should be, a run directory in use by another process. The last good checkpoints are kept.
 */
export class OutputError extends UserError {
  constructor(message: string) {
    super(message, 6);
    this.name = 'OutputError';
  }
}

/**
 * A worker thread sharing training's or sampling's steps failed or stopped; the command
 * stops, and the checkpoints a training run saved are kept.
 */
export class WorkerError extends UserError {
  constructor(message: string) {
    super(message, 7);
    this.name = 'WorkerError';
  }
}

/**
 * A system error from writing `what`, as one line: `cannot write <what>: no space left on
 * device (ENOSPC)`; anything else is returned as it is.
 */
export function writeFailure(what: string, err: unknown): unknown {
  const code = (err as NodeJS.ErrnoException | null)?.code;
  if (err instanceof UserError || typeof code !== 'string') return err;
  // Node's message reads "ENOSPC: no space left on device, write '<path>'": keep the middle.
  const cause = /^[A-Z]+: ([^,]+)/.exec((err as Error).message)?.[1] ?? 'failed';
  return new OutputError(`cannot write ${what}: ${cause} (${code})`);
}
