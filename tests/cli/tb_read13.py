#!/usr/bin/env python3
"""An independent reader of TensorBoard event files, for tests/cli/test_tb13.sh.

Written from the formats' specs (TFRecord framing with masked CRC32C;
protobuf wire format; tensorflow/core/util/event.proto, summary.proto,
tensor.proto), sharing no code with nnc. Python's standard library only.

usage: tb_read13.py LOG_DIR HISTORY.json [--lr LR] [--batch-freq N]
                    [--batches-per-epoch B] [--batch-loss EXPECTED.json]
                    [--iterations-per-epoch I] [--no-validation] [--steps-per-second]
                    [--dump]

Checks, failing with a message (exit 1) on the first difference:
- LOG_DIR/train (and LOG_DIR/validation unless --no-validation) hold exactly
  one file named events.out.tfevents.<10 digits>.<host>.<pid>.<n>.v2;
- every record's length CRC and data CRC, no trailing bytes;
- the first event: file_version "brain.Event:2", a whole-second wall_time
  equal to the file name's; later events: one scalar Summary.Value each,
  a float32 rank-0 tensor, plugin "scalars", data class SCALAR,
  wall times not decreasing;
- train: epoch_<key> at step e for every non-val_ key of the History,
  equal to float32 of the History's value, then epoch_learning_rate (LR);
  with --batch-freq N: batch_<key> at every step multiple of N (steps counted
  over the whole fit), the last batch of each epoch equal to the epoch's
  value, and batch_loss equal to EXPECTED.json's running means;
- validation: evaluation_<key>_vs_iterations at step (e+1)*I and
  epoch_<key> at step e for every val_ key.
"""
import json
import math
import os
import re
import struct
import sys


def crc32c(data):
    # bit by bit, reflected Castagnoli polynomial (RFC 3720 B.4)
    crc = 0xFFFFFFFF
    for byte in data:
        crc ^= byte
        for _ in range(8):
            crc = (crc >> 1) ^ 0x82F63B78 if crc & 1 else crc >> 1
    return crc ^ 0xFFFFFFFF


def masked(crc):
    return ((((crc >> 15) | (crc << 17)) & 0xFFFFFFFF) + 0xA282EAD8) & 0xFFFFFFFF


def fail(msg):
    print("tb_read13: " + msg, file=sys.stderr)
    sys.exit(1)


def records(path):
    with open(path, "rb") as f:
        data = f.read()
    pos, out = 0, []
    while pos < len(data):
        if len(data) - pos < 12:
            fail("%s: %d trailing bytes at %d" % (path, len(data) - pos, pos))
        (length,) = struct.unpack_from("<Q", data, pos)
        (len_crc,) = struct.unpack_from("<I", data, pos + 8)
        if len_crc != masked(crc32c(data[pos:pos + 8])):
            fail("%s: record at %d: length CRC %08x is wrong" % (path, pos, len_crc))
        body = data[pos + 12:pos + 12 + length]
        if len(body) != length or len(data) < pos + 16 + length:
            fail("%s: record at %d runs past the end" % (path, pos))
        (data_crc,) = struct.unpack_from("<I", data, pos + 12 + length)
        if data_crc != masked(crc32c(body)):
            fail("%s: record at %d: data CRC %08x is wrong" % (path, pos, data_crc))
        out.append(body)
        pos += 16 + length
    return out


def varint(buf, pos):
    value, shift = 0, 0
    while True:
        if pos >= len(buf) or shift > 63:
            fail("bad varint")
        b = buf[pos]
        pos += 1
        value |= (b & 0x7F) << shift
        shift += 7
        if not b & 0x80:
            return value, pos


def fields(buf):
    """[(field number, wire type, value)] of one message."""
    pos, out = 0, []
    while pos < len(buf):
        key, pos = varint(buf, pos)
        num, wire = key >> 3, key & 7
        if wire == 0:
            value, pos = varint(buf, pos)
        elif wire == 1:
            value, pos = buf[pos:pos + 8], pos + 8
        elif wire == 5:
            value, pos = buf[pos:pos + 4], pos + 4
        elif wire == 2:
            n, pos = varint(buf, pos)
            value, pos = buf[pos:pos + n], pos + n
        else:
            fail("wire type %d" % wire)
        if pos > len(buf):
            fail("field %d runs past its message" % num)
        out.append((num, wire, value))
    return out


def one(fs, num, wire):
    got = [v for n, w, v in fs if n == num]
    if len(got) != 1 or [w for n, w, _ in fs if n == num] != [wire]:
        fail("expected one field %d (wire %d), got %r" % (num, wire, fs))
    return got[0]


def scalar_value(summary):
    values = [v for n, w, v in fields(summary) if n == 1]
    if len(values) != 1:
        fail("a Summary with %d values" % len(values))
    vf = fields(values[0])
    tag = one(vf, 1, 2).decode()
    tensor = fields(one(vf, 8, 2))
    if one(tensor, 1, 0) != 1:
        fail("%s: dtype is not DT_FLOAT" % tag)
    if fields(one(tensor, 2, 2)):
        fail("%s: not a rank-0 shape" % tag)
    content = one(tensor, 4, 2)
    if len(content) != 4:
        fail("%s: tensor_content of %d bytes" % (tag, len(content)))
    meta = fields(one(vf, 9, 2))
    plugin = fields(one(meta, 1, 2))
    if one(plugin, 1, 2) != b"scalars":
        fail("%s: plugin is not 'scalars'" % tag)
    if one(meta, 4, 0) != 1:
        fail("%s: data_class is not DATA_CLASS_SCALAR" % tag)
    return tag, struct.unpack("<f", content)[0]


def read_dir(path):
    names = [n for n in os.listdir(path) if "tfevents" in n]
    if len(names) != 1:
        fail("%s: expected one event file, found %r" % (path, names))
    m = re.fullmatch(r"events\.out\.tfevents\.(\d{10})\.([^/]+)\.(\d+)\.(\d+)\.v2", names[0])
    if not m:
        fail("%s: file name %s is not TF2's" % (path, names[0]))
    recs = records(os.path.join(path, names[0]))
    if not recs:
        fail("%s: no records" % path)
    head = fields(recs[0])
    if one(head, 3, 2) != b"brain.Event:2":
        fail("%s: first event is not file_version brain.Event:2" % path)
    (wall,) = struct.unpack("<d", one(head, 1, 1))
    if wall != int(m.group(1)):
        fail("%s: first wall_time %r is not the name's %s" % (path, wall, m.group(1)))
    events, last_wall = [], wall
    for body in recs[1:]:
        ef = fields(body)
        (wall,) = struct.unpack("<d", one(ef, 1, 1))
        if wall < last_wall:
            fail("%s: wall_time goes back" % path)
        last_wall = wall
        steps = [v for n, w, v in ef if n == 2]
        step = steps[0] if steps else 0
        tag, value = scalar_value(one(ef, 5, 2))
        events.append((tag, step, value))
    return events


def f32(x):
    return struct.unpack("<f", struct.pack("<f", x))[0]


def same(a, b):
    return (math.isnan(a) and math.isnan(b)) or a == b


def main(argv):
    log_dir, history_path = argv[1], argv[2]
    opts = {}
    i = 3
    while i < len(argv):
        if argv[i] in ("--no-validation", "--dump", "--steps-per-second"):
            opts[argv[i]] = True
            i += 1
        else:
            opts[argv[i]] = argv[i + 1]
            i += 2
    with open(history_path) as f:
        history = json.load(f)
    train = read_dir(os.path.join(log_dir, "train"))
    val_dir = os.path.join(log_dir, "validation")
    if "--no-validation" in opts and os.path.exists(val_dir):
        fail("%s exists without validation data" % val_dir)
    val = [] if "--no-validation" in opts else read_dir(val_dir)
    if "--dump" in opts:
        for t, s, v in train:
            print("train", t, s, repr(v))
        for t, s, v in val:
            print("validation", t, s, repr(v))
    n_epochs = len(history["loss"])
    keys = [k for k in history if not k.startswith("val_")]
    val_keys = [k for k in history if k.startswith("val_")]
    freq = int(opts.get("--batch-freq", 0))
    per_epoch = int(opts.get("--batches-per-epoch", 0))
    expected_batch = None
    if "--batch-loss" in opts:
        with open(opts["--batch-loss"]) as f:
            expected_batch = json.load(f)

    # write_steps_per_second: timings, checked for being there and positive, then set aside
    if "--steps-per-second" in opts:
        sps = [(t, s, v) for t, s, v in train if t.endswith("_steps_per_second")]
        if sorted({s for t, s, _ in sps if t == "epoch_steps_per_second"}) != list(range(len(history["loss"]))):
            fail("train: epoch_steps_per_second steps %r" % [s for _, s, _ in sps])
        if any(not (v > 0 and math.isfinite(v)) for _, _, v in sps):
            fail("train: a steps_per_second that is not a positive number: %r" % sps)
        train = [e for e in train if not e[0].endswith("_steps_per_second")]
        batch_sps = [s for t, s, _ in sps if t == "batch_steps_per_second"]
        if batch_sps != [s for t, s, _ in train if t == "batch_loss"]:
            fail("train: batch_steps_per_second steps %r" % batch_sps)
    # train: epoch_ values from History, batch_ values at multiples of freq
    epoch_events = [(t, s, v) for t, s, v in train if t.startswith("epoch_")]
    batch_events = [(t, s, v) for t, s, v in train if t.startswith("batch_")]
    if len(epoch_events) + len(batch_events) != len(train):
        fail("train: unexpected tags %r" % sorted({t for t, _, _ in train}))
    for e in range(n_epochs):
        got = {t: v for t, s, v in epoch_events if s == e}
        for k in keys:
            if "epoch_" + k not in got:
                fail("train: no epoch_%s at step %d" % (k, e))
            if not same(got["epoch_" + k], f32(history[k][e] if history[k][e] is not None else math.nan)):
                fail("train: epoch_%s step %d is %r, History says %r" % (k, e, got["epoch_" + k], history[k][e]))
        if "--lr" in opts and got.get("epoch_learning_rate") != f32(float(opts["--lr"])):
            fail("train: epoch_learning_rate step %d is %r" % (e, got.get("epoch_learning_rate")))
        extra = set(got) - {"epoch_" + k for k in keys} - {"epoch_learning_rate"}
        if extra:
            fail("train: unexpected epoch tags %r" % extra)
    if {s for _, s, _ in epoch_events} != set(range(n_epochs)):
        fail("train: epoch steps %r" % sorted({s for _, s, _ in epoch_events}))
    if freq:
        total = n_epochs * per_epoch
        want_steps = [s for s in range(1, total + 1) if s % freq == 0]
        for k in keys:
            got = [(s, v) for t, s, v in batch_events if t == "batch_" + k]
            if [s for s, _ in got] != want_steps:
                fail("train: batch_%s steps %r, expected %r" % (k, [s for s, _ in got], want_steps))
            for s, v in got:
                if s % per_epoch == 0:  # the epoch's last batch: the epoch's value
                    e = s // per_epoch - 1
                    if not same(v, f32(history[k][e])):
                        fail("train: batch_%s step %d is %r, epoch %d's %s is %r" % (k, s, v, e, k, history[k][e]))
            if k == "loss" and expected_batch is not None:
                for s, v in got:
                    want = expected_batch[s - 1]
                    if abs(v - want) > 1e-6 * max(1.0, abs(want)):
                        fail("train: batch_loss step %d is %r, the running mean is %r" % (s, v, want))
    elif batch_events:
        fail("train: batch summaries without --batch-freq")

    # validation: evaluation_*_vs_iterations then epoch_* per val_ key
    if "--no-validation" not in opts:
        iters = int(opts.get("--iterations-per-epoch", per_epoch))
        want = []
        for e in range(n_epochs):
            for k in val_keys:
                want.append(("evaluation_%s_vs_iterations" % k[4:], (e + 1) * iters, f32(history[k][e])))
            for k in val_keys:
                want.append(("epoch_" + k[4:], e, f32(history[k][e])))
        if len(val) != len(want):
            fail("validation: %d events, expected %d" % (len(val), len(want)))
        for got, exp in zip(val, want):
            if got[0] != exp[0] or got[1] != exp[1] or not same(got[2], exp[2]):
                fail("validation: got %r, expected %r" % (got, exp))
    print("tb_read13: ok (%d train, %d validation events)" % (len(train), len(val)))


if __name__ == "__main__":
    main(sys.argv)
