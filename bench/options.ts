/**
 * What `npm run bench` measures and for how long: the configurations, the flags, and
 * the timings derived from --seconds (or --quick).
 */
import { Command, Option } from 'commander';
import { BACKEND_CHOICES, type BackendChoice } from '../dist/backend/select.js';
import { above, choice, real, type OptionSpec } from '../dist/options/option.js';
import { UserError } from '../dist/errors.js';
import { PEER_SCRIPT } from './peer.js';

export interface BenchConfig {
  /** "2x128": layers × hidden units. */
  name: string;
  layers: number;
  hidden: number;
  seq: number;
  batch: number;
}

/** The configurations of issue 3, by name. */
export const CONFIGS: readonly BenchConfig[] = [
  { name: '2x128', layers: 2, hidden: 128, seq: 50, batch: 50 },
  { name: '2x256', layers: 2, hidden: 256, seq: 100, batch: 64 },
  { name: '3x512', layers: 3, hidden: 512, seq: 100, batch: 32 },
];

/** Sampling is measured at these batch sizes (streams stepped together). */
export const SAMPLE_BATCHES = [1, 16] as const;

/** How long each part of a configuration's measurement runs. */
export interface Timing {
  /** Training steps and seconds excluded at the start (both must pass). */
  warmupSteps: number;
  warmupSeconds: number;
  /** Training measurement after the warm-up, cut into this many windows. */
  trainSeconds: number;
  trainWindows: number;
  /** Sampling: this many windows of this many seconds per batch size, after a warm-up of at most 1 s. */
  sampleWindows: number;
  sampleWindowSeconds: number;
  /** Characters per timed sample of the peer (it times 3 and reports the median). */
  peerSampleChars: number;
}

export interface BenchOptions {
  configs: BenchConfig[];
  /** null: the default corpus. */
  corpus: string | null;
  /** At most this many bytes of the corpus are used (cut at a character boundary). */
  maxCorpusBytes: number;
  timing: Timing;
  quick: boolean;
  peer: boolean;
  python: string;
  /** The PyTorch peer script (peer.ts says what it takes and writes). */
  peerScript: string;
  backend: BackendChoice;
}

export const DEFAULT_SECONDS = 40;
export const QUICK_SECONDS = 2;
/** --quick leaves out 3x512: its steps take seconds each, too long for a quick look. */
const QUICK_CONFIGS = ['2x128', '2x256'];

export function timingFor(seconds: number, quick: boolean): Timing {
  return {
    warmupSteps: quick ? 1 : 3,
    warmupSeconds: quick ? 0.5 : 3,
    trainSeconds: seconds,
    trainWindows: quick ? 2 : 5,
    sampleWindows: quick ? 2 : 3,
    sampleWindowSeconds: quick ? 0.4 : Math.min(3, Math.max(0.5, seconds / 13)),
    peerSampleChars: quick ? 300 : 2000,
  };
}

export function parseConfigs(value: string): BenchConfig[] {
  const names = value.split(',').map((s) => s.trim().toLowerCase().replace('×', 'x'));
  return names.map((name) => {
    const config = CONFIGS.find((c) => c.name === name);
    if (!config) throw new UserError(`--configs: unknown configuration '${name}'; choose from ${CONFIGS.map((c) => c.name).join(', ')}`);
    return config;
  });
}

const SECONDS = real({ flag: '--seconds', group: 'bench', range: { min: above(0) }, default: undefined, help: 'training seconds' });
const BACKEND = choice<BackendChoice>({
  flag: '--backend',
  group: 'bench',
  choices: BACKEND_CHOICES,
  default: 'auto',
  help: 'tfjs backend',
});

/** A flag's text as its value, refused in one line as the charrnn flags are. */
function parser<T>(spec: OptionSpec<T>): (text: string) => T {
  return (text) => spec.parse!(text, spec.default);
}

/** Parses `npm run bench -- …` arguments (without node and the script). */
export function parseBenchArgs(argv: readonly string[]): BenchOptions {
  const program = new Command('npm run bench --')
    .description('measure training and sampling speed and peak memory, ours and the PyTorch peer, on this machine')
    .option(
      '--corpus <file>',
      'text to train on (first 1 MB; default: ../shared/corpora/warpeace.txt if present, else corpora/default.txt)',
    )
    .option(
      '--seconds <n>',
      `training seconds measured per configuration and side, after warm-up (default: ${DEFAULT_SECONDS}; --quick: ${QUICK_SECONDS})`,
      parser(SECONDS),
    )
    .option(
      '--quick',
      `a short run for development (under a minute; only ${QUICK_CONFIGS.join(' and ')} unless --configs): numbers are rough`,
    )
    .option('--configs <list>', `comma-separated, from ${CONFIGS.map((c) => c.name).join(', ')} (default: all)`, parseConfigs)
    .option('--no-peer', 'skip the PyTorch peer')
    .option('--python <path>', 'the python that imports Debian torch', '/usr/bin/python3')
    .option(
      '--peer-script <path>',
      'the PyTorch peer: a char-rnn script taking the flags and writing the JSON of bench/peer.ts',
      PEER_SCRIPT,
    )
    .addOption(
      new Option('--backend <name>', 'tfjs backend for our side: auto, tensorflow, wasm, cpu').argParser(parser(BACKEND)).default('auto'),
    )
    .exitOverride()
    .allowExcessArguments(false);
  program.parse([...argv], { from: 'user' });
  const o = program.opts<{
    corpus?: string;
    seconds?: number;
    quick?: boolean;
    configs?: BenchConfig[];
    peer: boolean;
    python: string;
    peerScript: string;
    backend: BackendChoice;
  }>();
  const quick = o.quick ?? false;
  return {
    configs: o.configs ?? (quick ? parseConfigs(QUICK_CONFIGS.join(',')) : [...CONFIGS]),
    corpus: o.corpus ?? null,
    maxCorpusBytes: 1_000_000,
    timing: timingFor(o.seconds ?? (quick ? QUICK_SECONDS : DEFAULT_SECONDS), quick),
    quick,
    peer: o.peer,
    python: o.python,
    peerScript: o.peerScript,
    backend: o.backend,
  };
}
