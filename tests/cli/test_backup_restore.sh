#!/usr/bin/env bash
# BackupAndRestore end to end (docs/semantics.md, "Callbacks"): a fit killed
# with SIGKILL during epoch 3 and started again with the same command resumes
# from the backup of epoch 2 and ends with weights and History byte-identical
# to an uninterrupted fit; the backup folder is gone after the run that
# completes (delete_checkpoint). Until `nnc fit --callback` exists (engineer
# fit's branch) this prints a notice and passes.
# usage: test_backup_restore.sh NNC SOURCE_DIR ORACLE_DIR
set -u
nnc=$1
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

# 16 features, 20000 samples, batch size 1: an epoch is 20000 steps of a
# 1024-unit layer (tens of ms per epoch with 32 units was short enough for
# a loaded machine to let epoch 3 end before the kill landed), long
# enough to be killed inside; Adam so that optimizer slots must come back too.
python3 - "$tmp" <<'PY'
import random, struct, sys
def npy(path, rows, cols, values):
    header = "{'descr': '<f4', 'fortran_order': False, 'shape': (%d, %d), }" % (rows, cols)
    header += " " * (63 - (len(header) + 10) % 64) + "\n"
    with open(path, "wb") as f:
        f.write(b"\x93NUMPY\x01\x00" + struct.pack("<H", len(header)) + header.encode())
        f.write(struct.pack("<%df" % len(values), *values))
rng = random.Random(7)
n, d = 20000, 16
x = [rng.uniform(-1, 1) for _ in range(n * d)]
y = [sum(x[i * d:(i + 1) * d:3]) + rng.gauss(0, 0.1) for i in range(n)]
npy(sys.argv[1] + "/x.npy", n, d, x)
npy(sys.argv[1] + "/y.npy", n, 1, y)
PY
cat >"$tmp/spec.json" <<'JSON'
{"class_name": "Sequential", "config": {"name": "br", "layers": [
 {"class_name": "InputLayer", "config": {"batch_input_shape": [null, 16], "name": "in"}},
 {"class_name": "Dense", "config": {"name": "h", "units": 1024, "activation": "relu"}},
 {"class_name": "Dense", "config": {"name": "out", "units": 1}}]},
 "compile_config": {"optimizer": {"class_name": "Adam", "config": {"learning_rate": 0.001}},
                    "loss": "mse", "metrics": ["mae"]}}
JSON
# fit OUTDIR [--callback ...]: 5 epochs, shuffled, verbose 2 (a line per epoch).
# It execs nnc, so call it in a subshell: a kill of "$!" then reaches nnc.
fit() {
  local out=$1
  shift
  exec "$nnc" fit "$tmp/spec.json" --x "$tmp/x.npy" --y "$tmp/y.npy" --epochs 5 --batch-size 1 \
    --seed 3 --validation-split 0.1 --verbose 2 --weights-out "$out/w.safetensors" \
    --history "$out/h.json" "$@"
}
if "$nnc" fit --help 2>&1 | grep -q -- '--callback'; then :; else
  echo "NOTICE: nnc fit has no --callback option yet; skipping"
  exit 0
fi

mkdir "$tmp/whole" "$tmp/resumed"
(fit "$tmp/whole") >"$tmp/whole.out" 2>&1 || bad "the uninterrupted fit failed: $(tail -3 "$tmp/whole.out")"
cb="BackupAndRestore(backup_dir=\"$tmp/backup\")"

# The run to kill: SIGKILL as soon as epoch 2's line (verbose 2 prints one
# line of results at each epoch end) is out, i.e. early in epoch 3.
ended() { grep -c 'val_loss' "$1" 2>/dev/null || true; }
(fit "$tmp/resumed" --callback "$cb") >"$tmp/killed.out" 2>&1 &
pid=$!
for _ in $(seq 1 12000); do
  [ "$(ended "$tmp/killed.out")" -ge 2 ] && break
  kill -0 "$pid" 2>/dev/null || break
  sleep 0.005
done
kill -9 "$pid" 2>/dev/null
wait "$pid" 2>/dev/null
if [ "$(ended "$tmp/killed.out")" -ne 2 ] || [ -f "$tmp/resumed/w.safetensors" ]; then
  bad "the fit was not killed during epoch 3 (epochs too short here?): $(cat "$tmp/killed.out")"
else ok; fi
[ -f "$tmp/backup/latest.safetensors" ] && ok || bad "no backup after the kill"

# Started again: resumes at epoch 3 (index 2) and completes.
(fit "$tmp/resumed" --callback "$cb") >"$tmp/resumed.out" 2>&1 ||
  bad "the resumed fit failed: $(tail -3 "$tmp/resumed.out")"
first=$(grep -o 'Epoch [0-9]*/5' "$tmp/resumed.out" | head -1)
[ "$first" = "Epoch 3/5" ] && ok || bad "the resumed fit began with '$first', not epoch 3"
[ "$(ended "$tmp/resumed.out")" -eq 3 ] && ok || bad "the resumed fit did not run 3 epochs"
cmp -s "$tmp/whole/w.safetensors" "$tmp/resumed/w.safetensors" && ok ||
  bad "weights differ from the uninterrupted fit"
cmp -s "$tmp/whole/h.json" "$tmp/resumed/h.json" && ok ||
  bad "History differs: $(cat "$tmp/whole/h.json") vs $(cat "$tmp/resumed/h.json")"
[ -e "$tmp/backup" ] && bad "the backup folder is left after a completed fit" || ok

echo "test_backup_restore: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
