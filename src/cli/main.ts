/**
 * The command line: parses arguments, runs one command, and turns a UserError into
 * one line on stderr and an exit code. Anything else is a bug and keeps its stack.
 */
import { Argument, Command, CommanderError, Option } from 'commander';
import { readFileSync } from 'node:fs';
import { BACKEND_CHOICES } from '../backend/select.js';
import { CELL_TYPES } from '../cells/registry.js';
import { TRAIN_DEFAULTS } from '../training/config.js';
import { UserError, writeFailure } from '../errors.js';
import { completionScript, SHELLS, type Shell } from './completion.js';
import { evalCommand } from './eval.js';
import { EXPORT_FORMATS, exportCommand } from './export.js';
import { importCommand } from './import.js';
import { infoCommand } from './info.js';
import { out, paint, StdoutClosed } from './output.js';
import { plotCommand } from './plot.js';
import { choice, duration, escapedText, integer, real, realList, repeatable } from './parse.js';
import { sampleCommand } from './sample.js';
import { trainCommand } from './train.js';

const d = TRAIN_DEFAULTS;
const { version } = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string };

function backendOption(): Option {
  const option = new Option('--backend <name>', 'auto: tfjs-node-gpu, then tfjs-node, then wasm, then cpu; or force one')
    .argParser(choice('--backend', BACKEND_CHOICES))
    .default('auto');
  option.argChoices = [...BACKEND_CHOICES]; // shown in --help and completed by `charrnn completion`; checked by choice()
  return option;
}

function encodingOption(): Option {
  const option = new Option('--encoding <name>', 'text encoding of the input file: utf8 or latin1').argParser(choice('--encoding', ['utf8', 'latin1'] as const)).default('utf8');
  option.argChoices = ['utf8', 'latin1']; // for `charrnn completion`
  return option;
}

export function buildProgram(): Command {
  const program = new Command('charrnn')
    .description('Multi-layer LSTM (or GRU, RNN) character language models: train on a text, sample from it, score it.')
    .version(version)
    .exitOverride()
    .configureOutput({ writeOut: out, outputError: (text, write) => write(paint.red(text)) });

  program
    .command('train')
    .description('train a model on a text file (default: the built-in corpus) and write checkpoints')
    .argument('[corpus]', 'UTF-8 text file to learn from')
    .option('-o, --out <dir>', 'run directory for checkpoints (default: checkpoints/<corpus name>, numbered if taken)')
    .option('--force', 'allow -o to overwrite checkpoints already there')
    .option('--resume <checkpoint>', 'continue a run exactly where it stopped (a run directory means its latest checkpoint)')
    .option('--init-from <checkpoint>', "fine-tune: start from a checkpoint's weights with a fresh optimiser")
    .option('--extend-vocab', 'with --init-from: add characters the checkpoint never saw instead of stopping')
    .option('--cell <type>', `recurrent cell: lstm, gru or rnn (vanilla tanh) (default: ${d.cell})`, choice('--cell', CELL_TYPES))
    .option('--layers <n>', `stacked recurrent layers (default: ${d.layers})`, integer('--layers'))
    .option('--hidden <n>', `units per recurrent layer (default: ${d.hidden})`, integer('--hidden'))
    .option('--learned-init', "learn each layer's initial state instead of starting streams from zeros (not exportable)")
    .option('--dropout <p>', `dropout on each layer's output while training, 0 = off (default: ${d.dropout})`, real('--dropout', (n) => n >= 0 && n < 1, 'in [0, 1)'))
    .option('--seq <n>', `characters per step: how far back gradients reach (default: ${d.seq})`, integer('--seq'))
    .option('--batch <n>', `parallel streams per step (default: ${d.batch})`, integer('--batch'))
    .option('--val-frac <f>', `fraction of the corpus, from its end, held out for validation (default: ${d.valFrac})`, real('--val-frac', (n) => n > 0 && n < 0.5, 'in (0, 0.5)'))
    .option('--lr <rate>', `Adam learning rate (default: ${d.lr})`, real('--lr', (n) => n > 0, 'positive'))
    .option('--lr-decay <factor>', `multiply the learning rate by this after each epoch (default: ${d.lrDecay})`, real('--lr-decay', (n) => n > 0 && n <= 1, 'in (0, 1]'))
    .option('--clip <norm>', `largest global gradient norm (default: ${d.clip})`, real('--clip', (n) => n > 0, 'positive'))
    .option('--epochs <n>', `passes over the training text (default: ${d.epochs})`, integer('--epochs'))
    .option('--max-steps <n>', 'stop after this many steps', integer('--max-steps'))
    .option('--max-time <duration>', 'stop after this long, e.g. 90s, 5m, 1h', duration('--max-time'))
    .option('--patience <n>', 'stop after this many validations in a row without a new best', integer('--patience'))
    .option('--eval-every <steps>', `validate (and keep the best checkpoint) every this many steps (default: ${d.evalEvery})`, integer('--eval-every'))
    .option('--save-every <steps>', `write the latest checkpoint every this many steps (default: ${d.saveEvery})`, integer('--save-every'))
    .option('--seed <n>', `random seed for initialisation and dropout (default: ${d.seed})`, integer('--seed', -(2 ** 31)))
    .option('--threads <n>', 'threads sharing each step on the wasm/cpu backends (default: one per core; tfjs-node uses its own)', integer('--threads'))
    .addOption(backendOption())
    .addOption(encodingOption())
    .addHelpText(
      'after',
      `
Examples:
  charrnn train                                  train on the built-in corpus
  charrnn train input.txt -o checkpoints/mine    train on your own text
  charrnn train input.txt --hidden 256 --dropout 0.2 --max-time 30m
  charrnn train --resume checkpoints/mine --epochs 40   continue a run, for longer
  charrnn train new.txt --init-from checkpoints/mine --extend-vocab -o checkpoints/tuned`,
    )
    .action(async (corpus: string | undefined, options) => {
      const { maxTime, ...rest } = options;
      await trainCommand(corpus, { ...rest, maxSeconds: maxTime });
    });

  program
    .command('sample')
    .description('generate text from a checkpoint, streamed to stdout')
    .argument('<checkpoint>', 'a checkpoint directory, or a run directory (uses its best checkpoint)')
    .option('-n, --length <n>', 'characters to generate per sample', integer('--length', 0), 500)
    .addOption(
      new Option('-t, --temperature <t>', 'softmax temperature: lower is safer, higher is wilder; 0 = always the likeliest; a comma list (0.5,1) samples the same prime at each')
        .argParser(realList('--temperature', (n) => n >= 0, '≥ 0'))
        .default([1], '1'),
    )
    .option('--argmax', 'always pick the likeliest character (same as --temperature 0)')
    .option('--top-k <n>', 'draw only from the n likeliest characters', integer('--top-k'))
    .option('--top-p <p>', 'nucleus sampling: draw only from the likeliest characters that together have probability ≥ p', real('--top-p', (n) => n > 0 && n <= 1, 'in (0, 1]'))
    .option('--stop <text>', 'end a sample when its generated text ends with this (kept in the output; \\n, \\t understood; repeatable)', repeatable(escapedText('--stop')))
    .option('--num-samples <n>', 'samples per temperature, generated together as one batch', integer('--num-samples'), 1)
    .option('--prime <text>', 'text the model reads first; printed before the generated text')
    .option('--seed <n>', 'random seed: the same seed and checkpoint give the same text; sample k uses seed + k - 1', integer('--seed', -(2 ** 31)))
    .option('--json', 'one JSON object per sample per line: {"sample","prime","text","logprobs","stop","settings","checkpoint"}')
    .option('-i, --interactive', 'a prompt: type a prime, see the continuation; :t 0.7 and :n 300 change temperature and length, :help, Ctrl-D leaves')
    .addOption(backendOption())
    .addHelpText(
      'after',
      `
Examples:
  charrnn sample checkpoints/default                       500 characters from the best checkpoint
  charrnn sample checkpoints/default -t 0.5 --prime "The "  safer text after a prime
  charrnn sample checkpoints/default -t 0.2,0.6,1.2 -n 200  the same prime at three temperatures
  charrnn sample checkpoints/default --num-samples 4        four samples at once, in one batch
  charrnn sample checkpoints/default --top-k 5              only ever one of the 5 likeliest characters
  charrnn sample checkpoints/default --top-p 0.9            only the likeliest characters making up 90%
  charrnn sample checkpoints/default --stop '\\n\\n'          end the sample at its first blank line
  charrnn sample checkpoints/default --json --num-samples 3 > samples.jsonl
  charrnn sample checkpoints/default/latest -n 2000 --seed 7 > out.txt
  charrnn sample checkpoints/default --interactive -n 200  prime after prime, at a prompt

Several samples (--num-samples, or a list of temperatures) are generated together, one
model step per character for all of them, and each is printed when it is done: on stdout
separated by a blank line, each announced on stderr by
  --- sample k of n (temperature t, seed s) ---
With --json, each line is one sample; "text" is the generated text after "prime", and
"logprobs" the natural-log probability the model (at temperature 1, before --top-k and
--top-p) gave each of its characters.`,
    )
    .action(sampleCommand);

  program
    .command('eval')
    .description('score a checkpoint: nats/char, bits/char and perplexity; --heatmap shows where the model is surprised')
    .argument('<checkpoint>', 'a checkpoint directory, or a run directory (uses its best checkpoint)')
    .argument('[file]', 'text to score (default: the validation split of the training corpus)')
    .option('--json', 'print one JSON object: {"nats","bits","perplexity","chars"}')
    .option('--heatmap', 'show the text with each character coloured by how surprised the model was (bits), the 10 most and least surprising characters')
    .option('--html <out.html>', 'write that heatmap as a self-contained HTML page (hover a character for the top-5 predictions)')
    .option('--limit <n>', 'heatmap: characters shown, from the start of the text', integer('--limit', 2), 2000)
    .addOption(backendOption())
    .addOption(encodingOption())
    .addHelpText(
      'after',
      `
Examples:
  charrnn eval checkpoints/default               the held-out validation text
  charrnn eval checkpoints/default test.txt --json
  charrnn eval checkpoints/default --heatmap     where the model is surprised, in colour
  charrnn eval checkpoints/default test.txt --html heatmap.html --limit 5000`,
    )
    .action(evalCommand);

  program
    .command('info')
    .description('show what a checkpoint holds: model, vocabulary, training run, validation loss history')
    .argument('<checkpoint>', 'a checkpoint directory, or a run directory (uses its best checkpoint)')
    .option('--json', 'print one JSON object with the same fields')
    .addHelpText(
      'after',
      `
Examples:
  charrnn info checkpoints/default               config, vocabulary, losses, a sparkline of validation loss
  charrnn info checkpoints/default/latest --json`,
    )
    .action(infoCommand);

  program
    .command('plot')
    .description("draw a run's training and validation loss against step: in the terminal, or as an SVG or PNG image")
    .argument('<run-dir>', 'a run directory (its metrics.jsonl, else its checkpoint\'s history)')
    .option('--svg <out.svg>', 'write the chart as an SVG image instead')
    .option('--png <out.png>', 'write the chart as a PNG image instead (needs a TrueType font on the machine)')
    .addHelpText(
      'after',
      `
Examples:
  charrnn plot checkpoints/default                    a chart that fits the terminal
  charrnn plot checkpoints/default --svg loss.svg --png loss.png

Every training run appends one JSON line per step to <run-dir>/metrics.jsonl:
  {"step","epoch","trainLoss","valLoss" (when measured),"lr","charsPerSecond","seconds","time"}`,
    )
    .action(plotCommand);

  program
    .command('completion')
    .description('print a shell completion script for charrnn\'s commands and options')
    .addArgument(new Argument('<shell>', 'bash or zsh').choices(SHELLS))
    .addHelpText(
      'after',
      `
Examples:
  source <(charrnn completion bash)              in ~/.bashrc
  source <(charrnn completion zsh)               in ~/.zshrc (after compinit)`,
    )
    .action((shell: Shell) => {
      out(completionScript(program, shell));
    });

  const formatOption = new Option('--format <name>', 'tfjs: a tfjs layers model and a web page in directory <out>; safetensors: a PyTorch state dict in file <out>')
    .argParser(choice('--format', EXPORT_FORMATS))
    .default('tfjs');
  formatOption.argChoices = [...EXPORT_FORMATS]; // for --help and `charrnn completion`
  program
    .command('export')
    .description('write a checkpoint as a tfjs layers model with a web page that samples from it, or as PyTorch weights (safetensors)')
    .argument('<checkpoint>', 'a checkpoint directory, or a run directory (uses its best checkpoint)')
    .argument('<out>', 'tfjs: output directory (model.json, weights.bin, vocab.json, index.html, tf.min.js); safetensors: output file')
    .addOption(formatOption)
    .option('--force', 'overwrite an export already at <out>')
    .addHelpText(
      'after',
      `
Examples:
  charrnn export checkpoints/default web/        then serve web/ (e.g. npx http-server web) and open it
  charrnn export checkpoints/default model.safetensors --format safetensors

tfjs: the model takes one-hot characters [batch, time, vocab] and gives next-character
probabilities at every step; vocab.json lists the characters by index.
safetensors: torch.nn.LSTM (or nn.RNN) weights as rnn.weight_ih_l0 ..., and decoder.weight,
decoder.bias for the nn.Linear; the vocabulary and settings are in the metadata;
scale-out/train_ddp.py trains it further and charrnn import reads it back.
Models trained with --learned-init cannot be exported, nor GRUs as safetensors.`,
    )
    .action(exportCommand);

  program
    .command('import')
    .description('write a checkpoint from PyTorch weights (a .safetensors file from charrnn export or scale-out/train_ddp.py)')
    .argument('<file>', 'a .safetensors file')
    .requiredOption('-o, --out <dir>', 'checkpoint directory to write')
    .option('--force', 'overwrite checkpoints already in <dir>')
    .addHelpText(
      'after',
      `
Examples:
  charrnn import trained.safetensors -o checkpoints/from-torch
  charrnn sample checkpoints/from-torch

The checkpoint has the weights and the training record, no optimiser state: sample,
eval, info and train --init-from use it; --resume cannot.`,
    )
    .action(importCommand);

  return program;
}

/** Errors only a write can cause: wherever one comes from, it is one line and exit 6, not a stack trace. */
const WRITE_ONLY_FAILURES = ['ENOSPC', 'EDQUOT', 'EROFS', 'EFBIG'];

export async function main(argv: string[]): Promise<void> {
  process.stderr.on('error', () => {}); // progress and messages are a courtesy: a closed stderr (2>&1 | head) must not end a run
  try {
    await buildProgram().parseAsync(argv);
  } catch (thrown) {
    const { code, path } = thrown as NodeJS.ErrnoException;
    const err = WRITE_ONLY_FAILURES.includes(code ?? '') ? writeFailure(path ?? 'output', thrown) : thrown;
    if (err instanceof StdoutClosed) {
      // The reader has what it wanted (| head): stop quietly, as other Unix tools do.
      process.exitCode = 0;
    } else if (err instanceof CommanderError) {
      // Commander has printed its message (or the help); a usage error exits 2 like ours.
      process.exitCode = err.exitCode === 0 ? 0 : 2;
    } else if (err instanceof UserError) {
      process.stderr.write(`${paint.red('charrnn:')} ${err.message}\n`);
      process.exitCode = err.exitCode;
    } else {
      // A bug: keep the stack for the report.
      process.stderr.write(`${err instanceof Error ? err.stack : String(err)}\n`);
      process.exitCode = 1;
    }
  }
}
