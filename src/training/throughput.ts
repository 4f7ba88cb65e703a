/** Characters per second over the last few steps, timing only the steps themselves (not validation or saving). */
export class Throughput {
  private recent: { chars: number; ms: number }[] = [];
  private totalChars = 0;
  private totalMs = 0;
  private started = 0;

  begin(): void {
    this.started = performance.now();
  }

  end(chars: number): void {
    const ms = performance.now() - this.started;
    this.recent.push({ chars, ms });
    if (this.recent.length > 20) this.recent.shift();
    this.totalChars += chars;
    this.totalMs += ms;
  }

  get rate(): number {
    const chars = this.recent.reduce((n, r) => n + r.chars, 0);
    const ms = this.recent.reduce((n, r) => n + r.ms, 0);
    return ms > 0 ? (chars / ms) * 1000 : 0;
  }

  get average(): number {
    return this.totalMs > 0 ? (this.totalChars / this.totalMs) * 1000 : 0;
  }
}
