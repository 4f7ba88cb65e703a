/**
 * Where the CLI's words go: stdout carries only data (sampled text, JSON), everything
 * else goes to stderr. Colour only on a terminal, and never when NO_COLOR is set.
 */
import { Chalk, type ChalkInstance } from 'chalk';

export { formatCount, formatDuration } from '../render/numbers.js';

export function colourEnabled(stream: NodeJS.WriteStream): boolean {
  return Boolean(stream.isTTY) && !process.env.NO_COLOR && process.env.TERM !== 'dumb';
}

export const paint: ChalkInstance = new Chalk({ level: colourEnabled(process.stderr) ? 1 : 0 });
export const paintStdout: ChalkInstance = new Chalk({ level: colourEnabled(process.stdout) ? 1 : 0 });

/** One line of information on stderr. */
export function info(line: string): void {
  process.stderr.write(`${line}\n`);
}
