#!/usr/bin/python3
"""PyTorch's side of the whole-fit measurements (bench/run.sh): one process that imports
torch, loads the .npy files fit_files.py wrote, builds the model, fits and writes the
History as JSON, like `nnc fit ... --history H.json`. run.sh times the process from start
to exit. Same models, optimizers and loop as ../shared/bench/bench_torch.py.

    torch_fit.py DIR W3|W4 HISTORY.json [--threads T] [--epochs E] [--steps-per-epoch S]"""
import argparse
import json
import os
import sys

import numpy as np
import torch
import torch.nn as nn

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "shared", "bench"))
import bench_torch as peer  # noqa: E402


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("dir")
    ap.add_argument("workload", choices=["W3", "W4"])
    ap.add_argument("history")
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--epochs", type=int, default=1)
    ap.add_argument("--steps-per-epoch", type=int, default=0)
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    name = a.workload.lower()
    x = torch.from_numpy(np.load(os.path.join(a.dir, name + "_x.npy")))
    y = np.load(os.path.join(a.dir, name + "_y.npy"))
    if a.workload == "W3":
        y = torch.from_numpy(y)
        split = x.shape[0] - int(x.shape[0] * 0.1)  # Keras validation_split: the last 10%
        val = (x[split:], y[split:])
        x, y = x[:split], y[:split]
        torch.manual_seed(3)
        model = peer.glorot_(peer.mlp_w3(), 3)
        r = peer.Runner(model, peer.keras_rmsprop(model.parameters(), 5e-4), nn.MSELoss(), peer.mae, "eager", x[:32])
        bs, names = 32, ("loss", "mae")
    else:
        y = torch.from_numpy(y.astype(np.int64))
        val = None
        torch.manual_seed(4)
        model = peer.glorot_(nn.Sequential(nn.Linear(784, 64), nn.ReLU(), nn.Linear(64, 64), nn.ReLU(),
                                           nn.Linear(64, 10)), 4)
        r = peer.Runner(model, peer.keras_rmsprop(model.parameters(), 1e-3), nn.CrossEntropyLoss(),
                        peer.sparse_acc, "eager", x[:64])
        bs, names = 64, ("loss", "accuracy")
    gen = torch.Generator().manual_seed(44)
    hist = {}
    n = x.shape[0]
    for _ in range(a.epochs):
        r.set_phase(True)
        perm = torch.randperm(n, generator=gen)
        tl = tm = 0.0
        seen = 0
        for s, i in enumerate(range(0, n, bs)):
            if a.steps_per_epoch and s == a.steps_per_epoch:
                break
            idx = perm[i:i + bs]
            lo, me = r.train_on_batch(x[idx], y[idx])
            tl, tm, seen = tl + lo * len(idx), tm + me * len(idx), seen + len(idx)
        rec = {names[0]: tl / seen, names[1]: tm / seen}
        if val is not None:
            rec["val_" + names[0]], rec["val_" + names[1]] = r.evaluate(val[0], val[1], bs)
        for k, v in rec.items():
            hist.setdefault(k, []).append(v)
    with open(a.history, "w") as f:
        json.dump(hist, f)


if __name__ == "__main__":
    main()
