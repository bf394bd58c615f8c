#!/usr/bin/python3
"""PyTorch side of nnc's own workloads W6 and W7 (bench_nnc.c has the nnc side).

The peer workloads W1-W5 live in ../shared/bench/bench_torch.py; this script reuses its
fit loop (Runner: Keras-like per-epoch shuffle, loss and metric of the pre-update forward
pass), its Keras-default Adam and its timing (one warm-up repetition, then --reps timed
ones), and writes the same JSON layout, so report.py reads both files alike.

W6  Fashion-MNIST convnet: Conv2D 32 3x3 relu -> MaxPool 2 -> Conv2D 64 3x3 relu -> MaxPool 2
    -> Flatten -> Dense 128 relu -> Dense 10 (softmax folded into the loss), Adam, batch 64,
    one epoch over the first --w6-samples training images (60000: the whole epoch).
W7  LSTM(64) -> Dense 1 sigmoid on --w7-samples synthetic sequences, 100 steps x 16
    features (datagen.normal seed 701; label: the sum of feature 0 over the steps is
    positive), Adam, batch 32, one epoch.

Run with Debian's interpreter:  /usr/bin/python3 bench/bench_torch_w67.py --threads 1 --out F.json
"""
import argparse
import json
import os
import platform
import sys
import time

import numpy as np
import torch
import torch.nn as nn

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "..", "shared", "bench"))
import bench_torch as peer  # noqa: E402
import datagen  # noqa: E402


def w6(reps, n):
    xn, yn, source = datagen.fashion_mnist()
    n = min(n, xn.shape[0]) if n > 0 else xn.shape[0]
    x = torch.from_numpy(np.ascontiguousarray(xn[:n])).reshape(n, 1, 28, 28)  # torch is NCHW
    y = torch.from_numpy(yn[:n].reshape(-1).astype(np.int64))
    torch.manual_seed(6)
    model = nn.Sequential(nn.Conv2d(1, 32, 3), nn.ReLU(), nn.MaxPool2d(2),
                          nn.Conv2d(32, 64, 3), nn.ReLU(), nn.MaxPool2d(2), nn.Flatten(),
                          nn.Linear(1600, 128), nn.ReLU(), nn.Linear(128, 10))
    r = peer.Runner(model, peer.keras_adam(model.parameters()), nn.CrossEntropyLoss(), peer.sparse_acc,
                    "eager", x[:64])
    gen = torch.Generator().manual_seed(66)
    last = {}

    def epoch():
        last["h"] = r.fit(x, y, batch_size=64, epochs=1, gen=gen)
    t = peer.reps_timed(epoch, reps)
    return [{"id": "W6", "times_s": t, "units_per_rep": 1, "unit": "epoch", "samples_per_rep": n,
             "data": source, "final": last["h"][-1]}]


def w7_data(n):
    x = datagen.normal(701, n * 100 * 16).reshape(n, 100, 16)
    y = (x[:, :, 0].astype(np.float64).sum(axis=1) > 0).astype(np.float32).reshape(n, 1)
    return x, y


class LstmClassifier(nn.Module):
    def __init__(self):
        super().__init__()
        self.lstm = nn.LSTM(16, 64, batch_first=True)
        self.dense = nn.Linear(64, 1)

    def forward(self, x):
        _, (h, _) = self.lstm(x)      # Keras LSTM(return_sequences=False): the last output
        return torch.sigmoid(self.dense(h[-1]))


def w7(reps, n):
    xn, yn = w7_data(n)
    x, y = torch.from_numpy(xn), torch.from_numpy(yn)
    torch.manual_seed(7)
    model = LstmClassifier()
    r = peer.Runner(model, peer.keras_adam(model.parameters()), nn.BCELoss(), peer.binary_acc, "eager", x[:32])
    gen = torch.Generator().manual_seed(77)
    last = {}

    def epoch():
        last["h"] = r.fit(x, y, batch_size=32, epochs=1, gen=gen)
    t = peer.reps_timed(epoch, reps)
    return [{"id": "W7", "times_s": t, "units_per_rep": 1, "unit": "epoch", "samples_per_rep": n,
             "final": last["h"][-1]}]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--reps", type=int, default=3)
    ap.add_argument("--workloads", default="W6,W7")
    ap.add_argument("--w6-samples", type=int, default=60000)
    ap.add_argument("--w7-samples", type=int, default=2048)
    ap.add_argument("--out", default=None)
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    meta = {"system": "torch", "mode": "eager", "threads_requested": args.threads,
            "torch_version": torch.__version__, "torch_num_threads": torch.get_num_threads(),
            "python": sys.executable + " " + platform.python_version(),
            "env": {k: os.environ.get(k) for k in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS",
                                                   "OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE")},
            "reps": args.reps, "results": []}
    runs = {"W6": lambda: w6(args.reps, args.w6_samples), "W7": lambda: w7(args.reps, args.w7_samples)}
    for wl in args.workloads.split(","):
        if wl not in runs:
            continue
        for r in runs[wl]():
            meta["results"].append(r)
            ts = sorted(r["times_s"])
            med = ts[len(ts) // 2]
            print(f"{r['id']:8s} median {med:.4f}s/rep  per-{r['unit']} {med / r['units_per_rep'] * 1e6:.1f}us  "
                  f"samples/s {r['samples_per_rep'] / med:.0f}  final {r['final']}", flush=True)
    if args.out:
        with open(args.out, "w") as f:
            json.dump(meta, f, indent=1)


if __name__ == "__main__":
    main()
