#!/usr/bin/env bash
# The one setup behind every entry point: README's two commands
# (specs/fashion_mnist_mlp.sh, tests/run.sh) and .ci/run call it. It installs
# the Debian packages below that are missing (as root, or through sudo) and
# builds build/ (RelWithDebInfo). Run again, it only asks dpkg which packages
# are there (no apt-get, no sudo) and the build is incremental.
#   bash scripts/setup.sh [--no-build]
set -euo pipefail
cd "$(dirname "$0")/.."

# Every Debian package nnc, its test suite and its examples need: the one list
# (add yours here, with what it is for; docs/install.md shows this list).
packages=(
  build-essential cmake pkg-config # the build
  lld                              # the nnc command's link: its hot functions first (CMakeLists.txt)
  llvm-dev libcjson-dev zlib1g-dev # nnc's libraries
  libhdf5-dev                      # .keras / .h5 model files (runtime/io/h5_*.c)
  check                            # the unit tests' framework
  dataset-fashion-mnist            # specs/fashion_mnist_*.sh
  clang-format                     # tests/run.sh: .ci/format-check
  clang libclang-rt-14-dev         # tests/run.sh: ASan + UBSan and ThreadSanitizer builds
  strace python3                   # CLI tests
  groff-base                       # tests/cli/test_install12.sh: the man page
  nodejs                           # tests/cli/test_tfjs12.sh: the TF.js round trip with ../shared/oracle
  graphviz                         # tests/cli/test_viz13.sh: --dump-graph=dot renders with dot
  chromium fonts-dejavu-core       # tests/cli/test_viz13.sh: the SVG, DOT and HTML pictures rendered headless
)

build=1
for arg in "$@"; do
  case $arg in
    --no-build) build=0 ;;
    *)
      echo "setup.sh: unknown argument '$arg' (usage: bash scripts/setup.sh [--no-build])" >&2
      exit 2
      ;;
  esac
done

missing=()
sudo=()
if command -v dpkg-query >/dev/null; then
  for p in "${packages[@]}"; do
    status=$(dpkg-query -W -f='${db:Status-Abbrev}' "$p" 2>/dev/null || true)
    [ "${status:0:2}" = ii ] || missing+=("$p")
  done
else
  echo "setup.sh: not a Debian system (no dpkg-query): make sure these are installed:" \
    "${packages[*]}" >&2
fi

if [ ${#missing[@]} -gt 0 ]; then
  sudo=()
  if [ "$(id -u)" != 0 ]; then
    if ! command -v sudo >/dev/null; then
      echo "setup.sh: missing packages: ${missing[*]}; run this as root or install sudo" >&2
      exit 1
    fi
    sudo=(sudo)
  fi
  echo "setup.sh: installing ${missing[*]}" >&2
  "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get update -qq
  "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq \
    --no-install-recommends "${missing[@]}" >/dev/null
fi

# Debian's nodejs comes without npm (NodeSource's includes it): add Debian's npm only then,
# as installing it next to NodeSource's nodejs would conflict.
if command -v node >/dev/null && ! command -v npm >/dev/null &&
  { [ "$(id -u)" = 0 ] || command -v sudo >/dev/null; }; then
  [ "$(id -u)" = 0 ] || sudo=(sudo)
  "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends npm >/dev/null
fi
# The oracle's TensorFlow.js (tests/cli/test_tfjs12.sh), installed once from its lockfile.
oracle=$(cd .. && pwd)/shared/oracle
if [ -f "$oracle/package-lock.json" ] && [ ! -d "$oracle/node_modules/@tensorflow/tfjs" ] &&
  command -v npm >/dev/null; then
  echo "setup.sh: npm ci in $oracle" >&2
  (cd "$oracle" && npm ci --no-audit --no-fund >/dev/null)
fi

if [ $build = 1 ]; then
  cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
  cmake --build build -j"$(nproc 2>/dev/null || echo 2)" >/dev/null
fi
