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
