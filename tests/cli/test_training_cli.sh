#!/usr/bin/env bash
# Training end to end through the nnc binary (docs/fit.md, docs/cli.md):
#  - a spec with a "callbacks" list (CSVLogger, EarlyStopping) plus --callback
#    ReduceLROnPlateau, --class-weight and validation data: the epoch
#    EarlyStopping stops at and the learning_rate column are re-derived here
#    from the History's val_loss by Keras 3's rules (early_stopping.py,
#    reduce_lr_on_plateau.py); the CSV log is the History's (without
#    learning_rate, which a later callback adds); --class-weight is
#    --sample-weight with the weights of the labels' classes;
#  - --optimizer-state-out then -in: two runs of 2 epochs end where one run of
#    4 does (weights byte for byte, the History's last epochs);
#  - one --sample-weight file for a model of two outputs weighs both (Keras's
#    rule): the same results as NAME=FILE for each output, and weights of 2
#    double both losses and leave the weighted MAE alone;
#  - callbacks' files that are inputs (CSVLogger, ModelCheckpoint templates,
#    BackupAndRestore) are refused before training, exit 2, nothing written;
#  - bad callback text or config: exit 2 naming the column or the JSON path.
# usage: test_training_cli.sh NNC SOURCE_DIR ORACLE_DIR
set -u
nnc=$1 src=$2
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

# ---- data (float32 .npy written by hand: no numpy here) and specs
python3 - "$tmp" "$src/tests/cli/logreg.json" <<'PY'
import json, math, struct, sys
tmp, logreg = sys.argv[1], sys.argv[2]
def npy(name, rows, cols, values):
    shape = f"({rows},)" if cols is None else f"({rows}, {cols})"
    header = "{'descr': '<f4', 'fortran_order': False, 'shape': %s, }" % shape
    header += " " * (63 - len(header)) + "\n"
    with open(f"{tmp}/{name}", "wb") as f:
        f.write(b"\x93NUMPY\x01\x00" + struct.pack("<H", len(header)) + header.encode())
        f.write(struct.pack(f"<{len(values)}f", *values))
# one feature, labels from a noisy threshold: 80 training and 40 validation samples
xs = [math.sin(1.7 * i + 0.3) * 2 for i in range(120)]
ys = [1.0 if x + 0.8 * math.sin(5.1 * i) > 0.3 else 0.0 for i, x in enumerate(xs)]
npy("x.npy", 80, 1, xs[:80]); npy("y.npy", 80, 1, ys[:80])
npy("xv.npy", 40, 1, xs[80:]); npy("yv.npy", 40, 1, ys[80:])
# --class-weight '0:1,1:3' as sample weights
npy("cw.npy", 80, None, [3.0 if y == 1 else 1.0 for y in ys[:80]])
spec = json.load(open(logreg))
spec["compile_config"]["optimizer"] = {"class_name": "Adam", "config": {"learning_rate": 0.05}}
json.dump(spec, open(f"{tmp}/adam.json", "w"))
spec["callbacks"] = [
    {"class_name": "CSVLogger", "config": {"filename": f"{tmp}/spec_log.csv"}},
    {"class_name": "EarlyStopping",
     "config": {"monitor": "val_loss", "patience": 2, "min_delta": 0.002}}]
json.dump(spec, open(f"{tmp}/callbacks.json", "w"))
# two outputs a [B,2], b [B,1] from x [B,3]; mse each, weighted MAE each
npy("x3.npy", 24, 3, [math.sin(0.7 * i + 0.2) for i in range(72)])
npy("ya.npy", 24, 2, [math.cos(0.9 * i) for i in range(48)])
npy("yb.npy", 24, 1, [0.4 * i - 1.0 for i in range(24)])
npy("w.npy", 24, None, [(1.0, 0.0, 2.0, 0.5)[i % 4] for i in range(24)])
npy("w2.npy", 24, None, [2.0] * 24)
two = {"class_name": "Model", "config": {"name": "m", "layers": [
    {"class_name": "InputLayer", "name": "x",
     "config": {"batch_input_shape": [None, 3], "name": "x"}, "inbound_nodes": []},
    {"class_name": "Dense", "name": "a", "config": {"name": "a", "units": 2},
     "inbound_nodes": [[["x", 0, 0, {}]]]},
    {"class_name": "Dense", "name": "b", "config": {"name": "b", "units": 1},
     "inbound_nodes": [[["x", 0, 0, {}]]]}],
    "input_layers": [["x", 0, 0]], "output_layers": [["a", 0, 0], ["b", 0, 0]]},
  "compile_config": {"optimizer": {"class_name": "SGD", "config": {"learning_rate": 0.1}},
    "loss": {"a": "mse", "b": "mse"}, "weighted_metrics": {"a": ["mae"], "b": ["mae"]}}}
json.dump(two, open(f"{tmp}/two.json", "w"))
PY

# expect_fail NAME PATTERN ARGS...: exit 2, one line on stderr containing PATTERN
expect_fail() {
  local name=$1 pattern=$2
  shift 2
  "$nnc" "$@" >"$tmp/out" 2>"$tmp/err"
  local rc=$?
  if [ $rc -ne 2 ]; then bad "$name: exit $rc, expected 2 ($(cat "$tmp/err"))"; return; fi
  if [ "$(wc -l <"$tmp/err")" -ne 1 ]; then bad "$name: not one line: $(cat "$tmp/err")"; return; fi
  if ! grep -qF -- "$pattern" "$tmp/err"; then bad "$name: '$(cat "$tmp/err")' lacks '$pattern'"; return; fi
  ok
}
# run NAME ARGS...: exit 0
run() {
  local name=$1
  shift
  if "$nnc" "$@" >"$tmp/out" 2>"$tmp/err"; then ok; else bad "$name: exit $?: $(cat "$tmp/err")"; fi
}
same() { if cmp -s "$2" "$3"; then ok; else bad "$1: $2 and $3 differ"; fi; }

# ---- 1. spec callbacks + --callback + --class-weight + validation data
val=(--x-val "$tmp/xv.npy" --y-val "$tmp/yv.npy")
run callbacks fit "$tmp/callbacks.json" --x "$tmp/x.npy" --y "$tmp/y.npy" "${val[@]}" \
  --epochs 60 --batch-size 16 --verbose 0 --class-weight '0:1,1:3' --history "$tmp/h.json" \
  --callback 'ReduceLROnPlateau(monitor=val_loss, factor=0.5, patience=1, min_delta=0.005)'
if python3 - "$tmp/h.json" "$tmp/spec_log.csv" 60 0.05 >"$tmp/check" 2>&1 <<'PY'; then ok; else bad "History of the callbacks run: $(cat "$tmp/check")"; fi
import csv, json, math, struct, sys
h, log, epochs, lr0 = json.load(open(sys.argv[1])), sys.argv[2], int(sys.argv[3]), float(sys.argv[4])
val = h["val_loss"]
# EarlyStopping(monitor=val_loss, patience=2, min_delta=0.002), Keras 3: an
# improvement is current - (-0.002) < best; wait counts epochs since one
best, wait, stop = math.inf, 0, None
for epoch, v in enumerate(val):
    wait += 1
    if v + 0.002 < best:
        best, wait = v, 0
        continue
    if wait >= 2 and epoch > 0:
        stop = epoch
        break
ran = len(val)
assert stop is not None, f"EarlyStopping should stop within {epochs} epochs: {val}"
assert ran == stop + 1, f"History has {ran} epochs, EarlyStopping stops after epoch {stop}"
# ReduceLROnPlateau(factor=0.5, patience=1, min_delta=0.005): logs the rate
# of the epoch, then halves it after one epoch without improvement
lr, best, wait, want = lr0, math.inf, 0, []
for v in val:
    want.append(lr)
    if v < best - 0.005:
        best, wait = v, 0
    else:
        wait += 1
        if wait >= 1:
            lr, wait = max(lr * 0.5, 0.0), 0
got = h["learning_rate"]
assert len(set(got)) > 1, f"the rate never changed: {got}"
for g, w in zip(got, want):
    assert abs(g - w) <= 1e-6 * w, f"learning_rate {got} != {want}"
# the spec's CSVLogger runs before ReduceLROnPlateau: no learning_rate column
rows = list(csv.reader(open(log, newline="")))
assert rows[0] == ["epoch", "accuracy", "loss", "val_accuracy", "val_loss"], rows[0]
assert len(rows) == ran + 1, f"{len(rows) - 1} rows for {ran} epochs"
f32 = lambda v: struct.unpack("<f", struct.pack("<f", float(v)))[0]  # both hold float32 values
for i, r in enumerate(rows[1:]):
    assert int(r[0]) == i and f32(r[4]) == f32(val[i]) and f32(r[2]) == f32(h["loss"][i]), (r, i)
PY
# --class-weight '0:1,1:3' is --sample-weight with 3 for the samples of class 1
run class_as_sample fit "$tmp/adam.json" --x "$tmp/x.npy" --y "$tmp/y.npy" "${val[@]}" \
  --epochs 3 --verbose 0 --class-weight '0:1,1:3' --history "$tmp/hc.json"
run sample_as_class fit "$tmp/adam.json" --x "$tmp/x.npy" --y "$tmp/y.npy" "${val[@]}" \
  --epochs 3 --verbose 0 --sample-weight "$tmp/cw.npy" --history "$tmp/hs.json"
same class_weight_is_sample_weight "$tmp/hc.json" "$tmp/hs.json"

# ---- 2. optimizer state: 2 + 2 epochs end where 4 do (no shuffling: the
# order of an epoch depends on its index)
fit4=(fit "$tmp/adam.json" --x "$tmp/x.npy" --y "$tmp/y.npy" --no-shuffle --verbose 0 --batch-size 16)
run long "${fit4[@]}" --epochs 4 --weights-out "$tmp/w4.safetensors" --history "$tmp/h4.json"
run first_half "${fit4[@]}" --epochs 2 --weights-out "$tmp/w2.safetensors" \
  --optimizer-state-out "$tmp/s2.safetensors"
run second_half "${fit4[@]}" --epochs 2 --weights-in "$tmp/w2.safetensors" \
  --optimizer-state-in "$tmp/s2.safetensors" --weights-out "$tmp/w22.safetensors" --history "$tmp/h22.json"
run no_state "${fit4[@]}" --epochs 2 --weights-in "$tmp/w2.safetensors" \
  --weights-out "$tmp/w2n.safetensors"
same continued_weights "$tmp/w4.safetensors" "$tmp/w22.safetensors"
if cmp -s "$tmp/w4.safetensors" "$tmp/w2n.safetensors"; then
  bad "without --optimizer-state-in the run should differ (Adam restarts)"; else ok; fi
if python3 - "$tmp/h4.json" "$tmp/h22.json" <<'PY'; then ok; else bad "continued History differs"; fi
import json, sys
a, b = json.load(open(sys.argv[1])), json.load(open(sys.argv[2]))
assert all(a[k][2:] == b[k] for k in ("loss", "accuracy")), (a, b)
PY

# ---- 3. one --sample-weight for both outputs
two=(fit "$tmp/two.json" --x "$tmp/x3.npy" --y a="$tmp/ya.npy" --y b="$tmp/yb.npy" --epochs 3
  --batch-size 8 --verbose 0)
run shared "${two[@]}" --sample-weight "$tmp/w.npy" --history "$tmp/t1.json" \
  --weights-out "$tmp/t1.safetensors"
run named "${two[@]}" --sample-weight a="$tmp/w.npy" --sample-weight b="$tmp/w.npy" \
  --history "$tmp/t2.json" --weights-out "$tmp/t2.safetensors"
run a_only "${two[@]}" --sample-weight a="$tmp/w.npy" --history "$tmp/t3.json"
same shared_is_named_history "$tmp/t1.json" "$tmp/t2.json"
same shared_is_named_weights "$tmp/t1.safetensors" "$tmp/t2.safetensors"
if cmp -s "$tmp/t1.json" "$tmp/t3.json"; then bad "weights on a only should change b"; else ok; fi
# validation weights the same way
tv=(--x-val "$tmp/x3.npy" --y-val a="$tmp/ya.npy" --y-val b="$tmp/yb.npy")
run shared_val "${two[@]}" "${tv[@]}" --sample-weight-val "$tmp/w.npy" --history "$tmp/v1.json"
run named_val "${two[@]}" "${tv[@]}" --sample-weight-val a="$tmp/w.npy" \
  --sample-weight-val b="$tmp/w.npy" --history "$tmp/v2.json"
run unweighted_val "${two[@]}" "${tv[@]}" --history "$tmp/v3.json"
same shared_val_is_named "$tmp/v1.json" "$tmp/v2.json"
if cmp -s "$tmp/v1.json" "$tmp/v3.json"; then bad "validation weights were ignored"; else ok; fi
# evaluate: weights of 2 on both outputs double both losses (Keras divides by
# the sample count, not the weight sum) and leave the weighted MAE alone
ev=(evaluate "$tmp/two.json" --weights "$tmp/t1.safetensors" --x "$tmp/x3.npy" --y a="$tmp/ya.npy"
  --y b="$tmp/yb.npy" --batch-size 24)
"$nnc" "${ev[@]}" >"$tmp/e0" 2>&1 && "$nnc" "${ev[@]}" --sample-weight "$tmp/w2.npy" >"$tmp/e2" 2>&1
if python3 - "$tmp/e0" "$tmp/e2" <<'PY'; then ok; else bad "evaluate with one weight file: $(cat "$tmp/e0" "$tmp/e2")"; fi
import sys
def logs(p):
    return {k: float(v) for k, v in (kv.split(": ") for kv in open(p).read().strip().split(" - "))}
a, b = logs(sys.argv[1]), logs(sys.argv[2])
for k in ("a_loss", "b_loss", "loss"):
    assert abs(b[k] - 2 * a[k]) <= 2e-4 + 1e-3 * abs(a[k]), (k, a, b)
for k in ("a_mae", "b_mae"):
    assert abs(b[k] - a[k]) <= 1e-4, (k, a, b)
PY
"$nnc" "${ev[@]}" --sample-weight "$tmp/w.npy" >"$tmp/e3" 2>&1 &&
  "$nnc" "${ev[@]}" --sample-weight a="$tmp/w.npy" --sample-weight b="$tmp/w.npy" >"$tmp/e4" 2>&1
same evaluate_shared_is_named "$tmp/e3" "$tmp/e4"
tob=(train-on-batch "$tmp/two.json" --x "$tmp/x3.npy" --y a="$tmp/ya.npy" --y b="$tmp/yb.npy" --steps 3)
run tob_shared "${tob[@]}" --sample-weight "$tmp/w.npy" --trace "$tmp/tr1.json"
run tob_named "${tob[@]}" --sample-weight a="$tmp/w.npy" --sample-weight b="$tmp/w.npy" \
  --trace "$tmp/tr2.json"
same train_on_batch_shared_is_named "$tmp/tr1.json" "$tmp/tr2.json"
expect_fail three_weight_files_for_two_outputs "--sample-weight: the model has 2 outputs" \
  "${two[@]}" --sample-weight "$tmp/w.npy" --sample-weight "$tmp/w.npy" --sample-weight "$tmp/w.npy"

# ---- 4. callbacks' files must not be inputs (nothing is written)
cp "$tmp/x.npy" "$tmp/x_keep.npy"
python3 - "$tmp" <<'PY'
import json, sys
tmp = sys.argv[1]
spec = json.load(open(f"{tmp}/adam.json"))
for name, cb in {
    "csv_over_x": {"class_name": "CSVLogger", "config": {"filename": f"{tmp}/x.npy"}},
    "ckpt_template": {"class_name": "ModelCheckpoint",
                      "config": {"filepath": f"{tmp}/ck-{{epoch:02d}}.safetensors"}},
    "backup": {"class_name": "BackupAndRestore", "config": {"backup_dir": f"{tmp}/bk"}},
    "bad_config": {"class_name": "EarlyStopping", "config": {"patience": "x"}},
}.items():
    s = dict(spec, callbacks=[{"class_name": "TerminateOnNaN", "config": {}}, cb])
    json.dump(s, open(f"{tmp}/{name}.json", "w"))
PY
xy=(--x "$tmp/x.npy" --y "$tmp/y.npy" --epochs 1 --verbose 0)
expect_fail spec_csv_over_input \
  "nnc fit: $tmp/csv_over_x.json: \$.callbacks[1].config.filename: $tmp/x.npy is the same file as --x $tmp/x.npy" \
  fit "$tmp/csv_over_x.json" "${xy[@]}"
same spec_csv_left_input_alone "$tmp/x.npy" "$tmp/x_keep.npy"
cp "$tmp/w4.safetensors" "$tmp/ck-07.safetensors"
expect_fail checkpoint_template_over_input \
  "\$.callbacks[1].config.filepath: $tmp/ck-{epoch:02d}.safetensors can name the same file as --weights-in $tmp/ck-07.safetensors" \
  fit "$tmp/ckpt_template.json" "${xy[@]}" --weights-in "$tmp/ck-07.safetensors"
same checkpoint_left_input_alone "$tmp/w4.safetensors" "$tmp/ck-07.safetensors"
# the optimizer file beside a checkpoint counts too (save_weights_only=False)
cp "$tmp/s2.safetensors" "$tmp/m.optimizer.safetensors"
expect_fail checkpoint_optimizer_over_input \
  "--callback $tmp/m.optimizer.safetensors is the same file as --optimizer-state-in" \
  fit "$tmp/adam.json" "${xy[@]}" --optimizer-state-in "$tmp/m.optimizer.safetensors" \
  --callback "ModelCheckpoint('$tmp/m.safetensors')"
mkdir "$tmp/bk" && cp "$tmp/w4.safetensors" "$tmp/bk/latest.safetensors"
expect_fail backup_over_input \
  "\$.callbacks[1].config.backup_dir: $tmp/bk/latest.safetensors is the same file as --weights-in" \
  fit "$tmp/backup.json" "${xy[@]}" --weights-in "$tmp/bk/latest.safetensors"
same backup_left_input_alone "$tmp/w4.safetensors" "$tmp/bk/latest.safetensors"
# a template that names no input trains and writes its checkpoint
rm -f "$tmp/ck-07.safetensors"
run checkpoint_template_elsewhere fit "$tmp/ckpt_template.json" "${xy[@]}"
if [ -f "$tmp/ck-01.safetensors" ]; then ok; else bad "no checkpoint ck-01.safetensors"; fi

# ---- 5. bad callback text or config: exit 2 naming the column or the path
expect_fail bad_text_column "--callback 1: EarlyStopping(patience=2: column 25: expected ',' or ')' after a value" \
  fit "$tmp/adam.json" "${xy[@]}" --callback 'EarlyStopping(patience=2'
expect_fail bad_spec_config "nnc fit: $tmp/bad_config.json: \$.callbacks[1].config.patience: expected" \
  fit "$tmp/bad_config.json" "${xy[@]}"

echo "test_training_cli: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
