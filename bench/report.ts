/**
 * The results, two ways: one JSON object for stdout (everything measured, windows
 * included) and a table for people on stderr, with our/peer ratios and every figure that
 * was taken while other processes were busy marked.
 */
import { BUSY_CORES, type Summary, type Window } from './measure.js';
import type { BenchConfig, Timing } from './options.js';
import type { PeerProbe, PeerResult } from './peer.js';
import type { WorkerResult } from './worker.js';
import type { BenchCorpus } from './corpus.js';

export interface ConfigOutcome {
  config: BenchConfig;
  ours: WorkerResult | { error: string };
  /** null: the peer was not run. */
  peer: PeerResult | { error: string } | null;
}

export interface MachineInfo {
  cpu: string;
  cores: number;
  node: string;
  loadAverage: number[];
  memoryMb: number;
  /** The peer's probe, or why the peer did not run. */
  peer: PeerProbe | { skipped: string };
}

export interface RunInfo {
  corpus: BenchCorpus;
  timing: Timing;
  quick: boolean;
  startedAt: string;
  seconds: number;
}

/** One measured figure as it appears in the JSON. */
export interface Figure {
  charsPerSec: number;
  /** Median over the windows that were not busy; null if all were. */
  quietCharsPerSec: number | null;
  busy: boolean;
  busyWindows: number;
  windows: number;
  maxOtherCores: number;
  detail: Window[];
}

export interface Ratios {
  /** Our training chars/s over the peer's. */
  train: number | null;
  /** Our batch-1 sampling chars/s over the peer's (the peer samples at batch 1 only). */
  sampleBatch1: number | null;
  /** `charrnn sample` to a pipe, from its first byte, over the peer's batch-1 sampling. */
  sampleCli: number | null;
  /** Our peak RSS over the peer's. */
  peakRss: number | null;
}

const ok = <T extends object>(x: T | { error: string } | null): x is T => x !== null && !('error' in x);

export function figure(summary: Summary, windows: Window[]): Figure {
  return {
    charsPerSec: summary.perSecond,
    quietCharsPerSec: summary.quietPerSecond,
    busy: summary.busy,
    busyWindows: summary.busyWindows,
    windows: summary.windows,
    maxOtherCores: summary.maxOtherCores,
    detail: windows,
  };
}

export function ratio(ours: number | undefined, peer: number | undefined): number | null {
  return ours !== undefined && peer !== undefined && ours > 0 && peer > 0 && Number.isFinite(ours) && Number.isFinite(peer)
    ? ours / peer
    : null;
}

export function ratios(outcome: ConfigOutcome): Ratios {
  const ours = ok(outcome.ours) ? outcome.ours : null;
  const peer = ok(outcome.peer) ? outcome.peer : null;
  return {
    train: ratio(ours?.train.summary.perSecond, peer?.train.summary.perSecond),
    sampleBatch1: ratio(ours?.sample['1']?.summary.perSecond, peer?.sample.summary.perSecond),
    sampleCli: ratio(ours?.cliSample?.fromFirstByte, peer?.sample.summary.perSecond),
    peakRss: ratio(ours?.peakRssMb, peer?.peakRssMb),
  };
}

/** Each measurement that had a busy window, e.g. "2x256 peer train: 2/5 windows, up to 0.95 cores". */
export function busyMeasurements(outcomes: readonly ConfigOutcome[]): string[] {
  const notes: string[] = [];
  const note = (label: string, s: Summary) => {
    if (s.busy) notes.push(`${label}: ${s.busyWindows}/${s.windows} windows, up to ${s.maxOtherCores.toFixed(2)} cores`);
  };
  for (const o of outcomes) {
    if (ok(o.ours)) {
      note(`${o.config.name} ours train`, o.ours.train.summary);
      for (const [batch, m] of Object.entries(o.ours.sample)) note(`${o.config.name} ours sample b${batch}`, m.summary);
    }
    if (ok(o.peer)) {
      note(`${o.config.name} peer train`, o.peer.train.summary);
      note(`${o.config.name} peer sample b1`, o.peer.sample.summary);
    }
  }
  return notes;
}

export function buildJson(run: RunInfo, machine: MachineInfo, outcomes: readonly ConfigOutcome[]): object {
  const ours: Record<string, unknown> = {};
  const peer: Record<string, unknown> = {};
  const ratioTable: Record<string, Ratios> = {};
  let backend: WorkerResult['backend'] | null = null;
  let tfjs: string | null = null;
  for (const o of outcomes) {
    const name = o.config.name;
    if (ok(o.ours)) {
      const r = o.ours;
      backend ??= r.backend;
      tfjs ??= r.tfjs;
      ours[name] = {
        train: {
          ...figure(r.train.summary, r.train.windows),
          warmupSteps: r.train.warmupSteps,
          warmupSeconds: r.train.warmupSeconds,
          steps: r.train.steps,
          lastLoss: r.train.lastLoss,
        },
        sample: Object.fromEntries(Object.entries(r.sample).map(([b, m]) => [b, figure(m.summary, m.windows)])),
        cliSample: r.cliSample,
        peakRssMb: r.peakRssMb,
        parameters: r.parameters,
        busy: r.train.summary.busy || Object.values(r.sample).some((m) => m.summary.busy),
      };
    } else {
      ours[name] = o.ours;
    }
    if (o.peer !== null) {
      if (ok(o.peer)) {
        const p = o.peer;
        peer[name] = {
          train: {
            ...figure(p.train.summary, p.train.windows),
            reportedCharsPerSec: p.train.reportedCharsPerSec,
            otherCoresWholeRun: p.train.otherCores,
            gflops: p.train.gflops,
            steps: p.steps,
          },
          sample: { '1': { ...figure(p.sample.summary, p.sample.windows), reportedCharsPerSec: p.sample.reportedCharsPerSec } },
          peakRssMb: p.peakRssMb,
          busy: p.train.summary.busy || p.sample.summary.busy,
          threads: p.threads,
          ompWaitPolicy: p.ompWaitPolicy,
        };
      } else {
        peer[name] = o.peer;
      }
      ratioTable[name] = ratios(o);
    }
  }
  const busy = busyMeasurements(outcomes);
  return {
    startedAt: run.startedAt,
    seconds: run.seconds,
    quick: run.quick,
    corpus: run.corpus,
    timing: run.timing,
    busyThresholdCores: BUSY_CORES,
    configs: outcomes.map((o) => o.config),
    ours,
    peer: 'skipped' in machine.peer ? null : peer,
    ratios: 'skipped' in machine.peer ? null : ratioTable,
    machine: {
      ...machine,
      tfjs,
      backend: backend?.name ?? null,
      backendDescription: backend?.description ?? null,
      busy: busy.length > 0,
      busyMeasurements: busy,
    },
  };
}

/** Pads columns; 'r' columns are right-aligned. Rows may be shorter than the header. */
export function formatTable(rows: readonly (readonly string[])[], align: readonly ('l' | 'r')[]): string {
  const widths = align.map((_, c) => Math.max(...rows.map((r) => [...(r[c] ?? '')].length)));
  return rows
    .map((r) =>
      align
        .map((a, c) => {
          const cell = r[c] ?? '';
          const pad = ' '.repeat(widths[c] - [...cell].length);
          return a === 'r' ? pad + cell : cell + pad;
        })
        .join('  ')
        .trimEnd(),
    )
    .join('\n');
}

export function formatCount(n: number | undefined | null): string {
  return n === undefined || n === null || !Number.isFinite(n) ? '–' : Math.round(n).toLocaleString('en-US');
}

const BUSY_MARK = '!';

/** The BLAS torch runs on, from the libraries it loaded: OpenBLAS's own library if present. */
export function blasName(libraries: readonly string[]): string {
  const openblas = libraries.find((l) => /libopenblas/i.test(l));
  const chosen = openblas ?? libraries[0];
  return chosen === undefined ? 'no BLAS library found' : chosen.split('/').slice(-2).join('/');
}

/** A figure with the busy mark when any of its windows was busy. */
function cell(value: number | undefined, summary: Summary | undefined): string {
  if (value === undefined) return '–';
  return formatCount(value) + (summary?.busy ? BUSY_MARK : '');
}

function load(summary: Summary | undefined): string {
  return summary === undefined || Number.isNaN(summary.maxOtherCores) ? '–' : summary.maxOtherCores.toFixed(2);
}

function ratioCell(r: number | null): string {
  return r === null ? '–' : r.toFixed(2);
}

export function formatReport(run: RunInfo, machine: MachineInfo, outcomes: readonly ConfigOutcome[]): string {
  const first = outcomes.find((o) => ok(o.ours))?.ours as WorkerResult | undefined;
  const lines: string[] = [];
  const c = run.corpus;
  lines.push(
    `corpus: ${c.source}${c.truncated ? ', first' : ','} ${formatCount(c.bytes)} bytes (${formatCount(c.chars)} characters, ${c.vocabSize} distinct)`,
  );
  lines.push(`ours: ${first ? `${first.backend.description}, tfjs ${first.tfjs}` : 'no result'}, Node ${machine.node}`);
  if ('skipped' in machine.peer) lines.push(`peer: not run (${machine.peer.skipped})`);
  else {
    const p = machine.peer;
    const blas = blasName(p.blas);
    lines.push(`peer: PyTorch ${p.torch}, 2 threads, ${blas}; 2048² matMul ${p.matmulGflops.toFixed(0)} GFLOP/s`);
    if (p.warning) lines.push(`  warning: ${p.warning}`);
  }
  lines.push(
    `machine: ${machine.cpu}, ${machine.cores} cores, load average ${machine.loadAverage.map((l) => l.toFixed(2)).join(' ')} at start`,
  );
  lines.push('');

  const failures: string[] = [];
  const rows: string[][] = [['config', 'measure', 'ours', 'peer', 'ours/peer', "others' cores: ours | peer"]];
  for (const o of outcomes) {
    const { name, seq, batch } = o.config;
    const label = `${name.replace('x', '×')} seq ${seq} batch ${batch}`;
    const ours = ok(o.ours) ? o.ours : null;
    const peer = ok(o.peer) ? o.peer : null;
    const r = ratios(o);
    const peerCol = (value: number | undefined, summary?: Summary) => (o.peer === null ? '' : cell(value, summary));
    const loads = (a: Summary | undefined, b: Summary | undefined) => `${load(a)} | ${o.peer === null ? '' : load(b)}`;
    const s1 = ours?.sample['1']?.summary;
    const s16 = ours?.sample['16']?.summary;
    rows.push([
      label,
      'train chars/s',
      cell(ours?.train.summary.perSecond, ours?.train.summary),
      peerCol(peer?.train.summary.perSecond, peer?.train.summary),
      ratioCell(r.train),
      loads(ours?.train.summary, peer?.train.summary),
    ]);
    rows.push([
      '',
      'sample chars/s, batch 1',
      cell(s1?.perSecond, s1),
      peerCol(peer?.sample.summary.perSecond, peer?.sample.summary),
      ratioCell(r.sampleBatch1),
      loads(s1, peer?.sample.summary),
    ]);
    const cli = ours?.cliSample;
    rows.push([
      '',
      '  charrnn sample | pipe, from 1st byte',
      formatCount(cli?.fromFirstByte),
      peerCol(peer?.sample.summary.perSecond, peer?.sample.summary),
      ratioCell(r.sampleCli),
      '',
    ]);
    rows.push(['', '  … with process start', formatCount(cli?.withStart), '', '', '']);
    rows.push(['', 'sample chars/s, batch 16', cell(s16?.perSecond, s16), '', '', load(s16)]);
    rows.push(['', 'peak RSS MB', formatCount(ours?.peakRssMb), peerCol(peer?.peakRssMb), ratioCell(r.peakRss), '']);
    if (!ours) failures.push(`${name} ours failed: ${(o.ours as { error: string }).error}`);
    if (o.peer !== null && !peer) failures.push(`${name} peer failed: ${(o.peer as { error: string }).error}`);
  }
  lines.push(formatTable(rows, ['l', 'l', 'r', 'r', 'r', 'l']));
  lines.push(...failures);
  lines.push('');
  lines.push(
    `Medians over windows (training: ${run.timing.trainWindows} of ~${(run.timing.trainSeconds / run.timing.trainWindows).toFixed(1)} s after warm-up; sampling: ${run.timing.sampleWindows} each).`,
  );
  lines.push(
    `charrnn sample | pipe: the built command on the run's checkpoint, batch 1, medians of ${run.timing.sampleWindows} runs of -n ≈ 3 windows' characters.`,
  );
  const busy = busyMeasurements(outcomes);
  if (busy.length === 0) lines.push(`The machine was quiet: other processes used at most ${BUSY_CORES} cores in every window.`);
  else {
    lines.push(`${BUSY_MARK} = other processes used more than ${BUSY_CORES} cores in some window: that figure is not a quiet machine's.`);
    for (const b of busy) lines.push(`  busy: ${b}`);
  }
  lines.push(`${run.quick ? 'quick run (rough numbers); ' : ''}took ${Math.round(run.seconds)} s`);
  return lines.join('\n');
}
