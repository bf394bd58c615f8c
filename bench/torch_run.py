#!/usr/bin/python3
"""Run a PyTorch bench script and record what it ran on: the OpenBLAS kernel torch's BLAS
uses (openblas_get_corename of the library loaded in this process), the thread environment
and the process's peak resident memory.

    torch_run.py META.json SCRIPT [ARGS...]

META.json gets {"corename", "env", "maxrss_kib", "wall_s"} after SCRIPT finishes (wall_s:
process start, as the kernel recorded it, to the end of SCRIPT)."""
import ctypes
import json
import os
import resource
import runpy
import sys
import time


def process_age_s():
    """seconds since this process started (/proc/self/stat field 22, in clock ticks)"""
    with open("/proc/self/stat") as f:
        start = int(f.read().rsplit(")", 1)[1].split()[19])
    with open("/proc/uptime") as f:
        up = float(f.read().split()[0])
    return up - start / os.sysconf("SC_CLK_TCK")


def openblas_corename():
    import torch  # noqa: F401  (loads torch's BLAS)
    with open("/proc/self/maps") as f:
        libs = sorted({ln.split()[-1] for ln in f if "blas" in ln.rsplit("/", 1)[-1] and ".so" in ln})
    for path in libs:
        try:
            fn = ctypes.CDLL(path).openblas_get_corename  # already loaded: the same library
        except (OSError, AttributeError):
            continue
        fn.restype = ctypes.c_char_p
        return fn().decode()
    return "not OpenBLAS (" + ", ".join(libs) + ")"


def main():
    meta_path, script = sys.argv[1], sys.argv[2]
    core = openblas_corename()
    print(f"torch's OpenBLAS kernel: {core}", flush=True)
    sys.argv = [script] + sys.argv[3:]
    sys.path.insert(0, os.path.dirname(os.path.abspath(script)))
    try:
        runpy.run_path(script, run_name="__main__")
    finally:
        meta = {"corename": core, "maxrss_kib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss,
                "wall_s": process_age_s(),
                "env": {k: os.environ.get(k) for k in ("OMP_NUM_THREADS", "OMP_WAIT_POLICY", "OPENBLAS_NUM_THREADS",
                                                       "OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE",
                                                       "ATEN_CPU_CAPABILITY", "ONEDNN_MAX_CPU_ISA")}}
        with open(meta_path, "w") as f:
            json.dump(meta, f)


if __name__ == "__main__":
    main()
