#!/usr/bin/python3
"""Compare nnc with PyTorch and the sgemm peak, all measured in the same run (bench/run.sh).

Inputs (bench/out/): nnc-t1.json, nnc-t2.json (bench_nnc --json), torch-t1.json,
torch-t2.json (shared/bench/bench_torch.py --out: W1-W5), torch-own-t1.json,
torch-own-t2.json (bench_torch_w67.py --out: W6, W7), sgemm-t1.txt, sgemm-t2.txt
(sgemm_peak), stat-begin.txt, stat-end.txt (/proc/stat's cpu line and /proc/loadavg).
FLOP model as shared/bench/make_report.py: a Dense layer in->out on b samples is 2*b*in*out
forward; a training sample costs 3x forward, a validation sample 1x. A 'valid' convolution
is 2*out_h*out_w*out_c*kh*kw*in_c per sample; an LSTM step 2*4*units*(features+units)."""
import json
import os
import re
import sys

OUT = sys.argv[1] if len(sys.argv) > 1 else os.path.join(os.path.dirname(__file__), "out")


def dense_fwd(dims):
    return 2 * sum(a * b for a, b in zip(dims[:-1], dims[1:]))


F1 = dense_fwd([1, 1])
F3 = dense_fwd([1001, 64, 64, 64, 64, 1])
F4 = dense_fwd([784, 64, 64, 10])
F4W = dense_fwd([784, 512, 512, 10])
F5 = 60 * dense_fwd([10, 32, 1])
F6 = 2 * 26 * 26 * 32 * 9 * 1 + 2 * 11 * 11 * 64 * 9 * 32 + dense_fwd([1600, 128, 10])
F7 = 100 * 2 * 4 * 64 * (16 + 64) + dense_fwd([64, 1])
EPOCH = {"W6": 60000}  # workloads measured on a prefix of their epoch, scaled to it


def flops_per_rep(i, samples):
    return {"W1-step": 2000 * 3 * 100 * F1, "W1-fit": 10 * 4 * 100 * F1, "W2": 1001 * 3 * 50 * F1,
            "W3": samples * 3 * F3 + samples / 9 * F3, "W4": samples * 3 * F4, "W4-wide": samples * 3 * F4W,
            "W5": 10 * (1000 * 3 * F5 + 500 * F5), "W6": samples * 3 * F6, "W7": samples * 3 * F7}[i]


def load_nnc(name):
    path = os.path.join(OUT, name)
    if not os.path.exists(path):
        return {}
    return {r["id"]: r for r in json.load(open(path))}


def scale(i, r):
    """the factor from a measured repetition to the workload's whole epoch"""
    return EPOCH[i] / r["samples_per_rep"] if i in EPOCH and r and "samples_per_rep" in r else 1.0


def load_torch(*names):
    res = {}
    for name in names:
        res.update(load_torch_file(name))
    return res


def load_torch_file(name):
    path = os.path.join(OUT, name)
    if not os.path.exists(path):
        return {}
    res = {}
    for r in json.load(open(path))["results"]:
        if "times_s" in r:
            ts = sorted(r["times_s"])
            res[r["id"]] = {"median_s": ts[len(ts) // 2], "samples_per_rep": r["samples_per_rep"]}
    return res


def sgemm(name):
    path = os.path.join(OUT, name)
    if not os.path.exists(path):
        return None
    best = None
    for line in open(path):
        m = re.match(r"n=(\d+) reps=\d+ GFLOP/s best=([\d.]+) median=([\d.]+)", line)
        if m and m.group(1) == "2048":
            best = float(m.group(3))
    return best


nnc = {1: load_nnc("nnc-t1.json"), 2: load_nnc("nnc-t2.json")}
torch = {t: load_torch(f"torch-t{t}.json", f"torch-own-t{t}.json") for t in (1, 2)}
peak = {1: sgemm("sgemm-t1.txt"), 2: sgemm("sgemm-t2.txt")}


def machine_load():
    """busy share of all CPUs between stat-begin and stat-end (the benchmark included)"""
    try:
        a, b = (open(os.path.join(OUT, f)).read().split("\n") for f in ("stat-begin.txt", "stat-end.txt"))
    except OSError:
        return None
    ja, jb = ([int(v) for v in s[0].split()[1:]] for s in (a, b))
    d = [y - x for x, y in zip(ja, jb)]
    idle = d[3] + d[4]  # idle + iowait
    return 100.0 * (1 - idle / sum(d)) if sum(d) else None, a[1].split()[:3], b[1].split()[:3]


def fmt_t(s):
    return "—" if s is None else (f"{s * 1e3:.2f} ms" if s < 1 else f"{s:.3f} s")


print("# nnc vs PyTorch (eager) — one run, this machine\n")
print(f"sgemm peak (OpenBLAS, n=2048, median): 1 thread {peak[1] or '—'} GFLOP/s, 2 threads {peak[2] or '—'} GFLOP/s\n")
print("Times are the median seconds of one repetition (as bench_torch.py defines it). "
      "Speed-up = best torch / best nnc (>1: nnc is faster; (tN): torch's best thread count). % peak = nnc's best GFLOP/s over the sgemm "
      "peak at the same thread count, measured in this run. The FLOP model (shared/bench) counts 3x forward per training sample.\n")
ml = machine_load()
if ml:
    print(f"Machine load during the run (/proc/stat, all CPUs, this benchmark included): {ml[0]:.0f}% busy; "
          f"load average (1, 5, 15 min) {' '.join(ml[1])} at the start, {' '.join(ml[2])} at the end.\n")
scaled = [i for i in EPOCH if any(i in nnc[t] and scale(i, nnc[t][i]) != 1 for t in (1, 2))]
if scaled:
    print("‡ " + ", ".join(scaled) + ": measured on a prefix of the epoch (the same prefix on both sides) and "
          "scaled linearly to the whole epoch.\n")
print("| workload | nnc 1 thread | nnc 2 threads | torch 1 thread | torch 2 threads | speed-up | nnc GFLOP/s | % sgemm peak |")
print("|---|---|---|---|---|---|---|---|")
skipped = []
for i in ["W1-step", "W1-fit", "W2", "W3", "W4", "W4-wide", "W5", "W6", "W7"]:
    n1, n2 = nnc[1].get(i), nnc[2].get(i)
    # per whole epoch where a prefix was measured
    t1, t2 = (r and dict(r, median_s=r["median_s"] * scale(i, r)) for r in (torch[1].get(i), torch[2].get(i)))
    tb = min(((r["median_s"], k) for k, r in ((1, t1), (2, t2)) if r), default=None)
    if any(r and "error" in r for r in (n1, n2)):  # e.g. a layer this build lacks: no nnc number
        skipped.append(f"{i}: {(n1 or n2)['error']}")
        if t1 or t2:
            print(f"| {i} | — | — | {fmt_t(t1 and t1['median_s'])} | {fmt_t(t2 and t2['median_s'])} | — | — | — |")
        continue
    n1, n2 = (r and dict(r, median_s=r["median_s"] * scale(i, r)) for r in (n1, n2))
    if not (n1 or n2):
        continue
    nb = min((r["median_s"], k) for k, r in ((1, n1), (2, n2)) if r)
    samples = (n1 or n2)["samples_per_rep"] * scale(i, n1 or n2)
    gf = flops_per_rep(i, samples) / nb[0] / 1e9
    # the sgemm peak at the thread count nnc's best time used; two threads can do at
    # least what one does (a busy 2-vCPU VM sometimes measures them below it)
    pk = peak[1] if nb[1] == 1 else max(p for p in (peak[1], peak[2], 0) if p is not None)
    print(f"| {i}{' ‡' if i in scaled else ''} | {fmt_t(n1 and n1['median_s'])} | {fmt_t(n2 and n2['median_s'])} | {fmt_t(t1 and t1['median_s'])} | "
          f"{fmt_t(t2 and t2['median_s'])} | {'—' if tb is None else f'{tb[0] / nb[0]:.2f}x (t{tb[1]})'} | {gf:.2f} | "
          f"{'—' if not pk else f'{100 * gf / pk:.1f}%'} |")
for line in skipped:
    print(f"\n{line}")
