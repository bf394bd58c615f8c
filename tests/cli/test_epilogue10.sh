#!/usr/bin/env bash
# A matmul whose output is one column strip wide (Dense(1), a 10-class head)
# splits by rows and keeps the flat epilogue loop, which LLVM vectorizes; a
# wider one splits column strips and runs its epilogue over rows x strip
# columns (block "erow"). Session 10's merge once gave every matmul the
# second form, and a Dense(1) + sigmoid cross-entropy epilogue then ran one
# element at a time (W1's step 7.5k -> 20k instructions): this checks which
# loop each matmul gets, at vector widths 16 and 8 (strips of 32 and 16).
# Session 12: a one-strip output of whole vectors (Dense(32) at width 16,
# Dense(16) at 8) takes the rows x columns loop too, its bias indexed by the
# column (a vector load) instead of gathered at j % N (test_w5_12).
# usage: test_epilogue10.sh NNC SOURCE_DIR ORACLE_DIR
set -u
nnc=$1
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

# erow_blocks WIDTH UNITS: the strip-epilogue blocks in the train graph's IR
erow_blocks() {
  spec_dense_head "$tmp/m$2.json" "$2"
  NNC_VECTOR_WIDTH=$1 "$nnc" compile "$tmp/m$2.json" --no-cache --dump-ir=pre 2>/dev/null |
    grep -c '^erow' || true
}
for case in "16 1 0" "16 10 0" "16 32 1" "16 64 1" "8 10 0" "8 16 1" "8 40 1"; do
  set -- $case
  got=$(erow_blocks "$1" "$2")
  if [ "$3" = 0 ] && [ "$got" = 0 ]; then ok
  elif [ "$3" = 1 ] && [ "$got" -gt 0 ]; then ok
  else bad "width $1, Dense($2): $got strip-epilogue blocks (expected $([ "$3" = 0 ] && echo none || echo some))"
  fi
done
echo "test_epilogue10: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
