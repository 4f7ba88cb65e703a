/**
 * Errors a user can fix. The CLI prints their message as one line and exits with
 * `exitCode`; anything else is a bug and keeps its stack trace.
 */
export class UserError extends Error {
  constructor(message: string, readonly exitCode = 2) {
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
