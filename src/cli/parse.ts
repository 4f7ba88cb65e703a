/** Flag value parsers: a bad value is a one-line UserError naming the flag. */
import { UserError } from '../errors.js';

export function integer(flag: string, min = 1): (value: string) => number {
  return (value) => {
    const n = Number(value);
    if (!/^[+-]?\d+$/.test(value.trim()) || n < min) throw new UserError(`${flag} must be an integer ≥ ${min} (got '${value}')`);
    return n;
  };
}

export function real(flag: string, check: (n: number) => boolean, range: string): (value: string) => number {
  return (value) => {
    const n = Number(value);
    if (value.trim() === '' || !Number.isFinite(n) || !check(n)) throw new UserError(`${flag} must be ${range} (got '${value}')`);
    return n;
  };
}

const UNIT_SECONDS: Record<string, number> = { s: 1, m: 60, h: 3600 };

/** "90s", "5m", "1.5h" or plain seconds. */
export function duration(flag: string): (value: string) => number {
  return (value) => {
    const match = /^(\d+(?:\.\d+)?)([smh]?)$/.exec(value.trim());
    const seconds = match ? Number(match[1]) * UNIT_SECONDS[match[2] || 's'] : NaN;
    if (!(seconds > 0)) throw new UserError(`${flag} must be a duration such as 90s, 5m or 1h (got '${value}')`);
    return seconds;
  };
}

export function choice<T extends string>(flag: string, choices: readonly T[]): (value: string) => T {
  return (value) => {
    if (!(choices as readonly string[]).includes(value)) throw new UserError(`${flag} must be one of ${choices.join(', ')} (got '${value}')`);
    return value as T;
  };
}

/** A comma-separated list of numbers, each passing `check`: "0.5,1.0" → [0.5, 1]. */
export function realList(flag: string, check: (n: number) => boolean, range: string): (value: string) => number[] {
  return (value) => {
    const items = value.split(',').map((item) => item.trim());
    const numbers = items.map(Number);
    if (items.some((item, k) => item === '' || !Number.isFinite(numbers[k]) || !check(numbers[k]))) {
      throw new UserError(`${flag} must be a number ${range}, or a comma-separated list of them (got '${value}')`);
    }
    return numbers;
  };
}

/** A flag given more than once: each value is parsed and appended. */
export function repeatable<T>(parse: (value: string) => T): (value: string, previous: T[] | undefined) => T[] {
  return (value, previous) => [...(previous ?? []), parse(value)];
}

const ESCAPES: Record<string, string> = { n: '\n', r: '\r', t: '\t', '\\': '\\' };

/** Text with the backslash escapes \n, \r, \t and \\ (so a newline can be typed in a shell); not empty. */
export function escapedText(flag: string): (value: string) => string {
  return (value) => {
    const text = value.replace(/\\(.?)/gs, (whole, ch: string) => {
      const replacement = ESCAPES[ch];
      if (replacement === undefined) throw new UserError(`${flag}: unknown escape '${whole}' in '${value}' (use \\n, \\r, \\t or \\\\)`);
      return replacement;
    });
    if (text === '') throw new UserError(`${flag} must not be empty`);
    return text;
  };
}
