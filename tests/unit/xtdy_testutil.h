/* Weight-gradient products x_i[B, M_i]^T @ dy_i[B, N_i] compiled in one graph and checked bit for
 * bit against the chain every output element must be: from +0, one fused multiply-add per p in
 * order, written in C with fmaf (test_gemm17, test_w8_19). */
#ifndef NNC_XTDY_TESTUTIL_H
#define NNC_XTDY_TESTUTIL_H

#include <stdint.h>

#include "compiler/codegen/codegen.h"
#include "compiler/graph/graph.h"

/* The products' shapes, the batches each is run at, the operands (max_batch rows of each) and
 * the truth: want[i * n_batches + b], M_i x N_i floats. */
typedef struct xtdy_case {
  int count, n_batches;
  const int64_t *rows, *cols, *batches;
  int64_t max_batch;
  float **x, **dy, **want;
} xtdy_case;

typedef struct xtdy_rig {
  nnc_graph g;
  nnc_program prog;
  nnc_jit *jit;
  nnc_step_fn fn;
} xtdy_rig;

void xtdy_case_make(xtdy_case *c, int count, const int64_t *rows, const int64_t *cols,
                    const int64_t *batches, int n_batches);
void xtdy_case_free(xtdy_case *c);

/* The graph of c's products, fused and planned (not compiled). */
void xtdy_graph(xtdy_rig *r, const xtdy_case *c);
/* The graph compiled without the cache under the environment as it is. */
void xtdy_compile(xtdy_rig *r, const xtdy_case *c);
void xtdy_release(xtdy_rig *r);

/* Every product at every batch on `threads` threads (each its share, one after the other: the
 * products are independent) against the chain; outputs start as NaN, so a row no tile computes
 * fails too. `width` names the vector width in the message. */
void xtdy_check(const xtdy_rig *r, const xtdy_case *c, const char *width, int threads);

#endif
