#!/usr/bin/env bash
# What nnc does with the files it is given: outputs that are devices or
# FIFOs are written through and symlinks followed (never replaced); paths
# that name an open descriptor (/dev/stdout, >(cmd)) are written through it;
# 250-byte names work; regular files are fsynced with their folder; a write
# past `ulimit -f` fails cleanly; SIGTERM during a write removes its
# temporary file; endless inputs (/dev/zero) are refused at once; arrays may
# come through a pipe.
# usage: test_files.sh NNC SOURCE_DIR ORACLE_DIR
set -u
nnc=$1 src=$2 oracle=$3
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

spec=$src/tests/cli/logreg.json
x=$oracle/cases/seed000_logreg/x.npy y=$oracle/cases/seed000_logreg/y.npy
fit() { "$nnc" fit "$spec" --x "$x" --y "$y" --epochs 2 --batch-size 100 --no-shuffle --verbose 0 "$@"; }
temps() { find "$tmp" -name '*.tmp.*' | wc -l; }

# Reference outputs, written to plain files.
fit --weights-out "$tmp/ref.safetensors" --history "$tmp/ref.json" || bad "reference fit failed"

# --- outputs that are not regular files ---

# A character device stays one. As root the test makes its own node with the
# null device's numbers, so that a regression could never replace the
# machine's /dev/null; without root, /dev/null itself cannot be replaced.
dev=/dev/null
if mknod "$tmp/null" c 1 3 2>/dev/null; then dev=$tmp/null
elif [ "$(id -u)" -eq 0 ]; then dev=; echo "NOTICE: mknod failed; skipping the device case"; fi
if [ -n "$dev" ]; then
  fit --weights-out "$dev" --history "$dev" 2>"$tmp/err"
  rc=$?
  if [ $rc -eq 0 ] && [ "$(stat -c %F "$dev")" = "character special file" ]; then ok
  else bad "--weights-out $dev: exit $rc, now a $(stat -c %F "$dev"): $(cat "$tmp/err")"; fi
fi

# A FIFO is written through: the reader gets exactly what a file would hold.
mkfifo "$tmp/fifo"
cat "$tmp/fifo" >"$tmp/from_fifo.json" &
reader=$!
fit --history "$tmp/fifo" 2>"$tmp/err"
rc=$?
# The reader ends when nnc closes the FIFO; if nnc replaced it, it never would.
for _ in $(seq 100); do kill -0 $reader 2>/dev/null || break; sleep 0.05; done
kill $reader 2>/dev/null
wait $reader 2>/dev/null
if [ $rc -eq 0 ] && [ -p "$tmp/fifo" ] && cmp -s "$tmp/from_fifo.json" "$tmp/ref.json"; then ok
else bad "--history FIFO: exit $rc, FIFO kept: $([ -p "$tmp/fifo" ] && echo yes || echo no)"; fi

# A symlinked --history stays a symlink (through a chain); a dangling
# --weights-out link gets its target created; both hold the new content.
mkdir "$tmp/real"
echo old >"$tmp/real/h.json"
ln -s real/h.json "$tmp/h_link2.json"
ln -s h_link2.json "$tmp/h_link.json"
ln -s "$tmp/real/w.safetensors" "$tmp/w_link.safetensors"
fit --history "$tmp/h_link.json" --weights-out "$tmp/w_link.safetensors" 2>"$tmp/err"
rc=$?
if [ $rc -eq 0 ] && [ -L "$tmp/h_link.json" ] && [ -L "$tmp/h_link2.json" ] && [ -L "$tmp/w_link.safetensors" ] &&
  cmp -s "$tmp/real/h.json" "$tmp/ref.json" && cmp -s "$tmp/real/w.safetensors" "$tmp/ref.safetensors"; then ok
else bad "symlinked outputs: exit $rc: $(cat "$tmp/err"); $(ls -l "$tmp" | tr '\n' ' ')"; fi

# A directory as output: exit 1 (a write failure, not invalid input), left alone.
mkdir "$tmp/adir"
fit --weights-out "$tmp/adir" 2>"$tmp/err"
rc=$?
if [ $rc -eq 1 ] && [ -d "$tmp/adir" ] && grep -q "adir: cannot write" "$tmp/err"; then ok
else bad "--weights-out DIR: exit $rc: $(cat "$tmp/err")"; fi

# Past `ulimit -f` the write fails with EFBIG: exit 1, old file intact, no
# temporary file (before: SIGXFSZ killed nnc mid-write). stderr goes to a
# pipe, which the limit does not apply to.
echo old >"$tmp/keep.json"
err=$( (ulimit -f 0 && exec "$nnc" fit "$spec" --x "$x" --y "$y" --epochs 2 --verbose 0 \
  --history "$tmp/keep.json") 2>&1 >/dev/null)
rc=$?
if [ $rc -eq 1 ] && [ "$(cat "$tmp/keep.json")" = old ] && [ "$(temps)" -eq 0 ] &&
  echo "$err" | grep -q "keep.json: cannot write: File too large"; then ok
else bad "ulimit -f: exit $rc, $(temps) temporary files: $err"; fi

# SIGTERM at an exact moment inside a write: strace holds every fsync for a
# second, so the temporary file exists when the signal arrives. The handler
# removes it and nnc dies of the signal (exit 143); the old file stays.
if command -v strace >/dev/null && strace -f -qq -o /dev/null true 2>/dev/null; then
  echo old >"$tmp/held.json"
  strace -f -qq -o /dev/null -e trace=fsync -e inject=fsync:delay_enter=1000000 \
    "$nnc" fit "$spec" --x "$x" --y "$y" --epochs 2 --verbose 0 --history "$tmp/held.json" &
  tracer=$!
  for _ in $(seq 400); do [ "$(temps)" -gt 0 ] && break; sleep 0.05; done
  seen=$(temps)
  kill -TERM "$(pgrep -P $tracer)" 2>/dev/null
  wait $tracer
  rc=$?
  if [ "$seen" -eq 1 ] && [ $rc -eq 143 ] && [ "$(temps)" -eq 0 ] && [ "$(cat "$tmp/held.json")" = old ]; then ok
  else bad "SIGTERM during a write: temporary seen: $seen, exit $rc, $(temps) left"; fi

  # Durability: the temporary file and then its folder are fsynced.
  strace -f -qq -y -o "$tmp/fsync.log" -e trace=fsync,fdatasync \
    "$nnc" fit "$spec" --x "$x" --y "$y" --epochs 2 --verbose 0 --history "$tmp/synced.json"
  if grep -q "fsync([0-9]*<$tmp/synced.json.tmp.[0-9]*.[0-9]*>) *= 0" "$tmp/fsync.log" &&
    grep -q "fsync([0-9]*<$tmp>) *= 0" "$tmp/fsync.log"; then ok
  else bad "fsync of the file and its folder: $(cat "$tmp/fsync.log")"; fi
else
  echo "NOTICE: strace is not usable here; skipping the SIGTERM-during-a-write case"
fi

# --- outputs that name an open descriptor ---

# `--history /dev/stdout >> app.log`: the history is appended through the
# shell's descriptor after the progress lines; earlier content stays (the link
# chain used to be resolved to app.log and a new file renamed over it).
echo earlier >"$tmp/app.log"
"$nnc" fit "$spec" --x "$x" --y "$y" --epochs 2 --batch-size 100 --no-shuffle --verbose 2 \
  --history /dev/stdout >>"$tmp/app.log" 2>"$tmp/err"
rc=$?
if [ $rc -eq 0 ] && [ "$(head -n 1 "$tmp/app.log")" = earlier ] && grep -q "^Epoch 2/2" "$tmp/app.log" &&
  [ "$(tail -n 1 "$tmp/app.log")" = "$(cat "$tmp/ref.json")" ] && [ "$(wc -l <"$tmp/app.log")" -eq 6 ]; then ok
else bad "--history /dev/stdout >> app.log: exit $rc: $(cat "$tmp/err"); app.log: $(cat "$tmp/app.log")"; fi

# Process substitution: /dev/fd/63 points to "pipe:[N]", not a path.
fit --history >(cat >"$tmp/subst.json") 2>"$tmp/err"
rc=$?
wait $! 2>/dev/null
if [ $rc -eq 0 ] && cmp -s "$tmp/subst.json" "$tmp/ref.json"; then ok
else bad "--history >(cat): exit $rc: $(cat "$tmp/err")"; fi

# A pipe on stdout.
fit --history /dev/stdout 2>"$tmp/err" | cat >"$tmp/piped_out.json"
rc=${PIPESTATUS[0]}
if [ $rc -eq 0 ] && cmp -s "$tmp/piped_out.json" "$tmp/ref.json"; then ok
else bad "--history /dev/stdout | cat: exit $rc: $(cat "$tmp/err")"; fi

# --- long names ---

# A valid 250-byte name: its temporary name used to pass NAME_MAX, so the
# write failed with "File name too long" after training.
long=$tmp/$(printf 'h%.0s' {1..250})
fit --history "$long" 2>"$tmp/err"
rc=$?
if [ $rc -eq 0 ] && cmp -s "$long" "$tmp/ref.json" && [ "$(temps)" -eq 0 ]; then ok
else bad "250-byte --history name: exit $rc: $(cat "$tmp/err")"; fi

# --- inputs ---

# run_bounded LIMIT_MB SECONDS CMD...: run CMD, killing it if its resident
# memory passes LIMIT_MB or it runs longer than SECONDS; sets rc (137 if killed).
run_bounded() {
  local limit_kb=$(($1 * 1024)) ticks=$(($2 * 50)) pid rss
  shift 2
  "$@" >"$tmp/out" 2>"$tmp/err" &
  pid=$!
  while kill -0 $pid 2>/dev/null; do
    rss=$(awk '/^VmRSS/ {print $2}' /proc/$pid/status 2>/dev/null)
    if [ "${rss:-0}" -gt $limit_kb ] || [ $ticks -le 0 ]; then kill -KILL $pid; break; fi
    ticks=$((ticks - 1))
    sleep 0.02
  done
  wait $pid 2>/dev/null
  rc=$?
}
# Endless inputs are refused at once (exit 2, "not a regular file"), where
# they used to grow memory at 300 MB/s until malloc failed.
for args in "compile /dev/zero" "fit $spec --x /dev/zero --y $y" "fit $spec --x $x --y /dev/zero" \
  "evaluate $spec --weights /dev/zero --x $x --y $y" "fit $spec --x $x --y $y --weights-in /dev/zero" \
  "fit $spec --x $x --y $y --compile-config /dev/zero"; do
  # shellcheck disable=SC2086
  run_bounded 400 20 "$nnc" $args
  if [ $rc -eq 2 ] && grep -q "/dev/zero: not a regular file" "$tmp/err" && [ "$(wc -l <"$tmp/err")" -eq 1 ]; then ok
  else bad "nnc $args: exit $rc: $(head -c 300 "$tmp/err")"; fi
done

# A spec over the 256 MiB limit (a sparse file) is refused without being read.
truncate -s $((256 * 1024 * 1024 + 1)) "$tmp/huge.json"
run_bounded 400 20 "$nnc" compile "$tmp/huge.json"
if [ $rc -eq 2 ] && grep -q "huge.json: larger than the 256 MiB limit" "$tmp/err"; then ok
else bad "huge spec: exit $rc: $(cat "$tmp/err")"; fi

# Arrays and specs through pipes (process substitution) give the same result.
"$nnc" fit "$spec" --x <(cat "$x") --y <(cat "$y") --epochs 2 --batch-size 100 --no-shuffle --verbose 0 \
  --history "$tmp/piped.json" 2>"$tmp/err"
rc=$?
if [ $rc -eq 0 ] && cmp -s "$tmp/piped.json" "$tmp/ref.json"; then ok
else bad "arrays through pipes: exit $rc: $(cat "$tmp/err")"; fi
"$nnc" compile <(cat "$spec") >/dev/null 2>"$tmp/err" && ok || bad "spec through a pipe: $(cat "$tmp/err")"

echo "files: $pass passed, $fail failed"
[ $fail -eq 0 ]
