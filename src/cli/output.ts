/**
 * Where the CLI's words go: stdout carries only data (sampled text, JSON), everything
 * else goes to stderr. Colour only on a terminal, and never when NO_COLOR is set.
 */
import { Chalk, type ChalkInstance } from 'chalk';

export function colourEnabled(stream: NodeJS.WriteStream): boolean {
  return Boolean(stream.isTTY) && !process.env.NO_COLOR && process.env.TERM !== 'dumb';
}

export const paint: ChalkInstance = new Chalk({ level: colourEnabled(process.stderr) ? 1 : 0 });
export const paintStdout: ChalkInstance = new Chalk({ level: colourEnabled(process.stdout) ? 1 : 0 });

/** One line of information on stderr. */
export function info(line: string): void {
  process.stderr.write(`${line}\n`);
}

export function formatDuration(seconds: number): string {
  const s = Math.round(seconds);
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m${String(s % 60).padStart(2, '0')}s`;
  return `${Math.floor(s / 3600)}h${String(Math.floor((s % 3600) / 60)).padStart(2, '0')}m`;
}

export function formatCount(n: number): string {
  return Math.round(n).toLocaleString('en-US');
}
