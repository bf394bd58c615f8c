#!/usr/bin/env bash
# The nnc command's hot text (CMakeLists.txt, NNC_HOT_TEXT; docs/performance.md,
# "Session 34"): the functions compiler/cli/hot_text.txt lists are linked
# first in .text, packed, so that a cold compile faults in the code it runs
# and little else. Checked on the built binary's symbol table:
# - the list is current: at least 90 % of its names are functions the binary
#   defines (a change of LLVM or of nnc's own code makes it stale: run
#   scripts/hot_text.sh);
# - the listed functions start .text and lie packed: the span from the first
#   to the end of the last is at most 1.25 times their total size (a default
#   link spreads them over the whole 31 MB: ~2.8 times);
# - at most 1 % of LLVM's functions the list does not name lie inside that span.
# Exits 77 (ctest: skipped) when the binary loads LLVM as a shared library
# or was configured without the order (-DNNC_HOT_TEXT=OFF, or no lld:
# NNC_HOT_TEXT_LINKED=0 from tests/CMakeLists.txt): nothing to check then.
# usage: test_hot_text34.sh NNC SOURCE_DIR ORACLE_DIR
set -u
nnc=$1
src=$2
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

if [ "${NNC_HOT_TEXT_LINKED:-1}" = 0 ]; then
  echo "test_hot_text34: nnc was linked without the order (-DNNC_HOT_TEXT=OFF or no lld): skipped"
  exit 77
fi
if ldd "$nnc" 2>/dev/null | grep -q 'libLLVM'; then
  echo "test_hot_text34: $nnc loads LLVM as a shared library: no order to check (skipped)"
  exit 77
fi
nm -S --defined-only "$nnc" >"$tmp/nm" || {
  echo "FAIL: nm $nnc"
  exit 1
}
readelf -S -W "$nnc" >"$tmp/sections"
python3 - "$src/compiler/cli/hot_text.txt" "$tmp/nm" "$tmp/sections" >"$tmp/report" <<'PY'
import sys
listed = [l.strip() for l in open(sys.argv[1]) if l.strip() and not l.startswith("#")]
funcs = {}
for line in open(sys.argv[2]):
    f = line.split()
    if len(f) == 4 and f[2] in "tTwW":
        addr, size = int(f[0], 16), int(f[1], 16)
        if size and f[3] not in funcs:
            funcs[f[3]] = (addr, size)
text = next(l.split() for l in open(sys.argv[3]) if " .text " in l)
text_start = int(text[text.index(".text") + 2], 16)
names = set(listed)
found = [funcs[n] for n in listed if n in funcs]
print(f"found {len(found)} {len(listed)}")
if not found:
    sys.exit(0)  # no layout to read: the count above fails the test
lo = min(a for a, _ in found)
hi = max(a + s for a, s in found)
total = sum(s for _, s in found)
print(f"packing {hi - lo} {total} {lo - text_start}")
# an unlisted alias of a listed function (a C1 constructor beside its C2) is that function
at = {a for a, _ in found}
inside = [n for n, (a, s) in funcs.items() if n.startswith("_ZN4llvm") and n not in names and a not in at]
print(f"strays {sum(1 for n in inside if lo <= funcs[n][0] < hi)} {len(inside)}")
PY
[ -s "$tmp/report" ] || {
  echo "FAIL: reading the symbol table"
  exit 1
}
read -r _ found listed < <(grep '^found' "$tmp/report")
# a list of LLVM's code generation has thousands of names; a few hundred are
# nnc's own functions alone (a list written from a build with LLVM shared)
if [ "$listed" -lt 5000 ] || [ "$found" -eq 0 ]; then
  echo "FAIL: hot_text.txt names $listed functions, $found of them in the binary: not a list" \
    "of a cold compile's functions (scripts/hot_text.sh writes it from the release build)"
  exit 1
fi
read -r _ span total offset < <(grep '^packing' "$tmp/report")
read -r _ strays unlisted < <(grep '^strays' "$tmp/report")
echo "test_hot_text34: $found of $listed listed functions defined; span $span B for $total B," \
  "$offset B after .text's start; $strays of $unlisted unlisted LLVM functions inside"

[ $((found * 10)) -ge $((listed * 9)) ] && ok ||
  bad "only $found of the $listed names in hot_text.txt are in the binary: run scripts/hot_text.sh"
[ $((span * 4)) -le $((total * 5)) ] && ok ||
  bad "the listed functions span $span bytes for $total of code: not linked in hot_text.txt's order (is lld installed?)"
[ "$offset" -le 65536 ] && ok || bad "the listed functions start $offset bytes into .text, not at its start"
[ $((strays * 100)) -le "$unlisted" ] && ok ||
  bad "$strays of $unlisted LLVM functions hot_text.txt does not list lie among the listed ones"

echo "test_hot_text34: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
