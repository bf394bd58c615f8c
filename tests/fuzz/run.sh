#!/usr/bin/env bash
# Fuzz with libFuzzer under ASan+UBSan: the spec parser and compiler passes,
# then the data/weights readers.
#   bash tests/fuzz/run.sh [SECONDS]     (default 300 per target)
# Seeds: the oracle cases' specs and specs/*.json. Needs clang and libclang-rt-dev.
set -euo pipefail
cd "$(dirname "$0")/../.."
out=build-fuzz
mkdir -p "$out/corpus" "$out/work"
for c in ../shared/oracle/cases/*/case.json; do
  /usr/bin/python3 -c "import json,sys; c=json.load(open(sys.argv[1])); m=c['model']; m['compile_config']=c['compile']; print(json.dumps(m))" \
    "$c" >"$out/corpus/$(basename "$(dirname "$c")").json"
done
cp specs/*.json tests/cli/*.json "$out/corpus/"
llvm_include=$(llvm-config --includedir) llvm_lib=$(llvm-config --libdir)
clang -g -O1 -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined -D_POSIX_C_SOURCE=200809L \
  -Iinclude -I. -I/usr/include/cjson -I"$llvm_include" tests/fuzz/fuzz_spec.c \
  $(git ls-files 'compiler/*.c' 'runtime/*.c' | grep -v compiler/cli/) \
  -lcjson -lz -lm -L"$llvm_lib" -lLLVM-"$(llvm-config --version | cut -d. -f1)" -o "$out/fuzz_spec"
"$out/fuzz_spec" -max_total_time="${1:-300}" -max_len=8192 "$out/work" "$out/corpus"

mkdir -p "$out/io_corpus" "$out/io_work"
cp ../shared/oracle/cases/seed000_logreg/*.npy "$out/io_corpus/"
zcat /usr/share/datasets/fashion-mnist/t10k-labels-idx1-ubyte.gz | head -c 200 >"$out/io_corpus/labels.idx" || true
clang -g -O1 -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined -D_POSIX_C_SOURCE=200809L \
  -Iinclude -I. -I/usr/include/cjson tests/fuzz/fuzz_io.c runtime/io/*.c base/*.c -lcjson -lz -lm \
  -o "$out/fuzz_io"
"$out/fuzz_io" -max_total_time="${1:-300}" -max_len=4096 "$out/io_work" "$out/io_corpus"
