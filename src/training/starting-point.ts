/**
 * Where a training run starts: fresh weights, an exact resume of an earlier run, or
 * another run's weights to fine-tune (with a new optimiser). Each checks that the
 * corpus fits what it starts from.
 */
import * as tf from '../tf.js';
import { Adam } from './adam.js';
import type { HistoryEntry, LoadedCheckpoint } from '../checkpoint/checkpoint.js';
import type { TrainConfig } from './config.js';
import type { Decay } from './learning-rate.js';
import type { Corpus } from '../data/corpus.js';
import { CorpusError, UserError } from '../errors.js';
import type { RecurrentState } from '../cells/cell.js';
import { CharModel, type ModelConfig } from '../model/model.js';
import { Rng } from '../rng.js';
import { quoteChars, Vocabulary } from '../data/vocab.js';

/** Everything the loop carries from step to step besides tensors. */
export interface Progress {
  step: number;
  history: HistoryEntry[];
  valLoss: number | null;
  bestValLoss: number | null;
  staleValidations: number;
  lossSinceEval: { sum: number; count: number };
  /** The divergence guard's floor (rollback.ts), saved as the checkpoint's `minLoss`. */
  lossFloor: number;
  lrScale: number;
  rollbacks: number;
  /** A time budget's learning-rate decay, once planned (learning-rate.ts). */
  timeDecay: Decay | null;
  /** Training seconds spent before this process (for a resumed run). */
  seconds: number;
}

/** What a step changes besides the weights and Adam's moments; all of it is saved for an exact resume. */
export interface RunState {
  /** The recurrent state carried from one batch to the next. */
  carried: RecurrentState[];
  /** Draws each step's dropout seed. */
  rng: Rng;
  progress: Progress;
}

export interface StartingPoint {
  vocab: Vocabulary;
  model: CharModel;
  adam: Adam;
  /** The recurrent state carried into the first step; null means the model's initial state. */
  carried: RecurrentState[] | null;
  rng: Rng;
  progress: Progress;
}

const newProgress = (): Progress => ({
  step: 0,
  history: [],
  valLoss: null,
  bestValLoss: null,
  staleValidations: 0,
  lossSinceEval: { sum: 0, count: 0 },
  lossFloor: Infinity,
  lrScale: 1,
  rollbacks: 0,
  timeDecay: null,
  seconds: 0,
});

/** Throws if a model of this shape cannot be trained here (memory.ts); called before it is allocated. */
export type FitCheck = (model: ModelConfig) => void;

export function startFresh(corpus: Corpus, config: TrainConfig, assertFits: FitCheck = () => {}): StartingPoint {
  const vocab = Vocabulary.fromText(corpus.text);
  // Predicting the next character needs two to choose from; with one there is nothing to learn.
  if (vocab.size < 2)
    throw new CorpusError(
      `${corpus.path} has only one distinct character (${quoteChars(vocab.chars)}): ` +
        'there is nothing to learn; give a text with at least two',
    );
  const { hidden, layers, dropout, cell, learnedInit } = config;
  const shape = { vocabSize: vocab.size, hidden, layers, dropout, cell, learnedInit };
  assertFits(shape);
  const model = CharModel.create(shape, config.seed);
  return freshStart(vocab, model, config);
}

/** Continues a run exactly: the checkpoint must be loaded with `{ resume: true }`. */
export function startFromResume(corpus: Corpus, checkpoint: LoadedCheckpoint): StartingPoint {
  const { meta, model, vocab, resume } = checkpoint;
  if (!resume) throw new Error('checkpoint was not loaded for resuming');
  if (corpus.fingerprint !== meta.training.corpus.fingerprint) {
    throw new CorpusError(
      `${corpus.path} is not the text ${checkpoint.dir} was trained on (its SHA-256 differs); ` +
        'resuming needs the same corpus, --init-from takes a new one',
    );
  }
  const weights = model.variables.length;
  const moments = resume.tensors.slice(0, 2 * weights);
  const states = resume.tensors.slice(2 * weights);
  const perLayer = model.cell.state.length;
  const carried = Array.from(
    { length: states.length / perLayer },
    (_, l) => states.slice(perLayer * l, perLayer * (l + 1)) as tf.Tensor2D[],
  );
  const t = meta.training;
  return {
    vocab,
    model,
    adam: new Adam(model.variables, { beta2: meta.training.config.beta2, moments: { step: resume.adamStep, tensors: moments } }),
    carried,
    rng: new Rng(resume.rngState),
    progress: {
      step: t.step,
      history: t.history,
      valLoss: t.valLoss,
      bestValLoss: t.bestValLoss,
      staleValidations: resume.staleValidations,
      lossSinceEval: resume.lossSinceEval,
      lossFloor: resume.minLoss,
      lrScale: resume.lrScale,
      rollbacks: resume.rollbacks,
      timeDecay: unfinishedDecay(resume.timeDecay, t.step),
      seconds: t.seconds,
    },
  };
}

/**
 * A time budget's decay that a resumed run still has to finish: an interrupted one goes
 * on exactly; one that ran to its end belonged to that budget, and the resumed run plans
 * its own.
 */
function unfinishedDecay(decay: Decay | null, step: number): Decay | null {
  return decay !== null && step < decay.end ? decay : null;
}

/**
 * Fine-tuning: another run's weights, a fresh optimiser and history. Characters of the
 * corpus that the checkpoint's vocabulary lacks stop the run, unless `extendVocab`
 * appends them (their weights start as a fresh model's).
 */
export function startFromWeights(
  corpus: Corpus,
  config: TrainConfig,
  checkpoint: LoadedCheckpoint,
  extendVocab: boolean,
  assertFits: FitCheck = () => {},
): StartingPoint {
  const unknown = checkpoint.vocab.unknownChars(corpus.text);
  let { model, vocab } = checkpoint;
  assertFits({ ...model.config, vocabSize: vocab.size + (extendVocab ? unknown.length : 0) });
  if (unknown.length > 0) {
    if (!extendVocab) {
      throw new UserError(
        `${corpus.path} has ${unknown.length} characters ${checkpoint.dir} never saw: ` +
          `${quoteChars(unknown, 10)}; pass --extend-vocab to add them`,
      );
    }
    vocab = new Vocabulary([...vocab.chars, ...unknown]);
    const extended = model.withExtraCharacters(unknown.length, config.seed);
    model.dispose();
    model = extended;
  }
  return freshStart(vocab, model, config);
}

/** A run that starts anew from `model`: a fresh optimiser, carried state, random stream and history. */
function freshStart(vocab: Vocabulary, model: CharModel, config: TrainConfig): StartingPoint {
  const adam = new Adam(model.variables, { beta2: config.beta2 });
  return { vocab, model, adam, carried: null, rng: new Rng(config.seed + 1), progress: newProgress() };
}
