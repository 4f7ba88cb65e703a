/**
 * What differs between the recurrent cells a model can stack (`--cell`): the width of
 * the gate pre-activations, the bias's starting values, the layer's forward/backward,
 * and the Keras layer it is saved as. Everything else (model.ts, the trainer, sampling,
 * checkpoints) is shared.
 *
 *   lstm  4 gates (i, f, g, o)   lstm.ts   Keras LSTM
 *   gru   3 gates (z, r, h)      gru.ts    Keras GRU, reset_after=False (see gru.ts for why)
 *   rnn   1 (tanh)               rnn.ts    Keras SimpleRNN
 *
 * Every cell's state is an LstmState {h, c} of (B, H) tensors; GRU and RNN pass c
 * through unchanged (zeros), so carried state, resume files and data-parallel shards
 * have one layout for all cells.
 */
import type * as tf from '../tf.js';
import { gruForward, gruSequence } from './gru.js';
import { lstmForward, lstmSequence, type LstmState } from './lstm.js';
import { rnnForward, rnnSequence } from './rnn.js';

export const CELL_TYPES = ['lstm', 'gru', 'rnn'] as const;
export type CellType = (typeof CELL_TYPES)[number];

type LayerRun = (zIn: tf.Tensor2D, U: tf.Tensor2D, initial: LstmState) => { hs: tf.Tensor2D; final: LstmState };

interface CellSpec {
  /** Pre-activation columns per hidden unit: kernels are (D, gates·H). */
  gates: number;
  /** Whether the cell's c carries information (only the LSTM's does). */
  usesC: boolean;
  /** The bias's starting values (gates·H). */
  initialBias(H: number): Float32Array;
  /** Plain forward (evaluation; the autodiff reference) and the one with the hand-written backward. */
  forward: LayerRun;
  sequence: LayerRun;
  /** tfjs-layers class name, and the layer-name prefix tfjs gives it (weight names follow: lstm_1/kernel). */
  keras: { className: string; prefix: string; config: object };
}

export const CELLS: Record<CellType, CellSpec> = {
  lstm: {
    gates: 4,
    usesC: true,
    // Forget-gate bias 1 (gate order i, f, g, o): early on the cell remembers rather than forgets.
    initialBias: (H) => new Float32Array(4 * H).fill(1, H, 2 * H),
    forward: lstmForward,
    sequence: lstmSequence,
    keras: {
      className: 'LSTM',
      prefix: 'lstm',
      config: { activation: 'tanh', recurrent_activation: 'sigmoid', unit_forget_bias: true, implementation: 2 },
    },
  },
  gru: {
    gates: 3,
    usesC: false,
    initialBias: (H) => new Float32Array(3 * H),
    forward: gruForward,
    sequence: gruSequence,
    keras: {
      className: 'GRU',
      prefix: 'gru',
      // Keras 2.3+ defaults to reset_after=True: say False explicitly, or Keras reads the weights wrongly.
      config: { activation: 'tanh', recurrent_activation: 'sigmoid', reset_after: false, implementation: 2 },
    },
  },
  rnn: {
    gates: 1,
    usesC: false,
    initialBias: (H) => new Float32Array(H),
    forward: rnnForward,
    sequence: rnnSequence,
    keras: { className: 'SimpleRNN', prefix: 'simple_rnn', config: { activation: 'tanh' } },
  },
};

export function isCellType(value: unknown): value is CellType {
  return (CELL_TYPES as readonly unknown[]).includes(value);
}
