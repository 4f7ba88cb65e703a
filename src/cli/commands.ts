/**
 * The program's own options and every command's arguments and options, declared once.
 * main.ts turns these into the commander program (and so --help), completion.ts into
 * shell completion, flags-doc.ts into docs/flags.md; the option values reach each
 * command function typed by them. Settings the library also takes (training, sampling)
 * come from its own tables.
 */
import { BACKEND_CHOICES, type BackendChoice } from '../backend/select.js';
import type { TextEncoding } from '../data/corpus.js';
import {
  choice,
  flag,
  integer,
  listOf,
  mandatoryText,
  overrides,
  text,
  toggle,
  type OptionSpec,
  type OptionValues,
} from '../options/option.js';
import { SAMPLE_OPTIONS } from '../sampling/options.js';
import { TRAIN_OPTIONS } from '../training/config.js';
import type { ArgumentSpec, CommandSpec, ProgramSpec } from './command-spec.js';

const backend = choice<BackendChoice>({
  flag: '--backend',
  group: 'device',
  choices: BACKEND_CHOICES,
  default: 'auto',
  help: 'auto: tfjs-node-gpu on a GPU, else wasm, else cpu; or force one',
});
const encoding = choice<TextEncoding>({
  flag: '--encoding',
  group: 'data',
  choices: ['utf8', 'latin1'],
  default: 'utf8',
  help: 'text encoding of the input file',
});
const json = (help: string): OptionSpec<boolean> => flag({ flag: '--json', group: 'output', help });
const checkpoint = {
  name: 'checkpoint',
  required: true,
  completes: 'dirs',
  help: 'a checkpoint directory, or a run directory (uses its best checkpoint)',
} as const satisfies ArgumentSpec;

/** The program's own options, for every command: given before or after it (`charrnn --no-color eval …`). */
export const PROGRAM = {
  name: 'charrnn',
  description: 'Multi-layer LSTM (or GRU, RNN) character language models: train on a text, sample from it, score it.',
  options: {
    color: toggle({
      flag: '--color',
      group: 'output',
      help: 'colour on stdout and stderr even when they are not a terminal (beats FORCE_COLOR and NO_COLOR)',
      negation: {
        flag: '--no-color',
        help: 'no colour (as NO_COLOR=1); without either flag: FORCE_COLOR, then NO_COLOR, then colour on a terminal',
      },
    }),
  },
} as const satisfies ProgramSpec;

export const TRAIN_COMMAND = {
  name: 'train',
  description: 'train a model on a text (default: the built-in corpus) and write checkpoints',
  arguments: [
    {
      name: 'corpus',
      required: false,
      variadic: true,
      completes: 'files',
      help:
        'text files or folders to learn from, as one text (a folder: its text files, recursively, by path); ' +
        '- reads standard input (up to 64 MiB)',
    },
  ] as const,
  options: {
    out: text({
      flag: '--out',
      short: '-o',
      placeholder: 'dir',
      group: 'run',
      default: undefined,
      completes: 'dirs',
      defaultText: 'checkpoints/<corpus name>, numbered if taken',
      help: 'run directory for checkpoints',
    }),
    force: flag({ flag: '--force', group: 'run', help: 'allow -o to overwrite checkpoints already there' }),
    resume: text({
      flag: '--resume',
      placeholder: 'checkpoint',
      group: 'run',
      default: undefined,
      completes: 'dirs',
      help: 'continue a run exactly where it stopped (a run directory means its latest checkpoint)',
    }),
    initFrom: text({
      flag: '--init-from',
      placeholder: 'checkpoint',
      group: 'run',
      default: undefined,
      completes: 'dirs',
      help: "fine-tune: start from a checkpoint's weights with a fresh optimiser",
    }),
    extendVocab: flag({
      flag: '--extend-vocab',
      group: 'run',
      help: 'with --init-from: add characters the checkpoint never saw instead of stopping',
    }),
    ...overrides(TRAIN_OPTIONS),
    encoding,
    threads: integer({
      flag: '--threads',
      group: 'device',
      min: 1,
      default: undefined,
      defaultText: 'one per core',
      help: 'threads sharing each step on the wasm/cpu backends (tfjs-node uses its own)',
    }),
    backend,
  },
  examples: `
  charrnn train                                  train on the built-in corpus
  charrnn train input.txt -o checkpoints/mine    train on your own text
  charrnn train letters/ -o checkpoints/letters  every text file in a folder, as one text
  cat *.txt | charrnn train - -o checkpoints/all standard input
  charrnn train input.txt --hidden 256 --dropout 0.2 --max-time 30m
  charrnn train --resume checkpoints/mine --epochs 40   continue a run, for longer
  charrnn train new.txt --init-from checkpoints/mine --extend-vocab -o checkpoints/tuned`,
} as const satisfies CommandSpec;

export const SAMPLE_COMMAND = {
  name: 'sample',
  description: 'generate text from a checkpoint, streamed to stdout',
  arguments: [checkpoint] as const,
  options: {
    length: SAMPLE_OPTIONS.length,
    temperature: listOf(SAMPLE_OPTIONS.temperature, {
      ...SAMPLE_OPTIONS.temperature,
      default: [1],
      example: '-t 0.2,0.6,1.2',
      help: `${SAMPLE_OPTIONS.temperature.help}; a comma list (0.5,1) samples the same prime at each`,
    }),
    argmax: flag({ flag: '--argmax', group: 'distribution', help: 'always pick the likeliest character (same as --temperature 0)' }),
    topK: SAMPLE_OPTIONS.topK,
    topP: SAMPLE_OPTIONS.topP,
    stop: SAMPLE_OPTIONS.stop,
    numSamples: integer({
      flag: '--num-samples',
      group: 'output',
      min: 1,
      default: 1,
      help: 'samples per temperature, generated together as one batch',
    }),
    prime: SAMPLE_OPTIONS.prime,
    seed: SAMPLE_OPTIONS.seed,
    json: json('one JSON object per sample per line: {"sample","prime","text","logprobs","stop","settings","checkpoint"}'),
    interactive: flag({
      flag: '--interactive',
      short: '-i',
      group: 'output',
      help: 'a prompt: type a prime, see the continuation; :t 0.7 and :n 300 change temperature and length, :help, Ctrl-D leaves',
    }),
    threads: integer({
      flag: '--threads',
      group: 'device',
      min: 1,
      default: undefined,
      defaultText: 'one per idle core where the work pays for it (a long sample of a large model, or of many samples), else one',
      help: 'threads sharing each step of sampling on the wasm backend (at most one per core); the text is the same on any number',
    }),
    backend,
  },
  examples: `
  charrnn sample checkpoints/default                       500 characters from the best checkpoint
  charrnn sample checkpoints/default -t 0.5 --prime "The "  safer text after a prime
  charrnn sample checkpoints/default -t 0.2,0.6,1.2 -n 200  the same prime at three temperatures
  charrnn sample checkpoints/default --num-samples 4        four samples at once, in one batch
  charrnn sample checkpoints/default --top-k 5              only ever one of the 5 likeliest characters
  charrnn sample checkpoints/default --top-p 0.9            only the likeliest characters making up 90%
  charrnn sample checkpoints/default --stop '\\n\\n'          end the sample at its first blank line
  charrnn sample checkpoints/default --json --num-samples 3 > samples.jsonl
  charrnn sample checkpoints/default/latest -n 2000 --seed 7 > out.txt
  charrnn sample checkpoints/default --interactive -n 200  prime after prime, at a prompt`,
  notes: `
Several samples (--num-samples, or a list of temperatures) are generated together, one
model step per character for all of them, and each is printed when it is done: on stdout
separated by a blank line, each announced on stderr by
  --- sample k of n (temperature t, seed s) ---
With --json, each line is one sample; "text" is the generated text after "prime", and
"logprobs" the natural-log probability the model (at temperature 1, before --top-k and
--top-p) gave each of its characters.`,
} as const satisfies CommandSpec;

export const EVAL_COMMAND = {
  name: 'eval',
  description: 'score a checkpoint: nats/char, bits/char and perplexity; --heatmap shows where the model is surprised',
  arguments: [
    checkpoint,
    { name: 'file', required: false, completes: 'files', help: 'text to score (default: the validation split of the training corpus)' },
  ] as const,
  options: {
    json: json('print one JSON object: {"nats","bits","perplexity","chars"}'),
    heatmap: flag({
      flag: '--heatmap',
      group: 'output',
      help: 'show the text with each character coloured by how surprised the model was (bits), the 10 most and least surprising characters',
    }),
    html: text({
      flag: '--html',
      placeholder: 'out.html',
      group: 'output',
      default: undefined,
      completes: 'files',
      help: 'write that heatmap as a self-contained HTML page (hover a character for the top-5 predictions)',
    }),
    limit: integer({
      flag: '--limit',
      group: 'output',
      min: 2,
      default: 2000,
      help: 'heatmap: characters shown, from the start of the text',
    }),
    encoding,
    backend,
  },
  examples: `
  charrnn eval checkpoints/default               the held-out validation text
  charrnn eval checkpoints/default test.txt --json
  charrnn eval checkpoints/default --heatmap     where the model is surprised, in colour
  charrnn eval checkpoints/default test.txt --html heatmap.html --limit 5000`,
} as const satisfies CommandSpec;

export const INFO_COMMAND = {
  name: 'info',
  description: 'show what a checkpoint holds: model, vocabulary, training run, validation loss history',
  arguments: [checkpoint] as const,
  options: { json: json('print one JSON object with the same fields') },
  examples: `
  charrnn info checkpoints/default               config, vocabulary, losses, a sparkline of validation loss
  charrnn info checkpoints/default/latest --json`,
} as const satisfies CommandSpec;

export const PLOT_COMMAND = {
  name: 'plot',
  description: "draw a run's training and validation loss against step: in the terminal, or as an SVG or PNG image",
  arguments: [
    { name: 'run-dir', required: true, completes: 'dirs', help: "a run directory (its metrics.jsonl, else its checkpoint's history)" },
  ] as const,
  options: {
    svg: text({
      flag: '--svg',
      placeholder: 'out.svg',
      group: 'output',
      default: undefined,
      completes: 'files',
      help: 'write the chart as an SVG image instead',
    }),
    png: text({
      flag: '--png',
      placeholder: 'out.png',
      group: 'output',
      default: undefined,
      completes: 'files',
      help: 'write the chart as a PNG image instead (needs a TrueType font on the machine)',
    }),
  },
  examples: `
  charrnn plot checkpoints/default                    a chart that fits the terminal
  charrnn plot checkpoints/default --svg loss.svg --png loss.png`,
  notes: `
Every training run appends one JSON line per step to <run-dir>/metrics.jsonl:
  {"step","epoch","trainLoss","valLoss" (when measured),"lr","charsPerSecond","seconds","time"}`,
} as const satisfies CommandSpec;

export const EXPORT_FORMATS = ['tfjs', 'safetensors'] as const;

export const EXPORT_COMMAND = {
  name: 'export',
  description: 'write a checkpoint as a tfjs layers model with a web page that samples from it, or as PyTorch weights (safetensors)',
  arguments: [
    checkpoint,
    {
      name: 'out',
      required: true,
      completes: 'files',
      help: 'tfjs: output directory (model.json, weights.bin, vocab.json, index.html, tf.min.js); safetensors: output file',
    },
  ] as const,
  options: {
    format: choice({
      flag: '--format',
      group: 'output',
      choices: EXPORT_FORMATS,
      default: 'tfjs',
      help: 'tfjs: a tfjs layers model and a web page in directory <out>; safetensors: a PyTorch state dict in file <out>',
    }),
    force: flag({ flag: '--force', group: 'output', help: 'overwrite an export already at <out>' }),
  },
  examples: `
  charrnn export checkpoints/default web/        then serve web/ (e.g. npx http-server web) and open it
  charrnn export checkpoints/default model.safetensors --format safetensors`,
  notes: `
tfjs: the model takes one-hot characters [batch, time, vocab] and gives next-character
probabilities at every step; vocab.json lists the characters by index.
safetensors: torch.nn.LSTM (or nn.RNN) weights as rnn.weight_ih_l0 ..., and decoder.weight,
decoder.bias for the nn.Linear; the vocabulary and settings are in the metadata;
scale-out/train_ddp.py trains it further and charrnn import reads it back.
Models trained with --learned-init cannot be exported, nor GRUs as safetensors.`,
} as const satisfies CommandSpec;

export const IMPORT_COMMAND = {
  name: 'import',
  description: 'write a checkpoint from PyTorch weights (a .safetensors file from charrnn export or scale-out/train_ddp.py)',
  arguments: [{ name: 'file', required: true, completes: 'files', help: 'a .safetensors file' }] as const,
  options: {
    out: mandatoryText({
      flag: '--out',
      short: '-o',
      placeholder: 'dir',
      group: 'output',
      completes: 'dirs',
      help: 'checkpoint directory to write',
    }),
    force: flag({ flag: '--force', group: 'output', help: 'overwrite checkpoints already in <dir>' }),
  },
  examples: `
  charrnn import trained.safetensors -o checkpoints/from-torch
  charrnn sample checkpoints/from-torch`,
  notes: `
The checkpoint has the weights and the training record, no optimiser state: sample,
eval, info and train --init-from use it; --resume cannot.`,
} as const satisfies CommandSpec;

export const SHELLS = ['bash', 'zsh', 'fish'] as const;
export type Shell = (typeof SHELLS)[number];

export const COMPLETION_COMMAND = {
  name: 'completion',
  description: "print a shell completion script for charrnn's commands and options",
  arguments: [{ name: 'shell', required: true, choices: SHELLS, help: 'bash, zsh or fish' }] as const,
  options: {},
  examples: `
  source <(charrnn completion bash)              in ~/.bashrc
  source <(charrnn completion zsh)               in ~/.zshrc (after compinit)
  charrnn completion fish | source               in ~/.config/fish/config.fish`,
} as const satisfies CommandSpec;

/** In the order --help lists them. */
export const COMMANDS = [
  TRAIN_COMMAND,
  SAMPLE_COMMAND,
  EVAL_COMMAND,
  INFO_COMMAND,
  PLOT_COMMAND,
  COMPLETION_COMMAND,
  EXPORT_COMMAND,
  IMPORT_COMMAND,
] as const;

export type TrainCommandOptions = OptionValues<(typeof TRAIN_COMMAND)['options']>;
export type SampleCommandOptions = OptionValues<(typeof SAMPLE_COMMAND)['options']>;
export type EvalCommandOptions = OptionValues<(typeof EVAL_COMMAND)['options']>;
export type InfoCommandOptions = OptionValues<(typeof INFO_COMMAND)['options']>;
export type PlotCommandOptions = OptionValues<(typeof PLOT_COMMAND)['options']>;
export type ExportCommandOptions = OptionValues<(typeof EXPORT_COMMAND)['options']>;
export type ImportCommandOptions = OptionValues<(typeof IMPORT_COMMAND)['options']>;
