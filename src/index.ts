/**
 * charrnn as a library (`import { train } from 'charrnn'`): train, resume and fine-tune
 * character models, sample from them and score text, load and save checkpoints, with
 * the rules the command line enforces (it is built on these). Nothing here prints or
 * exits; bad input throws a `UserError` subclass with a one-line message.
 *
 * Choose a tfjs backend first: `await selectBackend()`.
 */
export { selectBackend, type BackendChoice, type BackendInfo } from './backend/select.js';
export { CELL_TYPES, type CellType } from './cells/registry.js';
export {
  FORMAT_VERSION,
  loadCheckpoint,
  readCheckpointMeta,
  type CheckpointMeta,
  type LoadedCheckpoint,
  type ResumeState,
  type TrainingRecord,
} from './checkpoint/checkpoint.js';
export { saveCheckpoint } from './checkpoint/save.js';
export { readCorpus, type Corpus, type CorpusFile, type TextEncoding } from './data/corpus.js';
export { readCorpusFrom, reopenCorpus, STDIN, STDIN_LIMIT_BYTES } from './data/sources.js';
export { Vocabulary } from './data/vocab.js';
export { claimNewRunDirectory, claimRunDirectory, type LockHolder, type RunClaim } from './checkpoint/run-directory.js';
export { CheckpointError, CorpusError, OutputError, TrainingDivergedError, UserError, WorkerError } from './errors.js';
export { CharModel, type ModelConfig } from './model/model.js';
export {
  generate,
  sampleStreams,
  Sampler,
  type BatchSampleRequest,
  type Sample,
  type SampleEvent,
  type SampleRequest,
  type StreamSettings,
} from './sampling/sampler.js';
export { SAMPLE_DEFAULTS, SAMPLE_OPTIONS, type Distribution, type SampleSettings } from './sampling/options.js';
export { evaluate, scorableIds, validationSplit, type Score } from './scoring/evaluate.js';
export { meanBits, surprisal, type CharSurprisal } from './scoring/surprisal.js';
export { TRAIN_DEFAULTS, TRAIN_OPTIONS, type TrainConfig } from './training/config.js';
export { assertMemoryFits, estimateSamplingMemory, estimateTrainingMemory, type MemoryEstimate } from './training/memory.js';
export { RESUMABLE } from './training/settings.js';
export { fineTune, resume, train } from './training/claimed-run.js';
export type { FineTuneOptions, ResumeOptions, TrainOptions } from './training/trainer.js';
export type { StepProgress, StopReason, TrainingObserver, TrainingPlan, TrainResult } from './training/observer.js';
