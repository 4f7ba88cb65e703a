/**
 * `charrnn sample` as a user runs it: the built CLI in a process of its own, one sample of
 * N characters at batch 1, its stdout a pipe that this process reads. Two rates: over the
 * whole run (process start, loading the checkpoint and the backend included), and from the
 * first byte to the last (what the command delivers once it runs, as the in-process figure).
 */
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import type { BackendChoice } from '../dist/backend/select.js';
import { median } from './measure.js';

const BIN = fileURLToPath(new URL('../bin/charrnn.js', import.meta.url));

export interface CliSampling {
  /** Characters asked of each run (-n). */
  chars: number;
  runs: number;
  /** Medians over the runs, chars/s. */
  withStart: number;
  fromFirstByte: number;
}

interface Run {
  chars: number;
  seconds: number;
  /** After the first chunk: its characters do not count. */
  charsAfterFirst: number;
  secondsAfterFirst: number;
}

function runOnce(checkpoint: string, chars: number, backend: BackendChoice): Promise<Run> {
  return new Promise((resolve, reject) => {
    const start = performance.now();
    const child = spawn(process.execPath, [BIN, 'sample', checkpoint, '-n', String(chars), '--seed', '1', '--backend', backend], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let received = 0;
    let first: { at: number; chars: number } | null = null;
    let stderr = '';
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    child.stdout.setEncoding('utf8').on('data', (d: string) => {
      received += d.length;
      first ??= { at: performance.now(), chars: d.length };
    });
    child.on('error', reject);
    child.on('close', (code) => {
      const end = performance.now();
      if (code !== 0 || first === null) return reject(new Error(`charrnn sample exited with ${code}: ${stderr.trim().split('\n').pop()}`));
      resolve({
        chars: received,
        seconds: (end - start) / 1000,
        charsAfterFirst: received - first.chars,
        secondsAfterFirst: (end - first.at) / 1000,
      });
    });
  });
}

/** `runs` runs of `charrnn sample <checkpoint> -n <chars> > pipe`, one after the other. */
export async function measureCliSampling(checkpoint: string, chars: number, runs: number, backend: BackendChoice): Promise<CliSampling> {
  const results: Run[] = [];
  for (let k = 0; k < runs; k++) results.push(await runOnce(checkpoint, chars, backend));
  return {
    chars,
    runs,
    withStart: median(results.map((r) => r.chars / r.seconds)),
    fromFirstByte: median(results.map((r) => r.charsAfterFirst / r.secondsAfterFirst)),
  };
}
