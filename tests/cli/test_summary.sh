#!/usr/bin/env bash
# `nnc compile --summary` prints Keras 3's summary (keras/src/utils/summary_utils.py,
# a rich table with the HEAVY_HEAD box) through the runtime's printer: the
# expected tables below are what Keras 3 prints to a pipe (80 columns assumed,
# so the table is 76 wide): column widths 33/24/15 for a chain, 21/19/12/19 with
# "Connected to" for a graph with branches; cells wrap at spaces as rich wraps
# them; counts with thousands separators and sizes as readable_memory_size.
# usage: test_summary.sh NNC SOURCE_DIR ORACLE_DIR
set -u
nnc=$1 src=$2
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
pass=0 fail=0

# check NAME SPEC EXPECTED: the summary's table and counts, line for line
check() {
  if ! "$nnc" compile "$2" --summary >"$tmp/out" 2>"$tmp/err"; then
    fail=$((fail + 1)); echo "FAIL: $1: nnc compile --summary failed: $(cat "$tmp/err")"; return
  fi
  head -n "$(wc -l <"$3")" "$tmp/out" >"$tmp/got"
  if diff -u "$3" "$tmp/got"; then pass=$((pass + 1)); else fail=$((fail + 1)); echo "FAIL: $1"; fi
}

# spec NAME FILE LAYERS-PY: a Keras 3 Functional spec; LAYERS-PY is a Python list
# of (name, class, config, inbound names) and the last layer is the output
spec() {
  python3 - "$1" "$2" "$3" <<'EOF'
import json, sys
name, out, layers = sys.argv[1], sys.argv[2], eval(sys.argv[3])
shapes = {}
def tensor(n):
    return {"class_name": "__keras_tensor__", "config": {"shape": shapes[n], "dtype": "float32", "keras_history": [n, 0, 0]}}
js, inputs = [], []
for lname, cls, cfg, inbound in layers:
    cfg = dict(cfg, name=lname)
    if cls == "InputLayer":
        shapes[lname] = cfg["batch_shape"]
        inputs.append([lname, 0, 0])
        js.append({"module": "keras.layers", "class_name": cls, "config": cfg, "registered_name": None, "name": lname, "inbound_nodes": []})
        continue
    if cls == "Dense":
        cfg.update(activation="linear", use_bias=True, kernel_initializer={"class_name": "GlorotUniform", "config": {"seed": None}}, bias_initializer={"class_name": "Zeros", "config": {}})
        shapes[lname] = [None, cfg["units"]]
    else:
        shapes[lname] = shapes[inbound[0]]
    args = [tensor(inbound[0])] if len(inbound) == 1 else [[tensor(n) for n in inbound]]
    js.append({"module": "keras.layers", "class_name": cls, "config": cfg, "registered_name": None, "name": lname, "inbound_nodes": [{"args": args, "kwargs": {}}]})
model = {"module": "keras.src.models.functional", "class_name": "Functional",
         "config": {"name": name, "trainable": True, "layers": js, "input_layers": inputs, "output_layers": [[layers[-1][0], 0, 0]]},
         "compile_config": {"optimizer": {"class_name": "SGD", "config": {"learning_rate": 0.1}}, "loss": "mse", "metrics": []}}
json.dump(model, open(out, "w"))
EOF
}

# A graph with two inputs, a frozen layer (trainable: false: its 15 weights are
# non-trainable) and a merge; "prediction_head (Dense)" and the Add's two
# inbound tensors wrap at a space, as in Keras's "embedding (Embedding)".
spec towers "$tmp/towers.json" '[
  ("in_a", "InputLayer", {"batch_shape": [None, 4], "dtype": "float32"}, []),
  ("in_b", "InputLayer", {"batch_shape": [None, 4], "dtype": "float32"}, []),
  ("frozen", "Dense", {"units": 3, "trainable": False}, ["in_a"]),
  ("tower_b", "Dense", {"units": 3, "trainable": True}, ["in_b"]),
  ("sum", "Add", {"trainable": True}, ["frozen", "tower_b"]),
  ("prediction_head", "Dense", {"units": 1, "trainable": True}, ["sum"])]'
cat >"$tmp/towers.txt" <<'EOF'
Model: "towers"
┏━━━━━━━━━━━━━━━━━━━━━┳━━━━━━━━━━━━━━━━━━━┳━━━━━━━━━━━━┳━━━━━━━━━━━━━━━━━━━┓
┃ Layer (type)        ┃ Output Shape      ┃    Param # ┃ Connected to      ┃
┡━━━━━━━━━━━━━━━━━━━━━╇━━━━━━━━━━━━━━━━━━━╇━━━━━━━━━━━━╇━━━━━━━━━━━━━━━━━━━┩
│ in_a (InputLayer)   │ (None, 4)         │          0 │ -                 │
├─────────────────────┼───────────────────┼────────────┼───────────────────┤
│ in_b (InputLayer)   │ (None, 4)         │          0 │ -                 │
├─────────────────────┼───────────────────┼────────────┼───────────────────┤
│ frozen (Dense)      │ (None, 3)         │         15 │ in_a[0][0]        │
├─────────────────────┼───────────────────┼────────────┼───────────────────┤
│ tower_b (Dense)     │ (None, 3)         │         15 │ in_b[0][0]        │
├─────────────────────┼───────────────────┼────────────┼───────────────────┤
│ sum (Add)           │ (None, 3)         │          0 │ frozen[0][0],     │
│                     │                   │            │ tower_b[0][0]     │
├─────────────────────┼───────────────────┼────────────┼───────────────────┤
│ prediction_head     │ (None, 1)         │          4 │ sum[0][0]         │
│ (Dense)             │                   │            │                   │
└─────────────────────┴───────────────────┴────────────┴───────────────────┘
 Total params: 34 (136.00 B)
 Trainable params: 19 (76.00 B)
 Non-trainable params: 15 (60.00 B)
EOF
check towers "$tmp/towers.json" "$tmp/towers.txt"

# A Functional chain is "sequential-like" for Keras: its InputLayer is listed,
# but without the "Connected to" column. 1,300 weights: the separator and KB.
spec chain "$tmp/chain.json" '[
  ("inp", "InputLayer", {"batch_shape": [None, 25], "dtype": "float32"}, []),
  ("wide", "Dense", {"units": 50, "trainable": True}, ["inp"]),
  ("narrow", "Dense", {"units": 1, "trainable": True}, ["wide"])]'
cat >"$tmp/chain.txt" <<'EOF'
Model: "chain"
┏━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━┳━━━━━━━━━━━━━━━━━━━━━━━━┳━━━━━━━━━━━━━━━┓
┃ Layer (type)                    ┃ Output Shape           ┃       Param # ┃
┡━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━╇━━━━━━━━━━━━━━━━━━━━━━━━╇━━━━━━━━━━━━━━━┩
│ inp (InputLayer)                │ (None, 25)             │             0 │
├─────────────────────────────────┼────────────────────────┼───────────────┤
│ wide (Dense)                    │ (None, 50)             │         1,300 │
├─────────────────────────────────┼────────────────────────┼───────────────┤
│ narrow (Dense)                  │ (None, 1)              │            51 │
└─────────────────────────────────┴────────────────────────┴───────────────┘
 Total params: 1,351 (5.28 KB)
 Trainable params: 1,351 (5.28 KB)
 Non-trainable params: 0 (0.00 B)
EOF
check chain "$tmp/chain.json" "$tmp/chain.txt"

# A Sequential: no InputLayer row, no "Connected to".
cat >"$tmp/logreg.txt" <<'EOF'
Model: "logreg"
┏━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━┳━━━━━━━━━━━━━━━━━━━━━━━━┳━━━━━━━━━━━━━━━┓
┃ Layer (type)                    ┃ Output Shape           ┃       Param # ┃
┡━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━╇━━━━━━━━━━━━━━━━━━━━━━━━╇━━━━━━━━━━━━━━━┩
│ dense (Dense)                   │ (None, 1)              │             2 │
└─────────────────────────────────┴────────────────────────┴───────────────┘
 Total params: 2 (8.00 B)
 Trainable params: 2 (8.00 B)
 Non-trainable params: 0 (0.00 B)
EOF
check logreg "$src/tests/cli/logreg.json" "$tmp/logreg.txt"

echo "test_summary: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
