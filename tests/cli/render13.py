#!/usr/bin/env python3
"""Checks for test_viz13.sh, independent of nnc's code: what an SVG plot,
a DOT dump and an HTML page must hold (read with the standard library's XML
and JSON readers), and how many pixels of a PNG screenshot are not
background (decoded here with zlib).

usage: render13.py svg PLOT.svg H.json
       render13.py dot GRAPHS.dot MODULE.ll SUMMARY.txt
       render13.py html PAGE.html MODULE.ll GRAPHS.dot LAYER...
       render13.py ink SHOT.png          (prints the count of non-background pixels)
       render13.py dom DOM.html          (the page's script finished, no script error)
Each check prints what failed and exits 1, or exits 0 silently."""
import html
import json
import math
import re
import struct
import sys
import xml.etree.ElementTree as ET
import zlib
from collections import Counter

SVG = "{http://www.w3.org/2000/svg}"
errors = []


def fail(msg):
    errors.append(msg)


def text_of(el):
    return "".join(el.itertext()).strip()


def nice(step):
    m = step / 10 ** math.floor(math.log10(step) + 1e-9)
    return any(abs(m - k) < 1e-6 for k in (1, 2, 5, 10))


def check_svg(path, hist_path):
    root = ET.parse(path).getroot()  # raises on malformed XML
    h = json.load(open(hist_path))  # Python's json reads NaN and Infinity
    if "history" in h and isinstance(h["history"], dict):
        h = h["history"]
    epochs = max(len(v) for v in h.values())
    panels = [g for g in root.iter(SVG + "g") if g.get("class") == "panel"]
    quantities = []
    for k in h:
        if k in ("lr", "learning_rate"):
            continue
        b = k[4:] if k.startswith("val_") and len(k) > 4 else k
        if b not in quantities:
            quantities.append(b)
    if "loss" in quantities:
        quantities.remove("loss")
        quantities.insert(0, "loss")
    lr = [k for k in h if k in ("lr", "learning_rate")]
    finite_lr = [v for v in h[lr[0]] if v is not None and math.isfinite(v)] if lr else []
    if finite_lr and min(finite_lr) < max(finite_lr):
        quantities.append(lr[0])
    if len(panels) != len(quantities):
        fail("%d panels, expected %d (%s)" % (len(panels), len(quantities), quantities))
    for g, q in zip(panels, quantities):
        texts = {}
        for t in g.iter(SVG + "text"):
            texts.setdefault(t.get("class"), []).append(text_of(t))
        log = q in ("lr", "learning_rate")
        title = texts.get("ptitle", [""])[0]
        if (log and not title.startswith("learning rate")) or (not log and title != q):
            fail("panel title %r, expected %r" % (title, q))
        if texts.get("xlabel") != ["epoch"]:
            fail("%s: x label %r" % (q, texts.get("xlabel")))
        ylabel = texts.get("ylabel", [""])[0]
        if ylabel != ("learning rate" if log else q):
            fail("%s: y label %r" % (q, ylabel))
        series = [k for k in h if k == q or k == "val_" + q]
        legend = texts.get("legend", [])
        for s in series:
            if s not in legend:
                fail("%s: legend lacks %s (has %s)" % (q, s, legend))
        xt = [float(x) for x in texts.get("xtick", [])]
        if not xt or min(xt) < 1 or max(xt) > epochs or any(x != int(x) for x in xt):
            fail("%s: x ticks %s for %d epochs" % (q, xt, epochs))
        vals = [v for s in series for v in h[s] if v is not None and math.isfinite(v)]
        if not vals:
            continue
        lo, hi = min(vals), max(vals)
        yt = [float(y) for y in texts.get("ytick", [])]
        if len(yt) < 2 and not (lo == hi and len(yt) >= 1):
            fail("%s: y ticks %s" % (q, yt))
            continue
        if log:
            ok = all(lo / 10 ** 1.1 <= t <= hi * 10 ** 1.1 for t in yt)
            ok = ok and all(nice(t) for t in yt)
        else:
            span = hi - lo if hi > lo else (abs(lo) or 1)
            ok = all(lo - 0.2 * span <= t <= hi + 0.2 * span for t in yt)
            steps = [b - a for a, b in zip(yt, yt[1:])]
            ok = ok and all(abs(s - steps[0]) <= 1e-6 * abs(steps[0]) for s in steps)
            ok = ok and (not steps or nice(steps[0]))
            # the ticks span most of the data
            ok = ok and (len(yt) < 2 or yt[-1] - yt[0] >= 0.4 * (hi - lo))
        if not ok:
            fail("%s: y ticks %s do not fit the data range [%g, %g]" % (q, yt, lo, hi))


def ir_defines(path):
    """name -> its define line, for every function the module defines."""
    out = {}
    for line in open(path):
        if line.startswith("define "):
            m = re.search(r"@([\w.$-]+)\(", line)
            out[m.group(1)] = line.rstrip("\n")
    return out


def summary_kernels(path):
    """graph -> (nodes, kernels) from `nnc compile --summary`."""
    out = {}
    for line in open(path):
        m = re.match(r"graph (\w+)\s+(\d+) nodes\s+(\d+) kernels", line)
        if m:
            out[m.group(1)] = (int(m.group(2)), int(m.group(3)))
    return out


def dot_clusters(path):
    text = open(path).read()
    return text, re.findall(r'subgraph cluster_(train|test|predict)_g(\d+) \{\s*label="([^"]+)"', text)


def check_dot(path, ir_path, summary_path):
    text, clusters = dot_clusters(path)
    defines = ir_defines(ir_path)
    summary = summary_kernels(summary_path)
    for graph, (nodes, kernels) in summary.items():
        mine = [c for c in clusters if c[0] == graph]
        if len(mine) != kernels:
            fail("graph %s: %d clusters, --summary says %d kernels" % (graph, len(mine), kernels))
        n = len(re.findall(r"^\s*%s_n\d+ \[label=" % graph, text, re.M))
        if n != nodes:
            fail("graph %s: %d nodes drawn, --summary says %d" % (graph, n, nodes))
    for graph, group, label in clusters:
        if label not in defines:
            fail("cluster %s g%s: %s is not a function of the IR" % (graph, group, label))
    for role in ("forward", "backward", "update", "metrics"):
        if "legend_" + role not in text:
            fail("no %s in the legend" % role)
    fills = set(re.findall(r'fillcolor="(#[0-9a-f]{6})"', text))
    if len(fills) < 5:  # 4 roles and the buffers
        fail("only colours %s" % sorted(fills))


def check_html(path, ir_path, dot_path, layers):
    page = open(path, encoding="utf-8").read()
    plain = html.unescape(page)
    for layer in layers:
        if "<summary><b>%s</b>" % html.escape(layer, quote=True) not in page:
            fail("layer %s has no entry" % layer)
    defines = ir_defines(ir_path)
    for name, line in defines.items():
        if line not in plain:
            fail("the define line of %s is not in the page" % name)
    _, clusters = dot_clusters(dot_path)
    for graph, group, label in clusters:
        if 'id="f-%s"' % label not in page:
            fail("kernel %s (%s g%s) has no section" % (label, graph, group))
        if 'href="#f-%s"' % label not in page:
            fail("no op links to kernel %s" % label)
    if re.search(r"""(src|href)\s*=\s*["']?(https?:|//)""", page):
        fail("the page loads something from the network")
    if page.count("<script") != 1 or "<link" in page:
        fail("expected one inline script and no linked file")


def png_ink(path):
    d = open(path, "rb").read()
    if d[:8] != b"\x89PNG\r\n\x1a\n":
        raise SystemExit("%s: not a PNG" % path)
    pos, idat, w = 8, b"", 0
    while pos < len(d):
        n, kind = struct.unpack(">I4s", d[pos:pos + 8])
        body = d[pos + 8:pos + 8 + n]
        if kind == b"IHDR":
            w, hgt, depth, ctype, _, _, interlace = struct.unpack(">IIBBBBB", body)
            if depth != 8 or ctype not in (2, 6) or interlace:
                raise SystemExit("%s: PNG kind %d/%d/%d not handled" % (path, depth, ctype, interlace))
            bpp = 3 if ctype == 2 else 4
        elif kind == b"IDAT":
            idat += body
        pos += 12 + n
    raw = zlib.decompress(idat)
    stride = w * bpp
    prev = bytearray(stride)
    pixels = Counter()
    for y in range(hgt):
        f = raw[y * (stride + 1)]
        line = bytearray(raw[y * (stride + 1) + 1:(y + 1) * (stride + 1)])
        for i in range(stride):
            a = line[i - bpp] if i >= bpp else 0
            b = prev[i]
            c = prev[i - bpp] if i >= bpp else 0
            if f == 1:
                line[i] = (line[i] + a) & 255
            elif f == 2:
                line[i] = (line[i] + b) & 255
            elif f == 3:
                line[i] = (line[i] + (a + b) // 2) & 255
            elif f == 4:
                p = a + b - c
                pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
                line[i] = (line[i] + (a if pa <= pb and pa <= pc else b if pb <= pc else c)) & 255
        prev = line
        for x in range(0, stride, bpp):
            pixels[bytes(line[x:x + 3])] += 1
    background, n = pixels.most_common(1)[0]
    return w * hgt - n


def check_dom(path):
    dom = open(path, encoding="utf-8", errors="replace").read()
    if not re.search(r'<body[^>]*data-ready="1"', dom):
        fail("the page's script did not finish (no data-ready on body)")
    m = re.search(r'<pre id="errors"[^>]*>(.*?)</pre>', dom, re.S)
    if not m or m.group(1).strip():
        fail("script errors: %s" % (m.group(1).strip() if m else "no #errors element"))


def main():
    cmd = sys.argv[1]
    if cmd == "svg":
        check_svg(sys.argv[2], sys.argv[3])
    elif cmd == "dot":
        check_dot(sys.argv[2], sys.argv[3], sys.argv[4])
    elif cmd == "html":
        check_html(sys.argv[2], sys.argv[3], sys.argv[4], sys.argv[5:])
    elif cmd == "ink":
        print(png_ink(sys.argv[2]))
    elif cmd == "dom":
        check_dom(sys.argv[2])
    else:
        raise SystemExit("unknown check " + cmd)
    for e in errors:
        print(e)
    sys.exit(1 if errors else 0)


main()
