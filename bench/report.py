#!/usr/bin/python3
"""The comparison report of bench/run.sh: nnc against PyTorch's best configuration (thread
configuration x OpenBLAS kernel), the sgemm peak, compile time, fixed cost of a fit, peak
memory and the roofline, for every run in OUT (run1/, run2/, ...).

Inputs per run: nnc-tT-W.json (bench_nnc --json), torch-CORE-CFG-W.json (bench_torch.py /
bench_torch_w67.py --out) and .meta.json (torch_run.py: OpenBLAS kernel, peak RSS),
sgemm-CORE-tT.txt, triad-tT.txt, fit-*.txt and compile-*.txt ("wall_s cpu_s maxrss_kib"),
w4wide-workspace.txt, stat-begin/end.txt. OUT/machine.txt: the machine facts.

FLOP model as shared/bench/make_report.py: a Dense layer in->out on b samples is 2*b*in*out
forward; a training sample costs 3x forward, a validation sample 1x. "% of peak" and the roofline use
the executed FLOPs instead: 3x forward minus the first layer's input gradient (FIRST_DX). A 'valid' convolution
is 2*out_h*out_w*out_c*kh*kw*in_c per sample; an LSTM step 2*4*units*(features+units).
docs/performance.md, "How the benchmark measures", explains every number."""
import glob
import json
import math
import os
import re
import statistics
import sys

OUT = sys.argv[1] if len(sys.argv) > 1 else os.path.join(os.path.dirname(__file__), "out")
WORKLOADS = ["W1-step", "W1-fit", "W2", "W3", "W4", "W4-wide", "W5", "W6", "W7"]
FILE_OF = {"W1-step": "W1", "W1-fit": "W1"}  # bench processes run W1 as one workload
CONFIG_NAMES = {"1core": "1 core", "blas2": "intra-op 1 + OpenBLAS 2", "passive": "t2 OMP passive", "t2": "t2"}
# issue 9's targets: speed-up vs PyTorch's best configuration
TARGET = {"W1-step": 100, "W2": 300, "W3": 10, "W4": 4, "W4-wide": 2.5, "W5": 5, "W6": 2, "W7": 3}
COMPILE_TARGET = {"fashion_mnist_mlp": 0.1, "deep20": 0.5, "deep100": 2.0}
WARM_TARGET = 0.030


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


# Executed FLOPs: neither nnc nor PyTorch computes the first trainable layer's input gradient
# (x needs none), so a training sample executes 3x forward minus that layer's dX FLOPs (as many
# as its forward: 2*in*out for a Dense, the forward of the first convolution, the LSTM's input
# projection over the steps). Per training sample:
FIRST_DX = {"W1-step": 2 * 1 * 1, "W1-fit": 2 * 1 * 1, "W2": 2 * 1 * 1, "W3": 2 * 1001 * 64, "W4": 2 * 784 * 64,
            "W4-wide": 2 * 784 * 512, "W5": 60 * 2 * 10 * 32, "W6": 2 * 26 * 26 * 32 * 9 * 1, "W7": 100 * 2 * 4 * 64 * 16}


def trained_per_rep(i, samples):
    """training samples of one repetition (flops_per_rep's 3x-forward share)"""
    return {"W1-step": 2000 * 100, "W1-fit": 10 * 100, "W2": 1001 * 50, "W5": 10 * 1000}.get(i, samples)


def exec_flops_per_rep(i, samples):
    return flops_per_rep(i, samples) - trained_per_rep(i, samples) * FIRST_DX[i]


# ---------------------------------------------------------------- roofline model
# per workload: batch, forward FLOPs per sample, parameters, optimizer slots per parameter,
# activations (outputs of every layer) per sample, input floats per sample
def params(dims):
    return sum(a * b + b for a, b in zip(dims[:-1], dims[1:]))


ROOF = {
    "W1-step": (100, F1, params([1, 1]), 0, 2, 1),
    "W2": (50, F1, params([1, 1]), 0, 1, 1),
    "W3": (32, F3, params([1001, 64, 64, 64, 64, 1]), 1, 4 * 64 * 2 + 1, 1001),  # dropout masks too
    "W4": (64, F4, params([784, 64, 64, 10]), 1, 64 + 64 + 10, 784),
    "W4-wide": (128, F4W, params([784, 512, 512, 10]), 1, 512 + 512 + 10, 784),
    "W5": (32, F5, params([10, 32, 1]), 2, 60 * (32 + 1), 600),
    "W6": (64, F6, 32 * 9 + 32 + 64 * 9 * 32 + 64 + params([1600, 128, 10]), 2,
           26 * 26 * 32 + 13 * 13 * 32 + 11 * 11 * 64 + 5 * 5 * 64 + 128 + 10, 784),
    "W7": (32, F7, 4 * 64 * (16 + 64 + 1) + 65, 2, 100 * 6 * 64 + 1, 1600),
}


def roofline(i):
    """FLOPs and bytes of one training step: parameters are read by the forward and the
    backward pass, their gradient written, and the optimizer reads parameter, gradient and
    slots and writes parameter and slots ((6 + 2 * slots) accesses); every activation is
    written forward, read backward, and its gradient written and read (4 accesses); the
    input batch is read twice (forward, and the first layer's weight gradient). 4 bytes each."""
    b, f, p, k, act, inp = ROOF[i]
    flops = 3 * b * f - b * FIRST_DX[i]  # executed FLOPs
    bp, ba, bd = 4 * p * (6 + 2 * k), 4 * 4 * b * act, 4 * 2 * b * inp
    return flops, bp, ba, bd, 4 * (p * (2 + k) + b * act)


# ---------------------------------------------------------------- loading
def jload(path):
    try:
        with open(path) as f:
            return json.load(f)
    except (OSError, ValueError):
        return None


def triple(path):
    try:
        v = open(path).read().split()
        return float(v[0]), float(v[1]), int(float(v[2]))
    except (OSError, ValueError, IndexError):
        return None


def readings(path):
    """A compile-*.txt of run.sh's timed_reps.py: one "wall cpu maxrss" line per process that
    ran. Returns (median wall, median cpu, max rss, min wall, max wall, count); None when the
    file is missing or holds no reading (a malformed line is skipped, not the file)."""
    rows = []
    try:
        for line in open(path):
            try:
                r = [float(x) for x in line.split()]
            except ValueError:
                continue
            if len(r) == 3 and all(math.isfinite(x) and x >= 0 for x in r):
                rows.append(r)
    except (OSError, UnicodeDecodeError):
        return None
    if not rows:
        return None
    walls = sorted(r[0] for r in rows)
    return (statistics.median(walls), statistics.median(r[1] for r in rows), int(max(r[2] for r in rows)),
            walls[0], walls[-1], len(rows))


def spread(c):
    """How a compile's median was taken: "median of 5: 94.0-112.3 ms"."""
    return f"median of {c[5]}: {c[3] * 1e3:.1f}–{c[4] * 1e3:.1f} ms" if c[5] > 1 else "one process"


def median(ts):
    ts = sorted(ts)
    return ts[len(ts) // 2]


def load_run(d):
    r = {"nnc": {1: {}, 2: {}}, "torch": {}, "sgemm": {}, "triad": {}, "fit": {}, "compile": {}}
    for t in (1, 2):
        for p in glob.glob(os.path.join(d, f"nnc-t{t}-*.json")):
            for rec in jload(p) or []:
                r["nnc"][t][rec["id"]] = rec
    for p in glob.glob(os.path.join(d, "torch-*-*-*.json")):
        if p.endswith(".meta.json"):
            continue
        core, cfg = os.path.basename(p)[len("torch-"):].split("-")[:2]
        meta = jload(p[:-len(".json")] + ".meta.json") or {}
        for rec in (jload(p) or {}).get("results", []):
            if "times_s" in rec:
                r["torch"].setdefault((core, cfg), {})[rec["id"]] = {
                    "median_s": median(rec["times_s"]), "samples_per_rep": rec["samples_per_rep"],
                    "maxrss_kib": meta.get("maxrss_kib"), "corename": meta.get("corename")}
    for p in glob.glob(os.path.join(d, "sgemm-*-t?.txt")):
        core, t = re.match(r"sgemm-(.+)-t(\d)\.txt", os.path.basename(p)).groups()
        text = open(p).read()
        m = re.findall(r"n=\d+ reps=\d+ GFLOP/s best=[\d.]+ median=([\d.]+)", text)
        name = re.search(r"corename: (\S+)", text)
        if m:
            r["sgemm"][(core, int(t))] = (float(m[-1]), name.group(1) if name else "?")
    for t in (1, 2):
        try:
            r["triad"][t] = float(re.search(r"GB/s best ([\d.]+)", open(os.path.join(d, f"triad-t{t}.txt")).read()).group(1))
        except (OSError, AttributeError):
            pass
    r["core_latency"] = {}
    for when in ("begin", "end"):
        try:
            text = open(os.path.join(d, f"core-latency-{when}.txt")).read()
            trip = re.search(r"round trip ([\d.]+) ns", text)
            rw = re.search(r"read ([\d.]+) ns/line, of lines it did not ([\d.]+)", text)
            r["core_latency"][when] = (float(trip.group(1)) if trip else None,
                                       (float(rw.group(1)), float(rw.group(2))) if rw else None)
        except OSError:
            pass
    for p in glob.glob(os.path.join(d, "fit-*.txt")):
        r["fit"][os.path.basename(p)[4:-4]] = triple(p)
    for p in glob.glob(os.path.join(d, "compile-*.txt")):
        r["compile"][os.path.basename(p)[8:-4]] = readings(p)
    try:
        m = re.search(r"workspace (\d+) floats \+ (\d+) per row(?: \+ (\d+) per thread)?",
                      open(os.path.join(d, "w4wide-workspace.txt")).read())
        r["workspace"] = (int(m.group(1)), int(m.group(2)), int(m.group(3) or 0))
    except (OSError, AttributeError):
        r["workspace"] = None
    r["load"] = machine_load(d)
    return r


def machine_load(d):
    """busy share of all CPUs over the run, load averages, and the CPU time of processes
    other than this benchmark's (busy time minus the benchmark's children's time)"""
    try:
        a, b = (open(os.path.join(d, f)).read().split("\n") for f in ("stat-begin.txt", "stat-end.txt"))
    except OSError:
        return None
    ja, jb = ([int(v) for v in s[0].split()[1:]] for s in (a, b))
    delta = [y - x for x, y in zip(ja, jb)]
    idle = delta[3] + delta[4]  # idle + iowait
    steal = delta[7] if len(delta) > 7 else 0
    busy = sum(delta[:8]) - idle - steal
    ours = int(b[2].split()[1]) - int(a[2].split()[1])
    secs = float(b[3]) - float(a[3])
    hz = os.sysconf("SC_CLK_TCK")
    return {"busy_pct": 100.0 * busy / max(1, sum(delta)), "load_begin": a[1].split()[:3],
            "load_end": b[1].split()[:3], "others_cores": max(0, busy - ours) / hz / secs if secs > 0 else 0,
            "secs": secs}


# ---------------------------------------------------------------- formatting
def fmt_t(s):
    if s is None:
        return "—"
    return f"{s * 1e6:.1f} µs" if s < 1e-3 else (f"{s * 1e3:.2f} ms" if s < 1 else f"{s:.3f} s")


def fmt_mb(kib):
    return "—" if kib is None else f"{kib / 1024:.0f} MiB"


def scaled(i, rec):
    """median seconds per whole epoch (W6 is measured on a prefix)"""
    if not rec or "median_s" not in rec:
        return None
    return rec["median_s"] * (EPOCH[i] / rec["samples_per_rep"] if i in EPOCH else 1.0)


def peak(r, t):
    """the best sgemm median over the measured OpenBLAS kernels at t threads (two threads
    can do at least what one does: a busy VM sometimes measures them below it)"""
    v = [g for (c, tt), (g, _) in r["sgemm"].items() if tt == t]
    if t == 2:
        v += [g for (c, tt), (g, _) in r["sgemm"].items() if tt == 1]
    return max(v) if v else None


def col_name(core, cfg, cores):
    base = CONFIG_NAMES.get(cfg, cfg)
    return base if len(cores) == 1 else f"{base} [{core}]"


def l2_bytes(machine):
    m = re.match(r"(\d+)([KM]?)", machine.get("l2", ""))
    return int(m.group(1)) * {"": 1, "K": 2**10, "M": 2**20}[m.group(2)] if m else 2**20


def report_run(n, r, machine):
    print(f"## Run {n}\n")
    ld = r["load"]
    if ld:
        print(f"Machine load during the run ({ld['secs'] / 60:.1f} min; /proc/stat, all CPUs, this benchmark included): "
              f"{ld['busy_pct']:.0f}% busy; load average (1, 5, 15 min) {' '.join(ld['load_begin'])} at the start, "
              f"{' '.join(ld['load_end'])} at the end; other processes used {ld['others_cores']:.2f} cores on average.\n")
        if ld["others_cores"] > 0.1:
            print(f"**WARNING: other processes used {ld['others_cores']:.2f} of the {machine.get('cpus', '?')} cores on "
                  "average during this run: the timings include their interference (two-thread numbers most).**\n")
    sg = ", ".join(f"kernel {name} ({core}) {t} thread{'s' if t > 1 else ''}: {g:.1f}"
                   for (core, t), (g, name) in sorted(r["sgemm"].items()))
    print(f"sgemm peak (OpenBLAS, median GFLOP/s): {sg or '—'}. Peak used: 1 thread {peak(r, 1) or '—'}, "
          f"2 threads {peak(r, 2) or '—'} GFLOP/s (best kernel).")
    print(f"Memory bandwidth (triad, best GB/s): 1 thread {r['triad'].get(1, '—')}, 2 threads {r['triad'].get(2, '—')}.\n")
    cl = r.get("core_latency", {})
    if cl:
        parts = []
        for when in ("begin", "end"):
            if when in cl:
                trip, rw = cl[when]
                rws = f", rewrite of lines the other core read {rw[0]:.1f} ns/line (else {rw[1]:.1f})" if rw else ""
                parts.append(f"before nnc's runs" if when == "begin" else "after them")
                parts[-1] += f": line round trip {trip:.0f} ns{rws}" if trip else ": —"
        print("Core-to-core latency (bench/core_latency.c; small steps gain from two threads only while it is low, "
              "docs/performance.md \"Session 22\"): " + "; ".join(parts) + ".\n")
    cores = sorted({c for c, _ in r["torch"]}, key=lambda c: (c != "auto", c))
    cols = sorted(r["torch"], key=lambda k: (cores.index(k[0]), list(CONFIG_NAMES).index(k[1]) if k[1] in CONFIG_NAMES else 9))
    kern = sorted({(c, rec.get("corename")) for (c, _), recs in r["torch"].items() for rec in recs.values()})
    if kern:
        print("PyTorch's OpenBLAS kernel (openblas_get_corename in the torch process): " +
              ", ".join(f"{c} → {k}" for c, k in kern) + ".\n")
    head = ["workload", "nnc 1 thread", "nnc 2 threads"] + [f"torch {col_name(c, g, cores)}" for c, g in cols] + \
        ["speed-up vs torch's best", "nnc GFLOP/s (shared FLOP model)", "nnc executed GFLOP/s",
         "% sgemm peak, executed (same threads)", "issue-9 target", "met"]
    print("| " + " | ".join(head) + " |")
    print("|" + "---|" * len(head))
    best_nnc = {}
    for i in WORKLOADS:
        n1, n2 = r["nnc"][1].get(i), r["nnc"][2].get(i)
        ts = [scaled(i, r["torch"][k].get(i)) for k in cols]
        if not (n1 or n2 or any(ts)):
            continue
        errs = [x["error"] for x in (n1, n2) if x and "error" in x]
        nt = {t: scaled(i, x) for t, x in ((1, n1), (2, n2))}
        nb = min(((v, t) for t, v in nt.items() if v), default=None)
        tb = min(((v, k) for v, k in zip(ts, cols) if v), default=None)
        gf = ge = pk = None
        if nb:
            best_nnc[i] = nb
            samples = (n1 or n2)["samples_per_rep"] * (EPOCH[i] / (n1 or n2)["samples_per_rep"] if i in EPOCH else 1)
            gf = flops_per_rep(i, samples) / nb[0] / 1e9
            ge = exec_flops_per_rep(i, samples) / nb[0] / 1e9
            pk = peak(r, nb[1])
        sp = tb[0] / nb[0] if nb and tb else None
        target, met = TARGET.get(i), "—"
        if target and sp:
            ok = sp >= target
            if i == "W4-wide":
                g2 = nt[2] and exec_flops_per_rep(i, n2["samples_per_rep"]) / nt[2] / 1e9
                p2 = peak(r, 2)
                frac = g2 / p2 if g2 and p2 else 0
                ok = ok and frac >= 0.7
                met = f"{'met' if ok else 'not met'} (2 threads at {100 * frac:.0f}% of the 2-thread peak)"
            else:
                met = "met" if ok else "not met"
        row = [i + (" ‡" if i in EPOCH else ""), fmt_t(nt[1]), fmt_t(nt[2])] + [fmt_t(v) for v in ts] + [
            "—" if sp is None else f"{sp:.2f}x vs {col_name(tb[1][0], tb[1][1], cores)}",
            "—" if gf is None else f"{gf:.2f}", "—" if ge is None else f"{ge:.2f}",
            "—" if not (ge and pk) else f"{100 * ge / pk:.1f}% (t{nb[1]})",
            f"≥ {target}x" + (" and ≥ 70% of the 2-thread peak" if i == "W4-wide" else "") if target else "—", met]
        print("| " + " | ".join(row) + " |")
        for e in errs:
            print(f"\n{i}: {e}")
    if "W6" in best_nnc:
        print("\n‡ W6: measured on a prefix of the epoch (the same prefix on both sides) and scaled to 60000 images.")
    print()
    report_extra(r, cols, cores, best_nnc, l2_bytes(machine))


def torch_best_fit(r, cols, f):
    v = [(r["fit"][f"torch-{c}-{g}-{f}"][0], (c, g)) for c, g in cols if r["fit"].get(f"torch-{c}-{g}-{f}")]
    return min(v) if v else None


def report_extra(r, cols, cores, best_nnc, l2):
    print("### Targets beyond the per-workload ratios\n")
    print("| measure | nnc | reference | ratio | issue-9 target | met |")
    print("|---|---|---|---|---|---|")
    n1, n2 = r["nnc"][1].get("W4-wide"), r["nnc"][2].get("W4-wide")
    if n1 and n2 and "median_s" in n1 and "median_s" in n2:
        s = n1["median_s"] / n2["median_s"]
        print(f"| W4-wide 2 threads vs 1 | {fmt_t(n2['median_s'])} | {fmt_t(n1['median_s'])} (1 thread) | {s:.2f}x | ≥ 1.8x | "
              f"{'met' if s >= 1.8 else 'not met'} |")
    nf, tf = r["fit"].get("nnc-w3-epoch"), torch_best_fit(r, cols, "w3-epoch")
    if nf and tf:
        s = tf[0] / nf[0]
        print(f"| W3 whole 1-epoch fit, process start to History written (wall) | {nf[0]:.2f} s | {tf[0]:.2f} s "
              f"(torch {col_name(tf[1][0], tf[1][1], cores)}) | {s:.2f}x | ≥ 3x | {'met' if s >= 3 else 'not met'} |")
    for s, tgt in COMPILE_TARGET.items():
        c = r["compile"].get(f"{s}-cold")
        if c is None and f"{s}-cold" in r["compile"]:
            print(f"| compile {s}, cold | — (no process succeeded: run.sh's output says why) | — | — | ≤ {tgt} s | — |")
        if c:
            print(f"| compile {s}, cold (`nnc compile`, wall, {spread(c)}; CPU {c[1]:.3f} s) | {c[0]:.3f} s | — | — "
                  f"| ≤ {tgt} s | {'met' if c[0] <= tgt else 'not met'} |")
        w = r["compile"].get(f"{s}-warm")
        if w:
            print(f"| compile {s}, warm cache (wall, {spread(w)}; CPU {w[1] * 1e3:.0f} ms) | {w[0] * 1e3:.1f} ms | — "
                  f"| — | ≤ 30 ms | {'met' if w[0] <= WARM_TARGET else 'not met'} |")
        elif c:
            print(f"| compile {s}, warm cache | — (this build has no `--no-cache`: no object cache) | — | — | ≤ 30 ms | — |")
    rec = r["nnc"][1].get("W4-wide") or r["nnc"][2].get("W4-wide")
    if rec and rec.get("maxrss_kib") and r["workspace"]:
        p = params([784, 512, 512, 10])
        data = 60000 * 784 * 4 + 60000  # float32 images and uint8 labels, as bench_nnc holds them
        # fixed + batch 128 rows + the kernels' scratch of two threads (the most the bench runs)
        ws = (r["workspace"][0] + r["workspace"][1] * 128 + 2 * r["workspace"][2]) * 4
        bound = data + 2 * (2 * p) * 4 + ws + 40 * 2**20
        have = rec["maxrss_kib"] * 1024
        print(f"| peak RSS of the W4-wide bench process | {have / 2**20:.0f} MiB | bound {bound / 2**20:.0f} MiB = data "
              f"{data / 2**20:.0f} + 2 × (params + RMSprop slots) {16 * p / 2**20:.1f} + workspace {ws / 2**20:.1f} + 40 | "
              f"{have / bound:.2f} | ≤ bound | {'met' if have <= bound else 'not met'} |")
    print()

    print("### Fixed cost of a fit, whole fits, peak memory\n")
    print("Whole processes, wall clock from process start to exit (CPU time in brackets), one run each; nnc "
          "without a compile cache (`NNC_CACHE=0`). *1 step*: `nnc fit` / `torch_fit.py` on W4's data "
          "(.npy) with one training step (`--steps-per-epoch 1`): the fixed cost of a fit (start, imports, "
          "data, model build/compile, one step, History written).\n")
    print("| process | nnc (1 thread) | " + " | ".join(f"torch {col_name(c, g, cores)}" for c, g in cols) + " |")
    print("|---|---|" + "---|" * len(cols))
    for f, what in (("w4-step", "W4, 1 step (fixed cost)"), ("w4-epoch", "W4, 1 epoch"),
                    ("w3-epoch", "W3, 1 epoch + validation")):
        cells = []
        for key in [f"nnc-{f}"] + [f"torch-{c}-{g}-{f}" for c, g in cols]:
            v = r["fit"].get(key)
            cells.append("—" if not v else f"{v[0]:.2f} s ({v[1]:.2f} s CPU, {v[2] / 1024:.0f} MiB)")
        print(f"| {what} | " + " | ".join(cells) + " |")
    print()
    print("Peak resident memory of each workload's benchmark process (one process per workload; nnc: "
          "getrusage in bench_nnc, torch: getrusage in torch_run.py), and nnc's compile time through the "
          "C API (`nnc_model_load_string`: parse, lower, optimize, JIT) — the 1-thread run starts with an "
          "empty compile cache, the 2-thread run finds the 1-thread run's cache if the build has one.\n")
    print("| workload | nnc RSS (t1) | nnc RSS (t2) | " + " | ".join(f"torch {col_name(c, g, cores)} RSS" for c, g in cols)
          + " | nnc build, t1 run (cold) | nnc build, t2 run |")
    print("|---|---|---|" + "---|" * len(cols) + "---|---|")
    for i in WORKLOADS:
        a, b = r["nnc"][1].get(i) or {}, r["nnc"][2].get(i) or {}
        if not (a or b):
            continue
        tr = [fmt_mb((r["torch"][k].get(i) or {}).get("maxrss_kib")) for k in cols]
        print(f"| {i} | {fmt_mb(a.get('maxrss_kib'))} | {fmt_mb(b.get('maxrss_kib'))} | " + " | ".join(tr) +
              f" | {fmt_t(a.get('load_s'))} | {fmt_t(b.get('load_s'))} |")
    print()

    print("### Roofline\n")
    p1, bw1 = peak(r, 1), r["triad"].get(1)
    print(f"Per training step, float32, one thread: sgemm peak {p1 or '—'} GFLOP/s, triad bandwidth {bw1 or '—'} GB/s, "
          f"L2 {l2 / 2**20:.0f} MiB. *All bytes*: every parameter, activation and input access of the step counted as "
          "memory traffic (no cache at all: the lowest roof); *streamed*: the bytes that must come from memory each "
          "step, the input batch alone when the working set (parameters + gradients + slots + activations) fits in "
          "L2, else all bytes. Roof = min(peak, intensity × bandwidth) with the streamed intensity; FLOPs are the "
          "executed ones (3x forward minus the first layer's input gradient, which nobody computes); nnc: its best "
          "executed GFLOP/s above, one or two threads.\n")
    print("| workload | FLOPs/step | bytes/step: params | activations | data | intensity, all bytes (FLOP/B) | "
          "working set | intensity, streamed | roof (GFLOP/s) | bound | nnc executed GFLOP/s | % of roof |")
    print("|---|---|---|---|---|---|---|---|---|---|---|---|")
    for i in ROOF:
        fl, bp, ba, bd, ws = roofline(i)
        ai_all = fl / (bp + ba + bd)
        ai = fl / bd if ws <= l2 else ai_all
        roof = min(p1, ai * bw1) if p1 and bw1 else None
        nb = best_nnc.get(i)
        gf = None
        if nb:
            rec = r["nnc"][nb[1]][i]
            samples = rec["samples_per_rep"] * (EPOCH[i] / rec["samples_per_rep"] if i in EPOCH else 1)
            gf = exec_flops_per_rep(i, samples) / nb[0] / 1e9
        bound = "—" if roof is None else ("compute" if ai * bw1 >= p1 else "memory")
        print(f"| {i} | {fl:,.0f} | {bp / 1e3:,.1f} kB | {ba / 1e3:,.1f} kB | {bd / 1e3:,.1f} kB | {ai_all:.2f} | "
              f"{ws / 1e6:.2f} MB | {ai:.2f} | {'—' if roof is None else f'{roof:.1f}'} | {bound} | "
              f"{'—' if gf is None else f'{gf:.2f}'} | {'—' if not (gf and roof) else f'{100 * gf / roof:.1f}%'} |")
    print()


def main():
    machine = {}
    try:
        for line in open(os.path.join(OUT, "machine.txt")):
            k, _, v = line.partition(":")
            machine[k.strip()] = v.strip()
    except OSError:
        pass
    if machine.get("isa") == "avx2":
        print("# nnc vs PyTorch (eager) given its best BLAS kernel and thread configuration — emulated AVX2 (ISA=avx2)\n")
        print("**An AVX2 run on this host, not an AVX-512 one: nnc at 8 floats (NNC_VECTOR_WIDTH=8), OpenBLAS's "
              "AVX2 kernel for the sgemm peak and PyTorch, PyTorch's ATen and oneDNN kernels at AVX2 "
              f"(torch cpu capability: {machine.get('torch cpu capability', '?')}). Caches, clock and core count "
              "are the host's.**\n")
    else:
        print("# nnc vs PyTorch (eager) given its best BLAS kernel and thread configuration — this machine\n")
    for line in open(os.path.join(OUT, "machine.txt")) if machine else []:
        print(f"- {line.strip()}")
    for name in ("blas-candidates.txt", "blas-cores.txt"):
        try:
            for line in open(os.path.join(OUT, name)):
                print(f"- {line.strip()}")
        except OSError:
            pass
    print("\nTimes: the median of the timed repetitions (after one warm-up) of one repetition as "
          "bench_torch.py defines it (REPS of them; W1 and W2, whose nnc repetitions last under a "
          "millisecond, at least MIN_SHORT_REPS = 15 on both sides). *torch's best* = the fastest of every PyTorch thread configuration × "
          "OpenBLAS kernel measured in the run (named in the speed-up column); speed-up = torch's best / "
          "nnc's best (of 1 and 2 threads). nnc GFLOP/s (shared FLOP model): shared/bench's model, 3x forward per "
          "training sample; executed GFLOP/s: without the first layer's input gradient, which neither nnc nor "
          "PyTorch computes. % sgemm peak: the executed GFLOP/s over the best sgemm median at the thread count of "
          "nnc's best time. "
          "Compare numbers within one run only.\n")
    runs = sorted(glob.glob(os.path.join(OUT, "run[0-9]*")), key=lambda p: int(p.rsplit("run", 1)[1]))
    for d in runs:
        report_run(int(d.rsplit("run", 1)[1]), load_run(d), machine)


if __name__ == "__main__":
    main()
