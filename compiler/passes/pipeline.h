/* compiler/passes/pipeline — the pass table: every pass the compiler runs,
 * in order, with the graphs it runs on. compile.c walks it for each graph;
 * --dump-after accepts exactly its names (pass_known). */
#ifndef NNC_PIPELINE_H
#define NNC_PIPELINE_H

#include <stddef.h>

#include "compiler/graph/graph.h"
#include "compiler/spec/spec.h"

/* Which graphs a row runs on: bit 1 << NNC_GRAPH_* of compile.h. */
enum { PASS_TRAIN = 1u << 0, PASS_TEST = 1u << 1, PASS_PREDICT = 1u << 2, PASS_EVERY = 7u };

/* What a pass may need besides the graph. */
typedef struct pass_ctx {
  nnc_graph *g;
  nnc_program *prog;
  nnc_phase phase;                     /* train for the train graph, else infer */
  const nnc_spec_optimizer *optimizer; /* the train graph's update rule */
  int *grads;   /* train graph: gradient node of each parameter (autodiff fills, optimizer reads) */
  int keep_all; /* check-numerics: no fusion, a buffer for every value */
  const nnc_graph *train; /* test/predict: the finished train graph of this compile, or NULL */
  nnc_status *st;
  int accumulate_f64; /* matmuls sum in float64, rounded once: ksplit keeps them whole */
} pass_ctx;

typedef struct pass_row {
  const char *name;        /* the --dump-after name; a name may appear on several rows */
  unsigned graphs;         /* PASS_* bits */
  int (*run)(pass_ctx *c); /* NULL: nothing runs (a point to dump at, e.g. "lower") */
} pass_row;

extern const pass_row pass_table[];
extern const int pass_table_len;

/* 1 if `name` (len bytes, not terminated) names a row of the table. */
int pass_known(const char *name, size_t len);
/* The distinct names in pipeline order, ", "-separated, into buf. */
void pass_names_text(char *buf, size_t size);

#endif
