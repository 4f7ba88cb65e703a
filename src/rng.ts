/**
 * A small seeded PRNG (mulberry32) so that weight initialisation, dropout seeds and
 * sampling are reproducible from one `--seed`, independently of the backend.
 */
export class Rng {
  private state: number;

  /** `seed` may also be a `state` saved earlier: the sequence then continues exactly. */
  constructor(seed: number) {
    this.state = seed >>> 0;
  }

  /** Everything needed to continue the sequence later (for exact resume). */
  get savedState(): number {
    return this.state;
  }

  /** Uniform in [0, 1). */
  next(): number {
    let t = (this.state = (this.state + 0x6d2b79f5) >>> 0);
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }

  /** Uniform in [-limit, limit). */
  uniform(limit: number): number {
    return (this.next() * 2 - 1) * limit;
  }

  /** A 31-bit integer, e.g. to seed a tfjs random op. */
  int(): number {
    return Math.floor(this.next() * 0x7fffffff);
  }
}
