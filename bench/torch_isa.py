#!/usr/bin/python3
"""What PyTorch's own CPU kernels run at in this environment: ATen's dispatch level (the
"CPU capability usage" line of torch.__config__.show(); torch 1.13 has no
torch.backends.cpu.get_cpu_capability) and the ISA oneDNN, which runs torch's float32
convolutions, reports for a tiny convolution under ONEDNN_VERBOSE (in a child process: oneDNN
prints it on stdout when it first runs).

    torch_isa.py [--expect avx2]   prints "ATen AVX2, oneDNN Intel AVX2, conv jit:avx2";
                                   with --expect, exits 1 unless both are at that level"""
import os
import re
import subprocess
import sys

CHILD = """  # batch 8: torch sends a batch-1 convolution of this size past oneDNN
import torch
torch.nn.Conv2d(3, 8, 3)(torch.zeros(8, 3, 16, 16))
"""


def aten_capability():
    import torch
    for line in torch.__config__.show().splitlines():
        if "CPU capability usage:" in line:
            return line.split(":", 1)[1].strip()
    return "?"


def onednn_isa():
    env = dict(os.environ, ONEDNN_VERBOSE="1", DNNL_VERBOSE="1", OMP_NUM_THREADS="1")
    out = subprocess.run([sys.executable, "-c", CHILD], env=env, capture_output=True, text=True)
    out = out.stdout + out.stderr
    isa = re.search(r"info,cpu,isa:([^\n]*)", out)
    conv = re.search(r"exec,cpu,convolution,([^,]*)", out)
    return (isa.group(1).strip() if isa else "?"), (conv.group(1) if conv else "?")


def main():
    aten = aten_capability()
    isa, conv = onednn_isa()
    print(f"ATen {aten}, oneDNN {isa}, conv {conv}")
    if len(sys.argv) == 3 and sys.argv[1] == "--expect":
        want = sys.argv[2].lower()
        ok = aten.lower() == want and want in isa.lower().replace(" ", "") and "512" not in conv
        if not ok:
            print(f"torch_isa.py: PyTorch does not run at {want} here", file=sys.stderr)
            sys.exit(1)


if __name__ == "__main__":
    main()
