/**
 * `npm run bench:quality [-- flags]`: which model is better after the same budget. Ours
 * (`train()` with its defaults and the budget as --max-time or --max-steps) and the
 * PyTorch peer (char-rnn's recipe, seq 50, batch 50) train the same model size (ours'
 * default for the budget unless --layers/--hidden say otherwise) on the same text, the
 * first megabyte of a file cut 90/5/5 as the peer cuts it, and are validated on the same
 * 90–95% slice; seeds alternate between the sides so that both see the same machine.
 * Prints both curves and the final losses (median and range over seeds) and their ratio
 * on stderr, and one JSON object on stdout. A benchmark, not a test.
 *
 * With --seconds the peer's clock pauses while it validates and ours does not (a user's
 * --max-time includes validation); --steps compares learning per step instead of per minute.
 */
import { Command, InvalidArgumentError } from 'commander';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { selectBackend } from '../dist/backend/select.js';
import { readCorpus } from '../dist/data/corpus.js';
import type { TrainConfig } from '../dist/training/config.js';
import { freshSettings } from '../dist/training/settings.js';
import { train } from '../dist/training/trainer.js';
import { prepareCorpus } from './corpus.js';
import { PEER_SCRIPT, PEER_THREADS, pythonJson, runProcess } from './peer.js';

const PEER_CURVE = fileURLToPath(new URL('../bench/peer_curve.py', import.meta.url));
/** Validations along each curve. */
const POINTS = 10;

interface Point {
  step: number;
  seconds: number;
  valNats: number;
}

interface Budget {
  seconds: number | null;
  steps: number | null;
}

interface Size {
  layers: number;
  hidden: number;
}

const say = (line: string) => process.stderr.write(`${line}\n`);

/** The peer's split of `text` (by code point): train and validation are its first 95%, validation its 90–95%. */
export function peerSplit(text: string): { head: string; valFrac: number } {
  const chars = [...text];
  const nTrain = Math.floor(chars.length * 0.9);
  const nVal = Math.floor(chars.length * 0.05);
  const head = chars.slice(0, nTrain + nVal).join('');
  // Our split holds out floor(length · valFrac) characters from the end: exactly nVal.
  return { head, valFrac: (nVal + 0.5) / (nTrain + nVal) };
}

async function runOurs(path: string, valFrac: number, budget: Budget, size: Size, seed: number): Promise<Point[]> {
  const curve: Point[] = [];
  const started = performance.now();
  const outDir = mkdtempSync(join(tmpdir(), 'charrnn-quality-'));
  // Only what the comparison fixes: the rest, the number of epochs included, is ours' default for the budget.
  const config: Partial<TrainConfig> = { ...size, valFrac, seed, maxSeconds: budget.seconds, maxSteps: budget.steps };
  if (budget.steps !== null) config.evalEvery = Math.max(1, Math.round(budget.steps / POINTS));
  try {
    await train({
      corpus: readCorpus(path),
      config,
      outDir,
      backend: 'quality bench',
      observer: { onValidation: (step, valNats) => curve.push({ step, seconds: (performance.now() - started) / 1000, valNats }) },
    });
  } finally {
    rmSync(outDir, { recursive: true, force: true });
  }
  return curve;
}

async function runPeer(python: string, corpus: string, budget: Budget, size: Size, seed: number): Promise<Point[]> {
  const args =
    budget.steps !== null
      ? [
          PEER_CURVE,
          PEER_SCRIPT,
          '--corpus',
          corpus,
          '--steps',
          String(budget.steps),
          '--eval-every',
          String(Math.max(1, Math.round(budget.steps / POINTS))),
        ]
      : [
          PEER_SCRIPT,
          '--corpus',
          corpus,
          '--seconds',
          String(budget.seconds),
          '--eval-every',
          String(budget.seconds! / POINTS),
          '--sample-chars',
          '1',
          '--sample-repeats',
          '1',
        ];
  // Generous: on a busy machine the peer's two OpenMP threads slow many-fold (its README).
  const run = await runProcess(
    python,
    [...args, '--layers', String(size.layers), '--hidden', String(size.hidden), '--seed', String(seed), '--threads', String(PEER_THREADS)],
    3600 + 10 * (budget.seconds ?? budget.steps!),
  );
  if (run.code !== 0) throw new Error(`the peer exited with ${run.code ?? 'a timeout'}: ${run.stderr.trim().split('\n').pop()}`);
  const result = JSON.parse(pythonJson(run.stdout.trim().split('\n').pop() ?? '')) as {
    curve?: { step: number; val_nats: number }[];
    val_curve?: { step: number; train_seconds: number; val_nats: number }[];
    steps: number;
    train_seconds?: number;
    val_nats?: number;
  };
  if (result.curve) return result.curve.map((p) => ({ step: p.step, seconds: NaN, valNats: p.val_nats }));
  const curve = (result.val_curve ?? []).map((p) => ({ step: p.step, seconds: p.train_seconds, valNats: p.val_nats }));
  curve.push({ step: result.steps, seconds: result.train_seconds ?? NaN, valNats: result.val_nats ?? NaN });
  return curve;
}

function spread(values: number[]): { median: number; min: number; max: number } {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  const median = sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
  return { median, min: sorted[0], max: sorted[sorted.length - 1] };
}

const formatSpread = ({ median, min, max }: { median: number; min: number; max: number }) =>
  `${median.toFixed(3)} [${min.toFixed(3)}–${max.toFixed(3)}]`;

const formatCurve = (curve: Point[]) =>
  curve.map((p) => `${p.step}${Number.isFinite(p.seconds) ? `@${p.seconds.toFixed(0)}s` : ''}:${p.valNats.toFixed(3)}`).join(' ');

interface QualityOptions {
  seconds?: number;
  steps?: number;
  seeds: number;
  layers?: number;
  hidden?: number;
  corpus?: string;
  python: string;
}

async function quality(options: QualityOptions): Promise<void> {
  const budget: Budget = { seconds: options.steps === undefined ? (options.seconds ?? 300) : null, steps: options.steps ?? null };
  const defaults = freshSettings({ maxSeconds: budget.seconds, maxSteps: budget.steps });
  const size: Size = { layers: options.layers ?? defaults.layers, hidden: options.hidden ?? defaults.hidden };
  const dir = mkdtempSync(join(tmpdir(), 'charrnn-quality-'));
  try {
    const corpus = prepareCorpus(options.corpus ?? null, 1_000_000, dir);
    const { head, valFrac } = peerSplit(readFileSync(corpus.path, 'utf8'));
    const ours = join(dir, 'train-and-val.txt');
    writeFileSync(ours, head);
    const backend = await selectBackend('auto');
    const what = budget.steps !== null ? `${budget.steps} steps` : `${budget.seconds} s`;
    say(
      `quality: ${corpus.source} (first ${corpus.chars} characters, 90/5/5), ${size.layers}×${size.hidden}, ${what} each, ${options.seeds} seeds; ours on ${backend.description}; load average ${loadavg()[0].toFixed(1)}`,
    );
    const runs: { seed: number; ours: Point[]; peer: Point[] }[] = [];
    for (let seed = 1; seed <= options.seeds; seed++) {
      const o = await runOurs(ours, valFrac, budget, size, seed);
      say(`  seed ${seed} ours: ${formatCurve(o)}`);
      const p = await runPeer(options.python, corpus.path, budget, size, seed);
      say(`  seed ${seed} peer: ${formatCurve(p)}`);
      runs.push({ seed, ours: o, peer: p });
    }
    const finals = { ours: spread(runs.map((r) => r.ours.at(-1)!.valNats)), peer: spread(runs.map((r) => r.peer.at(-1)!.valNats)) };
    const ratio = finals.ours.median / finals.peer.median;
    say(
      `final held-out loss, nats/char, median [min–max] over ${options.seeds} seeds: ours ${formatSpread(finals.ours)}, peer ${formatSpread(finals.peer)}; ours/peer ${ratio.toFixed(3)}`,
    );
    process.stdout.write(
      `${JSON.stringify({ corpus: { source: corpus.source, chars: corpus.chars }, size, budget, backend: backend.description, runs, finals, ratio })}\n`,
    );
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

const positive = (name: string) => (value: string) => {
  const n = Number(value);
  if (!(n > 0)) throw new InvalidArgumentError(`${name} must be positive`);
  return n;
};

const program = new Command('bench:quality')
  .description('held-out loss of ours and the PyTorch peer after the same budget, over several seeds')
  .option('--seconds <s>', 'training time of each run (default: 300)', positive('--seconds'))
  .option('--steps <n>', 'train this many steps instead (learning per step)', positive('--steps'))
  .option('--seeds <n>', 'runs of each side', positive('--seeds'), 3)
  .option('--layers <n>', "stacked LSTM layers of both models (default: ours' for the budget)", positive('--layers'))
  .option('--hidden <n>', "hidden units per layer of both models (default: ours' for the budget)", positive('--hidden'))
  .option('--corpus <file>', 'text to cut the first megabyte from (default: War and Peace from ../shared/corpora)')
  .option('--python <path>', "python with Debian's torch", '/usr/bin/python3')
  .action(async (options: QualityOptions) => {
    try {
      await quality(options);
    } catch (err) {
      say(`bench:quality: ${(err as Error).message}`);
      process.exitCode = 1;
    }
  });
await program.parseAsync(process.argv);
