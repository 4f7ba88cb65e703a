/**
 * Checkpoints from every older format, upgraded once, at load, to the current one: past
 * loading, no code re-defaults a field that an older charrnn did not write.
 *
 *   1 → 2   metadata: fields that format 1 gained during its life get the values that
 *           mean what its older writers did: model and training.config cell 'lstm' and
 *           learnedInit false (before --cell and --learned-init), patience null (before
 *           --patience: never), corpus.encoding 'utf8' (before --encoding).
 *           resume state: format 1 carried h and c for every cell; a GRU's or RNN's c
 *           was unused zeros, and the state is now the cell's own tensors.
 *   2 → 3   training.corpus.files: the one file a format-2 corpus always was (its path,
 *           bytes and fingerprint), before folders and standard input.
 *   3 → 4   training.config.beta2: 0.999, Adam's β2 before --beta2.
 */
import * as tf from '../tf.js';
import type { CharModel } from '../model/model.js';
import type { CheckpointMeta } from './checkpoint.js';

/**
 * `meta` as some format wrote it (fields added later may be absent, whatever its type
 * says) → the current format's. Leaves what it does not recognise to the caller's checks.
 */
export function upgradeMeta(meta: CheckpointMeta): CheckpointMeta {
  if (meta.formatVersion >= 4 || !meta.model || !meta.training?.config || !meta.training.corpus) return meta;
  const format3 = meta.formatVersion >= 3 ? meta : from2to3(meta.formatVersion >= 2 ? meta : from1to2(meta));
  return from3to4(format3);
}

function from3to4(meta: CheckpointMeta): CheckpointMeta {
  return { ...meta, formatVersion: 4, training: { ...meta.training, config: { ...meta.training.config, beta2: 0.999 } } };
}

function from2to3(meta: CheckpointMeta): CheckpointMeta {
  const { corpus } = meta.training;
  const file = { path: corpus.path, bytes: corpus.bytes, fingerprint: corpus.fingerprint };
  return { ...meta, formatVersion: 3, training: { ...meta.training, corpus: { ...corpus, files: [file] } } };
}

function from1to2(meta: CheckpointMeta): CheckpointMeta {
  const model = { ...meta.model, cell: meta.model.cell ?? 'lstm', learnedInit: meta.model.learnedInit ?? false };
  const { config, corpus } = meta.training;
  return {
    ...meta,
    formatVersion: 2,
    model,
    training: {
      ...meta.training,
      config: {
        ...config,
        cell: config.cell ?? model.cell,
        learnedInit: config.learnedInit ?? model.learnedInit,
        patience: config.patience ?? null,
      },
      corpus: { ...corpus, encoding: corpus.encoding ?? 'utf8' },
    },
  };
}

/**
 * The resume tensors (Adam's moments, then the carried state) as `writtenBy` wrote them →
 * the current format's; disposes what it drops.
 */
export function upgradeResumeTensors(writtenBy: number, tensors: tf.Tensor[], model: CharModel): tf.Tensor[] {
  if (writtenBy >= 2) return tensors;
  const moments = tensors.slice(0, 2 * model.variables.length);
  const pairs = tensors.slice(moments.length); // h, c per layer
  const perLayer = model.cell.state.length;
  tf.dispose(pairs.filter((_, k) => k % 2 >= perLayer));
  return [...moments, ...pairs.filter((_, k) => k % 2 < perLayer)];
}
