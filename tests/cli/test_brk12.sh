#!/bin/bash
# Hostile saved models (session 12's review of issue 10): each is refused with
# exit 2, naming the file and the member or shard, without reading outside the
# model's folder or blocking:
#  - a .keras archive with two members named config.json (Python's zipfile,
#    Keras's reader, takes the last, a C reader the first: refused);
#  - a .keras whose model.weights.h5 inflates past 100x its compressed size;
#  - a TF.js manifest whose shard path climbs out of the model's folder (../);
#  - a TF.js shard that is a FIFO (reading it would block forever).
# Args: nnc binary, source dir, oracle dir (unused).
set -u
nnc=$1 src=$2
. "$src/tests/cli/lib.sh"
snake=$src/../shared/models/saved/tfjs-layers-snake-dense1
chat=$src/../shared/models/saved/k3zip-chatbot-mlp/model.keras
if [ ! -d "$snake" ] || [ ! -f "$chat" ]; then
  echo "NOTICE: ../shared/models/saved is absent: skipping"
  exit 0
fi

# refused FILE WHAT...: exit 2, the message names FILE and each WHAT, within 10 s
refused() {
  local file=$1 out rc
  shift
  out=$(timeout 10 "$nnc" predict "$file" --x "$snake/input.npy" --out "$tmp/p.npy" 2>&1)
  rc=$?
  if [ $rc != 2 ]; then bad "$file: exit $rc (want 2): $out"; return; fi
  for w in "$file" "$@"; do
    case $out in *"$w"*) ;; *) bad "$file: message lacks '$w': $out"; return ;; esac
  done
  ok
}

python3 - "$chat" "$tmp" <<'PY'
import sys, zipfile, warnings
src, tmp = sys.argv[1], sys.argv[2]
members = {i.filename: zipfile.ZipFile(src).read(i.filename) for i in zipfile.ZipFile(src).infolist()}
warnings.simplefilter("ignore")  # zipfile warns about the duplicate name
with zipfile.ZipFile(tmp + "/dup.keras", "w") as z:
    for name, data in members.items():
        z.writestr(name, data)
    z.writestr("config.json", members["config.json"])
with zipfile.ZipFile(tmp + "/bomb.keras", "w", zipfile.ZIP_DEFLATED) as z:
    z.writestr("config.json", members["config.json"])
    z.writestr("metadata.json", members["metadata.json"])
    z.writestr("model.weights.h5", members["model.weights.h5"] + bytes(64 << 20))
PY
refused "$tmp/dup.keras" "config.json appears twice"
refused "$tmp/bomb.keras" "model.weights.h5" "over 100x"

mkdir -p "$tmp/up/m" "$tmp/fifo"
cp "$snake/weights.bin" "$tmp/up/secret.bin"
sed 's#"\./weights.bin"#"../secret.bin"#' "$snake/model.json" >"$tmp/up/m/model.json"
grep -q '"../secret.bin"' "$tmp/up/m/model.json" || bad "the test's manifest rewrite did not apply"
refused "$tmp/up/m/model.json" "../secret.bin" "inside its folder"
cp "$snake/model.json" "$tmp/fifo/model.json"
mkfifo "$tmp/fifo/weights.bin"
refused "$tmp/fifo/model.json" "not a regular file"

echo "brk12: $pass passed, $fail failed"
[ "$fail" = 0 ]
