#!/usr/bin/env bash
# Session 10's attacks on the mapped .npy data path (issue 9), kept as
# regression tests: a file truncated by another process while nnc trains
# on its mapping is named in a one-line error (exit 1), not a bare SIGBUS
# (which killed nnc with "Bus error" before); a FIFO and a version 3 header
# still train as a regular file does.
# usage: test_brk10.sh NNC SOURCE_DIR ORACLE_DIR
set -u
nnc=$1 oracle=$3
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

seed004_setup "$oracle" '{"class_name": "Dense", "config": {"name": "out", "units": 1}}' \
  '{"optimizer": "sgd", "loss": "mse"}'
case=$oracle/cases/seed004_mlp

# fit_until_mapped: nnc trains for ever on $tmp/x.npy in the background ($pid)
# until x.npy is mapped (at most 60 s); wait_gone: until $pid ends (60 s)
fit_until_mapped() {
  "$nnc" fit "$tmp/spec.json" --x "$tmp/x.npy" --y "$tmp/y.npy" --epochs 1000000 --verbose 0 \
    >"$tmp/out" 2>&1 &
  pid=$!
  for _ in $(seq 600); do
    grep -q "$tmp/x.npy" "/proc/$pid/maps" 2>/dev/null && break
    sleep 0.1
  done
}
wait_gone() {
  for _ in $(seq 600); do
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.1
  done
}

# The file shrinks to one page once nnc has mapped it: the next read of a lost
# page faults. Training runs for ever otherwise (killed after 60 s: a failure).
fit_until_mapped
truncate -s 4096 "$tmp/x.npy"
wait_gone
kill -9 "$pid" 2>/dev/null
wait "$pid"
rc=$?
want="nnc: $tmp/x.npy: the file shrank while nnc was reading it"
if [ $rc -eq 1 ] && grep -qF "$want" "$tmp/out"; then
  ok
else
  bad "a mapped file truncated during fit: exit $rc: $(head -c 600 "$tmp/out")"
fi

# A SIGBUS sent by kill (no access to retry) still ends nnc as it did before:
# the handler passes it on (not the file message; no hang).
cp "$case/x.npy" "$tmp/x.npy"
fit_until_mapped
kill -BUS "$pid"
wait_gone
if kill -0 "$pid" 2>/dev/null; then
  kill -9 "$pid"
  bad "a SIGBUS sent by kill did not end nnc"
else
  wait "$pid" # bash may print "Bus error" for it: the expected end
  rc=$?
  if [ $rc -ne 0 ] && ! grep -q "shrank" "$tmp/out"; then ok; else bad "kill -BUS: exit $rc: $(head -c 300 "$tmp/out")"; fi
fi

# A FIFO is read, not mapped, and trains as the file does; a version 3.0
# header (4-byte length) is mapped and trains alike too.
cp "$case/x.npy" "$tmp/x.npy"
fit() { # fit TAG X
  "$nnc" fit "$tmp/spec.json" --x "$2" --y "$tmp/y.npy" --epochs 2 --batch-size 24 --seed 3 \
    --verbose 0 --weights-out "$tmp/w$1.safetensors" >"$tmp/out$1" 2>&1
}
fit file "$tmp/x.npy" || bad "regular file: $(cat "$tmp/outfile")"
mkfifo "$tmp/fifo"
cat "$tmp/x.npy" >"$tmp/fifo" &
fit fifo "$tmp/fifo" || bad "FIFO: $(cat "$tmp/outfifo")"
if [ -s "$tmp/wfile.safetensors" ] && cmp -s "$tmp/wfile.safetensors" "$tmp/wfifo.safetensors"; then
  ok
else
  bad "a FIFO trains differently from the file"
fi
# version 1.0: magic(6) 1 0 len(2) dict; version 3.0: magic(6) 3 0 len(4) dict, the
# dict 2 bytes shorter (one space less each side) so the data stays at a multiple of 64
python3 - "$tmp/x.npy" "$tmp/x3.npy" <<'PY'
import struct, sys
d = open(sys.argv[1], 'rb').read()
assert d[6] == 1
n = struct.unpack('<H', d[8:10])[0]
head = d[10:10 + n].rstrip(b' \n')
assert len(head) + 1 <= n - 2
head = head + b' ' * (n - 2 - len(head) - 1) + b'\n'
open(sys.argv[2], 'wb').write(d[:6] + b'\x03\x00' + struct.pack('<I', n - 2) + head + d[10 + n:])
PY
fit v3 "$tmp/x3.npy" || bad "version 3.0 header: $(cat "$tmp/outv3")"
if cmp -s "$tmp/wfile.safetensors" "$tmp/wv3.safetensors"; then ok; else bad "version 3.0 trains differently"; fi
if command -v strace >/dev/null; then
  size=$(stat -c %s "$tmp/x3.npy")
  strace -f -e trace=mmap -o "$tmp/trace" "$nnc" fit "$tmp/spec.json" --x "$tmp/x3.npy" \
    --y "$tmp/y.npy" --epochs 1 --verbose 0 >/dev/null 2>&1
  if grep -q "mmap(NULL, $size, PROT_READ, MAP_PRIVATE, " "$tmp/trace"; then ok; else bad "x3.npy was not mapped"; fi
fi

# A deflated .npz member whose zip entry claims 32 MiB (zeros: 32 KiB
# compressed; 256 MiB once, as costly to write as the rest of the test) behind a .npy header announcing 128 bytes of data is refused
# once its header has inflated, before the rest (it inflated all of it,
# then said "N unexpected bytes after the array data"); a member over 64 KiB
# whose header agrees still trains as the .npy does.
python3 - "$tmp/x.npy" "$tmp" <<'PY'
import struct, sys, zipfile
x = open(sys.argv[1], 'rb').read()
n = struct.unpack('<H', x[8:10])[0]
head = b"{'descr': '<f4', 'fortran_order': False, 'shape': (8, 4), }"
head = head + b' ' * (n - len(head) - 1) + b'\n'
with zipfile.ZipFile(sys.argv[2] + '/bomb.npz', 'w', zipfile.ZIP_DEFLATED) as f:
    with f.open('in.npy', 'w', force_zip64=True) as m:
        m.write(x[:8] + struct.pack('<H', n) + head)
        for _ in range(2):
            m.write(bytes(1 << 24))
with zipfile.ZipFile(sys.argv[2] + '/big.npz', 'w', zipfile.ZIP_DEFLATED) as f:
    f.writestr('in.npy', x)
PY
"$nnc" fit "$tmp/spec.json" --x "$tmp/bomb.npz" --y "$tmp/y.npy" --epochs 1 --verbose 0 >"$tmp/outbomb" 2>&1
rc=$?
want="bomb.npz (member 'in.npy'): the .npy header announces 256 bytes, the zip entry 33554560"
if [ $rc -eq 2 ] && grep -qF "$want" "$tmp/outbomb"; then ok; else bad "zip bomb: exit $rc: $(cat "$tmp/outbomb")"; fi
fit big "$tmp/big.npz" || bad "a deflated .npz over 64 KiB: $(cat "$tmp/outbig")"
if cmp -s "$tmp/wfile.safetensors" "$tmp/wbig.safetensors"; then ok; else bad "the .npz trains differently"; fi

echo "test_brk10.sh: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
