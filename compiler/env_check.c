/* Checks the NNC_* environment variables (env_check.h). */
#include "compiler/env_check.h"

#include <stdlib.h>
#include <string.h>

#include "base/base.h"

static const char *const widths[] = {"4", "8", "16", NULL};
static const char *const switches[] = {"0", "1", NULL};

const env_var env_vars[] = {
    {"NNC_VECTOR_WIDTH", widths, 0, "4, 8 or 16 (unset: the host CPU's width)"},
    {"NNC_KERNEL_SHARING", switches, 0, "0 or 1 (unset: 1, kernels shared)"},
    {"NNC_OPT_UNIFORM", switches, 0, "0 or 1 (unset: 0, drivers unoptimised)"},
    {"NNC_CONV_EPILOGUE", switches, 0, "0 or 1 (unset: 1, epilogues fused into the conv)"},
    {"NNC_DENSE_EPILOGUE", switches, 0,
     "0 or 1 (unset: 1, a Dense layer's bias and activation on the GEMM's tile)"},
    {"NNC_EPILOGUE_FOLLOW", switches, 0,
     "0 or 1 (unset: 1, test and predict graphs share the train graph's plain GEMM strips)"},
    {"NNC_SERIAL_KERNELS", switches, 0,
     "0 or 1 (unset: 1, small fixed-size elementwise kernels with constant bounds on thread 0)"},
    {"NNC_PACK_FREEZE", switches, 0,
     "0 or 1 (unset: 1, a freeze in the transposed pack's shuffles before code generation)"},
    {"NNC_PACK_SHORT", switches, 0,
     "0 or 1 (unset: 1, a transposed pack of K below one vector copied by its scalar loop alone)"},
    {"NNC_TILE_BORROW", switches, 0,
     "0 or 1 (unset: 1, 2 rows left after 6-row GEMM tiles run as two 4-row tiles)"},
    {"NNC_CHEAP_CODEGEN", switches, 0,
     "0 or 1 (unset: 1, fast code generation for elementwise and softmax kernels)"},
    {"NNC_CODEGEN_SPLIT", switches, 0, "0 or 1 (unset: 1, the module compiled in two parts)"},
    {"NNC_KSPLIT", switches, 0,
     "0 or 1 (unset: 1, a wide product of the data split along K into two partial products)"},
    {"NNC_DRIVER_CODEGEN", switches, 0,
     "0 or 1 (unset: 1, the step drivers compiled at code generation level None, apart)"},
    {"NNC_SPLIT_CHEAP", switches, 0,
     "0 or 1 (unset: 1, the split counts kernels with cheap code generation as cheaper)"},
    {"NNC_ROW_PIPELINE", switches, 0,
     "0 or 1 (unset: 1, a short IR pipeline instead of O3 when only row kernels need O3)"},
    {"NNC_FUSE_SCHEDULE", switches, 0,
     "0 or 1 (unset: 0; 1: each parameter's update moved next to its gradient to fuse)"},
    {"NNC_FUSE_ONE_ELEMENT", switches, 0,
     "0 or 1 (unset: 1, a one-element group's scalar reads of its own values fuse)"},
    {"NNC_GEMM_INLINE", switches, 0, "0 or 1 (unset: 0, shared GEMM strip functions)"},
    {"NNC_STRIP_LIB", switches, 0,
     "0 or 1 (unset: 1, GEMM strips from the library built with nnc when it fits the host)"},
    {"NNC_UPDATE_ON_TILE", switches, 0,
     "0 or 1 (unset: on each GEMM tile from 256 columns; 1: always; 0: after the whole product)"},
    {"NNC_STRIP_STEAL", switches, 0,
     "0 or 1 (unset: 1, idle threads take others' column strips; 0: each thread its own)"},
    {"NNC_CODEGEN_SERIAL", switches, 0,
     "0 or 1 (unset: 0, the parts on two threads; 1: one after the other)"},
    {"NNC_SPLIT_SMALL_STEPS", switches, 0,
     "0 or 1 (unset: 0, a small step runs on one thread; 1: wherever a group splits)"},
    {"NNC_ROW_LANES", switches, 0,
     "0 or 1 (unset: 1, softmax, its cross-entropy and argmax of narrow rows a row per lane)"},
    {"NNC_GATHER_AHEAD", switches, 0,
     "0 or 1 (unset: by size; 1: the pool's worker always gathers fit's next batch; 0: never)"},
    {"NNC_CACHE", switches, 0, "0 or 1 (unset: 1, the compile cache on)"},
    {"NNC_HUGE_HEAP", switches, 0,
     "0 or 1 (unset: 1, the nnc command's heap on transparent huge pages)"},
    {"NNC_PERF_MAP", switches, 0,
     "0 or 1 (unset: 0; 1: the JIT's functions named in /tmp/perf-PID.map for perf)"},
    {"NNC_CACHE_MAX_MB", NULL, 1ll << 30,
     "a whole number of MiB from 0 to 1073741824 (unset: 256)"},
    {NULL, NULL, 0, NULL}};

static int accepted(const env_var *v, const char *value) {
  if (!value[0]) return 1;
  if (v->values) {
    for (const char *const *a = v->values; *a; a++)
      if (!strcmp(*a, value)) return 1;
    return 0;
  }
  long long n = 0;
  for (const char *c = value; *c; c++) {
    if (*c < '0' || *c > '9' || n > v->max) return 0;
    n = n * 10 + (*c - '0');
  }
  return n <= v->max;
}

int env_check(nnc_status *st) {
  for (const env_var *v = env_vars; v->name; v++) {
    const char *value = getenv(v->name);
    if (value && !accepted(v, value))
      return nnc_fail(st, NNC_ERR_ARG, "environment variable %s=\"%.200s\": expected %s", v->name,
                      value, v->accepted);
  }
  return NNC_OK;
}
