/* compiler/compile — the whole pipeline, one stage per line (compile.c). */
#ifndef NNC_COMPILE_H
#define NNC_COMPILE_H

#include <stdio.h>

#include "compiler/codegen/codegen.h"
#include "compiler/driver/timing.h"
#include "compiler/graph/graph.h"
#include "compiler/lower/lower.h"
#include "compiler/spec/spec.h"

enum { NNC_GRAPH_TRAIN, NNC_GRAPH_TEST, NNC_GRAPH_PREDICT, NNC_GRAPH_COUNT };

typedef struct nnc_compile_options {
  FILE *dump;             /* where graph dumps go (NULL: none) */
  const char *dump_after; /* comma-separated pass names; "all" among them: every pass */
  int dump_dot;           /* DOT instead of text */
  unsigned dump_graphs;   /* bit mask of NNC_GRAPH_* to dump (0: all) */
  const char *dump_ir_pre, *dump_ir_post;
  int no_jit;           /* stop after planning (tests of the passes) */
  int emit_only;        /* build the LLVM module (and dump_ir_pre), no O3, no JIT (tests) */
  int accumulate_f64;   /* matmul partial sums in float64 */
  int check_numerics;   /* train graph unfused, every node's output kept
                           (nnc_model_set_check_numerics) */
  int outputs_in_train; /* train and test graphs also write the outputs (host metrics) */
  nnc_timing *timing;   /* where the time of each stage is added (NULL: not measured) */
  int no_cache;         /* do not use the on-disk object cache (nnc compile --no-cache) */
  codegen_memo *memo;   /* the model's last machine code (compiler/driver; NULL: none) */
} nnc_compile_options;

typedef struct nnc_compiled {
  nnc_program prog;
  int has_graph[NNC_GRAPH_COUNT];
  nnc_graph graphs[NNC_GRAPH_COUNT];
  nnc_jit *jit;
  nnc_step_fn step[NNC_GRAPH_COUNT];
  int64_t scratch_floats[NNC_GRAPH_COUNT]; /* per thread (nnc_program.h) */
} nnc_compiled;

int nnc_compile_spec(const nnc_spec *spec, const nnc_data_shapes *data,
                     const nnc_compile_options *opts, nnc_compiled *out, nnc_status *st);
void nnc_compiled_free(nnc_compiled *c);

#endif
