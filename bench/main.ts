/**
 * `npm run bench [-- flags]`: for each configuration, ours (in a child process of its own),
 * then the PyTorch peer, one after the other on the same corpus; then a table on stderr
 * and one JSON object on stdout. A benchmark, not a test: nothing in CI runs it.
 */
import { CommanderError } from 'commander';
import { mkdtempSync, rmSync } from 'node:fs';
import { availableParallelism, cpus, loadavg, tmpdir, totalmem } from 'node:os';
import { join } from 'node:path';
import { UserError } from '../dist/errors.js';
import { prepareCorpus } from './corpus.js';
import { parseBenchArgs, type BenchOptions } from './options.js';
import { runOurs } from './ours.js';
import { probePeer, runPeer } from './peer.js';
import { buildJson, formatCount, formatReport, type ConfigOutcome, type MachineInfo } from './report.js';

/** JSON numbers to six significant digits: the windows' timings need no more. */
const sixDigits = (_key: string, value: unknown) =>
  typeof value === 'number' && !Number.isInteger(value) ? Number(value.toPrecision(6)) : value;

const say = (line: string) => process.stderr.write(`${line}\n`);

async function bench(options: BenchOptions): Promise<boolean> {
  const started = performance.now();
  const startedAt = new Date().toISOString();
  const dir = mkdtempSync(join(tmpdir(), 'charrnn-bench-'));
  try {
    const corpus = prepareCorpus(options.corpus, options.maxCorpusBytes, dir);
    const machine: MachineInfo = {
      cpu: cpus()[0]?.model.trim() ?? 'unknown',
      cores: availableParallelism(),
      node: process.version,
      loadAverage: loadavg(),
      memoryMb: Math.round(totalmem() / 2 ** 20),
      peer: { skipped: '--no-peer' },
    };
    if (options.peer) {
      say(`probing the peer: ${options.python} with torch`);
      const probe = await probePeer(options.python, options.peerScript);
      machine.peer = probe.ok ? probe.result : { skipped: probe.error };
      if (probe.ok && probe.result.warning) say(`warning: ${probe.result.warning}`);
      if (!probe.ok) say(`peer not run: ${probe.error}`);
    }
    const peerRuns = !('skipped' in machine.peer);

    const outcomes: ConfigOutcome[] = [];
    for (const config of options.configs) {
      say(`${config.name}: ours`);
      let t0 = performance.now();
      const took = () => `(${((performance.now() - t0) / 1000).toFixed(0)} s)`;
      const ours = await runOurs({ config, corpusPath: corpus.path, timing: options.timing, backend: options.backend });
      say(
        ours.ok
          ? `  ${config.name} ours: train ${formatCount(ours.result.train.summary.perSecond)} chars/s ${took()}`
          : `  ${config.name} ours failed: ${ours.error}`,
      );
      let peer: ConfigOutcome['peer'] = null;
      if (peerRuns) {
        say(`${config.name}: peer`);
        t0 = performance.now();
        const run = await runPeer(options.python, options.peerScript, config, options.timing, corpus.path, dir);
        peer = run.ok ? run.result : { error: run.error };
        say(
          run.ok
            ? `  ${config.name} peer: train ${formatCount(run.result.train.summary.perSecond)} chars/s ${took()}`
            : `  ${config.name} peer failed: ${run.error}`,
        );
      }
      outcomes.push({ config, ours: ours.ok ? ours.result : { error: ours.error }, peer });
    }

    const run = { corpus, timing: options.timing, quick: options.quick, startedAt, seconds: (performance.now() - started) / 1000 };
    say('');
    say(formatReport(run, machine, outcomes));
    process.stdout.write(`${JSON.stringify(buildJson(run, machine, outcomes), sixDigits)}\n`);
    return outcomes.every((o) => !('error' in o.ours) && (o.peer === null || !('error' in o.peer)));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

try {
  const succeeded = await bench(parseBenchArgs(process.argv.slice(2)));
  if (!succeeded) process.exitCode = 1;
} catch (err) {
  if (err instanceof CommanderError)
    process.exitCode = err.exitCode; // help or a bad flag: commander has said why
  else if (err instanceof UserError) {
    say(`bench: ${err.message}`);
    process.exitCode = err.exitCode;
  } else throw err;
}
