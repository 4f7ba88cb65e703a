/**
 * How a measurement is taken and summarised: a run is cut into windows; each window
 * records the work done, the wall time, and how many cores *other* processes kept busy
 * meanwhile; a figure is the median over windows, and a window where others used more
 * than BUSY_CORES is flagged (its figure is not a quiet machine's figure).
 *
 * Other processes' load over a window = (Δ machine busy CPU-seconds − Δ our own
 * CPU-seconds) / Δ wall seconds, with "busy" counted as in /proc/stat (user, nice,
 * system, irq, softirq, steal), the same definition the PyTorch peer uses.
 */
import { readFileSync } from 'node:fs';
import { cpus } from 'node:os';

/** Others using more cores than this during a window makes it a busy window. */
export const BUSY_CORES = 0.2;

export interface CpuSnapshot {
  /** Wall clock, seconds. */
  wall: number;
  /** CPU-seconds the whole machine has spent busy since boot (NaN if unknown). */
  machineBusy: number;
  /** CPU-seconds this process has used. */
  self: number;
}

export interface Window {
  /** Units of work done: characters trained or generated. */
  work: number;
  seconds: number;
  /** Average cores kept busy by other processes (NaN if unknown). */
  otherCores: number;
}

export interface Summary {
  /** Median over windows of work per second. */
  perSecond: number;
  /** Median over windows that were not busy; null if every window was. */
  quietPerSecond: number | null;
  windows: number;
  busyWindows: number;
  /** Largest and median other-process load over the windows. */
  maxOtherCores: number;
  medianOtherCores: number;
  busy: boolean;
}

export function median(values: readonly number[]): number {
  const sorted = values.filter((v) => !Number.isNaN(v)).sort((a, b) => a - b);
  if (sorted.length === 0) return NaN;
  const mid = sorted.length >> 1;
  return sorted.length % 2 === 1 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}

/** Cores used by other processes between two snapshots; never negative (ticks are coarse). */
export function otherCores(a: CpuSnapshot, b: CpuSnapshot): number {
  const wall = b.wall - a.wall;
  if (!(wall > 0)) return NaN;
  return Math.max(0, (b.machineBusy - a.machineBusy - (b.self - a.self)) / wall);
}

/** A window is busy when others used more than BUSY_CORES; an unknown load is not flagged. */
export function isBusy(window: Window): boolean {
  return window.otherCores > BUSY_CORES;
}

export function summarise(windows: readonly Window[]): Summary {
  const rate = (w: Window) => w.work / w.seconds;
  const quiet = windows.filter((w) => !isBusy(w));
  const loads = windows.map((w) => w.otherCores);
  const busyWindows = windows.length - quiet.length;
  return {
    perSecond: median(windows.map(rate)),
    quietPerSecond: quiet.length > 0 ? median(quiet.map(rate)) : null,
    windows: windows.length,
    busyWindows,
    maxOtherCores: loads.some((l) => !Number.isNaN(l)) ? Math.max(...loads.filter((l) => !Number.isNaN(l))) : NaN,
    medianOtherCores: median(loads),
    busy: busyWindows > 0,
  };
}

/**
 * Busy CPU-seconds of the whole machine from the first line of /proc/stat (Linux):
 * "cpu  user nice system idle iowait irq softirq steal guest guest_nice", in USER_HZ ticks.
 */
export function parseProcStat(text: string, ticksPerSecond = 100): number {
  const line = text.split('\n', 1)[0];
  const fields = line.trim().split(/\s+/);
  if (fields[0] !== 'cpu') return NaN;
  const v = fields.slice(1).map(Number);
  const busy = v[0] + v[1] + v[2] + (v[5] ?? 0) + (v[6] ?? 0) + (v[7] ?? 0);
  return busy / ticksPerSecond;
}

function machineBusySeconds(): number {
  try {
    return parseProcStat(readFileSync('/proc/stat', 'utf8')); // USER_HZ is 100 on every Linux ABI in use
  } catch {
    // Elsewhere: libuv's per-core times (ms), without steal and softirq.
    return cpus().reduce((s, c) => s + c.times.user + c.times.nice + c.times.sys + c.times.irq, 0) / 1000;
  }
}

export function cpuSnapshot(): CpuSnapshot {
  const { user, system } = process.cpuUsage();
  return { wall: performance.now() / 1000, machineBusy: machineBusySeconds(), self: (user + system) / 1e6 };
}

/** Windows of a run in progress: `close(work)` ends the current window and starts the next. */
export class WindowRecorder {
  readonly windows: Window[] = [];
  private start: CpuSnapshot = cpuSnapshot();

  /** Starts the first window now (e.g. at the end of the warm-up). */
  restart(): void {
    this.start = cpuSnapshot();
  }

  /** Seconds since the current window started. */
  get elapsed(): number {
    return performance.now() / 1000 - this.start.wall;
  }

  close(work: number): Window {
    const end = cpuSnapshot();
    const window = { work, seconds: end.wall - this.start.wall, otherCores: otherCores(this.start, end) };
    this.windows.push(window);
    this.start = end;
    return window;
  }
}
