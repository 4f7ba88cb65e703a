/**
 * `charrnn sample <checkpoint>`: generated text on stdout. One sample streams as it is
 * produced; several (--num-samples, or a list of temperatures) are generated together as
 * one batch and each is printed when done, separated by a blank line, with a header on
 * stderr. --json prints one object per sample per line instead.
 */
import { availableParallelism } from 'node:os';
import { resolve } from 'node:path';
import { selectBackend } from '../backend/select.js';
import { loadCheckpoint } from '../checkpoint/checkpoint.js';
import { UserError } from '../errors.js';
import { SAMPLE_OPTIONS, type SampleSettings } from '../sampling/options.js';
import { samplingThreadsNote } from '../sampling/threads.js';
import { refuseUnknownChars, sampleStreams, type Sample, type SampleEvent, type StreamSettings } from '../sampling/sampler.js';
import { announceBackend } from './announce.js';
import { interactiveSession } from './interactive.js';
import { info, out, paint, paintStdout, StdoutBuffer } from './output.js';
import type { SampleCommandOptions } from './commands.js';

export async function sampleCommand(checkpointPath: string, options: SampleCommandOptions): Promise<void> {
  announceBackend(await selectBackend(options.backend));
  const { model, vocab, dir, meta } = loadCheckpoint(checkpointPath);
  try {
    const threadsNote = samplingThreadsNote(model, options.threads);
    if (threadsNote) info(threadsNote);
    const shared = sharedSettings(options);
    refuseUnknownChars(vocab, shared); // before an interactive session starts
    const temperatures = options.argmax ? [0] : options.temperature;
    const seed = options.seed ?? Math.floor(Math.random() * 0x7fffffff);
    const counts = meta.training.corpus.counts;
    // Temperature by temperature; sample k of each uses seed + k, so it can be reproduced alone.
    const streams: StreamSettings[] = temperatures.flatMap((temperature) =>
      Array.from({ length: options.numSamples }, (_, k) => ({ temperature, seed: seed + k })),
    );
    if (options.interactive) {
      if (options.json || streams.length > 1)
        throw new UserError('--interactive takes one temperature and cannot be combined with --json or --num-samples');
      if (options.seed === undefined) info(paint.dim(`seed ${seed} (pass --seed ${seed} to repeat this session)`));
      const { prime: _, ...settings } = shared; // each line typed is a prime
      await interactiveSession(model, vocab, { ...settings, temperature: temperatures[0], seed }, counts);
      return;
    }
    // A sample worth keeping can be made again: say which seed made it.
    if (options.seed === undefined)
      info(`seed ${seed} (pass --seed ${seed} to repeat ${streams.length > 1 ? 'these samples' : 'this sample'})`);
    // A thread beyond the cores would only share one.
    const threads = options.threads === undefined ? undefined : Math.min(options.threads, availableParallelism());
    const request = { ...shared, counts, streams, threads };
    if (streams.length === 1 && !options.json) streamOne(sampleStreams(model, vocab, { ...request, keep: false }));
    else
      inOrder(sampleStreams(model, vocab, request), (sample) =>
        options.json ? out(jsonLine(sample, shared, dir)) : printText(sample, streams.length),
      );
  } finally {
    model.dispose();
  }
}

/** One sample: each character as it is produced (through a buffer), nothing kept. */
function streamOne(events: Iterable<SampleEvent>): void {
  const stdout = new StdoutBuffer();
  for (const event of events) {
    if (event.type === 'prime') stdout.write(paintStdout.dim(event.text));
    else if (event.type === 'char') stdout.write(event.char);
    else stdout.write('\n');
  }
  stdout.flush();
}

/** Several samples: each when it is done, in stream order. */
function inOrder(events: Iterable<SampleEvent>, print: (sample: Sample) => void): void {
  const done = new Map<number, Sample>();
  let next = 0;
  for (const event of events) {
    if (event.type !== 'done') continue;
    done.set(event.sample.stream, event.sample);
    for (let sample = done.get(next); sample; sample = done.get(next)) {
      print(sample);
      done.delete(next++);
    }
  }
}

/** One of `count` samples as text on stdout, after a header on stderr when there are several. */
function printText(sample: Sample, count: number): void {
  if (count > 1) {
    if (sample.stream > 0) out('\n');
    info(paint.dim(`--- sample ${sample.stream + 1} of ${count} (temperature ${sample.temperature}, seed ${sample.seed}) ---`));
  }
  out(`${paintStdout.dim(sample.prime)}${sample.text}\n`); // the prime, told apart on a terminal
}

/** The settings every sample shares, every one of SAMPLE_OPTIONS but a stream's own (temperature, seed). */
type SharedSettings = Omit<SampleSettings, keyof StreamSettings>;

/** The shared settings among the command's options, by SAMPLE_OPTIONS' keys: a new one reaches the sampler untouched. */
function sharedSettings(options: SampleCommandOptions): SharedSettings {
  const keys = Object.keys(SAMPLE_OPTIONS).filter((key) => key !== 'temperature' && key !== 'seed') as (keyof SharedSettings)[];
  return Object.fromEntries(keys.map((key) => [key, options[key]])) as SharedSettings;
}

/** A sample as a --json line: its text, per-character log-probabilities, why it stopped, and the settings that made it. */
function jsonLine(sample: Sample, shared: SharedSettings, dir: string): string {
  const { prime: _, ...rest } = shared; // the record's own prime is what was read
  const settings = { temperature: sample.temperature, ...rest, seed: sample.seed };
  const record = {
    sample: sample.stream + 1,
    prime: sample.prime,
    text: sample.text,
    logprobs: sample.logprobs.map(round6),
    stop: sample.stop,
    settings,
    checkpoint: resolve(dir),
  };
  return `${JSON.stringify(record)}\n`;
}

function round6(x: number): number {
  return Math.round(x * 1e6) / 1e6 || 0; // no -0
}
