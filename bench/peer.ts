/**
 * The PyTorch peer (`../shared/peers/torch_charrnn.py`) on the same configuration and
 * corpus: whether Debian's torch imports and which BLAS it runs on, one run per
 * configuration, and its JSON read into the same shape as ours.
 */
import { spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { summarise, type Summary, type Window } from './measure.js';
import type { BenchConfig, Timing } from './options.js';

export const PEER_SCRIPT = fileURLToPath(new URL('../../shared/peers/torch_charrnn.py', import.meta.url));
export const PEER_THREADS = 2;
/** A 2048² float32 matMul on 2 threads of this kind of machine: ~205 GFLOP/s with OpenBLAS, ~6 with the reference BLAS. */
export const EXPECTED_GFLOPS = 205;
const SLOW_BLAS_GFLOPS = 50;

export interface PeerProbe {
  torch: string;
  /** Shared libraries with "blas" in their name that torch loaded. */
  blas: string[];
  /** 2048² float32 matMul, 2 threads. */
  matmulGflops: number;
  otherCores: number;
  /** Set when the matMul is far below what OpenBLAS gives. */
  warning: string | null;
}

export interface PeerResult {
  torch: string;
  threads: number;
  steps: number;
  train: { summary: Summary; windows: Window[]; reportedCharsPerSec: number; otherCores: number; gflops: number };
  sample: { summary: Summary; windows: Window[]; reportedCharsPerSec: number; otherCores: number };
  peakRssMb: number;
  ompWaitPolicy: string | null;
}

export type Outcome<T> = { ok: true; result: T } | { ok: false; error: string };

const PROBE = `
import json, os, time
t = os.times(); import torch
def snap():
    with open('/proc/stat') as f: v = [int(x) for x in f.readline().split()[1:]]
    t = os.times()
    return time.perf_counter(), (v[0] + v[1] + v[2] + v[5] + v[6] + v[7]) / os.sysconf('SC_CLK_TCK'), t.user + t.system
torch.set_num_threads(${PEER_THREADS})
a, b = torch.randn(2048, 2048), torch.randn(2048, 2048)
a @ b
n, s0 = 0, snap()
while n < 3 or time.perf_counter() - s0[0] < 1.0:
    a @ b; n += 1
s1 = snap()
libs = sorted({l.split()[-1] for l in open('/proc/self/maps') if 'blas' in l.split()[-1].lower()})
print(json.dumps({'torch': torch.__version__, 'blas': libs, 'gflops': 2 * 2048 ** 3 * n / (s1[0] - s0[0]) / 1e9,
                  'other': max(0.0, ((s1[1] - s0[1]) - (s1[2] - s0[2])) / (s1[0] - s0[0]))}))
`;

/** Whether the peer can run here, and how fast torch's BLAS is; failure says why. */
export async function probePeer(python: string, script = PEER_SCRIPT): Promise<Outcome<PeerProbe>> {
  if (!existsSync(script)) {
    // The default peer lives beside the repository on the machine it was measured on, not in it.
    return {
      ok: false,
      error: `no peer script at ${script}; pass --peer-script <a char-rnn PyTorch script taking peerArgs' flags and writing its JSON (bench/peer.ts)>, or --no-peer`,
    };
  }
  const run = await runProcess(python, ['-c', PROBE], 120);
  if (run.code !== 0) return { ok: false, error: `${python} cannot import torch (${lastLine(run.stderr) || `exit ${run.code}`})` };
  try {
    const p = JSON.parse(lastLine(run.stdout)) as { torch: string; blas: string[]; gflops: number; other: number };
    const busy = p.other > 0.2 ? ` (others used ${p.other.toFixed(2)} cores meanwhile)` : '';
    const warning =
      p.gflops < SLOW_BLAS_GFLOPS
        ? `torch's 2048² matMul ran at ${p.gflops.toFixed(0)} GFLOP/s${busy}, expected ~${EXPECTED_GFLOPS} with OpenBLAS: ${
            p.blas.some((l) => /openblas/i.test(l))
              ? 'the machine may be busy'
              : 'torch is not using OpenBLAS (apt-get install libopenblas0-openmp)'
          }`
        : null;
    return { ok: true, result: { torch: p.torch, blas: p.blas, matmulGflops: p.gflops, otherCores: p.other, warning } };
  } catch {
    return { ok: false, error: `the torch probe printed no JSON: ${lastLine(run.stdout + run.stderr)}` };
  }
}

/** Peer arguments: its log interval is our window, and one extra window (plus its slow first step) covers its warm-up. */
export function peerArgs(config: BenchConfig, timing: Timing, corpusPath: string, jsonOut: string, script = PEER_SCRIPT): string[] {
  const window = timing.trainSeconds / timing.trainWindows;
  return [
    script,
    '--corpus',
    corpusPath,
    '--layers',
    String(config.layers),
    '--hidden',
    String(config.hidden),
    '--seq',
    String(config.seq),
    '--batch',
    String(config.batch),
    '--seconds',
    String(timing.trainSeconds + window + PEER_STARTUP_SECONDS),
    '--log-every',
    String(window),
    '--warmup-steps',
    String(timing.warmupSteps),
    '--threads',
    String(PEER_THREADS),
    '--skip-eval',
    '--sample-chars',
    String(timing.peerSampleChars),
    '--json-out',
    jsonOut,
  ];
}

export async function runPeer(
  python: string,
  script: string,
  config: BenchConfig,
  timing: Timing,
  corpusPath: string,
  dir: string,
): Promise<Outcome<PeerResult>> {
  const jsonOut = join(dir, `peer-${config.name}.json`);
  const window = timing.trainSeconds / timing.trainWindows;
  const limit = 120 + 10 * (timing.trainSeconds + window + PEER_STARTUP_SECONDS);
  const run = await runProcess(python, peerArgs(config, timing, corpusPath, jsonOut, script), limit);
  if (run.code !== 0) return { ok: false, error: `peer exited with ${run.code ?? 'a timeout'}: ${lastLine(run.stderr)}` };
  try {
    return {
      ok: true,
      result: parsePeerResult(readFileSync(jsonOut, 'utf8'), { warmupSeconds: timing.warmupSeconds, windowSeconds: window }),
    };
  } catch (err) {
    return { ok: false, error: `cannot read the peer's JSON: ${(err as Error).message}` };
  }
}

interface PeerJson {
  torch: string;
  threads: number;
  seq: number;
  batch: number;
  steps: number;
  train_chars_per_sec: number | null; // NaN in Python's JSON
  train_gflops: number | null; // NaN in Python's JSON
  sample_chars: number;
  sample_chars_per_sec: number | null; // NaN in Python's JSON
  sample_seconds_all: number[];
  peak_rss_mb: number;
  other_load_cores_train: number | null; // NaN in Python's JSON
  other_load_cores_sample: number | null; // NaN in Python's JSON
  omp_wait_policy: string | null;
  train_intervals: { t: number; steps: number; secs: number; other_load: number }[];
}

const REQUIRED: (keyof PeerJson)[] = ['seq', 'batch', 'peak_rss_mb'];
/** Seconds the peer's first step may take on top of its warm-up window (torch's OpenMP and oneDNN start-up: ~2 s seen). */
const PEER_STARTUP_SECONDS = 2;

/**
 * The peer's JSON line. Training windows are its log intervals (they already leave out its
 * warm-up steps) that start after `warmupSeconds`, as ours do, and are not cut short (at
 * least half of `windowSeconds`, its log interval); if none qualifies, all of them;
 * if it logged none, its overall figure is the one window. Sampling windows are its
 * repeated timings.
 */
export function parsePeerResult(text: string, { warmupSeconds = 0, windowSeconds = 0 } = {}): PeerResult {
  const j = JSON.parse(pythonJson(text.trim().split('\n').pop() ?? '')) as Partial<PeerJson>;
  const missing = REQUIRED.filter((k) => typeof j[k] !== 'number');
  if (missing.length > 0) throw new Error(`missing ${missing.join(', ')}`);
  const p = j as PeerJson;
  const charsPerStep = p.seq * p.batch;
  const intervals = (p.train_intervals ?? []).filter((iv) => iv.secs > 0 && iv.steps > 0);
  const steady = intervals.filter((iv) => iv.t - iv.secs >= warmupSeconds - 1e-6 && iv.secs >= windowSeconds / 2);
  const chosen = steady.length > 0 ? steady : intervals;
  const trainWindows: Window[] =
    chosen.length > 0
      ? chosen.map((iv) => ({ work: iv.steps * charsPerStep, seconds: iv.secs, otherCores: iv.other_load }))
      : isNumber(p.train_chars_per_sec)
        ? [{ work: p.train_chars_per_sec, seconds: 1, otherCores: p.other_load_cores_train ?? NaN }]
        : [];
  const sampleSeconds = p.sample_seconds_all?.length
    ? p.sample_seconds_all
    : isNumber(p.sample_chars_per_sec)
      ? [p.sample_chars / p.sample_chars_per_sec]
      : [];
  const sampleWindows: Window[] = sampleSeconds
    .filter((s) => s > 0)
    .map((s) => ({ work: p.sample_chars, seconds: s, otherCores: p.other_load_cores_sample ?? NaN }));
  return {
    torch: p.torch,
    threads: p.threads,
    steps: p.steps,
    train: {
      summary: summarise(trainWindows),
      windows: trainWindows,
      reportedCharsPerSec: p.train_chars_per_sec ?? NaN,
      otherCores: p.other_load_cores_train ?? NaN,
      gflops: p.train_gflops ?? NaN,
    },
    sample: {
      summary: summarise(sampleWindows),
      windows: sampleWindows,
      reportedCharsPerSec: p.sample_chars_per_sec ?? NaN,
      otherCores: p.other_load_cores_sample ?? NaN,
    },
    peakRssMb: p.peak_rss_mb,
    ompWaitPolicy: p.omp_wait_policy ?? null,
  };
}

/** Python's json.dumps writes NaN, Infinity and -Infinity, which JSON lacks: they become null (outside strings only). */
export function pythonJson(text: string): string {
  let out = '';
  let inString = false;
  for (let k = 0; k < text.length; k++) {
    const ch = text[k];
    if (inString) {
      if (ch === '\\') {
        out += ch + text[++k];
        continue;
      }
      if (ch === '"') inString = false;
      out += ch;
      continue;
    }
    if (ch === '"') inString = true;
    const word = /^(?:-?Infinity|NaN)/.exec(text.slice(k, k + 9));
    if (word) {
      out += 'null';
      k += word[0].length - 1;
      continue;
    }
    out += ch;
  }
  return out;
}

const isNumber = (x: unknown): x is number => typeof x === 'number' && Number.isFinite(x);

interface ProcessRun {
  code: number | null;
  stdout: string;
  stderr: string;
}

export function runProcess(command: string, args: string[], timeoutSeconds: number): Promise<ProcessRun> {
  return new Promise((resolve) => {
    const child = spawn(command, args, { stdio: ['ignore', 'pipe', 'pipe'], timeout: timeoutSeconds * 1000 });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr = (stderr + d).slice(-20_000)));
    child.on('error', (err) => resolve({ code: -1, stdout, stderr: err.message }));
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

function lastLine(text: string): string {
  return text.trim().split('\n').pop() ?? '';
}
