/**
 * The corpus as the loop needs it: ids, how often each character occurs (recorded in
 * the checkpoint), and the training and validation splits, the training split batched
 * into streams. Refuses a corpus too small for the batch shape or for validation.
 */
import { StreamBatcher } from '../data/batches.js';
import { splitIds, type Corpus } from '../data/corpus.js';
import type { Vocabulary } from '../data/vocab.js';
import { CorpusError } from '../errors.js';
import type { TrainConfig } from './config.js';

export interface TrainingData {
  ids: Int32Array;
  /** Occurrences of each vocabulary id in the whole corpus. */
  counts: number[];
  trainIds: Int32Array;
  valIds: Int32Array;
  batcher: StreamBatcher;
}

export function trainingData(corpus: Corpus, vocab: Vocabulary, config: TrainConfig): TrainingData {
  const ids = vocab.encode(corpus.text);
  const counts = new Array<number>(vocab.size).fill(0);
  for (const id of ids) counts[id]++;
  const { train: trainIds, val: valIds } = splitIds(ids, config.valFrac);
  return { ids, counts, trainIds, valIds, batcher: makeBatcher(trainIds, valIds, config) };
}

function makeBatcher(trainIds: Int32Array, valIds: Int32Array, config: TrainConfig): StreamBatcher {
  const needed = StreamBatcher.minimumLength(config.batch, config.seq);
  if (trainIds.length < needed) {
    const fitBatch = Math.floor((trainIds.length - 1) / config.seq);
    const hint =
      fitBatch >= 1 ? `--batch ${fitBatch} or less would fit` : `try --seq ${Math.max(1, Math.floor((trainIds.length - 1) / 2))} --batch 1`;
    throw new CorpusError(
      `corpus too small: the training split has ${trainIds.length} characters ` +
        `but --batch ${config.batch} × --seq ${config.seq} needs at least ${needed}; ${hint}`,
    );
  }
  if (valIds.length < 2) {
    throw new CorpusError(
      `corpus too small for validation: --val-frac ${config.valFrac} leaves ${valIds.length} characters; ` +
        'raise --val-frac or give more text',
    );
  }
  return new StreamBatcher(trainIds, config.batch, config.seq);
}
