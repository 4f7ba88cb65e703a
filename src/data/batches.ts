/**
 * char-rnn style batching. The text is cut into `batch` contiguous streams; step s of an
 * epoch takes characters [s·seq, (s+1)·seq) of every stream as input and the same
 * positions shifted by one as targets. Stream b at step s+1 continues exactly where it
 * stopped at step s, so the LSTM state carried between steps stays meaningful.
 */
export interface Batch {
  /** (seq*batch) ids, time-major: index t*batch + b is step t of stream b. */
  inputs: Int32Array;
  targets: Int32Array;
}

export class StreamBatcher {
  readonly streamLength: number;
  readonly stepsPerEpoch: number;

  constructor(
    private readonly ids: Int32Array,
    readonly batch: number,
    readonly seq: number,
  ) {
    // Every input needs a target one character later, hence the -1.
    this.streamLength = Math.floor((ids.length - 1) / batch);
    this.stepsPerEpoch = Math.floor(this.streamLength / seq);
    if (this.stepsPerEpoch < 1) {
      throw new RangeError(`${ids.length} characters cannot fill ${batch} streams of ${seq + 1}`);
    }
  }

  /** The fewest characters that give one step: one seq+1 window per stream. */
  static minimumLength(batch: number, seq: number): number {
    return batch * seq + 1;
  }

  /** Characters used per epoch (the remainder at the end of each stream is skipped). */
  get charsPerEpoch(): number {
    return this.stepsPerEpoch * this.seq * this.batch;
  }

  /** Characters at the end of each stream that no full step reaches. */
  get remainder(): number {
    return this.streamLength - this.stepsPerEpoch * this.seq;
  }

  /**
   * The batch for step `step` (0 ≤ step < stepsPerEpoch) of an epoch; scoring passes a
   * shorter `length` for the stream tails after the last full step.
   */
  get(step: number, length = this.seq): Batch {
    const { batch, seq: stride, ids, streamLength } = this;
    const seq = length;
    const inputs = new Int32Array(seq * batch);
    const targets = new Int32Array(seq * batch);
    for (let b = 0; b < batch; b++) {
      const start = b * streamLength + step * stride;
      for (let t = 0; t < seq; t++) {
        inputs[t * batch + b] = ids[start + t];
        targets[t * batch + b] = ids[start + t + 1];
      }
    }
    return { inputs, targets };
  }
}
