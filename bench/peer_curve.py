#!/usr/bin/env python3
"""The PyTorch peer's learning curve by step: its own model, initialisation, batching,
training step and evaluation (imported from torch_charrnn.py, not copied), validated
every --eval-every *steps* (the peer's own --eval-every counts seconds, which a busy
machine makes incomparable). Prints one JSON line: {"curve": [{"step", "val_nats"}], ...}.

  python3 peer_curve.py PEER_SCRIPT --corpus FILE --steps 500 --eval-every 50 --seed 1
"""
import argparse
import importlib.util
import json
import sys
import time


def load_peer(path):
    spec = importlib.util.spec_from_file_location("torch_charrnn", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def main():
    p = argparse.ArgumentParser()
    p.add_argument("peer")
    p.add_argument("--corpus", required=True)
    p.add_argument("--layers", type=int, default=2)
    p.add_argument("--hidden", type=int, default=128)
    p.add_argument("--seq", type=int, default=50)
    p.add_argument("--batch", type=int, default=50)
    p.add_argument("--lr", type=float, default=2e-3)
    p.add_argument("--clip", type=float, default=5.0)
    p.add_argument("--steps", type=int, required=True)
    p.add_argument("--eval-every", type=int, required=True)
    p.add_argument("--seed", type=int, default=123)
    p.add_argument("--threads", type=int, default=2)
    a = p.parse_args()
    peer = load_peer(a.peer)
    torch, F = peer.torch, peer.F
    torch.set_num_threads(a.threads)
    torch.manual_seed(a.seed)

    # The peer's split: contiguous 90/5/5 by character.
    with open(a.corpus, "r", encoding="utf-8", newline="") as f:
        text = f.read()
    chars = sorted(set(text))
    stoi = {c: i for i, c in enumerate(chars)}
    ids = torch.tensor([stoi[c] for c in text], dtype=torch.long)
    n_train, n_val = int(ids.numel() * 0.90), int(ids.numel() * 0.05)
    train_ids, val_ids = ids[:n_train], ids[n_train:n_train + n_val]

    model = peer.CharRNN(len(chars), a.hidden, a.layers)
    opt = torch.optim.Adam(model.parameters(), lr=a.lr)
    x_all, y_all = peer.make_streams(train_ids, a.batch)
    nb = x_all.size(1) // a.seq
    curve, state, t0 = [], None, time.perf_counter()
    for step in range(1, a.steps + 1):
        bi = (step - 1) % nb  # streams wrap around, state carried on (as the peer does)
        xb, yb = x_all[:, bi * a.seq:(bi + 1) * a.seq], y_all[:, bi * a.seq:(bi + 1) * a.seq]
        if state is not None:
            state = tuple(s.detach() for s in state)
        logits, state = model(xb, state)
        loss = F.cross_entropy(logits.reshape(-1, len(chars)), yb.reshape(-1))
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), a.clip)
        opt.step()
        if step % a.eval_every == 0 or step == a.steps:
            val, _ = peer.evaluate(model, val_ids, a.batch, max(a.seq, 256))
            curve.append({"step": step, "val_nats": round(val, 5), "train_loss": round(loss.item(), 5)})
            print(f"step {step} val {val:.4f}", file=sys.stderr, flush=True)
    print(json.dumps({"impl": "pytorch-peer", "seed": a.seed, "steps": a.steps, "seconds": round(time.perf_counter() - t0, 1), "curve": curve}))


if __name__ == "__main__":
    main()
