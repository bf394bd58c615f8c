#!/bin/bash
# The progress bar on a terminal and elsewhere (runtime/progbar.c, docs/cli.md):
#  - stdout a file: verbose 1 writes one finished line per epoch, with no
#    carriage-return redraw and no escape sequence;
#  - stdout a terminal (a pseudo-terminal from script(1)): the bar is redrawn
#    (a carriage return not followed by a newline) in Keras's colors (SGR
#    escapes), unless NO_COLOR is set and not empty: then the same redraws,
#    no escape at all; NO_COLOR= (empty) keeps the colors (https://no-color.org).
# The pty turns "\n" into "\r\n", so a redraw is a "\r" before anything but "\n".
# Args: nnc binary, source dir, oracle dir (unused).
set -u
nnc=$1 src=$2
. "$src/tests/cli/lib.sh"

spec_dense_head "$tmp/spec.json" 1 binary_crossentropy
python3 - "$tmp" <<'PY'
import struct, sys
def npy(path, rows, cols, values):
    header = "{'descr': '<f4', 'fortran_order': False, 'shape': (%d, %d), }" % (rows, cols)
    header += " " * (63 - (len(header) + 10) % 64) + "\n"
    with open(path, "wb") as f:
        f.write(b"\x93NUMPY\x01\x00" + struct.pack("<H", len(header)) + header.encode())
        f.write(struct.pack("<%df" % len(values), *values))
n = 96
npy(sys.argv[1] + "/x.npy", n, 8, [((i * 7 + j * 3) % 11) / 11.0 for i in range(n) for j in range(8)])
npy(sys.argv[1] + "/y.npy", n, 1, [float(i % 2) for i in range(n)])
PY
fit=("$nnc" fit "$tmp/spec.json" --x "$tmp/x.npy" --y "$tmp/y.npy" --epochs 3 --batch-size 32
)

# count FILE WHAT: occurrences of ESC, of a redraw ("\r" not before "\n"), of finished lines
count() {
  python3 - "$1" "$2" <<'PY'
import re, sys
b = open(sys.argv[1], "rb").read()
what = sys.argv[2]
if what == "esc": print(b.count(b"\x1b"))
elif what == "redraw": print(len(re.findall(rb"\r(?!\n)", b)))
elif what == "lines": print(len(re.findall(rb"3/3(?:\x1b\[0m)? [^\r\n]*loss: [0-9.]+", b)))
PY
}

# not a terminal
for no_color in unset 1; do
  if [ $no_color = unset ]; then env -u NO_COLOR "${fit[@]}" >"$tmp/file.out" 2>&1; else
    NO_COLOR=1 "${fit[@]}" >"$tmp/file.out" 2>&1; fi || bad "fit to a file failed: $(cat "$tmp/file.out")"
  [ "$(count "$tmp/file.out" esc)" = 0 ] && ok || bad "escapes in a file (NO_COLOR $no_color)"
  [ "$(count "$tmp/file.out" redraw)" = 0 ] && ok || bad "redraws in a file (NO_COLOR $no_color)"
  [ "$(count "$tmp/file.out" lines)" = 3 ] && ok ||
    bad "a file gets $(count "$tmp/file.out" lines) epoch lines, not 3: $(cat "$tmp/file.out")"
  [ "$(grep -c '^Epoch [123]/3$' "$tmp/file.out")" = 3 ] && ok || bad "Epoch lines: $(cat "$tmp/file.out")"
done

# a terminal: script(1) gives the command a pty and copies what it writes
on_tty() { # on_tty OUT NO_COLOR-setting ("unset" or a value)
  local cmd
  printf -v cmd '%q ' "${fit[@]}"
  if [ "$2" = unset ]; then
    env -u NO_COLOR script -qefc "$cmd" /dev/null >"$1" 2>&1 </dev/null
  else
    NO_COLOR=$2 script -qefc "$cmd" /dev/null >"$1" 2>&1 </dev/null
  fi || bad "fit on a pty failed: $(cat "$1")"
}
for setting in unset "" 1 0; do
  on_tty "$tmp/tty.out" "$setting"
  redraws=$(count "$tmp/tty.out" redraw) esc=$(count "$tmp/tty.out" esc)
  [ "$redraws" -ge 3 ] && ok || bad "NO_COLOR '$setting': $redraws redraws on a terminal, not >= 3"
  [ "$(count "$tmp/tty.out" lines)" = 3 ] && ok || bad "NO_COLOR '$setting': epoch lines"
  if [ "$setting" = unset ] || [ -z "$setting" ]; then
    grep -q $'\x1b\\[32m' "$tmp/tty.out" && grep -q $'\x1b\\[1m' "$tmp/tty.out" && ok ||
      bad "NO_COLOR '$setting': no colors on a terminal"
  else
    [ "$esc" = 0 ] && ok || bad "NO_COLOR '$setting': $esc escapes on a terminal"
  fi
done

echo "tty12: $pass passed, $fail failed"
[ "$fail" = 0 ]
