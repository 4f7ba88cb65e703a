#!/usr/bin/env python3
"""charrnn's training recipe on PyTorch DistributedDataParallel: more cores, GPUs, machines.

    charrnn export checkpoints/mine/best mine.safetensors --format safetensors
    torchrun --standalone --nproc_per_node 2 scale-out/train_ddp.py corpus.txt --init mine.safetensors --out trained.safetensors --steps 1000
    charrnn import trained.safetensors -o checkpoints/trained

Without --init it starts fresh (--cell, --layers, --hidden). The recipe is charrnn's
(src/training/loop.ts): the training text (all but the last --val-frac) is cut into --batch
contiguous streams; step s of an epoch reads characters [s*seq, (s+1)*seq) of every
stream, carrying the state from step s-1 detached (truncated BPTT) and starting from
zeros at every epoch; mean cross-entropy; the global gradient norm clipped to --clip;
charrnn's Adam; learning rate lr * lr_decay**epoch, and with --steps brought down linearly
to 0 over its last 30% (src/training/learning-rate.ts); dropout on every layer's output.

Ranks share the global batch: rank r takes streams [r*B/W, (r+1)*B/W). Each rank's
summed loss is scaled by W/(seq*B), so DDP's average of the ranks' gradients is the whole
batch's mean-loss gradient; every rank then clips and steps the same. gloo on CPU, NCCL on
GPU. Rank 0 writes --out (safetensors, the names and metadata charrnn import reads, see
docs/scale-out.md) every --save-every steps and at the end. bias_hh stays zero and frozen:
charrnn has one bias per layer, and two trained copies would double its learning rate.
Not carried over from charrnn: validation during training, the divergence guard, resuming.
"""
import argparse
import hashlib
import json
import math
import os
import struct
import sys
import time

import torch
import torch.distributed as dist
import torch.nn as nn
import torch.nn.functional as F
from torch.nn.parallel import DistributedDataParallel

# charrnn's defaults (src/training/config.ts), used where neither the flags nor --init say otherwise.
DEFAULTS = dict(cell="lstm", layers=2, hidden=128, dropout=0.0, learnedInit=False, seq=50, batch=50, valFrac=0.05,
                lr=5e-3, lrDecay=0.97, clip=5.0, epochs=20, maxSteps=None, maxSeconds=None, patience=None,
                evalEvery=100, saveEvery=100, seed=1234)
DECAY_SHARE = 0.3  # as src/training/learning-rate.ts
VALIDATION_MAX_CHARS = 200_000  # as src/training/validation.ts


class CharRNN(nn.Module):
    """one-hot (T, B) ids -> rnn (nn.LSTM or tanh nn.RNN, time-major) -> decoder logits (T, B, V)."""

    def __init__(self, cell, vocab_size, hidden, layers, dropout):
        super().__init__()
        rnn = {"lstm": nn.LSTM, "rnn": nn.RNN}[cell]
        self.rnn = rnn(vocab_size, hidden, layers, dropout=dropout if layers > 1 else 0.0)  # between layers
        self.decoder = nn.Linear(hidden, vocab_size)
        self.vocab_size, self.dropout = vocab_size, dropout

    def forward(self, ids, state=None):
        out, state = self.rnn(F.one_hot(ids, self.vocab_size).float(), state)
        return self.decoder(F.dropout(out, self.dropout, self.training)), state  # and after the last layer


def read_safetensors(path):
    """{name: tensor}, metadata. Assumes a little-endian host; charrnn import checks files fully."""
    with open(path, "rb") as f:
        data = f.read()
    (n,) = struct.unpack("<Q", data[:8])
    header = json.loads(data[8:8 + n])
    metadata = header.pop("__metadata__", {})
    tensors = {}
    for name, entry in header.items():
        if entry["dtype"] != "F32":
            sys.exit(f"{path}: tensor {name} is {entry['dtype']}, expected F32")
        begin, end = entry["data_offsets"]
        tensors[name] = torch.frombuffer(bytearray(data[8 + n + begin:8 + n + end]), dtype=torch.float32).reshape(entry["shape"])
    return tensors, metadata


def write_safetensors(path, tensors, metadata):
    header, blobs, offset = {"__metadata__": metadata}, [], 0
    for name, t in tensors.items():
        blob = t.detach().to("cpu", torch.float32).contiguous().numpy().astype("<f4").tobytes()
        header[name] = {"dtype": "F32", "shape": list(t.shape), "data_offsets": [offset, offset + len(blob)]}
        blobs.append(blob)
        offset += len(blob)
    text = json.dumps(header).encode()
    text += b" " * (-(8 + len(text)) % 8)  # the data starts 8-aligned
    tmp = f"{path}.tmp-{os.getpid()}"
    with open(tmp, "wb") as f:
        f.write(struct.pack("<Q", len(text)) + text + b"".join(blobs))
    os.replace(tmp, path)  # atomic: a reader never sees half a file


def fresh_weights(model, cell, hidden):
    """charrnn's initialisation (src/model/model.ts): uniform in +-1/sqrt(H); biases 0, an LSTM's forget gate 1."""
    with torch.no_grad():
        for name, p in model.named_parameters():
            if name.startswith("rnn.bias"):
                p.zero_()
            else:
                p.uniform_(-hidden ** -0.5, hidden ** -0.5)
        if cell == "lstm":
            for k in range(model.rnn.num_layers):
                getattr(model.rnn, f"bias_ih_l{k}")[hidden:2 * hidden] = 1.0


class Adam:
    """charrnn's Adam (src/training/adam.ts): epsilon added to sqrt(v) before the bias correction."""

    def __init__(self, params, beta1=0.9, beta2=0.999, eps=1e-8):
        self.params, self.beta1, self.beta2, self.eps, self.t = params, beta1, beta2, eps, 0
        self.m = [torch.zeros_like(p) for p in params]
        self.v = [torch.zeros_like(p) for p in params]

    @torch.no_grad()
    def step(self, lr, grad_scale):
        self.t += 1
        step_size = lr * math.sqrt(1 - self.beta2 ** self.t) / (1 - self.beta1 ** self.t)
        for p, m, v in zip(self.params, self.m, self.v):
            g = p.grad * grad_scale
            m.mul_(self.beta1).add_(g, alpha=1 - self.beta1)
            v.mul_(self.beta2).addcmul_(g, g, value=1 - self.beta2)
            p.sub_(step_size * m / (v.sqrt() + self.eps))


def detached(state):
    return tuple(s.detach() for s in state) if isinstance(state, tuple) else state.detach()


@torch.no_grad()
def evaluate(model, ids, batch, seq, score_tail=True):
    """Mean nats/char as charrnn's evaluate (src/scoring/evaluate.ts): `streams` contiguous streams from zero state,
    then the few characters after the last stream from its final state (training's validation leaves those out)."""
    streams = max(1, min(batch, (len(ids) - 1) // seq))
    length = (len(ids) - 1) // streams
    starts = torch.arange(streams, device=ids.device) * length
    at = starts[None, :] + torch.arange(length, device=ids.device)[:, None]  # (length, streams)
    logits, state = model(ids[at])
    nats = F.cross_entropy(logits.reshape(-1, logits.shape[-1]), ids[at + 1].reshape(-1), reduction="sum")
    count = at.numel()
    tail = ids[streams * length:]
    if score_tail and len(tail) > 1:
        last = tuple(s[:, -1:].contiguous() for s in state) if isinstance(state, tuple) else state[:, -1:].contiguous()
        tail_logits, _ = model(tail[:-1, None], last)
        nats = nats + F.cross_entropy(tail_logits.reshape(-1, tail_logits.shape[-1]), tail[1:], reduction="sum")
        count += len(tail) - 1
    return (nats / count).item()


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("corpus", help="UTF-8 text file")
    p.add_argument("--init", help="start from this safetensors file (charrnn export or an earlier --out); default: fresh")
    p.add_argument("--out", required=True, help="safetensors file to write (rank 0)")
    p.add_argument("--steps", type=int, help="stop after this many steps (default: --epochs)")
    p.add_argument("--save-every", type=int, default=100)
    p.add_argument("--log-every", type=int, default=10)
    for flag, kind in [("cell", str), ("layers", int), ("hidden", int), ("dropout", float), ("seq", int), ("batch", int),
                       ("val-frac", float), ("lr", float), ("lr-decay", float), ("clip", float), ("epochs", int), ("seed", int)]:
        p.add_argument(f"--{flag}", type=kind, choices=["lstm", "rnn"] if flag == "cell" else None,
                       help="default: --init's training settings, else charrnn's")
    args = p.parse_args()

    cuda = torch.cuda.is_available()
    dist.init_process_group("nccl" if cuda else "gloo")
    rank, world = dist.get_rank(), dist.get_world_size()
    device = torch.device(f"cuda:{int(os.environ.get('LOCAL_RANK', 0))}" if cuda else "cpu")
    if cuda:
        torch.cuda.set_device(device)

    tensors, meta = read_safetensors(args.init) if args.init else ({}, {})
    cfg = dict(DEFAULTS, **json.loads(meta.get("training", "{}")).get("config", {}))
    for key in ["cell", "layers", "hidden", "dropout", "seq", "batch", "valFrac", "lr", "lrDecay", "clip", "epochs", "seed"]:
        flag = "".join("_" + c.lower() if c.isupper() else c for c in key)
        if getattr(args, flag) is not None:
            if args.init and key in ("cell", "layers", "hidden"):
                sys.exit(f"--{flag.replace('_', '-')} comes from {args.init}; it cannot change")
            cfg[key] = getattr(args, flag)
    cfg["learnedInit"] = False

    raw = open(args.corpus, "rb").read()
    text = raw.decode("utf-8").removeprefix("\ufeff")
    vocab = json.loads(meta["vocabulary"]) if args.init else sorted(set(text))
    index = {ch: k for k, ch in enumerate(vocab)}
    unknown = sorted(set(text) - set(index))
    if unknown:
        sys.exit(f"{args.corpus} has characters {args.init} never saw: {unknown[:10]}")
    ids = torch.tensor([index[ch] for ch in text], dtype=torch.long, device=device)
    n_val = math.floor(len(ids) * cfg["valFrac"])
    train_ids, val_ids = ids[:len(ids) - n_val], ids[len(ids) - n_val:]
    B, T = cfg["batch"], cfg["seq"]
    stream_length = (len(train_ids) - 1) // B
    steps_per_epoch = stream_length // T
    lo, hi = rank * B // world, (rank + 1) * B // world
    if steps_per_epoch < 1 or hi == lo:
        sys.exit(f"{len(train_ids)} training characters cannot fill {B} streams of {T + 1} on {world} ranks")
    # a budgeted charrnn run saves epochs null (no limit): here --steps is the only other stop
    cfg["epochs"] = cfg["epochs"] or DEFAULTS["epochs"]
    total = min(args.steps or math.inf, cfg["epochs"] * steps_per_epoch)
    # a steps budget ends on a settled model: the rate falls to 0 over its last DECAY_SHARE
    decay_start = min(total - 1, math.floor(total * (1 - DECAY_SHARE) + 0.5)) if args.steps else math.inf  # JS Math.round

    torch.manual_seed(cfg["seed"])
    model = CharRNN(cfg["cell"], len(vocab), cfg["hidden"], cfg["layers"], cfg["dropout"]).to(device)
    if args.init:
        model.load_state_dict(tensors)
    else:
        fresh_weights(model, cfg["cell"], cfg["hidden"])
    with torch.no_grad():
        for k in range(cfg["layers"]):
            getattr(model.rnn, f"bias_ih_l{k}").add_(getattr(model.rnn, f"bias_hh_l{k}"))
            getattr(model.rnn, f"bias_hh_l{k}").zero_().requires_grad_(False)
    ddp = DistributedDataParallel(model)  # copies rank 0's weights to every rank
    params = [p for p in model.parameters() if p.requires_grad]
    adam = Adam(params)

    def save(step, val_loss, seconds):
        history = [] if val_loss is None else [dict(step=step, epoch=step / steps_per_epoch, trainLoss=loss_sum_run / step,
                                                    valLoss=val_loss, lr=adam_lr, seconds=seconds)]
        training = dict(config=dict(cfg, maxSteps=args.steps), step=step, epoch=step / steps_per_epoch, history=history,
                        valLoss=val_loss, bestValLoss=val_loss, backend=f"PyTorch {torch.__version__} DDP, {world}x {dist.get_backend()}",
                        seconds=seconds, corpus=dict(path=os.path.abspath(args.corpus), encoding="utf8", bytes=len(raw),
                                                     chars=len(ids), fingerprint=hashlib.sha256(raw).hexdigest()))
        model_cfg = dict(vocabSize=len(vocab), hidden=cfg["hidden"], layers=cfg["layers"], dropout=cfg["dropout"],
                         cell=cfg["cell"], learnedInit=False)
        write_safetensors(args.out, model.state_dict(), dict(
            format="charrnn", format_version="1", vocabulary=json.dumps(vocab), model=json.dumps(model_cfg),
            training=json.dumps(training), corpus_fingerprint=training["corpus"]["fingerprint"]))

    starts = torch.arange(lo, hi, device=device) * stream_length
    offsets = torch.arange(T, device=device)[:, None]
    state, step, began, loss_sum_run = None, 0, time.time(), 0.0
    while step < total:
        epoch, position = divmod(step, steps_per_epoch)
        if position == 0:
            state = None  # every stream starts over: zeros
        at = starts[None, :] + position * T + offsets  # (T, this rank's streams)
        logits, state = ddp(train_ids[at], state)
        state = detached(state)
        loss_sum = F.cross_entropy(logits.reshape(-1, len(vocab)), train_ids[at + 1].reshape(-1), reduction="sum")
        adam_lr = cfg["lr"] * cfg["lrDecay"] ** epoch * (1 if step < decay_start else (total - step) / (total - decay_start))
        (loss_sum * world / (T * B)).backward()  # DDP averages over ranks: the whole batch's mean
        norm = torch.sqrt(sum((q.grad ** 2).sum() for q in params)).item()
        adam.step(adam_lr, cfg["clip"] / norm if norm > cfg["clip"] else 1.0)
        ddp.zero_grad(set_to_none=True)
        step += 1
        loss = loss_sum.detach()
        dist.all_reduce(loss)
        loss_sum_run += loss.item() / (T * B)
        if rank == 0 and (step % args.log_every == 0 or step == 1 or step == total):
            print(f"step {step}/{total} | epoch {step / steps_per_epoch:.2f} | loss {loss.item() / (T * B):.4f} | lr {adam_lr:.3g}", flush=True)
        if rank == 0 and step % args.save_every == 0 and step < total:
            save(step, None, time.time() - began)
    if rank == 0:
        model.eval()
        val_loss = evaluate(model, val_ids[:VALIDATION_MAX_CHARS], B, T, score_tail=False) if len(val_ids) >= 2 else None
        save(step, val_loss, time.time() - began)
        val = "no validation text" if val_loss is None else f"val {val_loss:.4f} nats/char"
        print(f"done: {step} steps on {world} processes in {time.time() - began:.1f}s; {val} -> {args.out}", flush=True)
    dist.destroy_process_group()


if __name__ == "__main__":
    main()
