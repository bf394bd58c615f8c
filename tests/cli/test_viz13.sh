#!/usr/bin/env bash
# Pictures: `nnc plot` (a History as SVG: panels, series, axis labels,
# ticks that fit the data, legend, gaps), `nnc compile --dump-graph=dot` (a
# cluster per fused kernel named as the IR's function, every node, the
# roles' colours; renders with Graphviz without a warning) and
# `--dump-graph=html` (every layer, every kernel and its IR's define line),
# each checked by tests/cli/render13.py, then rendered once in headless
# Chromium: the screenshots are not blank and the page's script ran without
# an error. Without chromium or dot those renders are skipped, saying so.
# usage: test_viz13.sh NNC SOURCE_DIR ORACLE_DIR
set -u
nnc=$1 src=$2 oracle=$3
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
check="python3 $src/tests/cli/render13.py"

# expect STATUS PATTERN COMMAND...: that exit status, PATTERN on stderr
expect() {
  local want=$1 pattern=$2
  shift 2
  "$@" >"$tmp/out" 2>"$tmp/err"
  local rc=$?
  if [ $rc -eq "$want" ] && grep -qF -- "$pattern" "$tmp/err" && [ "$(wc -l <"$tmp/err")" -eq 1 ]; then
    ok
  else
    bad "$*: exit $rc (expected $want), stderr: $(cat "$tmp/err")"
  fi
}

# ---- nnc plot ----
# Keras's json.dumps(history.history): NaN literal, a learning rate that changed
cat >"$tmp/keras.json" <<'EOF2'
{"accuracy": [0.61, 0.74, NaN, 0.81, 0.83], "loss": [1.2, 0.8, 0.65, 0.6, 0.58],
 "val_accuracy": [0.70, 0.76, 0.78, 0.80, 0.80], "val_loss": [0.9, 0.7, 0.66, 0.63, 0.62],
 "learning_rate": [0.001, 0.001, 0.0005, 0.0005, 0.0001]}
EOF2
if "$nnc" plot "$tmp/keras.json" -o "$tmp/keras.svg" --title "Fashion MNIST" 2>"$tmp/err" &&
  $check svg "$tmp/keras.svg" "$tmp/keras.json" >"$tmp/out"; then ok; else bad "keras plot: $(cat "$tmp/err" "$tmp/out")"; fi
grep -q '<title>Fashion MNIST</title>' "$tmp/keras.svg" && ok || bad "no --title in the SVG"
# nnc's own History: a real fit with validation (nulls would be gaps)
case=$oracle/cases/seed000_logreg
if [ -f "$case/x.npy" ]; then
  "$nnc" fit "$src/tests/cli/logreg.json" --x "$case/x.npy" --y "$case/y.npy" --epochs 4 \
    --batch-size 50 --validation-split 0.25 --verbose 0 --history "$tmp/h.json" >"$tmp/out" 2>&1 ||
    bad "fit: $(cat "$tmp/out")"
  if "$nnc" plot "$tmp/h.json" -o "$tmp/h.svg" 2>"$tmp/err" && $check svg "$tmp/h.svg" "$tmp/h.json" >"$tmp/out"; then
    ok
  else
    bad "nnc history plot: $(cat "$tmp/err" "$tmp/out")"
  fi
else
  echo "test_viz13: $case absent (../shared/oracle): the plot of a real fit's history is skipped"
fi
# one epoch, a constant series, tiny and huge values, a metric with no finite value
printf '{"loss": [0.5], "val_loss": [0.5]}' >"$tmp/one.json"
printf '{"loss": [2, 2, 2], "tiny": [1e-30, 3e-30, 2e-30], "huge": [1e300, -1e300, 5e299], "dead": [null, null, null]}' >"$tmp/odd.json"
for f in one odd; do
  if "$nnc" plot "$tmp/$f.json" -o "$tmp/$f.svg" 2>"$tmp/err" && $check svg "$tmp/$f.svg" "$tmp/$f.json" >"$tmp/out"; then
    ok
  else
    bad "$f plot: $(cat "$tmp/err" "$tmp/out")"
  fi
done
grep -q 'no finite values to draw' "$tmp/odd.svg" && ok || bad "a series of nulls is not said"
# --metrics: a subset in its order
"$nnc" plot "$tmp/keras.json" -o "$tmp/sub.svg" --metrics accuracy,learning_rate 2>"$tmp/err"
[ "$(grep -c 'class="panel"' "$tmp/sub.svg")" -eq 2 ] && ok || bad "--metrics: $(cat "$tmp/err")"
# session 39: val_loss names the loss panel (its dashed curve), the same picture as loss
"$nnc" plot "$tmp/keras.json" -o "$tmp/val.svg" --metrics val_loss 2>"$tmp/err" &&
  "$nnc" plot "$tmp/keras.json" -o "$tmp/loss.svg" --metrics loss 2>>"$tmp/err" &&
  cmp -s "$tmp/val.svg" "$tmp/loss.svg" && ok || bad "--metrics val_loss: $(cat "$tmp/err")"
expect 2 "--metrics: 'loss' is given twice" "$nnc" plot "$tmp/keras.json" -o "$tmp/x.svg" --metrics loss,val_loss
# errors: one line naming the file and what was expected, exit 2, nothing written
printf '{"loss": [0.5, "0.4"]}' >"$tmp/str.json"
expect 2 "$tmp/str.json: \$[\"loss\"][1]: expected a number or null, got a string" "$nnc" plot "$tmp/str.json" -o "$tmp/x.svg"
printf '{"loss": [0.5,\n  0.4' >"$tmp/cut.json"
expect 2 "$tmp/cut.json:2:6: not valid JSON" "$nnc" plot "$tmp/cut.json" -o "$tmp/x.svg"
expect 2 "$tmp/keras.json: --metrics: no quantity 'acc' in the history (it has: loss, accuracy, learning_rate)" \
  "$nnc" plot "$tmp/keras.json" -o "$tmp/x.svg" --metrics acc
expect 2 "expected a file ending in .svg or .png" "$nnc" plot "$tmp/keras.json" -o "$tmp/x.pdf"
expect 2 "-o CURVES.svg is required" "$nnc" plot "$tmp/keras.json"
expect 2 "missing H.json" "$nnc" plot
# session 39: options may come before the file, as for the other commands
"$nnc" plot -o "$tmp/first.svg" --metrics loss "$tmp/keras.json" 2>"$tmp/err" &&
  cmp -s "$tmp/first.svg" "$tmp/loss.svg" && ok || bad "plot -o before H.json: $(cat "$tmp/err")"
expect 2 "missing H.json" "$nnc" plot -o "$tmp/first.svg"
expect 2 "no-such.json" "$nnc" plot "$tmp/no-such.json" -o "$tmp/x.svg"
expect 2 "same file" "$nnc" plot "$tmp/keras.json" -o "$tmp/keras.json"
[ ! -e "$tmp/x.svg" ] && ok || bad "a failed plot left $tmp/x.svg"
# PNG without a converter on PATH: a clear error (env's own path is absolute)
mkdir -p "$tmp/empty"
expect 2 "PNG output needs rsvg-convert or chromium" env PATH="$tmp/empty" "$nnc" plot "$tmp/keras.json" -o "$tmp/x.png"

# hostile files: markup, control characters and bytes that are not UTF-8 in names stay
# well-formed XML; too many quantities are refused naming the file, --metrics picks some
python3 -c '
import json, sys
json.dump({"<script>alert(1)</script>": [1, 2], "a\u0001b": [3, 4], "": [5, 6], "val_": [1, 2]}, open(sys.argv[1], "w"))
json.dump({"m%d" % i: [i, 1] for i in range(100)}, open(sys.argv[2], "w"))' "$tmp/names.json" "$tmp/many.json"
printf '{"loss": [1, 2], "k\xff\xfe": [1, 2]}' >"$tmp/bytes.json"
for f in names bytes; do
  if "$nnc" plot "$tmp/$f.json" -o "$tmp/$f.svg" 2>"$tmp/err" &&
    python3 -c 'import sys, xml.etree.ElementTree as E; E.parse(sys.argv[1])' "$tmp/$f.svg" 2>"$tmp/out" &&
    ! grep -q '<script' "$tmp/$f.svg"; then ok; else bad "$f: $(cat "$tmp/err" "$tmp/out")"; fi
done
expect 2 "$tmp/many.json: 100 quantities, more than the 64 a picture holds" "$nnc" plot "$tmp/many.json" -o "$tmp/x.svg"
"$nnc" plot "$tmp/many.json" -o "$tmp/two.svg" --metrics m5,m99 2>"$tmp/err" &&
  [ "$(grep -c 'class="panel"' "$tmp/two.svg")" -eq 2 ] && ok || bad "--metrics of 100: $(cat "$tmp/err")"
expect 2 "--metrics: 'm5' is given twice" "$nnc" plot "$tmp/many.json" -o "$tmp/twice.svg" --metrics m5,m6,m5
[ ! -e "$tmp/twice.svg" ] && ok || bad "a refused plot wrote its picture"
# an output path with spaces; an existing output replaced whole
mkdir -p "$tmp/a dir"
printf 'old' >"$tmp/a dir/c v.svg"
"$nnc" plot "$tmp/keras.json" -o "$tmp/a dir/c v.svg" --title "Fashion MNIST" 2>"$tmp/err" && cmp -s "$tmp/a dir/c v.svg" "$tmp/keras.svg" &&
  ok || bad "spaces: $(cat "$tmp/err")"
# --dump-dir's graphs.html is an output: it may not be the spec
mkdir -p "$tmp/dd"
cp "$src/tests/cli/logreg.json" "$tmp/dd/graphs.html"
expect 2 "is the same file as SPEC" "$nnc" compile "$tmp/dd/graphs.html" --dump-graph=html --dump-dir "$tmp/dd"

# ---- --dump-graph=dot and html ----
printf '%s' '{"class_name": "Functional", "config": {"name": "branchy", "layers": [
 {"class_name": "InputLayer", "name": "in", "config": {"batch_shape": [null, 6], "name": "in"}, "inbound_nodes": []},
 {"class_name": "Dense", "name": "left", "config": {"name": "left", "units": 4, "activation": "relu"}, "inbound_nodes": [[["in", 0, 0, {}]]]},
 {"class_name": "Dense", "name": "right", "config": {"name": "right", "units": 4, "activation": "tanh"}, "inbound_nodes": [[["in", 0, 0, {}]]]},
 {"class_name": "Add", "name": "join", "config": {"name": "join"}, "inbound_nodes": [[["left", 0, 0, {}], ["right", 0, 0, {}]]]},
 {"class_name": "Dense", "name": "out", "config": {"name": "out", "units": 1}, "inbound_nodes": [[["join", 0, 0, {}]]]}],
 "input_layers": [["in", 0, 0]], "output_layers": [["out", 0, 0]]},
 "compile_config": {"optimizer": "adam", "loss": "mse", "metrics": ["mae"]}}' >"$tmp/branchy.json"
have_dot=1
command -v dot >/dev/null || have_dot=0
[ $have_dot = 1 ] || echo "test_viz13: no Graphviz 'dot' on PATH: the DOT renders are skipped (scripts/setup.sh installs graphviz)"
for model in "$src/specs/fashion_mnist_mlp.json:flatten dense dropout dense_1" \
  "$src/specs/fashion_mnist_cnn.json:conv2d max_pooling2d flatten dense" \
  "$tmp/branchy.json:in left right join out"; do
  spec=${model%%:*} layers=${model#*:} name=$(basename "${model%%:*}" .json)
  # one compile: the summary (kernel and node counts), the DOT and the IR it names
  mkdir -p "$tmp/$name"
  if "$nnc" compile "$spec" --summary --dump-graph=dot --dump-ir=post --dump-dir "$tmp/$name" \
    >"$tmp/$name.sum" 2>"$tmp/err" &&
    $check dot "$tmp/$name/graphs.dot" "$tmp/$name/module.post.ll" "$tmp/$name.sum" >"$tmp/out"; then
    ok
  else
    bad "$name dot: $(cat "$tmp/err" "$tmp/out")"
  fi
  if [ $have_dot = 1 ]; then
    if dot -Tsvg "$tmp/$name/graphs.dot" -o "$tmp/$name/graphs.svg" 2>"$tmp/err" && [ ! -s "$tmp/err" ]; then
      ok
    else
      bad "$name: dot -Tsvg: $(cat "$tmp/err")"
    fi
  fi
  # the page to stdout (as the other dumps); not for the CNN, whose compile is the slowest
  [ "$name" = fashion_mnist_cnn ] && continue
  if "$nnc" compile "$spec" --dump-graph=html >"$tmp/$name.html" 2>"$tmp/err" &&
    $check html "$tmp/$name.html" "$tmp/$name/module.post.ll" "$tmp/$name/graphs.dot" $layers >"$tmp/out"; then
    ok
  else
    bad "$name html: $(cat "$tmp/err" "$tmp/out")"
  fi
done
# a layer and model named with quotes, backslashes and markup: DOT still renders, the page
# holds its one script only
python3 -c '
import json, sys
m = {"class_name": "Sequential", "config": {"name": "m<i>", "layers": [
    {"class_name": "InputLayer", "config": {"batch_shape": [None, 3], "name": "in"}},
    {"class_name": "Dense", "config": {"name": "d\"q\\b<script>x()<&>", "units": 2}}]},
    "compile_config": {"optimizer": "sgd", "loss": "mse"}}
json.dump(m, open(sys.argv[1], "w"))' "$tmp/names_spec.json"
"$nnc" compile "$tmp/names_spec.json" --dump-graph=dot >"$tmp/names.dot" 2>"$tmp/err" || bad "names dot: $(cat "$tmp/err")"
if [ $have_dot = 1 ]; then
  dot -Tsvg "$tmp/names.dot" -o "$tmp/names_dot.svg" 2>"$tmp/err" && [ ! -s "$tmp/err" ] && ok || bad "names: dot: $(cat "$tmp/err")"
fi
"$nnc" compile "$tmp/names_spec.json" --dump-graph=html >"$tmp/names.html" 2>"$tmp/err" &&
  [ "$(grep -c '<script' "$tmp/names.html")" -eq 1 ] && grep -qF '<summary><b>d&quot;q\b&lt;script&gt;x()&lt;&amp;&gt;</b>' "$tmp/names.html" &&
  ok || bad "names html: $(cat "$tmp/err")"
expect 2 "expected text, dot or html, got 'svg'" "$nnc" compile "$tmp/branchy.json" --dump-graph=svg

# ---- one render each in headless Chromium ----
browser=$(command -v chromium || command -v chromium-browser || true)
if [ -z "$browser" ]; then
  echo "test_viz13: no chromium on PATH: the headless renders are skipped (scripts/setup.sh installs chromium)"
else
  profile=$(mktemp -d "$tmp/profile.XXXXXX")
  sandbox=()
  [ "$(id -u)" = 0 ] && sandbox=(--no-sandbox)
  run_browser() { # run_browser ARGS...: headless, offline, quiet
    timeout 60 "$browser" --headless "${sandbox[@]}" --disable-gpu --disable-quic --no-first-run \
      --disable-background-networking --disable-component-update --disable-sync --hide-scrollbars \
      --user-data-dir="$profile" "$@" 2>/dev/null
  }
  # shot NAME URL W H: a screenshot with at least MIN non-background pixels
  shot() {
    rm -f "$tmp/$1.png"
    run_browser --window-size="$3,$4" --screenshot="$tmp/$1.png" "$2" >/dev/null
    local ink
    ink=$($check ink "$tmp/$1.png" 2>&1)
    if [ -f "$tmp/$1.png" ] && [ "$ink" -gt "$5" ] 2>/dev/null; then ok; else bad "$1 screenshot: $ink non-background pixels"; fi
  }
  shot plot "file://$tmp/keras.svg" 700 450 5000
  # nnc plot -o .png goes through the same browser (no rsvg-convert here, or through it)
  if "$nnc" plot "$tmp/keras.json" -o "$tmp/plot.png" 2>"$tmp/err" && [ "$($check ink "$tmp/plot.png")" -gt 5000 ]; then
    ok
  else
    bad "plot -o .png: $(cat "$tmp/err")"
  fi
  # session 39: stopped while the browser runs, plot removes its folder (the
  # browser's profile and temporary files in it) and dies of the signal
  ptmp=$tmp/plot_tmp
  mkdir -p "$ptmp"
  TMPDIR=$ptmp "$nnc" plot "$tmp/keras.json" -o "$tmp/killed.png" 2>/dev/null &
  pid=$!
  for _ in $(seq 200); do [ -n "$(ls -A "$ptmp")" ] && break; sleep 0.01; done
  sleep 0.2
  kill -TERM "$pid"
  wait "$pid"
  rc=$?
  if [ "$rc" = 143 ] && [ -z "$(ls -A "$ptmp")" ] && [ ! -e "$tmp/killed.png" ]; then ok; else
    bad "plot -o .png stopped by SIGTERM: exit $rc, left: $(ls -A "$ptmp")"
  fi
  [ $have_dot = 1 ] && shot dot "file://$tmp/branchy/graphs.svg" 700 450 5000
  shot page "file://$tmp/fashion_mnist_mlp.html" 700 450 5000
  # the page's script ran to its end without an error, and opened the kernel a link names
  kernel=$(grep -o 'href="#f-train_g[0-9]*_[a-z_]*"' "$tmp/fashion_mnist_mlp.html" | head -1 | sed 's/href="#//; s/"$//')
  run_browser --dump-dom "file://$tmp/fashion_mnist_mlp.html#$kernel" >"$tmp/dom.html"
  if $check dom "$tmp/dom.html" >"$tmp/out"; then ok; else bad "page script: $(cat "$tmp/out")"; fi
  grep -q "<details class=\"item fn\" id=\"$kernel\" open" "$tmp/dom.html" && ok || bad "the link to #$kernel did not open it"
fi

echo "test_viz13: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
