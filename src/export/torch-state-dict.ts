/**
 * A charrnn model as a PyTorch state dict in a safetensors file, and back. The modules:
 *   rnn      torch.nn.LSTM (or nn.RNN, tanh), input_size V (one-hot input), hidden_size H,
 *            num_layers L, time-major (batch_first=False)
 *   decoder  torch.nn.Linear(H, V); softmax over its output
 * and the state-dict names, for layer k with G gates (4 for the LSTM, 1 for the RNN):
 *   rnn.weight_ih_l{k}  (G·H, D)  = W_kᵀ   (D = V for k = 0, H above)
 *   rnn.weight_hh_l{k}  (G·H, H)  = U_kᵀ
 *   rnn.bias_ih_l{k}    (G·H)     = b_k
 *   rnn.bias_hh_l{k}    (G·H)     = zeros on export; import adds it to bias_ih, as torch does
 *   decoder.weight      (V, H)    = W_yᵀ
 *   decoder.bias        (V)       = b_y
 * The LSTM's gates are in torch's order (i, f, g, o) already, so no rows move.
 * Metadata (strings; JSON where structured): format "charrnn", format_version, vocabulary
 * (JSON list: id k is one-hot column k and decoder row k), model (ModelConfig), training
 * (the training record: settings, step, corpus path and SHA-256; no resume state) and
 * corpus_fingerprint (that SHA-256 again, for readers of the metadata alone).
 *
 * Not exported: GRU models (see cells/registry.ts) and --learned-init ones (nn.LSTM starts from
 * the state it is given; refused rather than carried as tensors torch would ignore).
 */
import type { LoadedCheckpoint, TrainingRecord } from '../checkpoint/checkpoint.js';
import { CELLS, isCellType } from '../cells/registry.js';
import { TRAIN_DEFAULTS } from '../training/config.js';
import { CheckpointError, UserError } from '../errors.js';
import type { ModelConfig } from '../model/model.js';
import { Vocabulary } from '../data/vocab.js';
import type { NamedArray, SafetensorsContents } from './safetensors.js';

export const TORCH_FORMAT_VERSION = 1;

/** What an imported file holds: a model's config, vocabulary, training record and weights (in `weightSpecs` order). */
export interface ImportedModel {
  config: ModelConfig;
  vocab: Vocabulary;
  training: TrainingRecord;
  weights: { shape: number[]; data: Float32Array }[];
}

/** The state dict and metadata of a checkpoint; refuses (exit 2) what torch cannot hold. */
export function torchStateDict({ model, meta, dir }: LoadedCheckpoint): SafetensorsContents {
  const config = model.config;
  const torch = CELLS[config.cell].torch;
  if ('unsupported' in torch)
    throw new UserError(`${dir} is a ${config.cell.toUpperCase()} model: ${torch.unsupported}; export it with --format tfjs`);
  if (config.learnedInit)
    throw new UserError(
      `${dir} was trained with --learned-init: torch.nn.${torch.module} has no learned initial state to hold it; ` +
        'export a model trained without it',
    );
  const ours = model.weights.map(({ tensor }) => ({ shape: tensor.shape, data: tensor.dataSync() as Float32Array }));
  const tensors: NamedArray[] = [];
  for (let k = 0; k < config.layers; k++) {
    const [W, U, b] = ours.slice(3 * k, 3 * k + 3);
    tensors.push(
      { name: `rnn.weight_ih_l${k}`, ...transposed(W) },
      { name: `rnn.weight_hh_l${k}`, ...transposed(U) },
      { name: `rnn.bias_ih_l${k}`, shape: b.shape, data: b.data },
      { name: `rnn.bias_hh_l${k}`, shape: b.shape, data: new Float32Array(b.data.length) },
    );
  }
  const [Wy, by] = ours.slice(3 * config.layers);
  tensors.push({ name: 'decoder.weight', ...transposed(Wy) }, { name: 'decoder.bias', shape: by.shape, data: by.data });
  return {
    tensors,
    metadata: {
      format: 'charrnn',
      format_version: String(TORCH_FORMAT_VERSION),
      vocabulary: JSON.stringify(meta.vocab),
      model: JSON.stringify(config),
      training: JSON.stringify(meta.training),
      corpus_fingerprint: meta.training.corpus.fingerprint,
    },
  };
}

/** Checks a file's names, shapes, vocabulary and metadata against each other; errors name `source` (exit 4). */
export function fromTorchStateDict({ tensors, metadata }: SafetensorsContents, source: string): ImportedModel {
  const fail = (why: string): never => {
    throw new CheckpointError(`${source}: ${why}`);
  };
  const version = Number(metadata.format_version);
  if (metadata.format !== 'charrnn' || !Number.isInteger(version))
    fail('no charrnn metadata (format, format_version): not written by charrnn export or scale-out/train_ddp.py');
  if (version > TORCH_FORMAT_VERSION)
    fail(`format_version ${version} is newer than this charrnn reads (${TORCH_FORMAT_VERSION}); upgrade charrnn`);
  const config = modelConfig(parseJson(metadata.model, 'model', fail), fail);
  const vocab = vocabulary(parseJson(metadata.vocabulary, 'vocabulary', fail), config.vocabSize, fail);
  const training = trainingRecord(parseJson(metadata.training, 'training', fail), config, fail);

  const byName = new Map(tensors.map((t) => [t.name, t]));
  const expected = torchSpecs(config);
  const extra = tensors.find((t) => !expected.some((e) => e.name === t.name));
  if (extra) fail(`unexpected tensor ${extra.name} for a ${config.layers}-layer ${config.cell.toUpperCase()}`);
  for (const { name, shape } of expected) {
    const found = byName.get(name) ?? fail(`tensor ${name} is missing`);
    if (found.shape.join() !== shape.join()) fail(`tensor ${name} has shape [${found.shape}], the model metadata needs [${shape}]`);
  }
  const get = (name: string) => byName.get(name)!;
  const weights: ImportedModel['weights'] = [];
  for (let k = 0; k < config.layers; k++) {
    const bias = get(`rnn.bias_ih_l${k}`).data.map((v, j) => v + get(`rnn.bias_hh_l${k}`).data[j]);
    weights.push(transposed(get(`rnn.weight_ih_l${k}`)), transposed(get(`rnn.weight_hh_l${k}`)), { shape: [bias.length], data: bias });
  }
  weights.push(transposed(get('decoder.weight')), { shape: get('decoder.bias').shape, data: get('decoder.bias').data });
  return { config, vocab, training, weights };
}

/** The state-dict names and shapes a model of `config` has, in file order. */
function torchSpecs(config: ModelConfig): { name: string; shape: number[] }[] {
  const { vocabSize: V, hidden: H } = config;
  const G = CELLS[config.cell].gates * H;
  const specs = [];
  for (let k = 0; k < config.layers; k++) {
    specs.push(
      { name: `rnn.weight_ih_l${k}`, shape: [G, k === 0 ? V : H] },
      { name: `rnn.weight_hh_l${k}`, shape: [G, H] },
      { name: `rnn.bias_ih_l${k}`, shape: [G] },
      { name: `rnn.bias_hh_l${k}`, shape: [G] },
    );
  }
  specs.push({ name: 'decoder.weight', shape: [V, H] }, { name: 'decoder.bias', shape: [V] });
  return specs;
}

/** A (rows, cols) matrix as (cols, rows). */
function transposed({ shape: [rows, cols], data }: { shape: number[]; data: Float32Array }): { shape: number[]; data: Float32Array } {
  const out = new Float32Array(data.length);
  for (let r = 0; r < rows; r++) {
    for (let c = 0; c < cols; c++) out[c * rows + r] = data[r * cols + c];
  }
  return { shape: [cols, rows], data: out };
}

function parseJson(text: string | undefined, key: string, fail: (why: string) => never): unknown {
  if (text === undefined) fail(`metadata has no "${key}"`);
  try {
    return JSON.parse(text!);
  } catch {
    return fail(`metadata "${key}" is not valid JSON`);
  }
}

function modelConfig(value: unknown, fail: (why: string) => never): ModelConfig {
  const m = value as Partial<ModelConfig> | null;
  const valid =
    typeof m === 'object' &&
    m !== null &&
    [m.vocabSize, m.hidden, m.layers].every((n) => Number.isInteger(n) && n! > 0) &&
    typeof m.dropout === 'number' &&
    m.dropout >= 0 &&
    m.dropout < 1 &&
    isCellType(m.cell) &&
    typeof m.learnedInit === 'boolean';
  if (!valid)
    fail('metadata "model" needs vocabSize, hidden, layers (positive integers), dropout in [0, 1), cell (lstm or rnn) and learnedInit');
  const config = m as ModelConfig;
  const torch = CELLS[config.cell].torch;
  if ('unsupported' in torch) fail(`a ${config.cell.toUpperCase()} model cannot come from PyTorch: ${torch.unsupported}`);
  if (config.learnedInit) fail('metadata "model" says learnedInit, which a torch state dict cannot hold');
  return config;
}

function vocabulary(value: unknown, size: number, fail: (why: string) => never): Vocabulary {
  const valid = Array.isArray(value) && value.every((ch) => typeof ch === 'string' && [...ch].length === 1);
  if (!valid) fail('metadata "vocabulary" must be a JSON list of single characters');
  const chars = value as string[];
  if (chars.length !== size) fail(`metadata "vocabulary" has ${chars.length} characters, the model ${size}`);
  if (new Set(chars).size !== chars.length) fail('metadata "vocabulary" lists a character twice');
  return new Vocabulary(chars);
}

/** The record a checkpoint keeps; loading needs the fields checked here (see checkpoint/checkpoint.ts). */
function trainingRecord(value: unknown, model: ModelConfig, fail: (why: string) => never): TrainingRecord {
  const t = value as Partial<TrainingRecord> | null;
  const valid =
    typeof t === 'object' &&
    t !== null &&
    typeof t.config === 'object' &&
    t.config !== null &&
    [t.config.batch, t.config.seq].every((n) => Number.isInteger(n) && n > 0) &&
    typeof t.config.valFrac === 'number' &&
    typeof t.corpus === 'object' &&
    t.corpus !== null &&
    typeof t.corpus.path === 'string' &&
    typeof t.corpus.fingerprint === 'string';
  if (!valid) fail('metadata "training" needs config (batch, seq, valFrac) and corpus (path, fingerprint)');
  const { vocabSize: _v, ...shape } = model;
  const record = t as TrainingRecord;
  const { path, bytes, fingerprint, files } = record.corpus;
  return {
    ...record,
    // Written before corpora could be several files (or by scale-out/train_ddp.py): the one file it names.
    corpus: {
      ...record.corpus,
      files: Array.isArray(files) ? files : [{ path, bytes: typeof bytes === 'number' ? bytes : 0, fingerprint }],
    },
    config: { ...TRAIN_DEFAULTS, ...record.config, ...shape },
    step: Number.isInteger(record.step) ? record.step : 0,
    epoch: typeof record.epoch === 'number' ? record.epoch : 0,
    history: Array.isArray(record.history) ? record.history : [],
    valLoss: typeof record.valLoss === 'number' ? record.valLoss : null,
    bestValLoss: typeof record.bestValLoss === 'number' ? record.bestValLoss : null,
    backend: typeof record.backend === 'string' ? record.backend : 'unknown',
    seconds: typeof record.seconds === 'number' ? record.seconds : 0,
  };
}
