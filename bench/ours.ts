/**
 * Our side of one configuration, from the parent: starts `worker.js` in a child process
 * (its progress lines pass through to stderr) and reads the JSON line it prints.
 */
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import type { WorkerResult, WorkerTask } from './worker.js';

const WORKER = fileURLToPath(new URL('./worker.js', import.meta.url));

export type OursOutcome = { ok: true; result: WorkerResult } | { ok: false; error: string };

export function runOurs(task: WorkerTask): Promise<OursOutcome> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [WORKER, JSON.stringify(task)], { stdio: ['ignore', 'pipe', 'inherit'] });
    let stdout = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    child.on('error', (err) => resolve({ ok: false, error: err.message }));
    child.on('close', (code, signal) => {
      if (code !== 0) return resolve({ ok: false, error: `worker exited with ${signal ?? `code ${code}`}` });
      const line = stdout.trim().split('\n').pop() ?? '';
      try {
        resolve({ ok: true, result: JSON.parse(line) as WorkerResult });
      } catch {
        resolve({ ok: false, error: `worker printed no JSON result (stdout: ${JSON.stringify(stdout.slice(-200))})` });
      }
    });
  });
}
