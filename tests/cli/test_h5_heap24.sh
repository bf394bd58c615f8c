#!/usr/bin/env bash
# A Keras 2 .h5 with one field of its global heap damaged (session 24's
# breaker): libhdf5 1.10 crashed on an object larger than its heap and
# allocated the length a variable-length descriptor claims (gigabytes from a
# 18 KB file), and crashed on a descriptor naming an object its heap lacks. nnc now refuses both before libhdf5 reads the file
# (runtime/io/h5_heap_check.c), quickly and within 1 GiB of address space;
# the intact file still predicts as Keras did.
# Args: nnc binary, source dir, oracle dir (unused).
set -u
nnc=$1 src=$2
. "$src/tests/cli/lib.sh"
dir=$src/../shared/models/saved/h5k2-tictactoe-full
if [ ! -f "$dir/UltTic.h5" ]; then
  echo "NOTICE: ../shared/models/saved is absent: skipping"
  exit 0
fi
cp "$dir/UltTic.h5" "$tmp/ok.h5"

# damage FIELD VALUE OUT: model_config's heap object size (the 8 bytes before
# its text), or the length in its descriptor (4 bytes before the heap's
# address and after them the object's index)
damage() {
  python3 - "$tmp/ok.h5" "$3" "$1" "$2" <<'PY'
import struct, sys
b = bytearray(open(sys.argv[1], "rb").read())
i = b.find(b'{"class_name"')
if sys.argv[3] == "size":
    b[i - 8:i] = struct.pack("<Q", int(sys.argv[4], 0))
else:
    size = struct.unpack("<Q", b[i - 8:i])[0]
    idx = struct.unpack("<H", b[i - 16:i - 14])[0]
    heap = b.rfind(b"GCOL", 0, i)
    j = bytes(b).find(struct.pack("<I", size) + struct.pack("<Q", heap) + struct.pack("<I", idx))
    if sys.argv[3] == "length":
        b[j:j + 4] = struct.pack("<I", int(sys.argv[4], 0))
    else:  # the object's index
        b[j + 12:j + 16] = struct.pack("<I", int(sys.argv[4], 0))
open(sys.argv[2], "wb").write(b)
PY
}

# refused FILE WHAT: exit 2 within 10 s under a 1 GiB address limit, the
# message naming FILE and WHAT
refused() {
  local out rc
  out=$( (ulimit -v 1048576 2>/dev/null; timeout 10 "$nnc" predict "$1" --x "$dir/input.npy" \
    --out "$tmp/p.npy") 2>&1)
  rc=$?
  case $out in *ReserveShadowMemoryRange*) # a sanitized nnc needs more address space
    out=$(timeout 10 "$nnc" predict "$1" --x "$dir/input.npy" --out "$tmp/p.npy" 2>&1)
    rc=$?
    ;;
  esac
  if [ $rc = 2 ] && [[ $out == *"$1"* && $out == *"$2"* ]]; then ok; else
    bad "$1: exit $rc (want 2, naming '$2'): $out"
  fi
}

if "$nnc" predict "$tmp/ok.h5" --x "$dir/input.npy" --out "$tmp/p.npy" 2>"$tmp/err" &&
  python3 - "$tmp/p.npy" "$dir/expected_predict.npy" <<'PY'; then ok; else bad "intact file: $(cat "$tmp/err")"; fi
import struct, sys
def load(p):
    b = open(p, "rb").read()
    n = struct.unpack("<H", b[8:10])[0]
    return struct.unpack("<%df" % ((len(b) - 10 - n) // 4), b[10 + n:])
a, e = load(sys.argv[1]), load(sys.argv[2])
sys.exit(0 if len(a) == len(e) and all(abs(x - y) <= 1e-5 + 1e-4 * abs(y) for x, y in zip(a, e)) else 1)
PY

damage size 0x100000 "$tmp/big_object.h5"
refused "$tmp/big_object.h5" "of the global heap at byte 2144 claims 1048576 bytes, past the end of its heap"
damage size 0x0000800000000000 "$tmp/huge_object.h5"
refused "$tmp/huge_object.h5" "claims 140737488355328 bytes"
damage length 0x40000000 "$tmp/long_string.h5"
refused "$tmp/long_string.h5" "claims 1073741824 elements, its heap object holds 1123 bytes"

damage index 100000 "$tmp/no_object.h5"
refused "$tmp/no_object.h5" "attribute 'model_config'"

echo "h5_heap24: $pass passed, $fail failed"
[ "$fail" = 0 ]
