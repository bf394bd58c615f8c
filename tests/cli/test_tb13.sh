#!/usr/bin/env bash
# TensorBoard event files end to end (docs/formats.md "TensorBoard event
# files"): `nnc fit --tensorboard DIR` and the TensorBoard(...) callback
# write files that tests/cli/tb_read13.py -- an independent reader with its
# own CRC32C and protobuf decoder -- checks record by record against the
# History JSON of the same run: tags, steps, values, train/validation
# folders; per-batch losses against running means computed here. Then the
# errors: refused arguments, an unwritable log_dir, a corrupted file.
# usage: test_tb13.sh NNC SOURCE_DIR ORACLE_DIR
set -u
nnc=$1
src=$2
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
reader="$src/tests/cli/tb_read13.py"

# 50 rows of 3 features; y: a 0/1 label and a real target (3 decimals)
python3 - "$tmp" <<'PY'
import random, struct, sys
def npy(path, rows, cols, values):
    header = "{'descr': '<f4', 'fortran_order': False, 'shape': (%d, %d), }" % (rows, cols)
    header += " " * (63 - (len(header) + 10) % 64) + "\n"
    with open(path, "wb") as f:
        f.write(b"\x93NUMPY\x01\x00" + struct.pack("<H", len(header)) + header.encode())
        f.write(struct.pack("<%df" % len(values), *values))
rng = random.Random(5)
n, d = 50, 3
x = [rng.uniform(-1, 1) for _ in range(n * d)]
y = [1.0 if x[i * d] + 0.5 * x[i * d + 1] > 0 else 0.0 for i in range(n)]
r = [round(rng.uniform(-2, 2), 3) for _ in range(n)]
npy(sys.argv[1] + "/x.npy", n, d, x)
npy(sys.argv[1] + "/y.npy", n, 1, y)
npy(sys.argv[1] + "/r.npy", n, 1, r)
with open(sys.argv[1] + "/r.txt", "w") as f:
    f.write(repr(r))
PY
cat >"$tmp/spec.json" <<'JSON'
{"class_name": "Sequential", "config": {"name": "tb", "layers": [
 {"class_name": "InputLayer", "config": {"batch_input_shape": [null, 3], "name": "in"}},
 {"class_name": "Dense", "config": {"name": "out", "units": 1, "activation": "sigmoid"}}]},
 "compile_config": {"optimizer": {"class_name": "SGD", "config": {"learning_rate": 0.05}},
                    "loss": "binary_crossentropy", "metrics": ["accuracy"]}}
JSON
# zero weights that never move (learning rate 0): every prediction is 0, so
# the running mean of the loss after each batch is the mean of r^2 so far
cat >"$tmp/zero.json" <<'JSON'
{"class_name": "Sequential", "config": {"name": "tb0", "layers": [
 {"class_name": "InputLayer", "config": {"batch_input_shape": [null, 3], "name": "in"}},
 {"class_name": "Dense", "config": {"name": "out", "units": 1, "kernel_initializer": "zeros"}}]},
 "compile_config": {"optimizer": {"class_name": "SGD", "config": {"learning_rate": 0.0}},
                    "loss": "mse", "metrics": ["mae"]}}
JSON
fit() { "$nnc" fit "$tmp/spec.json" --x "$tmp/x.npy" --y "$tmp/y.npy" --verbose 0 --seed 1 "$@"; }

# 1. --tensorboard DIR (a path with a space, parents created): epochs and validation
fit --epochs 3 --batch-size 8 --validation-split 0.2 --history "$tmp/h1.json" \
  --tensorboard "$tmp/logs/run 1" 2>"$tmp/e1" || bad "fit --tensorboard: $(cat "$tmp/e1")"
python3 "$reader" "$tmp/logs/run 1" "$tmp/h1.json" --lr 0.05 --batches-per-epoch 5 \
  >"$tmp/r1" 2>&1 && ok || bad "--tensorboard: $(cat "$tmp/r1")"

# 2. update_freq=2 (--callback): batch_ summaries at steps 2, 4, ... over the
#    whole fit, batch_loss equal to the running means computed here
python3 - "$tmp" <<'PY'
import json, struct, sys
r = eval(open(sys.argv[1] + "/r.txt").read())
r = [struct.unpack("<f", struct.pack("<f", v))[0] for v in r]
out = []
for epoch in range(2):
    total, n = 0.0, 0
    for b in range(0, 50, 8):
        for v in r[b:b + 8]:
            total, n = total + v * v, n + 1
        out.append(total / n)
json.dump(out, open(sys.argv[1] + "/running.json", "w"))
PY
"$nnc" fit "$tmp/zero.json" --x "$tmp/x.npy" --y "$tmp/r.npy" --epochs 2 --batch-size 8 \
  --no-shuffle --verbose 0 --history "$tmp/h2.json" \
  --callback "TensorBoard(log_dir=\"$tmp/l2\", update_freq=2)" 2>"$tmp/e2" ||
  bad "fit update_freq=2: $(cat "$tmp/e2")"
python3 "$reader" "$tmp/l2" "$tmp/h2.json" --lr 0 --batch-freq 2 --batches-per-epoch 7 \
  --batch-loss "$tmp/running.json" --no-validation >"$tmp/r2" 2>&1 && ok ||
  bad "update_freq=2: $(cat "$tmp/r2")"

# 3. update_freq="batch" from the spec's callbacks list, with validation data
python3 - "$tmp" <<'PY'
import json, sys
spec = json.load(open(sys.argv[1] + "/spec.json"))
spec["callbacks"] = [{"class_name": "TensorBoard",
                      "config": {"log_dir": sys.argv[1] + "/l3", "update_freq": "batch"}}]
json.dump(spec, open(sys.argv[1] + "/spec3.json", "w"))
PY
"$nnc" fit "$tmp/spec3.json" --x "$tmp/x.npy" --y "$tmp/y.npy" --x-val "$tmp/x.npy" \
  --y-val "$tmp/y.npy" --epochs 2 --batch-size 16 --verbose 0 --seed 2 \
  --history "$tmp/h3.json" 2>"$tmp/e3" || bad "fit spec callbacks: $(cat "$tmp/e3")"
python3 "$reader" "$tmp/l3" "$tmp/h3.json" --lr 0.05 --batch-freq 1 --batches-per-epoch 4 \
  >"$tmp/r3" 2>&1 && ok || bad "update_freq=batch: $(cat "$tmp/r3")"

# 3b. write_steps_per_second: epoch_ and batch_steps_per_second, positive, at the same steps
fit --epochs 2 --batch-size 25 --history "$tmp/h3b.json" \
  --callback "TensorBoard(log_dir=\"$tmp/l3b\", update_freq=\"batch\", write_steps_per_second=True)" \
  2>"$tmp/e3b" || bad "write_steps_per_second: $(cat "$tmp/e3b")"
python3 "$reader" "$tmp/l3b" "$tmp/h3b.json" --lr 0.05 --batch-freq 1 --batches-per-epoch 2 \
  --no-validation --steps-per-second >"$tmp/r3b" 2>&1 && ok || bad "steps per second: $(cat "$tmp/r3b")"

# 4. a second fit into the same log_dir adds new files beside the first ones
fit --epochs 1 --batch-size 8 --tensorboard "$tmp/l4" 2>/dev/null &&
  fit --epochs 1 --batch-size 8 --tensorboard "$tmp/l4" 2>/dev/null
n4=$(ls "$tmp/l4/train" | grep -c '^events\.out\.tfevents\.[0-9]\{10\}\..*\.[0-9]*\.[0-9]*\.v2$')
[ "$n4" = 2 ] && ok || bad "two fits into one log_dir: $(ls "$tmp/l4/train")"

# 5. the reader can fail: one flipped byte, a wrong mask constant
f1=$(ls "$tmp/logs/run 1/train/"*)
mkdir -p "$tmp/c/train"
python3 - "$f1" "$tmp/c/train/events.out.tfevents.0000000000.h.1.0.v2" <<'PY'
import sys
data = bytearray(open(sys.argv[1], "rb").read())
data[60] ^= 0x01  # inside the second record's data
open(sys.argv[2], "wb").write(data)
PY
python3 "$reader" "$tmp/c" "$tmp/h1.json" --no-validation >"$tmp/r5" 2>&1
[ $? -ne 0 ] && grep -q "CRC" "$tmp/r5" && ok || bad "a corrupted file passed: $(cat "$tmp/r5")"
sed 's/0xA282EAD8/0xA282EAD9/' "$reader" >"$tmp/reader_bad.py"
python3 "$tmp/reader_bad.py" "$tmp/logs/run 1" "$tmp/h1.json" --lr 0.05 \
  --batches-per-epoch 5 >"$tmp/r6" 2>&1
[ $? -ne 0 ] && grep -q "length CRC" "$tmp/r6" && ok || bad "a wrong mask passed: $(cat "$tmp/r6")"

# 6. refused before training, exit 2, naming the argument
for cb in 'TensorBoard(log_dir="x", histogram_freq=1)' 'TensorBoard(profile_batch=5)' \
  'TensorBoard(embeddings_freq=1)' 'TensorBoard(update_freq="epochs")' \
  'TensorBoard(update_freq=0)' 'TensorBoard(log_dir="")' 'TensorBoard(logdir="x")'; do
  (cd "$tmp" && fit --epochs 1 --callback "$cb") >"$tmp/o6" 2>&1
  rc=$?
  [ $rc -eq 2 ] && grep -q "TensorBoard\|histogram_freq\|profile_batch\|embeddings_freq\|update_freq\|log_dir" "$tmp/o6" &&
    [ ! -e "$tmp/logs/train/x" ] && ok || bad "$cb: exit $rc, $(cat "$tmp/o6")"
done
[ ! -e "$tmp/x" ] && [ ! -e "$tmp/logs/train" ] && ok || bad "a refused TensorBoard wrote files"

# 7. a log_dir that cannot be made: exit 1, the folder named; the file in the way kept
printf 'keep' >"$tmp/afile"
fit --epochs 1 --tensorboard "$tmp/afile/logs" >"$tmp/o7" 2>&1
rc=$?
[ $rc -eq 1 ] && grep -q "TensorBoard: .*afile.*cannot create the folder" "$tmp/o7" &&
  [ "$(cat "$tmp/afile")" = keep ] && ok || bad "unwritable log_dir: exit $rc, $(cat "$tmp/o7")"
if [ "$(id -u)" = 0 ]; then :; else
  mkdir "$tmp/ro" && chmod 555 "$tmp/ro"
  fit --epochs 1 --tensorboard "$tmp/ro" >"$tmp/o8" 2>&1
  rc=$?
  [ $rc -eq 1 ] && grep -q "TensorBoard: .*ro/train.*Permission denied" "$tmp/o8" && ok ||
    bad "read-only log_dir: exit $rc, $(cat "$tmp/o8")"
fi
fit --epochs 1 --tensorboard >"$tmp/o9" 2>&1
[ $? -eq 2 ] && ok || bad "--tensorboard without a folder: $(cat "$tmp/o9")"

# 8. documented in --help and nnc help fit
"$nnc" fit --help | grep -q -- '--tensorboard LOG_DIR' && ok || bad "--help has no --tensorboard"
"$nnc" help fit 2>&1 | grep -q -- '--tensorboard' && ok || bad "nnc help fit has no --tensorboard"

echo "test_tb13: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
