/**
 * Child process entry: measures one configuration of ours and prints one JSON line
 * (`WorkerResult`) on stdout. One process per configuration, so its peak RSS is the
 * configuration's own and configurations cannot disturb each other.
 *
 *   node dist/bench/worker.js '<WorkerTask as JSON>'
 *
 * Training runs the real trainer (`train()`), with validation and checkpoints pushed out
 * of reach; the observer's per-step callbacks cut the steady state into windows, and an
 * abort ends the run after the last window. Sampling runs `sampleStreams` (the path
 * `charrnn sample` takes) with a fresh model of the same shape: speed does not depend on
 * the weights' values; then the built `charrnn sample` itself, on the run's checkpoint, to a pipe.
 */
import * as tf from '../dist/tf.js';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { selectBackend, type BackendChoice } from '../dist/backend/select.js';
import { TRAIN_DEFAULTS, type TrainConfig } from '../dist/training/config.js';
import { readCorpus, type Corpus } from '../dist/data/corpus.js';
import { trainerThreads } from '../dist/training/data-parallel.js';
import { CharModel } from '../dist/model/model.js';
import { sampleStreams } from '../dist/sampling/sampler.js';
import { train } from '../dist/training/trainer.js';
import { Vocabulary } from '../dist/data/vocab.js';
import { summarise, WindowRecorder, type Summary, type Window } from './measure.js';
import { SAMPLE_BATCHES, type BenchConfig, type Timing } from './options.js';
import { measureCliSampling, type CliSampling } from './cli-sample.js';

export interface WorkerTask {
  config: BenchConfig;
  corpusPath: string;
  timing: Timing;
  backend: BackendChoice;
}

export interface Measured {
  summary: Summary;
  windows: Window[];
}

export interface WorkerResult {
  config: string;
  backend: { name: string; description: string };
  tfjs: string;
  parameters: number;
  train: Measured & { warmupSteps: number; warmupSeconds: number; steps: number; lastLoss: number };
  /** By batch size. */
  sample: Record<string, Measured>;
  /** The real command at batch 1 (its own process's RSS is not in peakRssMb). */
  cliSample: CliSampling;
  peakRssMb: number;
}

const NEVER = 1_000_000_000; // steps: validation and checkpoints never come due
/** Characters per stream asked of the sampler: far more than a window draws, and few enough for its memory check (a sample keeps its text). */
const SAMPLE_LENGTH = 1_000_000;

/** Trains into `outDir`, which ends holding the run's `latest` checkpoint. */
async function measureTraining(corpus: Corpus, task: WorkerTask, outDir: string): Promise<WorkerResult['train'] & { parameters: number }> {
  const { config: c, timing } = task;
  const config: TrainConfig = {
    ...TRAIN_DEFAULTS,
    layers: c.layers,
    hidden: c.hidden,
    seq: c.seq,
    batch: c.batch,
    epochs: 1_000_000,
    evalEvery: NEVER,
    saveEvery: NEVER,
  };
  const stop = new AbortController();
  const recorder = new WindowRecorder();
  const windowSeconds = timing.trainSeconds / timing.trainWindows;
  const charsPerStep = c.seq * c.batch;
  let steps = 0;
  let warmup: { steps: number; seconds: number } | null = null;
  let windowSteps = 0;
  let lastLoss = NaN;
  let parameters = 0;
  await train({
    corpus,
    config,
    outDir,
    backend: 'bench',
    signal: stop.signal, // an aborted run skips validation and writes only `latest`, after the timed steps
    observer: {
      onStart: (plan) => (parameters = plan.parameterCount),
      onStep: (p) => {
        steps++;
        lastLoss = p.loss;
        if (warmup === null) {
          if (steps >= timing.warmupSteps && p.seconds >= timing.warmupSeconds) {
            warmup = { steps, seconds: p.seconds };
            recorder.restart();
          }
          return;
        }
        windowSteps++;
        if (recorder.elapsed >= windowSeconds) {
          recorder.close(windowSteps * charsPerStep);
          windowSteps = 0;
          if (recorder.windows.length >= timing.trainWindows) stop.abort();
        }
      },
    },
  });
  const w = warmup ?? { steps, seconds: NaN };
  return {
    summary: summarise(recorder.windows),
    windows: recorder.windows,
    warmupSteps: w.steps,
    warmupSeconds: w.seconds,
    steps,
    lastLoss,
    parameters,
  };
}

/** Characters per second of `batch` streams stepped together: a warm-up of at most 1 s, then the timed windows. */
function measureSampling(model: CharModel, vocab: Vocabulary, batch: number, timing: Timing): Measured {
  const streams = Array.from({ length: batch }, (_, b) => ({ temperature: 1, seed: 1000 + b }));
  const recorder = new WindowRecorder();
  const run = (seconds: number) => {
    // A step's characters are yielded stream by stream; the timing covers whole steps after
    // the first (whose logits were computed with the prime, before the clock started).
    let steps = -1;
    for (const event of sampleStreams(model, vocab, { length: SAMPLE_LENGTH, prime: '', streams })) {
      if (event.type !== 'char' || event.stream !== batch - 1) continue;
      steps++;
      if (steps === 0) recorder.restart();
      else if (recorder.elapsed >= seconds) return recorder.close(steps * batch);
    }
    throw new Error('sampling ended early');
  };
  run(Math.min(1, timing.sampleWindowSeconds));
  recorder.windows.length = 0; // the warm-up window
  for (let k = 0; k < timing.sampleWindows; k++) run(timing.sampleWindowSeconds);
  return { summary: summarise(recorder.windows), windows: recorder.windows };
}

export async function runWorker(task: WorkerTask): Promise<WorkerResult> {
  const backend = await selectBackend(task.backend);
  const corpus = readCorpus(task.corpusPath);
  const log = (line: string) => process.stderr.write(`  ${task.config.name} ours: ${line}\n`);
  const outDir = mkdtempSync(join(tmpdir(), 'charrnn-bench-'));
  try {
    log(
      `training (warm-up ≥ ${task.timing.warmupSteps} steps and ${task.timing.warmupSeconds} s, then ${task.timing.trainWindows} windows over ${task.timing.trainSeconds} s)`,
    );
    const { parameters, ...trained } = await measureTraining(corpus, task, outDir);
    log(
      `sampling at batch ${SAMPLE_BATCHES.join(' and ')} (${task.timing.sampleWindows} windows of ${task.timing.sampleWindowSeconds} s each)`,
    );
    const vocab = Vocabulary.fromText(corpus.text);
    const { layers, hidden } = task.config;
    const model = CharModel.create({ vocabSize: vocab.size, hidden, layers, dropout: 0, cell: 'lstm', learnedInit: false }, 1234);
    const sample: Record<string, Measured> = {};
    try {
      for (const batch of SAMPLE_BATCHES) sample[batch] = measureSampling(model, vocab, batch, task.timing);
    } finally {
      model.dispose();
    }
    // As many characters as the in-process batch 1 draws in 3 windows: process start is then a part of the run, not all of it.
    const chars = Math.max(2000, Math.round(sample['1'].summary.perSecond * task.timing.sampleWindowSeconds * 3));
    log(`charrnn sample -n ${chars} | pipe, ${task.timing.sampleWindows} runs, on the run's checkpoint`);
    const cliSample = await measureCliSampling(outDir, chars, task.timing.sampleWindows, task.backend);
    return {
      config: task.config.name,
      backend: {
        name: backend.name,
        description: `${backend.description}, ${trainerThreads(undefined, task.config.batch).threads} training threads`,
      },
      tfjs: tf.version_core,
      parameters,
      train: trained,
      sample,
      cliSample,
      peakRssMb: process.resourceUsage().maxRSS / 1024, // KiB → MiB, as the peer reports ru_maxrss
    };
  } finally {
    rmSync(outDir, { recursive: true, force: true });
  }
}

const task = JSON.parse(process.argv[2] ?? 'null') as WorkerTask | null;
if (task === null) {
  process.stderr.write('usage: node dist/bench/worker.js <task JSON> (started by dist/bench/main.js)\n');
  process.exit(2);
}
const result = await runWorker(task);
process.stdout.write(`${JSON.stringify(result)}\n`);
