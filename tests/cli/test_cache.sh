#!/usr/bin/env bash
# The object cache from the command line: `nnc compile` twice is a miss then
# a hit (--time-passes counts them), --no-cache and NNC_CACHE=0 neither read
# nor write it, a fit with a cold cache, a warm one and none writes the same
# bytes, and a cache directory that cannot be made does not fail the compile.
# usage: test_cache.sh NNC SOURCE_DIR ORACLE_DIR
set -u
nnc=$1 oracle=$3
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
export XDG_CACHE_HOME=$tmp/cache
unset NNC_CACHE

case=$oracle/cases/seed004_mlp # x (250, 1001), y (250, 1)
printf '{"class_name": "Sequential", "config": {"name": "m", "layers": [
  {"class_name": "InputLayer", "config": {"batch_input_shape": [null, 1001], "name": "in"}},
  {"class_name": "Dense", "config": {"name": "d1", "units": 24, "activation": "relu"}},
  {"class_name": "Dense", "config": {"name": "out", "units": 1}}]},
  "compile_config": {"optimizer": "adam", "loss": "mse", "metrics": ["mae"]}}' >"$tmp/spec.json"

entries() { find "$XDG_CACHE_HOME/nnc" -type f 2>/dev/null | wc -l; }
# compiles TAG EXPECTED [ARGS...]: nnc compile --time-passes; its cache line
compiles() {
  local tag=$1 want=$2
  shift 2
  if ! "$nnc" compile "$tmp/spec.json" --time-passes "$@" >"$tmp/out" 2>"$tmp/err"; then
    bad "$tag: nnc compile failed: $(cat "$tmp/err")"
    return
  fi
  got=$(grep '^object cache:' "$tmp/err")
  if [ "$got" = "object cache: $want" ]; then ok; else bad "$tag: '$got', expected '$want'"; fi
}

compiles "--no-cache" "0 hit, 0 miss" --no-cache
[ "$(entries)" = 0 ] && ok || bad "--no-cache wrote $(entries) entries"
NNC_CACHE=0 compiles "NNC_CACHE=0" "0 hit, 0 miss"
[ "$(entries)" = 0 ] && ok || bad "NNC_CACHE=0 wrote $(entries) entries"
compiles "cold" "0 hit, 1 miss"
[ "$(entries)" = 1 ] && ok || bad "cold compile left $(entries) entries"
compiles "warm" "1 hit, 0 miss"
grep -q 'object cache' "$tmp/err" && grep -q 'JIT link' "$tmp/err" && ok ||
  bad "--time-passes has no 'object cache' or 'JIT link' line"
NNC_VECTOR_WIDTH=4 compiles "another vector width" "0 hit, 1 miss"

# fits: no cache, then a cold cache, then a warm one write the same bytes
rm -rf "$XDG_CACHE_HOME"
fit() { # fit TAG [ENV...]
  local tag=$1
  shift
  env "$@" "$nnc" fit "$tmp/spec.json" --x "$case/x.npy" --y "$case/y.npy" --epochs 2 \
    --batch-size 24 --validation-split 0.2 --seed 7 --verbose 0 \
    --weights-out "$tmp/w$tag.safetensors" --history "$tmp/h$tag.json" >"$tmp/fit$tag" 2>&1 ||
    bad "fit $tag: $(cat "$tmp/fit$tag")"
}
fit none NNC_CACHE=0
fit cold
fit warm
for tag in cold warm; do
  if cmp -s "$tmp/wnone.safetensors" "$tmp/w$tag.safetensors" && cmp -s "$tmp/hnone.json" "$tmp/h$tag.json"; then
    ok
  else
    bad "fit with a $tag cache differs from a fit without the cache"
  fi
done

# a cache home that is a file: no directory can be made; compiles all the same
: >"$tmp/file"
XDG_CACHE_HOME=$tmp/file compiles "unusable directory" "0 hit, 0 miss"

echo "test_cache.sh: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
